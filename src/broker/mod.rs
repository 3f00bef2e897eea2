//! Kafka brokers for tests and runs, behind one trait, named by one enum and
//! opened by one factory.
//!
//! - [`container`]: real Apache Kafka in Docker (a single KRaft broker, or a
//!   3-broker cluster on a private network), thrown away when dropped.
//! - [`mock`]: librdkafka's in-process mock cluster; needs nothing.
//! - [`external`]: an existing cluster, with librdkafka settings passed through.
//! - [`factory`]: [`BrokerKind`] plus connection settings to a running backend;
//!   the CLI's `--broker` flags and the tests' environment loader both end there.
//!
//! Every backend gives bootstrap servers and creates topics;
//! [`Broker::apply`] performs one [`BrokerAction`] and waits until it has taken effect.

mod action;
pub mod admin;
pub mod container;
mod container_actions;
pub mod container_exec;
pub mod direct_route;
mod error;
pub mod external;
pub mod factory;
pub mod image;
pub mod mock;
pub mod profile;
pub mod roles;
mod orphans;
mod ports;
pub mod spare_route;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;

pub use action::BrokerAction;
pub use error::BrokerError;
pub use factory::{open, BrokerArgs, ConnectionArgs};

/// Which backend. `Auto` is a request, resolved when the broker is opened
/// (see [`factory::resolve`]); a running broker never reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum BrokerKind {
    /// `--bootstrap` if given, else a Kafka container if a Docker host answers, else the mock.
    Auto,
    /// One KRaft broker in Docker.
    Container,
    /// Three KRaft brokers in Docker on a private network.
    Cluster,
    /// librdkafka's embedded mock cluster.
    Mock,
    /// An existing cluster (`--bootstrap`).
    External,
}

impl BrokerKind {
    /// The name used on the command line, in tags (`@mock-only`) and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Container => "container",
            Self::Cluster => "cluster",
            Self::Mock => "mock",
            Self::External => "external",
        }
    }
}

impl fmt::Display for BrokerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Kafka cluster the pipeline can talk to.
#[async_trait]
pub trait Broker: Send + Sync {
    /// Which backend this is (never `Auto`).
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
    /// Ids of the brokers, for actions that target one.
    fn broker_ids(&self) -> Vec<i32>;
    /// `host:port` of one broker alone, for checks from outside that it
    /// answers (or not); `None` when this backend cannot tell.
    fn broker_address(&self, id: i32) -> Option<String>;
    /// `host:port` of broker `id` bypassing the fault proxy in front of it,
    /// for proofs that compare the two routes; `None` without a proxy.
    fn upstream_address(&self, _id: i32) -> Option<String> {
        None
    }
    /// A route of its own to this broker for one scenario's network fault: a
    /// listener advertised at a fault proxy no other client uses, returned
    /// when dropped; `None` when this backend has none to spare.
    fn spare_route(&self) -> Option<Box<dyn Broker>> {
        None
    }
    /// How a stopped broker exited, as seen from outside (exit code and
    /// whether its log says it shut down cleanly); `None` when this backend
    /// cannot tell.
    async fn exit_report(&self, _id: i32) -> Result<Option<ExitReport>, BrokerError> {
        Ok(None)
    }
    /// The packet-loss rule on a broker and how many packets it has dropped
    /// (`None`: no rule); `Ok(None)` too for backends without such rules.
    async fn packet_loss_rule(&self, _id: i32) -> Result<Option<u64>, BrokerError> {
        Ok(None)
    }
    /// Creates `topic` with `partitions` partitions if it does not exist; an
    /// existing topic is used as it is (any partition count, any replication).
    /// Returns once every partition has a leader, saying which it was.
    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<TopicStatus, BrokerError>;
    /// Performs an action and returns once it has taken effect (checked, not
    /// assumed). A backend that cannot perform it returns [`BrokerError::Unsupported`].
    async fn apply(&self, action: &BrokerAction) -> Result<(), BrokerError>;
}

/// What [`Broker::create_topic`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicStatus {
    /// Partitions the topic has (those of an existing topic, not those asked for).
    pub partitions: i32,
    /// Created now, rather than found.
    pub created: bool,
}

impl std::fmt::Display for TopicStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = if self.partitions == 1 { "" } else { "s" };
        if self.created {
            write!(f, "created with {} partition{s}", self.partitions)
        } else {
            write!(f, "exists with {} partition{s}, used as it is", self.partitions)
        }
    }
}

/// How a broker process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReport {
    pub exit_code: i64,
    /// The broker logged that its shutdown completed.
    pub shutdown_logged: bool,
}

/// How long a broker may take to answer after start or restart.
pub const READY_DEADLINE: Duration = Duration::from_secs(90);
