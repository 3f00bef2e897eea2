//! librdkafka's in-process mock cluster: an embedded broker that needs nothing.
//!
//! It speaks the Kafka protocol on 127.0.0.1 ports of its own, supports
//! produce, fetch, consumer groups and offset commits, and injects broker
//! down/up, request errors, round-trip delay and leader moves. It has no
//! CreateTopics admin API, so topics are created through the mock cluster itself.
//!
//! One setting differs from librdkafka's defaults: a consumer group's first
//! rebalance is not held back. The mock, like Kafka's
//! `group.initial.rebalance.delay.ms`, waits 3 s for more members before the
//! first assignment; every consumer that joins a new group paid it, and the
//! mock suite and the tests start dozens of them.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, DefaultProducerContext, Producer};
use rdkafka::ClientConfig;

use super::{admin, Broker, BrokerAction, BrokerError, BrokerKind, TopicStatus};

/// The client that owns the mock cluster (`test.mock.num.brokers`): the
/// cluster lives as long as it. Every mock API call posts an operation to the
/// cluster's own thread and waits for it, which librdkafka documents as
/// thread-safe; the mutex serialises our calls anyway.
struct SharedMock(Mutex<BaseProducer>);

/// The rebalance delay of a new group on the mock: none (librdkafka's default is 3 s).
const INITIAL_REBALANCE_DELAY_MS: i32 = 0;

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
        let owner: BaseProducer = ClientConfig::new()
            .set("test.mock.num.brokers", brokers.to_string())
            .set("log_level", "3") // not the notice that the owner's bootstrap servers are replaced by the mock's
            .create()
            .map_err(|e| BrokerError::kafka("starting the mock cluster", e))?;
        let native = owner.client().native_ptr();
        // SAFETY: `native` is the live handle of `owner`; the mock cluster it returns lives as long as `owner`.
        unsafe {
            let cluster = rdkafka::bindings::rd_kafka_handle_mock_cluster(native);
            if cluster.is_null() {
                return Err(BrokerError::kafka("starting the mock cluster", rdkafka::error::KafkaError::MockCluster(rdkafka::types::RDKafkaErrorCode::Fail)));
            }
            rdkafka::bindings::rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, INITIAL_REBALANCE_DELAY_MS);
        }
        let bootstrap = owner.client().mock_cluster().map(|c| c.bootstrap_servers()).unwrap_or_default();
        tracing::info!(%bootstrap, brokers, "mock kafka cluster started");
        Ok(Self { cluster: SharedMock(Mutex::new(owner)), bootstrap, brokers })
    }

    /// Creates `topic` through the mock itself, at once (the mock has no
    /// CreateTopics API; its partitions have leaders as soon as they exist).
    pub fn create_topic_now(&self, topic: &str, partitions: i32) -> Result<(), BrokerError> {
        self.with(|c| c.create_topic(topic, partitions, self.replication_factor()))
            .map_err(|e| BrokerError::kafka(format!("creating mock topic {topic}"), e))
    }

    fn with<T>(&self, f: impl FnOnce(&MockCluster<'_, DefaultProducerContext>) -> T) -> T {
        let guard = self.cluster.0.lock().unwrap_or_else(|p| p.into_inner());
        let cluster = guard.client().mock_cluster().expect("the owner was created with test.mock.num.brokers");
        f(&cluster)
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
        self.create_topic_now(topic, partitions)?;
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
