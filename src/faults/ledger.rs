//! The books of a fault run: what was acknowledged and what was read, per
//! producer session, as range sets; the verdict is computed from them alone.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::pipeline::consumer::{ConsumeReport, Event};
use crate::pipeline::latency::Latency;
use crate::pipeline::rangeset::RangeSet;
use crate::pipeline::traffic::Sent;

/// Everything both clients of a run have seen.
#[derive(Default)]
pub(super) struct Ledger {
    pub acked: BTreeMap<String, RangeSet>,
    /// Sends reported delivered without an offset from the broker (`acks=0`):
    /// the broker confirmed nothing, so nothing proves they were stored.
    pub unconfirmed: u64,
    /// The acknowledged sends the broker confirmed (with an offset), per session.
    pub confirmed: BTreeMap<String, RangeSet>,
    pub unacked: u64,
    pub reads: BTreeMap<String, RangeSet>,
    pub received: u64,
    pub duplicates: u64,
    pub negative: u64,
    /// Over every consumer of the run (crashed ones too): messages decoded, and
    /// how many gave a latency sample or a skew observation (exactly one each).
    pub decoded: u64,
    pub latency_samples: u64,
    pub skewed: u64,
    pub errors: Vec<String>,
    pub commit_failures: u64,
    /// Consumer clients rebuilt because they stalled with records waiting (see `pipeline::stall`).
    pub stall_restarts: u64,
    /// Requests the producers retried (librdkafka statistics), over every incarnation.
    pub producer_retries: u64,
    /// Client crashes as they really happened: (when, what happened).
    pub crashes: Vec<(Instant, String)>,
    /// Producer id of each producer session of the run.
    pub producers: BTreeMap<String, String>,
    /// The run second by second, for the report's chart.
    pub timeline: super::timeline::TimelineRecorder,
}

impl Ledger {
    /// Adds one consumer's latency accounting.
    pub fn consumer_report(&mut self, r: &ConsumeReport) {
        self.negative += r.negative_latency;
        self.decoded += r.decoded;
        self.latency_samples += r.latency_ms.count;
        self.skewed += r.clock_skew.count;
        self.stall_restarts += r.stall_restarts;
    }

    /// The producer id that stamped `session` (empty if the run never named it).
    pub fn producer_of(&self, session: &str) -> &str {
        self.producers.get(session).map_or("", String::as_str)
    }

    /// Whether every decoded message gave exactly one latency sample or skew observation.
    pub fn latency_accounted(&self) -> bool {
        self.latency_samples + self.skewed == self.decoded
    }

    /// Acknowledged sends over all sessions.
    pub fn acked_total(&self) -> u64 {
        self.acked.values().map(|r| r.len()).sum()
    }

    /// Acknowledged sends of one session.
    pub fn acked_in(&self, session: &str) -> u64 {
        self.acked.get(session).map_or(0, |r| r.len())
    }

    /// Enters one finished send.
    pub fn sent(&mut self, sent: Sent) {
        self.timeline.sent(sent.handed_over, sent.answered, sent.result.is_ok());
        match sent.result {
            Ok(ack) => {
                self.unconfirmed += u64::from(ack.offset < 0);
                if ack.offset >= 0 {
                    self.confirmed.entry(sent.session.clone()).or_default().insert(ack.sequence);
                }
                self.acked.entry(sent.session).or_default().insert(ack.sequence);
            }
            Err(e) => {
                self.unacked += 1;
                if self.errors.len() < 5 {
                    self.errors.push(format!("send: {e}"));
                }
            }
        }
    }

    /// Whether everything acknowledged has been read.
    pub fn all_acked_read(&self) -> bool {
        all_read(&self.acked, &self.reads)
    }

    /// Whether everything the broker confirmed (with an offset) has been read.
    pub fn all_confirmed_read(&self) -> bool {
        all_read(&self.confirmed, &self.reads)
    }

    /// Acknowledged and never read, per session.
    pub fn lost(&self) -> Vec<(String, RangeSet)> {
        let empty = RangeSet::new();
        self.acked
            .iter()
            .map(|(session, acked)| (session.clone(), acked.difference(self.reads.get(session).unwrap_or(&empty))))
            .filter(|(_, lost)| !lost.is_empty())
            .collect()
    }
}

fn all_read(wanted: &BTreeMap<String, RangeSet>, reads: &BTreeMap<String, RangeSet>) -> bool {
    wanted.iter().all(|(s, w)| reads.get(s).is_some_and(|r| w.difference(r).is_empty()))
}

/// The ledger, also after a task panicked while holding it: what it had
/// recorded until then still counts in the verdict.
pub(super) fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|p| p.into_inner())
}

/// Enters the records among `events` in the ledger; returns how many there were.
pub(super) fn record(ledger: &Mutex<Ledger>, events: Vec<Event>) -> u64 {
    let mut l = lock(ledger);
    let mut n = 0;
    let now = Instant::now();
    for event in events {
        if let Event::Message { envelope, latency, .. } = event {
            let h = envelope.header.unwrap_or_default();
            l.received += 1;
            n += 1;
            let first_time = l.reads.entry(h.producer_session).or_default().insert(h.sequence);
            l.duplicates += u64::from(!first_time);
            let measured = match latency {
                Latency::Positive(d) => Some(d),
                Latency::Skew(_) => None,
            };
            l.timeline.read(now, first_time, measured);
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::codec::FrameFormat;
    use crate::pipeline::producer::Ack;
    use crate::proto::{Envelope, Header};

    fn sent(session: &str, sequence: u64, offset: i64) -> Sent {
        let now = Instant::now();
        let ack = Ack { sequence, partition: 0, offset, format: FrameFormat::Raw, raw_len: 10, wire_len: 11 };
        Sent { sequence, session: session.into(), intended: now, handed_over: now, answered: now, result: Ok(ack) }
    }

    fn read(session: &str, sequence: u64) -> Event {
        let header = Header { producer_session: session.into(), sequence, ..Default::default() };
        let envelope = Box::new(Envelope { header: Some(header), payload: None });
        Event::Message { envelope, format: FrameFormat::Raw, seen: crate::pipeline::loss::Seen::New, latency: crate::pipeline::latency::Latency::Skew(Default::default()), partition: 0, offset: 0 }
    }

    #[test]
    fn the_books_balance_acknowledged_against_read() {
        let l = Mutex::new(Ledger::default());
        for seq in 1..=3 {
            lock(&l).sent(sent("a", seq, seq as i64));
        }
        lock(&l).sent(sent("b", 1, -1)); // acks=0: delivered, not confirmed
        lock(&l).sent(sent("c", 1, 0)); // offset 0 is the broker's first offset: confirmed
        {
            let books = lock(&l);
            assert_eq!((books.acked_total(), books.acked_in("a"), books.unconfirmed), (5, 3, 1));
            assert!(!books.all_acked_read());
        }
        record(&l, vec![read("a", 1), read("a", 2), read("a", 3), read("c", 1)]);
        assert!(lock(&l).all_confirmed_read() && !lock(&l).all_acked_read(), "b 1 was never confirmed, nor read");
        let l = Mutex::new(Ledger::default());
        for seq in 1..=3 {
            lock(&l).sent(sent("a", seq, seq as i64));
        }
        lock(&l).sent(sent("b", 1, -1));
        lock(&l).sent(sent("c", 1, 0));
        assert_eq!(record(&l, vec![read("a", 1), read("a", 2), read("a", 2), read("b", 1), read("c", 1)]), 5);
        {
            let books = lock(&l);
            assert_eq!((books.received, books.duplicates), (5, 1));
            let lost = books.lost();
            assert_eq!(lost.len(), 1);
            assert_eq!((lost[0].0.as_str(), lost[0].1.to_string()), ("a", "3".to_string()));
        }
        record(&l, vec![read("a", 3)]);
        let books = lock(&l);
        assert!(books.all_acked_read() && books.lost().is_empty());
    }

    #[test]
    fn failed_sends_are_unacknowledged_and_latency_is_accounted_per_consumer() {
        let mut l = Ledger::default();
        let mut failed = sent("a", 1, 0);
        failed.result = Err(crate::pipeline::producer::SendError::Encode { sequence: 1, source: crate::codec::EncodeError::MissingHeader });
        l.sent(failed);
        assert_eq!((l.unacked, l.acked_total(), l.errors.len()), (1, 0, 1));
        for _ in 0..9 {
            let mut again = sent("a", 1, 0);
            again.result = Err(crate::pipeline::producer::SendError::Encode { sequence: 1, source: crate::codec::EncodeError::MissingHeader });
            l.sent(again);
        }
        assert_eq!((l.unacked, l.errors.len()), (10, 5), "every failure counted, five kept as examples");
        let mut r = ConsumeReport { decoded: 10, negative_latency: 2, ..Default::default() };
        r.latency_ms.count = 6;
        r.clock_skew.count = 4;
        l.consumer_report(&r);
        assert!(l.latency_accounted());
        r.clock_skew.count = 3;
        l.consumer_report(&r);
        assert!(!l.latency_accounted(), "20 decoded, 19 accounted for");
        assert_eq!((l.decoded, l.latency_samples, l.skewed, l.negative), (20, 12, 7, 4));
    }
}
