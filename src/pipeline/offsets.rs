//! Processed offsets, stored in batches.
//!
//! Handing librdkafka each offset as it is processed cost a call, a lock and a
//! partition list per record: a tenth of the consumer's time at 400,000
//! records a second. Here the newest processed offset of each partition waits
//! at most [`STORE_EVERY`] (or until a commit, which stores first) before it is
//! stored; librdkafka commits stored offsets every second. A batch that never
//! gets stored (the process dies) means records read again: duplicates,
//! never a loss.

use std::time::{Duration, Instant};

/// How long a processed offset may wait before it is stored.
pub const STORE_EVERY: Duration = Duration::from_millis(20);

/// The newest processed offset per partition, not stored yet.
#[derive(Debug)]
pub struct PendingOffsets {
    newest: Vec<(i32, i64)>,
    since: Instant,
}

impl Default for PendingOffsets {
    fn default() -> Self {
        Self { newest: Vec::new(), since: Instant::now() }
    }
}

impl PendingOffsets {
    /// `offset` of `partition` was processed (offsets arrive in order per partition).
    pub fn processed(&mut self, partition: i32, offset: i64) {
        if self.newest.is_empty() {
            self.since = Instant::now();
        }
        match self.newest.iter_mut().find(|(p, _)| *p == partition) {
            Some(entry) => entry.1 = entry.1.max(offset),
            None => self.newest.push((partition, offset)),
        }
    }

    /// What to store now: everything once [`STORE_EVERY`] has passed since the
    /// oldest unstored offset, else nothing.
    pub fn due(&mut self) -> Vec<(i32, i64)> {
        if self.newest.is_empty() || self.since.elapsed() < STORE_EVERY {
            return Vec::new();
        }
        self.take()
    }

    /// Everything, now (before a commit).
    pub fn take(&mut self) -> Vec<(i32, i64)> {
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
        p.processed(0, 1);
        assert!(p.due().is_empty());
        p.since -= STORE_EVERY;
        assert_eq!(p.due(), vec![(0, 1)]);
    }
}
