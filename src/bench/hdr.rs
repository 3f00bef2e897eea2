//! Latency recording the way the OpenMessaging Benchmark does it: an
//! HdrHistogram in microseconds (3 significant digits, up to 60 s), read out as
//! a fixed set of quantiles in milliseconds.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The quantiles every latency figure of `bench` reports.
pub const QUANTILES: [(&str, f64); 5] = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99.9", 0.999), ("max", 1.0)];

/// A histogram of durations.
#[derive(Debug, Clone)]
pub struct Recorder {
    histogram: Histogram<u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        let histogram = Histogram::new_with_bounds(1, 60_000_000, 3).expect("static bounds are valid");
        Self { histogram }
    }
}

impl Recorder {
    /// Records one duration (clamped into 1 µs ..= 60 s: a bound, never a drop).
    pub fn record(&mut self, d: Duration) {
        let us = (d.as_micros() as u64).clamp(1, 60_000_000);
        self.histogram.saturating_record(us);
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The quantiles, in milliseconds.
    pub fn quantiles(&self) -> Quantiles {
        let h = &self.histogram;
        if h.is_empty() {
            return Quantiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Quantiles {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// A latency distribution in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Quantiles {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Quantiles {
    /// The values in the order of [`QUANTILES`].
    pub fn values(&self) -> [f64; 5] {
        [self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_recorded_values() {
        let mut r = Recorder::default();
        for ms in 1..=1000u64 {
            r.record(Duration::from_millis(ms));
        }
        let q = r.quantiles();
        assert_eq!(q.count, 1000);
        assert!((q.p50_ms - 500.0).abs() <= 1.0, "{q:?}");
        assert!((q.p99_ms - 990.0).abs() <= 1.0, "{q:?}");
        assert!((q.max_ms - 1000.0).abs() <= 1.0, "{q:?}");
        assert!((q.mean_ms - 500.5).abs() <= 1.0, "{q:?}");
    }

    #[test]
    fn an_empty_recorder_reports_zeros_and_out_of_range_values_are_clamped() {
        assert_eq!(Recorder::default().quantiles(), Quantiles::default());
        let mut r = Recorder::default();
        r.record(Duration::ZERO);
        r.record(Duration::from_secs(3600));
        assert_eq!(r.count(), 2);
        assert!(r.quantiles().max_ms <= 60_100.0);
    }
}
