//! Loss and duplicate detection from the sequences consumers see.
//!
//! Every producer session numbers its messages 1, 2, 3, ... The detector keeps
//! the sequences received per (producer id, session) as a [`RangeSet`].
//! Messages from different partitions interleave, so a hole is not loss at once:
//! it is *pending* until the grace period has passed (or the consumer drains),
//! and only the sequences still missing then are reported lost, as exact ranges.
//! A sequence seen twice is a duplicate. The detector assumes it sees each
//! session from its first message (consume from the earliest offset).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::rangeset::RangeSet;

/// One producer session.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamKey {
    pub producer_id: String,
    pub session: String,
}

/// What one message was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time this sequence is seen.
    New,
    /// Seen before.
    Duplicate,
    /// Arrived after its gap was already reported lost.
    Late,
}

/// Sequences of one session reported lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostRanges {
    pub stream: StreamKey,
    pub ranges: RangeSet,
}

#[derive(Debug, Default)]
struct Stream {
    seen: RangeSet,
    duplicates: u64,
    lost: RangeSet,
    /// Holes noticed and not yet judged: start -> (end, when noticed).
    pending: BTreeMap<u64, (u64, Instant)>,
}

/// Tracks every producer session seen by a consumer.
#[derive(Debug)]
pub struct LossDetector {
    grace: Duration,
    streams: BTreeMap<StreamKey, Stream>,
}

/// Totals across sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LossSummary {
    pub received_unique: u64,
    pub duplicates: u64,
    pub lost: u64,
    /// Every session with losses, and which sequences.
    pub lost_ranges: Vec<LostRange>,
}

/// One producer session's lost sequences, as JSON
/// `{"producer": "p", "session": "s", "ranges": [[5, 7], [15, 15]]}`:
/// inclusive first and last sequence of each run. Displayed as `p/s: 5-7,15`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct LostRange {
    pub producer: String,
    pub session: String,
    pub ranges: Vec<[u64; 2]>,
}

impl LostRange {
    pub fn new(producer: &str, session: &str, lost: &RangeSet) -> Self {
        Self { producer: producer.to_string(), session: session.to_string(), ranges: lost.ranges().map(|(a, b)| [a, b]).collect() }
    }
}

impl std::fmt::Display for LostRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let runs: Vec<String> = self.ranges.iter().map(|[a, b]| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
        write!(f, "{}/{}: {}", self.producer, self.session, runs.join(","))
    }
}

impl LossDetector {
    /// A hole becomes lost once it is older than `grace`.
    pub fn new(grace: Duration) -> Self {
        Self { grace, streams: BTreeMap::new() }
    }

    /// Records one received sequence.
    pub fn observe(&mut self, stream: &StreamKey, sequence: u64, now: Instant) -> Seen {
        // Looked up by reference first: the key is cloned once per stream, not per record.
        if !self.streams.contains_key(stream) {
            self.streams.insert(stream.clone(), Default::default());
        }
        let s = self.streams.get_mut(stream).expect("inserted above");
        let prev_max = s.seen.max().unwrap_or(0).max(s.lost.max().unwrap_or(0));
        if s.lost.contains(sequence) {
            if s.seen.insert(sequence) {
                return Seen::Late;
            }
            s.duplicates += 1;
            return Seen::Duplicate;
        }
        if !s.seen.insert(sequence) {
            s.duplicates += 1;
            return Seen::Duplicate;
        }
        if sequence > prev_max + 1 {
            open_hole(s, prev_max + 1, sequence - 1, now);
        }
        Seen::New
    }

    /// Tells the detector the last sequence a session sent (known from the
    /// producer). What is missing above the highest sequence seen becomes a
    /// hole like any other, so a lost tail is reported, with its exact range,
    /// after the grace period or at drain. A session never seen at all is
    /// lost entirely.
    pub fn expect_last(&mut self, stream: &StreamKey, last: u64, now: Instant) {
        // Looked up by reference first: the key is cloned once per stream, not per record.
        if !self.streams.contains_key(stream) {
            self.streams.insert(stream.clone(), Default::default());
        }
        let s = self.streams.get_mut(stream).expect("inserted above");
        let prev_max = s.seen.max().unwrap_or(0).max(s.lost.max().unwrap_or(0));
        if last > prev_max {
            open_hole(s, prev_max + 1, last, now);
        }
    }

    /// Holes older than the grace period, now reported lost (each reported once).
    pub fn overdue(&mut self, now: Instant) -> Vec<LostRanges> {
        let grace = self.grace;
        self.judge(|noticed| now.saturating_duration_since(noticed) >= grace)
    }

    /// Every hole still open, reported lost: call when the consumer has drained.
    pub fn drain(&mut self) -> Vec<LostRanges> {
        self.judge(|_| true)
    }

    fn judge(&mut self, due: impl Fn(Instant) -> bool) -> Vec<LostRanges> {
        let mut out = Vec::new();
        for (key, s) in &mut self.streams {
            let due_starts: Vec<u64> = s.pending.iter().filter(|(_, (_, t))| due(*t)).map(|(&k, _)| k).collect();
            let mut lost_now = RangeSet::new();
            for start in due_starts {
                let (end, _) = s.pending.remove(&start).expect("present");
                for (a, b) in s.seen.gaps(start, end).ranges() {
                    lost_now.insert_range(a, b);
                }
            }
            if !lost_now.is_empty() {
                for (a, b) in lost_now.ranges() {
                    s.lost.insert_range(a, b);
                }
                out.push(LostRanges { stream: key.clone(), ranges: lost_now });
            }
        }
        out
    }

    /// Totals so far.
    pub fn summary(&self) -> LossSummary {
        let mut sum = LossSummary::default();
        for (k, s) in &self.streams {
            sum.received_unique += s.seen.len();
            sum.duplicates += s.duplicates;
            let still_lost = lost_minus_late(s);
            sum.lost += still_lost.len();
            if !still_lost.is_empty() {
                sum.lost_ranges.push(LostRange::new(&k.producer_id, &k.session, &still_lost));
            }
        }
        sum
    }

    /// Sequences seen for one session.
    pub fn seen(&self, stream: &StreamKey) -> Option<&RangeSet> {
        self.streams.get(stream).map(|s| &s.seen)
    }
}

/// A hole `start..=end` to judge later; one already open at `start` (from
/// [`LossDetector::expect_last`]) keeps the larger end and the earlier time.
fn open_hole(s: &mut Stream, start: u64, end: u64, now: Instant) {
    let hole = s.pending.entry(start).or_insert((end, now));
    hole.0 = hole.0.max(end);
}

fn lost_minus_late(s: &Stream) -> RangeSet {
    s.lost.difference(&s.seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(p: &str) -> StreamKey {
        StreamKey { producer_id: p.into(), session: "s".into() }
    }

    #[test]
    fn reordering_within_the_grace_period_is_not_loss() {
        let mut d = LossDetector::new(Duration::from_secs(5));
        let t = Instant::now();
        for n in [1, 2, 5, 3, 4, 6] {
            assert_eq!(d.observe(&key("p"), n, t), Seen::New);
        }
        assert!(d.overdue(t + Duration::from_secs(10)).is_empty());
        assert!(d.drain().is_empty());
        assert_eq!(d.summary().lost, 0);
    }

    #[test]
    fn holes_become_lost_after_the_grace_period_with_exact_ranges() {
        let mut d = LossDetector::new(Duration::from_secs(5));
        let t = Instant::now();
        for n in (1..=10).chain(14..=20).chain([25]) {
            d.observe(&key("p"), n, t);
        }
        d.observe(&key("p"), 12, t); // partly filled later
        assert!(d.overdue(t + Duration::from_secs(1)).is_empty());
        let lost = d.overdue(t + Duration::from_secs(6));
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].ranges.to_string(), "11,13,21-24");
        assert!(d.overdue(t + Duration::from_secs(60)).is_empty(), "reported once");
        assert_eq!(d.summary().lost, 6);
        let lost = d.summary().lost_ranges;
        assert_eq!(lost.iter().map(ToString::to_string).collect::<Vec<_>>(), vec!["p/s: 11,13,21-24".to_string()]);
        assert_eq!(serde_json::to_value(&lost[0]).unwrap(), serde_json::json!({"producer": "p", "session": "s", "ranges": [[11, 11], [13, 13], [21, 24]]}));
    }

    #[test]
    fn duplicates_are_counted_not_lost() {
        let mut d = LossDetector::new(Duration::ZERO);
        let t = Instant::now();
        for n in [1, 2, 2, 3, 1] {
            d.observe(&key("p"), n, t);
        }
        assert_eq!(d.summary().duplicates, 2);
        assert_eq!(d.summary().received_unique, 3);
        assert!(d.drain().is_empty());
    }

    #[test]
    fn a_missing_start_of_session_is_lost_on_drain() {
        let mut d = LossDetector::new(Duration::from_secs(60));
        d.observe(&key("p"), 4, Instant::now());
        assert_eq!(d.drain()[0].ranges.to_string(), "1-3");
    }

    #[test]
    fn late_arrivals_after_a_loss_report_are_late_and_no_longer_lost() {
        let mut d = LossDetector::new(Duration::ZERO);
        let t = Instant::now();
        d.observe(&key("p"), 1, t);
        d.observe(&key("p"), 3, t);
        assert_eq!(d.overdue(t)[0].ranges.to_string(), "2");
        assert_eq!(d.observe(&key("p"), 2, t), Seen::Late);
        assert_eq!(d.summary().lost, 0);
    }

    #[test]
    fn a_lost_tail_is_reported_once_the_last_sequence_is_known() {
        let mut d = LossDetector::new(Duration::from_secs(60));
        let t = Instant::now();
        for n in 1..=90 {
            d.observe(&key("p"), n, t);
        }
        d.expect_last(&key("p"), 100, t);
        d.observe(&key("p"), 95, t); // one of the tail arrives after all
        assert!(d.overdue(t + Duration::from_secs(1)).is_empty(), "within the grace period");
        assert_eq!(d.drain()[0].ranges.to_string(), "91-94,96-100");
        assert_eq!(d.summary().lost, 9);
        d.expect_last(&key("q"), 3, t);
        assert_eq!(d.drain()[0].ranges.to_string(), "1-3", "a session never seen is lost whole");
        d.expect_last(&key("p"), 90, t);
        assert!(d.drain().is_empty(), "nothing above what was seen");
    }

    #[test]
    fn a_duplicate_of_a_late_arrival_is_counted() {
        let mut d = LossDetector::new(Duration::ZERO);
        let t = Instant::now();
        d.observe(&key("p"), 1, t);
        d.observe(&key("p"), 3, t);
        d.overdue(t);
        assert_eq!(d.observe(&key("p"), 2, t), Seen::Late);
        assert_eq!(d.observe(&key("p"), 2, t), Seen::Duplicate);
        assert_eq!(d.summary().duplicates, 1);
    }

    #[test]
    fn sessions_are_independent() {
        let mut d = LossDetector::new(Duration::ZERO);
        let t = Instant::now();
        d.observe(&key("a"), 1, t);
        d.observe(&key("b"), 2, t);
        let lost = d.drain();
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].stream, key("b"));
    }
}
