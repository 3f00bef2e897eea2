//! Kafka brokers for tests and runs, behind one trait.
//!
//! - [`container`]: real Apache Kafka in Docker (a single KRaft broker, or a
//!   3-broker cluster on a private network), thrown away when dropped.
//! - [`mock`]: librdkafka's in-process mock cluster; needs nothing.
//! - [`external`]: an existing cluster, with librdkafka settings passed through.
//!
//! Every backend gives bootstrap servers, creates topics and lists the faults it
//! can inject; [`Broker::inject`] applies one and waits until it has taken effect.

pub mod admin;
pub mod container;
mod error;
pub mod external;
mod fault;
pub mod image;
pub mod mock;
mod ports;
pub mod select;

use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;

pub use error::BrokerError;
pub use fault::{Fault, FaultKind};

/// Which backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BrokerKind {
    Container,
    Cluster,
    Mock,
    External,
}

impl BrokerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Container => "container",
            Self::Cluster => "cluster",
            Self::Mock => "mock",
            Self::External => "external",
        }
    }
}

/// A Kafka cluster the pipeline can talk to.
#[async_trait]
pub trait Broker: Send + Sync {
    /// Which backend this is.
    fn kind(&self) -> BrokerKind;
    /// One line for logs and reports: the broker, its version, where it runs.
    fn describe(&self) -> String;
    /// `host:port[,host:port...]`.
    fn bootstrap_servers(&self) -> String;
    /// The librdkafka settings every client of this broker needs (bootstrap plus pass-through).
    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", self.bootstrap_servers());
        c
    }
    /// Replication factor for new topics (all brokers, up to 3).
    fn replication_factor(&self) -> i32;
    /// Ids of the brokers, for faults that target one.
    fn broker_ids(&self) -> Vec<i32>;
    /// Creates a topic and waits until every partition has a leader.
    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), BrokerError>;
    /// The faults this backend can inject.
    fn supported_faults(&self) -> Vec<FaultKind>;
    /// Applies a fault and returns once it has taken effect (checked, not assumed).
    async fn inject(&self, fault: &Fault) -> Result<(), BrokerError>;
}

/// How long a broker may take to answer after start or restart.
pub const READY_DEADLINE: Duration = Duration::from_secs(90);
