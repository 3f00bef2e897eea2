//! librdkafka's in-process mock cluster: an embedded broker that needs nothing.
//!
//! It speaks the Kafka protocol on 127.0.0.1 ports of its own, supports
//! produce, fetch, consumer groups and offset commits, and injects broker
//! down/up, request errors, round-trip delay and leader moves. It has no
//! CreateTopics admin API, so topics are created through the mock cluster itself.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use super::{admin, Broker, BrokerAction, BrokerError, BrokerKind, TopicStatus};

/// `MockCluster` holds a raw librdkafka handle. Every mock API call posts an
/// operation to the cluster's own thread and waits for it, which librdkafka
/// documents as thread-safe; the mutex serialises our calls anyway.
struct SharedMock(Mutex<MockCluster<'static, DefaultProducerContext>>);
// SAFETY: see above: librdkafka's mock cluster API is thread-safe, and access is serialised.
unsafe impl Send for SharedMock {}
unsafe impl Sync for SharedMock {}

/// An embedded mock Kafka cluster, alive as long as this value.
pub struct MockBroker {
    cluster: SharedMock,
    bootstrap: String,
    brokers: i32,
}

impl std::fmt::Debug for MockBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockBroker").field("bootstrap", &self.bootstrap).field("brokers", &self.brokers).finish()
    }
}

impl MockBroker {
    /// Starts a mock cluster of `brokers` brokers (ids 1..=brokers).
    pub fn start(brokers: i32) -> Result<Self, BrokerError> {
        let cluster = MockCluster::new(brokers).map_err(|e| BrokerError::kafka("starting the mock cluster", e))?;
        let bootstrap = cluster.bootstrap_servers();
        tracing::info!(%bootstrap, brokers, "mock kafka cluster started");
        Ok(Self { cluster: SharedMock(Mutex::new(cluster)), bootstrap, brokers })
    }

    fn with<T>(&self, f: impl FnOnce(&MockCluster<'static, DefaultProducerContext>) -> T) -> T {
        let guard = self.cluster.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }

    fn check_id(&self, broker: i32) -> Result<(), BrokerError> {
        if (1..=self.brokers).contains(&broker) {
            Ok(())
        } else {
            Err(BrokerError::NoSuchBroker(broker))
        }
    }
}

#[async_trait]
impl Broker for MockBroker {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Mock
    }

    fn describe(&self) -> String {
        let (_, version) = rdkafka::util::get_rdkafka_version();
        format!("librdkafka {version} mock cluster ({} embedded broker{})", self.brokers, if self.brokers == 1 { "" } else { "s" })
    }

    fn bootstrap_servers(&self) -> String {
        self.bootstrap.clone()
    }

    fn replication_factor(&self) -> i32 {
        self.brokers.min(3)
    }

    fn broker_ids(&self) -> Vec<i32> {
        (1..=self.brokers).collect()
    }

    /// The mock lists its brokers' listeners in id order.
    fn broker_address(&self, id: i32) -> Option<String> {
        usize::try_from(id - 1).ok().and_then(|i| self.bootstrap.split(',').nth(i)).map(str::to_string)
    }

    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<TopicStatus, BrokerError> {
        if let Some(existing) = admin::existing_partitions(&self.client_config(), topic).await {
            admin::wait_for_leaders(&self.client_config(), topic, existing, Duration::from_secs(30)).await?;
            return Ok(TopicStatus { partitions: existing, created: false });
        }
        self.with(|c| c.create_topic(topic, partitions, self.replication_factor()))
            .map_err(|e| BrokerError::kafka(format!("creating mock topic {topic}"), e))?;
        admin::wait_for_leaders(&self.client_config(), topic, partitions, Duration::from_secs(30)).await?;
        Ok(TopicStatus { partitions, created: true })
    }

    async fn apply(&self, action: &BrokerAction) -> Result<(), BrokerError> {
        tracing::info!(%action, "applying");
        let ctx = |e| BrokerError::kafka(action.to_string(), e);
        match action {
            BrokerAction::Down { broker } => {
                self.check_id(*broker)?;
                self.with(|c| c.broker_down(*broker)).map_err(ctx)
            }
            BrokerAction::Up { broker } => {
                self.check_id(*broker)?;
                self.with(|c| c.broker_up(*broker)).map_err(ctx)
            }
            BrokerAction::RequestErrors { api, errors } => {
                self.with(|c| c.request_errors(*api, errors));
                Ok(())
            }
            BrokerAction::RoundTripDelay { broker, delay } => {
                self.check_id(*broker)?;
                self.with(|c| c.broker_round_trip_time(*broker, *delay)).map_err(ctx)
            }
            BrokerAction::LeaderMove { topic, partition, broker } => {
                self.check_id(*broker)?;
                self.with(|c| c.partition_leader(topic, *partition, Some(*broker))).map_err(ctx)
            }
            other => Err(BrokerError::Unsupported { backend: "mock", action: other.to_string() }),
        }
    }
}
