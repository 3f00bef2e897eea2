//! The books of a fault run: what was acknowledged and what was read, per
//! producer session, as range sets; the verdict is computed from them alone.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::pipeline::consumer::{ConsumeReport, Event};
use crate::pipeline::rangeset::RangeSet;
use crate::pipeline::traffic::Sent;

/// Everything both clients of a run have seen.
#[derive(Default)]
pub(super) struct Ledger {
    pub acked: BTreeMap<String, RangeSet>,
    /// Sends reported delivered without an offset from the broker (`acks=0`):
    /// the broker confirmed nothing, so nothing proves they were stored.
    pub unconfirmed: u64,
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
    /// Requests the producers retried (librdkafka statistics), over every incarnation.
    pub producer_retries: u64,
    /// Client crashes as they really happened: (when, what happened).
    pub crashes: Vec<(Instant, String)>,
}

impl Ledger {
    /// Adds one consumer's latency accounting.
    pub fn consumer_report(&mut self, r: &ConsumeReport) {
        self.negative += r.negative_latency;
        self.decoded += r.decoded;
        self.latency_samples += r.latency_ms.count;
        self.skewed += r.clock_skew.count;
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
        match sent.result {
            Ok(ack) => {
                self.unconfirmed += u64::from(ack.offset < 0);
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
        self.acked.iter().all(|(s, acked)| self.reads.get(s).is_some_and(|r| acked.difference(r).is_empty()))
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

/// The ledger, also after a task panicked while holding it: what it had
/// recorded until then still counts in the verdict.
pub(super) fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|p| p.into_inner())
}

/// Enters the records among `events` in the ledger; returns how many there were.
pub(super) fn record(ledger: &Mutex<Ledger>, events: Vec<Event>) -> u64 {
    let mut l = lock(ledger);
    let mut n = 0;
    for event in events {
        if let Event::Message { envelope, .. } = event {
            let h = envelope.header.unwrap_or_default();
            l.received += 1;
            n += 1;
            if !l.reads.entry(h.producer_session).or_default().insert(h.sequence) {
                l.duplicates += 1;
            }
        }
    }
    n
}
