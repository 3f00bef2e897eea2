//! The verdict of a fault run, Jepsen style, computed from the run's books
//! alone: what was acknowledged against what was read, per producer session.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::catalogue::Fault;
use super::ledger::Ledger;
use super::schedule::Scheduled;
use crate::pipeline::loss::LostRange;

/// The verdict, Jepsen style.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Verdict {
    pub topic: String,
    pub broker: String,
    pub faults: Vec<String>,
    /// Sends acknowledged by the broker.
    pub acked: u64,
    /// Of those, reported delivered without an offset from the broker (`acks=0`).
    pub unconfirmed: u64,
    /// Sends never acknowledged (failed or cut short by a crash): not losses.
    pub unacked: u64,
    /// Records read, duplicates included.
    pub received: u64,
    /// Acknowledged but never read: exact ranges per producer session.
    pub lost: u64,
    pub lost_ranges: Vec<crate::pipeline::loss::LostRange>,
    /// Read more than once (expected after a consumer crash; reported, not a failure).
    pub duplicates: u64,
    /// Consumer commits that failed during a fault (retried by the next one).
    pub commit_failures: u64,
    /// Produce requests the producers retried (librdkafka statistics).
    pub producer_retries: u64,
    /// Consumer clients rebuilt because they stalled with records waiting: a
    /// librdkafka stall survived, reported rather than hidden.
    pub consumer_stall_restarts: u64,
    pub producer_sessions: usize,
    pub negative_latency: u64,
    /// Consumer lag per partition once the faults healed and the consumer drained.
    pub lag_after_heal: BTreeMap<i32, i64>,
    /// The run second by second, with the fault windows (client crashes are instants).
    pub timeline: super::timeline::Timeline,
    pub duration_s: f64,
    pub failures: Vec<String>,
    pub verdict: String,
}

/// What the schedule did: `(when, what)` per fault, and what went wrong.
#[derive(Default)]
pub(super) struct Happenings {
    pub faults: Vec<(Duration, String)>,
    pub failures: Vec<String>,
}

/// The ledger's timeline, with each client crash as an instant window.
fn timeline_of(l: &Ledger, t0: Instant) -> super::timeline::Timeline {
    let mut t = l.timeline.timeline.clone();
    for (at, what) in &l.crashes {
        let s = at.saturating_duration_since(t0).as_secs_f64();
        t.faults.push(super::timeline::Window { what: what.clone(), from_s: s, to_s: s });
    }
    t.faults.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
    t
}

/// The verdict from the books alone: pass only with something acknowledged,
/// nothing acknowledged lost, no negative latency, lag back to zero and no failure.
pub(super) fn judge(l: &Ledger, t0: Instant, happened: Happenings, lag: BTreeMap<i32, i64>, schedule: &[Scheduled]) -> Verdict {
    let Happenings { mut faults, mut failures } = happened;
    failures.extend(producer_side_proofs(l, schedule));
    faults.extend(l.crashes.iter().map(|(at, what)| (at.saturating_duration_since(t0), what.clone())));
    faults.sort_by_key(|(at, _)| *at);
    let lost = l.lost();
    failures.extend(l.errors.iter().take(10).cloned());
    let mut v = Verdict {
        faults: faults.into_iter().map(|(at, f)| format!("{:.1}s {f}", at.as_secs_f64())).collect(),
        acked: l.acked_total(),
        unconfirmed: l.unconfirmed,
        unacked: l.unacked,
        received: l.received,
        lost: lost.iter().map(|(_, r)| r.len()).sum(),
        lost_ranges: lost.iter().map(|(session, r)| LostRange::new(l.producer_of(session), session, r)).collect(),
        duplicates: l.duplicates,
        commit_failures: l.commit_failures,
        producer_retries: l.producer_retries,
        consumer_stall_restarts: l.stall_restarts,
        producer_sessions: l.acked.len(),
        negative_latency: l.negative,
        lag_after_heal: lag,
        timeline: timeline_of(l, t0),
        ..Default::default()
    };
    if !l.latency_accounted() {
        failures.push(format!("latency accounting: {} decoded, but {} latency samples and {} skew observations", l.decoded, l.latency_samples, l.skewed));
    }
    let lag_total: i64 = v.lag_after_heal.values().sum();
    let pass = v.lost == 0 && v.unconfirmed == 0 && v.negative_latency == 0 && lag_total == 0 && failures.is_empty() && v.acked > 0;
    v.failures = failures;
    v.verdict = if pass { "pass" } else { "fail" }.into();
    v
}

/// Faults whose effect only the producer can see, proven from its books:
/// retriable errors make librdkafka retry requests; refusals leave sends unacknowledged.
fn producer_side_proofs(l: &Ledger, schedule: &[Scheduled]) -> Vec<String> {
    let mut out = Vec::new();
    let scheduled = |f: Fault| schedule.iter().any(|s| s.fault == f);
    if scheduled(Fault::MockRetriableErrors) && l.producer_retries == 0 {
        out.push("fault mock-retriable-errors had no effect: the producer retried no request".into());
    }
    if scheduled(Fault::MockFatalErrors) && l.unacked == 0 {
        out.push("fault mock-fatal-errors had no effect: every send was acknowledged".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::rangeset::RangeSet;

    fn ranges(from: u64, to: u64) -> RangeSet {
        let mut r = RangeSet::new();
        r.insert_range(from, to);
        r
    }

    fn clean_books() -> Ledger {
        let mut l = Ledger::default();
        l.acked.insert("s".into(), ranges(1, 100));
        l.reads.insert("s".into(), ranges(1, 100));
        l.received = 100;
        (l.decoded, l.latency_samples, l.skewed) = (100, 90, 10);
        l
    }

    fn judged(l: &Ledger, failures: Vec<String>, lag: i64, schedule: &[Scheduled]) -> Verdict {
        let happened = Happenings { faults: vec![], failures };
        judge(l, Instant::now(), happened, BTreeMap::from([(0, lag)]), schedule)
    }

    #[test]
    fn the_verdict_is_computed_from_the_books() {
        let clean = clean_books();
        assert_eq!(judged(&clean, vec![], 0, &[]).verdict, "pass");
        let mut lossy = clean_books();
        lossy.reads.insert("s".into(), ranges(1, 90));
        let v = judged(&lossy, vec![], 0, &[]);
        let ranges: Vec<String> = v.lost_ranges.iter().map(ToString::to_string).collect();
        assert_eq!((v.verdict.as_str(), v.lost, ranges), ("fail", 10, vec!["/s: 91-100".to_string()]), "producer unknown to this ledger");
        assert_eq!(judged(&clean, vec!["heal".into()], 0, &[]).verdict, "fail");
        assert_eq!(judged(&clean, vec![], 3, &[]).verdict, "fail");
        let broken: [fn(&mut Ledger); 4] = [|l| l.negative = 1, |l| l.unconfirmed = 1, |l| l.skewed = 9, |l| *l = Ledger::default()];
        for (i, breaks) in broken.iter().enumerate() {
            let mut l = clean_books();
            breaks(&mut l);
            assert_eq!(judged(&l, vec![], 0, &[]).verdict, "fail", "case {i}");
        }
    }

    #[test]
    fn the_verdict_reports_every_count_of_the_books() {
        let mut l = clean_books();
        (l.unacked, l.duplicates, l.commit_failures, l.producer_retries) = (2, 3, 4, 5);
        l.acked.insert("t".into(), ranges(1, 1));
        l.reads.insert("t".into(), ranges(1, 1));
        l.received = 104;
        let happened = Happenings { faults: vec![(Duration::from_millis(4200), "pause".into())], failures: vec![] };
        let v = judge(&l, Instant::now(), happened, BTreeMap::from([(0, 0)]), &[]);
        assert_eq!(v.faults, vec!["4.2s pause".to_string()]);
        assert_eq!((v.acked, v.unacked, v.received, v.duplicates), (101, 2, 104, 3));
        assert_eq!((v.commit_failures, v.producer_retries, v.producer_sessions), (4, 5, 2));
    }

    #[test]
    fn faults_only_the_producer_sees_are_proven_from_its_books() {
        let at = |fault| [Scheduled { at: Duration::ZERO, fault, hold: Duration::ZERO }];
        let mut l = clean_books();
        assert_eq!(judged(&l, vec![], 0, &at(Fault::MockRetriableErrors)).verdict, "fail", "no retransmission: no effect");
        l.producer_retries = 3;
        assert_eq!(judged(&l, vec![], 0, &at(Fault::MockRetriableErrors)).verdict, "pass");
        assert_eq!(judged(&l, vec![], 0, &at(Fault::MockFatalErrors)).verdict, "fail", "nothing refused: no effect");
        l.unacked = 3;
        assert_eq!(judged(&l, vec![], 0, &at(Fault::MockFatalErrors)).verdict, "pass");
    }
}
