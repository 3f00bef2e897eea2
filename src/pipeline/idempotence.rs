//! When an idempotent producer can really send.
//!
//! librdkafka asks for an idempotent producer's id on a timer that first fires
//! 500 ms after the client is created (`rd_kafka_idemp_init` starts the PID
//! state machine "non-immediate"), and every message waits for that id. A
//! producer that starts sending at once therefore puts up to half a second on
//! its first messages: a startup cost, not the pipeline's latency. The client's
//! statistics say when the id is assigned, so `DashProducer::connect` can wait
//! for that condition instead of guessing a delay.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rdkafka::{ClientContext, Statistics};

/// How often librdkafka reports statistics to [`IdempotenceWatch`] (every producer).
pub(crate) const STATS_INTERVAL_MS: &str = "100";

/// A client context that notes when the idempotent producer id is assigned,
/// and how many messages librdkafka sent more than once (what a broker's
/// retriable errors look like from the client).
#[derive(Clone, Default)]
pub struct IdempotenceWatch {
    assigned: Arc<AtomicBool>,
    retries: Arc<AtomicU64>,
}

impl IdempotenceWatch {
    /// Whether librdkafka has reported the producer id as assigned.
    pub fn assigned(&self) -> bool {
        self.assigned.load(Ordering::Acquire)
    }

    /// Messages transmitted again after an error, so far (as of the last statistics).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Acquire)
    }
}

/// librdkafka's statistics name the idempotence state `Assigned` once the id is in hand.
fn says_assigned(stats: &Statistics) -> bool {
    stats.eos.as_ref().is_some_and(|eos| eos.idemp_state == "Assigned")
}

/// Messages transmitted beyond those produced, over every partition: each is a retry.
fn retransmitted(stats: &Statistics) -> u64 {
    let partitions = stats.topics.values().flat_map(|t| t.partitions.values()).filter(|p| p.partition >= 0);
    partitions.map(|p| p.txmsgs.saturating_sub(p.msgs)).sum()
}

impl ClientContext for IdempotenceWatch {
    fn stats(&self, statistics: Statistics) {
        self.retries.fetch_max(retransmitted(&statistics), Ordering::AcqRel);
        if !self.assigned() && says_assigned(&statistics) {
            tracing::debug!("idempotent producer id assigned");
            self.assigned.store(true, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::statistics::ExactlyOnceSemantics;
    use rdkafka::Statistics;

    use super::says_assigned;

    fn with_state(state: &str) -> Statistics {
        Statistics { eos: Some(ExactlyOnceSemantics { idemp_state: state.into(), ..Default::default() }), ..Default::default() }
    }

    #[test]
    fn reads_the_state_from_librdkafka_statistics() {
        assert!(says_assigned(&with_state("Assigned")));
        assert!(!says_assigned(&with_state("WaitPID")));
        assert!(!says_assigned(&Statistics::default()));
    }
}
