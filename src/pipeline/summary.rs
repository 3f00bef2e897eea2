//! The periodic byte summaries the original directive asked for, at the
//! default log level of `produce`, `consume` and `aggregate` (their log
//! filter lets the `dashstream::summary` target through at info):
//! "compressed N messages: X bytes to Y bytes, Z% smaller" from the producer
//! and "decompressed N messages: X bytes to Y bytes" from the consumer, at
//! most every [`EVERY`], and once more at the end.

use std::time::{Duration, Instant};

/// How often a summary line may be written.
pub const EVERY: Duration = Duration::from_secs(10);

/// Bytes before and after decompression since the last line.
#[derive(Debug)]
pub struct DecompressionSummary {
    since: Instant,
    messages: u64,
    wire: u64,
    decoded: u64,
}

impl Default for DecompressionSummary {
    fn default() -> Self {
        Self { since: Instant::now(), messages: 0, wire: 0, decoded: 0 }
    }
}

impl DecompressionSummary {
    /// One decompressed frame; writes the line when [`EVERY`] has passed.
    pub fn add(&mut self, wire: usize, decoded: usize) {
        self.messages += 1;
        self.wire += wire as u64;
        self.decoded += decoded as u64;
        if self.since.elapsed() >= EVERY {
            self.log();
        }
    }

    /// Writes the line for what was counted since the last one (nothing if nothing was).
    pub fn log(&mut self) {
        if self.messages > 0 {
            tracing::info!(target: "dashstream::summary", messages = self.messages, "decompressed {} messages: {} bytes to {} bytes", self.messages, self.wire, self.decoded);
        }
        *self = Self::default();
    }
}
