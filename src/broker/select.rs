//! Picking and starting a backend from a name (`--broker`) and settings.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::container::ContainerBroker;
use super::external::ExternalBroker;
use super::mock::MockBroker;
use super::{Broker, BrokerError};

/// The backends a user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerChoice {
    /// External if bootstrap servers are given, else a container if a Docker host answers, else the mock.
    Auto,
    Container,
    Cluster,
    Mock,
    External,
}

impl FromStr for BrokerChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "auto" => Self::Auto,
            "container" => Self::Container,
            "cluster" => Self::Cluster,
            "mock" => Self::Mock,
            "external" => Self::External,
            other => return Err(format!("unknown broker {other:?} (auto, container, cluster, mock, external)")),
        })
    }
}

/// A backend whose clients all get extra librdkafka settings (`-X` on the command line).
struct Configured {
    inner: Box<dyn Broker>,
    settings: BTreeMap<String, String>,
}

#[async_trait::async_trait]
impl Broker for Configured {
    fn kind(&self) -> super::BrokerKind {
        self.inner.kind()
    }
    fn describe(&self) -> String {
        let s: Vec<String> = self.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{} with {}", self.inner.describe(), s.join(", "))
    }
    fn bootstrap_servers(&self) -> String {
        self.inner.bootstrap_servers()
    }
    fn client_config(&self) -> rdkafka::ClientConfig {
        let mut c = self.inner.client_config();
        for (k, v) in &self.settings {
            c.set(k, v);
        }
        c
    }
    fn replication_factor(&self) -> i32 {
        self.inner.replication_factor()
    }
    fn broker_ids(&self) -> Vec<i32> {
        self.inner.broker_ids()
    }
    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), BrokerError> {
        self.inner.create_topic(topic, partitions).await
    }
    fn supported_faults(&self) -> Vec<super::FaultKind> {
        self.inner.supported_faults()
    }
    async fn inject(&self, fault: &super::Fault) -> Result<(), BrokerError> {
        self.inner.inject(fault).await
    }
}

/// Starts (or connects to) the chosen backend. `settings` go to every client
/// of it (for an external cluster they carry SASL/SSL and the like).
pub async fn start(
    choice: BrokerChoice,
    bootstrap: Option<&str>,
    settings: BTreeMap<String, String>,
) -> Result<Box<dyn Broker>, BrokerError> {
    let choice = match (choice, bootstrap) {
        (BrokerChoice::Auto, Some(_)) => BrokerChoice::External,
        (BrokerChoice::Auto, None) if crate::docker::ensure_docker_host().is_ok() => BrokerChoice::Container,
        (BrokerChoice::Auto, None) => {
            tracing::info!("no Docker host answers: using the embedded mock broker");
            BrokerChoice::Mock
        }
        (c, _) => c,
    };
    let started: Box<dyn Broker> = match choice {
        BrokerChoice::External => {
            let bootstrap = bootstrap.ok_or_else(|| BrokerError::Config("--broker external needs --bootstrap HOST:PORT".into()))?;
            return Ok(Box::new(ExternalBroker::new(bootstrap, settings)));
        }
        BrokerChoice::Container => Box::new(ContainerBroker::single().await?),
        BrokerChoice::Cluster => Box::new(ContainerBroker::cluster(3).await?),
        BrokerChoice::Mock => Box::new(MockBroker::start(3)?),
        BrokerChoice::Auto => unreachable!("resolved above"),
    };
    Ok(if settings.is_empty() { started } else { Box::new(Configured { inner: started, settings }) })
}
