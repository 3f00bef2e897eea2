//! Processed offsets, stored in batches.
//!
//! Handing librdkafka each offset as it is processed cost a call, a lock and a
//! partition list per record: a tenth of the consumer's time at 400,000
//! records a second. Here the newest processed offset of each partition waits
//! about [`STORE_EVERY`] (or until a commit, which stores first) before it is
//! stored; librdkafka commits stored offsets every second. A batch that never
//! gets stored (the process dies) means records read again: duplicates,
//! never a loss.

use std::time::{Duration, Instant};

/// How long a processed offset may wait before it is stored.
pub const STORE_EVERY: Duration = Duration::from_millis(20);

/// The newest processed offset per partition, not stored yet.
#[derive(Debug, Default)]
pub struct PendingOffsets {
    newest: Vec<(i32, i64)>,
    /// When the oldest unstored offset was first seen by [`PendingOffsets::due`].
    since: Option<Instant>,
}

impl PendingOffsets {
    /// `offset` of `partition` was processed (offsets arrive in order per partition).
    pub fn processed(&mut self, partition: i32, offset: i64) {
        match self.newest.iter_mut().find(|(p, _)| *p == partition) {
            Some(entry) => entry.1 = entry.1.max(offset),
            None => self.newest.push((partition, offset)),
        }
    }

    /// What to store at `now`: everything once [`STORE_EVERY`] has passed
    /// since a call first saw unstored offsets, else nothing. Takes the time
    /// from the caller: reading the clock costs, and the consumer reads it once a record.
    pub fn due(&mut self, now: Instant) -> Vec<(i32, i64)> {
        if self.newest.is_empty() {
            return Vec::new();
        }
        match self.since {
            Some(since) if now.saturating_duration_since(since) >= STORE_EVERY => self.take(),
            Some(_) => Vec::new(),
            None => {
                self.since = Some(now);
                Vec::new()
            }
        }
    }

    /// Everything, now (before a commit).
    pub fn take(&mut self) -> Vec<(i32, i64)> {
        self.since = None;
        std::mem::take(&mut self.newest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_offset_of_each_partition_is_kept() {
        let mut p = PendingOffsets::default();
        p.processed(0, 5);
        p.processed(1, 7);
        p.processed(0, 6);
        let mut all = p.take();
        all.sort();
        assert_eq!(all, vec![(0, 6), (1, 7)]);
        assert!(p.take().is_empty());
    }

    #[test]
    fn nothing_is_due_before_the_interval_and_everything_after() {
        let mut p = PendingOffsets::default();
        let t0 = Instant::now();
        p.processed(0, 1);
        assert!(p.due(t0).is_empty());
        assert!(p.due(t0 + STORE_EVERY / 2).is_empty());
        assert_eq!(p.due(t0 + STORE_EVERY), vec![(0, 1)]);
        assert!(p.due(t0 + STORE_EVERY * 2).is_empty(), "nothing left");
    }
}
