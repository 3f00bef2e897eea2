//! Warnings that could repeat per message, rate-limited per kind with counts.
//!
//! The original pipeline logged one warning per message and flooded its logs.
//! Here the first occurrence of a kind is logged at once; later ones within the
//! window are only counted, and the next line says how many were suppressed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one line per kind per window (default 10 s).
#[derive(Debug)]
pub struct RateLimitedLog {
    window: Duration,
    state: Mutex<HashMap<String, (Instant, u64)>>,
}

impl Default for RateLimitedLog {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

impl RateLimitedLog {
    pub fn new(window: Duration) -> Self {
        Self { window, state: Mutex::new(HashMap::new()) }
    }

    /// Returns `Some(suppressed)` when a line may be written now (with how many
    /// were suppressed since the last line of this kind), `None` when it must not.
    pub fn check(&self, kind: &str, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.get_mut(kind) {
            Some((last, suppressed)) if now.saturating_duration_since(*last) < self.window => {
                *suppressed += 1;
                None
            }
            Some((last, suppressed)) => {
                let n = *suppressed;
                *last = now;
                *suppressed = 0;
                Some(n)
            }
            None => {
                state.insert(kind.to_string(), (now, 0));
                Some(0)
            }
        }
    }

    /// Logs a warning of `kind` unless one was logged within the window.
    pub fn warn(&self, kind: &str, message: impl FnOnce() -> String) {
        if let Some(suppressed) = self.check(kind, Instant::now()) {
            if suppressed > 0 {
                tracing::warn!(kind, suppressed, "{} ({suppressed} more like this in the last {:?})", message(), self.window);
            } else {
                tracing::warn!(kind, "{}", message());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_kind_per_window_with_the_count() {
        let log = RateLimitedLog::new(Duration::from_secs(10));
        let t = Instant::now();
        assert_eq!(log.check("bad-zstd", t), Some(0));
        for i in 1..=99 {
            assert_eq!(log.check("bad-zstd", t + Duration::from_millis(i)), None);
        }
        assert_eq!(log.check("empty", t), Some(0), "kinds are independent");
        assert_eq!(log.check("bad-zstd", t + Duration::from_secs(10)), Some(99));
        assert_eq!(log.check("bad-zstd", t + Duration::from_secs(11)), None);
    }
}
