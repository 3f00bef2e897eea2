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

/// How long closing a client may take before the caller goes on without it.
pub const CLOSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Drops a librdkafka client on a thread of its own and waits for it, at most
/// [`CLOSE_DEADLINE`]. Tearing a client down blocks (a producer purges and
/// waits up to 500 ms, a consumer leaves its group); on a runtime worker that
/// would stall every task on it. And a consumer's close waits for its group
/// coordinator without a deadline: after a broker restart that its client
/// never reconnected from, that was forever (seen with Kafka 3.9.1). The
/// thread is not joined, so neither the caller nor the process's exit waits.
pub(crate) async fn close_off_runtime<T: Send + 'static>(client: T) {
    if !close_within(client, CLOSE_DEADLINE).await {
        tracing::warn!("a Kafka client did not close within {CLOSE_DEADLINE:?} (its broker does not answer); it goes on closing in the background");
    }
}

/// [`close_off_runtime`] with any deadline; whether the client closed in time.
async fn close_within<T: Send + 'static>(client: T, deadline: std::time::Duration) -> bool {
    let (done, closed) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new().name("kafka-close".into()).spawn(move || {
        drop(client);
        let _ = done.send(());
    });
    if let Err(e) = thread {
        tracing::warn!("no thread to close a Kafka client on ({e}); it was closed in place");
        return true;
    }
    tokio::time::timeout(deadline, closed).await.is_ok()
}

#[cfg(test)]
mod close_tests {
    use std::time::{Duration, Instant};

    /// A client whose teardown blocks, as librdkafka's consumer close does when
    /// its coordinator never answers.
    struct SlowToClose(Duration);

    impl Drop for SlowToClose {
        fn drop(&mut self) {
            std::thread::sleep(self.0);
        }
    }

    #[tokio::test]
    async fn a_client_that_does_not_close_in_time_is_left_closing_and_the_caller_goes_on() {
        let started = Instant::now();
        assert!(!super::close_within(SlowToClose(Duration::from_secs(5)), Duration::from_millis(100)).await);
        assert!(started.elapsed() < Duration::from_secs(2), "waited {:?}", started.elapsed());
        assert!(super::close_within(SlowToClose(Duration::from_millis(10)), Duration::from_secs(5)).await, "a quick close is waited for");
    }
}
