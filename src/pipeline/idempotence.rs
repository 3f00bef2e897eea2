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
use std::sync::{Arc, Mutex};

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
    /// The client as its last statistics described it (see [`describe_client`]).
    state: Arc<Mutex<String>>,
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

    /// Where the client's messages were, as of the last statistics (empty before the first).
    pub fn client_state(&self) -> String {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// One line on where a producer's messages are, from librdkafka's statistics:
/// the idempotence state, each broker connection's state and queues, and the
/// partitions' queues. For a run whose sends time out, it says whether they
/// wait for a producer id, a connection, or answers.
pub(crate) fn describe_client(stats: &Statistics) -> String {
    let idempotence = stats.eos.as_ref().map_or("none".to_string(), |e| format!("{} for {} ms", e.idemp_state, e.idemp_stateage));
    let mut brokers: Vec<String> = stats
        .brokers
        .values()
        .filter(|b| b.nodeid >= 0)
        .map(|b| {
            format!(
                "{} {} for {} ms ({} to send, {} awaiting answers, {} timed out, {} disconnects)",
                b.nodename,
                b.state,
                b.stateage / 1000,
                b.outbuf_cnt,
                b.waitresp_cnt,
                b.req_timeouts,
                b.disconnects.unwrap_or(0)
            )
        })
        .collect();
    brokers.sort();
    let partitions = stats.topics.values().flat_map(|t| t.partitions.values()).filter(|p| p.partition >= 0);
    let (queued, ready, in_flight) = partitions.fold((0, 0, 0), |(q, r, f), p| (q + p.msgq_cnt, r + p.xmit_msgq_cnt, f + p.msgs_inflight));
    format!("idempotence {idempotence}; brokers: {}; messages {queued} queued, {ready} ready to send, {in_flight} in flight", brokers.join(", "))
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
        *self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = describe_client(&statistics);
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
    fn describes_where_the_messages_wait() {
        let mut stats = with_state("WaitPID");
        stats.eos.as_mut().unwrap().idemp_stateage = 1500;
        let broker = rdkafka::statistics::Broker {
            nodename: "127.0.0.1:9092".into(),
            nodeid: 1,
            state: "UP".into(),
            stateage: 2_000_000,
            outbuf_cnt: 3,
            waitresp_cnt: 5,
            req_timeouts: 7,
            disconnects: Some(2),
            ..Default::default()
        };
        stats.brokers.insert("127.0.0.1:9092/1".into(), broker);
        let line = super::describe_client(&stats);
        assert_eq!(
            line,
            "idempotence WaitPID for 1500 ms; brokers: 127.0.0.1:9092 UP for 2000 ms (3 to send, 5 awaiting answers, 7 timed out, 2 disconnects); messages 0 queued, 0 ready to send, 0 in flight"
        );
    }

    #[test]
    fn reads_the_state_from_librdkafka_statistics() {
        assert!(says_assigned(&with_state("Assigned")));
        assert!(!says_assigned(&with_state("WaitPID")));
        assert!(!says_assigned(&Statistics::default()));
    }
}
