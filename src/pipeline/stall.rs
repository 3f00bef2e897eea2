//! Stall watch: a consumer that holds partitions with records waiting and
//! receives nothing is rebuilt, once per episode.
//!
//! Seen in the fault scenarios (about one run in ten): after the group
//! coordinator went away and came back, librdkafka rejoined the group and
//! assigned the partitions, but its fetchers never resumed; the positions
//! stayed put while the log grew, for as long as we watched. A fresh client in
//! the same group resumes from the committed offsets: whatever was read and
//! not committed is read again and reported as duplicates, never lost.
//!
//! The watch costs nothing while records flow. After `after` without a record
//! it compares, at most once per `after`, each assigned partition's position
//! (or, before its first record, the group's committed offset) with the high
//! watermark. One failed query (the broker is down) is not a stall; a client
//! that cannot even reach the broker for [`FAILED_CHECKS`] checks in a row is
//! rebuilt too. Seen in the container's clean-restart scenario: after the
//! broker came back, the consumer held no partitions and every metadata request
//! failed with "Broker transport failure" for as long as we watched, while
//! fresh clients reached the broker at once. A client that holds no partition
//! is asked for the topic's metadata instead, so that it too is rebuilt when
//! it cannot reach the broker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};

/// How long each query to the broker may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks in a row that could not reach the broker before the client is rebuilt anyway.
pub const FAILED_CHECKS: u32 = 2;

/// When to look, and whether a stall was already acted on.
#[derive(Debug)]
pub struct StallWatch {
    after: Option<Duration>,
    last_record: Instant,
    last_check: Instant,
    /// Off after a rebuild until a record arrives: one rebuild per stall.
    armed: bool,
    /// Checks in a row whose query failed.
    failed: u32,
}

impl StallWatch {
    /// `after`: how long without a record before looking; `None` never looks.
    pub fn new(after: Option<Duration>) -> Self {
        let now = Instant::now();
        Self { after, last_record: now, last_check: now, armed: true, failed: 0 }
    }

    pub fn record_arrived(&mut self, now: Instant) {
        self.last_record = now;
        self.armed = true;
    }

    /// Whether it is time to ask the broker (and, if so, counts this as the ask).
    pub fn due(&mut self, now: Instant) -> bool {
        let Some(after) = self.after else { return false };
        let quiet = now.saturating_duration_since(self.last_record) >= after;
        let rested = now.saturating_duration_since(self.last_check) >= after;
        if self.armed && quiet && rested {
            self.last_check = now;
            return true;
        }
        false
    }

    /// A rebuild happened: wait for a record before looking again.
    pub fn disarm(&mut self) {
        self.armed = false;
        self.failed = 0;
    }

    /// A check could not reach the broker: whether that has now happened
    /// [`FAILED_CHECKS`] times in a row (time to rebuild the client).
    pub fn query_failed(&mut self) -> bool {
        self.failed += 1;
        self.failed >= FAILED_CHECKS
    }

    /// A check reached the broker.
    pub fn query_answered(&mut self) {
        self.failed = 0;
    }
}

/// Assigned partitions that have records beyond where this consumer stands:
/// `(partition, position, high watermark)`. Blocking: run it off the async threads.
pub fn behind(consumer: &Arc<crate::pipeline::consumer::Client>, topic: &str) -> Result<Vec<(i32, i64, i64)>, rdkafka::error::KafkaError> {
    let positions = consumer.position()?;
    if positions.elements_for_topic(topic).is_empty() {
        // Holding nothing is no stall by itself (another member may hold the
        // partitions), but a client that cannot even fetch metadata is out of
        // the broker's reach: that error counts as a failed check. Seen after
        // a broker froze and thawed: the group took the partitions away and
        // every metadata request of the old client failed from then on.
        consumer.fetch_metadata(Some(topic), QUERY_TIMEOUT)?;
        return Ok(Vec::new());
    }
    let mut unknown = TopicPartitionList::new();
    for el in positions.elements_for_topic(topic) {
        if !matches!(el.offset(), Offset::Offset(_)) {
            unknown.add_partition(topic, el.partition());
        }
    }
    let committed = if unknown.count() == 0 { unknown } else { consumer.committed_offsets(unknown, QUERY_TIMEOUT)? };
    let mut out = Vec::new();
    for el in positions.elements_for_topic(topic) {
        let p = el.partition();
        let (low, high) = consumer.fetch_watermarks(topic, p, QUERY_TIMEOUT)?;
        let stands = match el.offset() {
            Offset::Offset(o) => o,
            _ => match committed.find_partition(topic, p).map(|c| c.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => low,
            },
        };
        if high > stands {
            out.push((p, stands, high));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_only_after_a_quiet_period_and_once_per_period() {
        let mut w = StallWatch::new(Some(Duration::from_secs(10)));
        let t0 = w.last_record;
        assert!(!w.due(t0 + Duration::from_secs(9)));
        assert!(w.due(t0 + Duration::from_secs(10)));
        assert!(!w.due(t0 + Duration::from_secs(15)), "asked 5 s ago");
        assert!(w.due(t0 + Duration::from_secs(20)));
    }

    #[test]
    fn after_a_rebuild_it_waits_for_a_record() {
        let mut w = StallWatch::new(Some(Duration::from_secs(1)));
        let t0 = w.last_record;
        w.disarm();
        assert!(!w.due(t0 + Duration::from_secs(5)));
        w.record_arrived(t0 + Duration::from_secs(5));
        assert!(w.due(t0 + Duration::from_secs(7)));
    }

    #[test]
    fn a_broker_out_of_reach_for_checks_in_a_row_means_rebuild() {
        let mut w = StallWatch::new(Some(Duration::from_secs(1)));
        assert!(!w.query_failed());
        w.query_answered();
        assert!(!w.query_failed(), "counted in a row only");
        assert!(w.query_failed());
        w.disarm();
        assert!(!w.query_failed(), "a rebuild starts the count again");
    }

    #[test]
    fn never_looks_when_off() {
        let mut w = StallWatch::new(None);
        assert!(!w.due(w.last_record + Duration::from_secs(3600)));
    }
}
