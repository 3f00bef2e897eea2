//! One client's bounded send queue, and the policy when it is full.
//!
//! Policy (documented in README): the queue holds at most `items` records and
//! `bytes` frame bytes. When a new record would exceed either, the *oldest*
//! queued records are dropped, and the client is sent one `gap` notice, just
//! before the next record it does receive, naming how many it missed and which
//! sequences of which producer sessions. A client that keeps dropping without
//! ever emptying its queue for `stall` is disconnected with a close reason.
//! Pushing never waits: a slow client cannot slow the Kafka consumer or anyone else.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::Notify;

use super::notice::{GapReason, Missed, Notice};
use super::Record;

/// Bounds of a queue (or of the replay buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub items: usize,
    pub bytes: usize,
}

/// What a client's writer sends next.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Record(Arc<Record>),
    Notice(Notice),
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Outgoing>,
    /// Records among `items` (notices are not counted against the limits).
    records: usize,
    bytes: usize,
    missed: Missed,
    /// Since when records have been dropped without the queue emptying.
    dropping_since: Option<Instant>,
}

/// A bounded queue between the broadcaster and one client's writer.
#[derive(Debug)]
pub struct ClientQueue {
    limits: Limits,
    stall: Duration,
    state: Mutex<State>,
    ready: Notify,
    /// Notified when a client starts dropping records.
    dropping: Notify,
}

impl ClientQueue {
    pub fn new(limits: Limits, stall: Duration) -> Self {
        Self { limits, stall, state: Mutex::default(), ready: Notify::new(), dropping: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a notice (never dropped, never counted against the limits).
    pub fn push_notice(&self, notice: Notice) {
        self.lock().items.push_back(Outgoing::Notice(notice));
        self.ready.notify_one();
    }

    /// Queues a record, dropping the oldest ones if over the limits. Returns how many were dropped.
    pub fn push(&self, record: Arc<Record>, now: Instant) -> u64 {
        let mut s = self.lock();
        s.bytes += record.frame.len();
        s.records += 1;
        s.items.push_back(Outgoing::Record(record));
        let mut dropped = 0;
        while s.bytes > self.limits.bytes || s.records > self.limits.items {
            let Some(pos) = s.items.iter().position(|o| matches!(o, Outgoing::Record(_))) else { break };
            let Some(Outgoing::Record(old)) = s.items.remove(pos) else { unreachable!("position found a record") };
            s.bytes -= old.frame.len();
            s.records -= 1;
            s.missed.add(old.index, &old.stream, old.sequence);
            dropped += 1;
        }
        if dropped > 0 && s.dropping_since.is_none() {
            s.dropping_since = Some(now);
            self.dropping.notify_one();
        }
        drop(s);
        self.ready.notify_one();
        dropped
    }

    /// Queues the gap a reconnecting client must learn before its replay.
    pub fn push_gap(&self, missed: Missed) {
        if !missed.is_empty() {
            self.push_notice(missed.into_notice(GapReason::Reconnect));
        }
    }

    /// The next thing to send, if anything is ready. Notices queued at join
    /// time (hello, a reconnect gap) come first; then, if records were dropped
    /// since the last gap notice, a gap notice, which stands exactly where the
    /// dropped records stood.
    pub fn try_next(&self) -> Option<Outgoing> {
        let mut s = self.lock();
        if matches!(s.items.front(), Some(Outgoing::Notice(_))) {
            return s.items.pop_front();
        }
        if !s.missed.is_empty() {
            let missed = std::mem::take(&mut s.missed);
            return Some(Outgoing::Notice(missed.into_notice(GapReason::SlowClient)));
        }
        let out = s.items.pop_front()?;
        if let Outgoing::Record(r) = &out {
            s.bytes -= r.frame.len();
            s.records -= 1;
        }
        if s.items.is_empty() {
            s.dropping_since = None;
        }
        Some(out)
    }

    /// The next thing to send ([`ClientQueue::try_next`]), waiting for it. Cancel-safe.
    pub async fn next(&self) -> Outgoing {
        loop {
            if let Some(out) = self.try_next() {
                return out;
            }
            self.ready.notified().await;
        }
    }

    /// Resolves once the client has been dropping records for `stall` without
    /// its queue emptying once, with the reason.
    pub async fn evicted(&self) -> String {
        loop {
            let since = self.lock().dropping_since;
            match since {
                None => self.dropping.notified().await,
                Some(t) if t.elapsed() >= self.stall => {
                    return format!("too slow: dropping records for {:?} without catching up", self.stall);
                }
                Some(t) => {
                    let _ = tokio::time::timeout(self.stall.saturating_sub(t.elapsed()), self.dropping.notified()).await;
                }
            }
        }
    }

    /// Gives up on the client: every record still queued joins the missed ones,
    /// and the gap notice that says so is returned (None if nothing was missed).
    pub fn abandon(&self) -> Option<Notice> {
        let mut s = self.lock();
        for out in std::mem::take(&mut s.items) {
            if let Outgoing::Record(r) = out {
                s.missed.add(r.index, &r.stream, r.sequence);
            }
        }
        (s.records, s.bytes) = (0, 0);
        let missed = std::mem::take(&mut s.missed);
        (!missed.is_empty()).then(|| missed.into_notice(GapReason::SlowClient))
    }

    /// Records queued (not yet sent).
    pub fn queued(&self) -> usize {
        self.lock().records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::loss::StreamKey;

    fn record(index: u64, len: usize) -> Arc<Record> {
        let stream = Arc::new(StreamKey { producer_id: "p".into(), session: "s".into() });
        Arc::new(Record { index, frame: vec![0u8; len].into(), stream, sequence: index + 1, received_at: std::time::Instant::now() })
    }

    async fn next_record(q: &ClientQueue) -> u64 {
        match q.next().await {
            Outgoing::Record(r) => r.index,
            Outgoing::Notice(n) => panic!("expected a record, got {n:?}"),
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_oldest_and_says_which_in_their_place() {
        let q = ClientQueue::new(Limits { items: 3, bytes: 1 << 20 }, Duration::from_secs(60));
        q.push_notice(Notice::KeepAlive { at_us: 0 });
        let now = Instant::now();
        let dropped: u64 = (0..6).map(|i| q.push(record(i, 10), now)).sum();
        assert_eq!((dropped, q.queued()), (3, 3));
        assert!(matches!(q.next().await, Outgoing::Notice(Notice::KeepAlive { .. })), "notices queued first stay first");
        match q.next().await {
            Outgoing::Notice(Notice::Gap { missed, indices, streams, .. }) => {
                assert_eq!((missed, indices.as_str(), streams[0].sequences.as_str()), (3, "0-2", "1-3"));
            }
            other => panic!("expected the gap notice, got {other:?}"),
        }
        for want in 3..6 {
            assert_eq!(next_record(&q).await, want);
        }
    }

    #[tokio::test]
    async fn the_byte_limit_counts_too() {
        let q = ClientQueue::new(Limits { items: 100, bytes: 250 }, Duration::from_secs(60));
        let now = Instant::now();
        assert_eq!(q.push(record(0, 100), now) + q.push(record(1, 100), now), 0);
        assert_eq!(q.push(record(2, 100), now), 1, "300 bytes > 250: the oldest goes");
        assert_eq!(q.queued(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_dropping_without_catching_up_is_evicted_after_the_stall_time() {
        let q = Arc::new(ClientQueue::new(Limits { items: 1, bytes: 1 << 20 }, Duration::from_secs(5)));
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.evicted().await }
        });
        q.push(record(0, 1), Instant::now());
        q.push(record(1, 1), Instant::now());
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(!waiter.is_finished(), "not before the stall time");
        let reason = tokio::time::timeout(Duration::from_secs(2), waiter).await.expect("evicted after 5 s").unwrap();
        assert!(reason.starts_with("too slow"), "{reason}");
    }

    #[tokio::test(start_paused = true)]
    async fn catching_up_resets_the_stall_clock() {
        let q = ClientQueue::new(Limits { items: 1, bytes: 1 << 20 }, Duration::from_secs(5));
        q.push(record(0, 1), Instant::now());
        q.push(record(1, 1), Instant::now());
        let _gap = q.next().await;
        assert_eq!(next_record(&q).await, 1, "the queue is now empty");
        let evicted = tokio::time::timeout(Duration::from_secs(30), q.evicted()).await;
        assert!(evicted.is_err(), "a client that caught up is not evicted");
    }
}
