//! The reference pipeline: producer, consumer, loss detection, latency, metrics.
//!
//! Four of the five original bugs lived here (negative latency, invisible loss,
//! compression configured but never applied, a log line per message); each
//! module below makes one of them visible and countable.

pub mod aggregate;
pub mod consumer;
pub mod deferred;
pub mod idempotence;
pub mod latency;
pub mod loss;
pub mod metrics;
pub mod offsets;
pub mod producer;
pub mod rangeset;
pub mod ratelimit;
pub mod stall;
pub mod summary;
pub mod start;
pub mod traffic;
pub mod verdict;
pub mod verify;

use rdkafka::ClientConfig;

/// Why the producer or consumer failed as a whole (one message's failure is a `producer::SendError`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error("kafka: {context}: {source}")]
    Kafka { context: String, source: rdkafka::error::KafkaError },
    #[error(transparent)]
    Broker(#[from] crate::broker::BrokerError),
    #[error("{0}")]
    Unreachable(String),
}

impl PipelineError {
    pub(crate) fn kafka(context: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        Self::Kafka { context: context.into(), source }
    }
}
/// Sets `key` unless the caller's settings already have it (theirs win).
pub(crate) fn set_default(cfg: &mut ClientConfig, key: &str, value: &str) {
    if cfg.get(key).is_none() {
        cfg.set(key, value);
    }
}

/// Drops a librdkafka client on a blocking thread and waits for it. Tearing a
/// client down blocks (a producer purges and waits up to 500 ms, a consumer
/// leaves its group); on a runtime worker that would stall every task on it.
pub(crate) async fn close_off_runtime<T: Send + 'static>(client: T) {
    let _ = tokio::task::spawn_blocking(move || drop(client)).await;
}
