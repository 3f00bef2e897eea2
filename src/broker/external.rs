//! An existing Kafka cluster: bootstrap servers plus any librdkafka settings
//! (SASL, SSL, ...) passed through untouched. No faults: it is not ours to break.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;

use super::{admin, Broker, BrokerAction, BrokerError, BrokerKind};

/// A cluster someone else runs.
#[derive(Debug, Clone)]
pub struct ExternalBroker {
    bootstrap: String,
    settings: BTreeMap<String, String>,
    replication: i32,
}

impl ExternalBroker {
    /// `bootstrap` is `host:port[,...]`; `settings` are librdkafka `key=value` pairs.
    pub fn new(bootstrap: impl Into<String>, settings: BTreeMap<String, String>) -> Self {
        Self { bootstrap: bootstrap.into(), settings, replication: -1 }
    }

    /// Replication factor for topics this crate creates (-1: the cluster's default).
    pub fn with_replication(mut self, replication: i32) -> Self {
        self.replication = replication;
        self
    }
}

#[async_trait]
impl Broker for ExternalBroker {
    fn kind(&self) -> BrokerKind {
        BrokerKind::External
    }

    fn describe(&self) -> String {
        format!("external Kafka at {}", self.bootstrap)
    }

    fn bootstrap_servers(&self) -> String {
        self.bootstrap.clone()
    }

    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        for (k, v) in &self.settings {
            c.set(k, v);
        }
        c
    }

    fn replication_factor(&self) -> i32 {
        self.replication
    }

    fn broker_ids(&self) -> Vec<i32> {
        Vec::new()
    }

    fn broker_address(&self, _id: i32) -> Option<String> {
        None
    }

    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<super::TopicStatus, BrokerError> {
        admin::create_topic(&self.client_config(), topic, partitions, self.replication, Duration::from_secs(60)).await
    }

    async fn apply(&self, action: &BrokerAction) -> Result<(), BrokerError> {
        Err(BrokerError::Unsupported { backend: "external", action: action.to_string() })
    }
}
