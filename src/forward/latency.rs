//! The forwarder's latency accounting: produce to forward, never negative.
//!
//! The original forwarder printed `E2E latency: -4.46ms`: it subtracted the
//! producer's `created_at` from its own clock and reported whatever came out.
//! Here a [`LatencyMeter`] decides what one difference is (the honest one uses
//! the consumer's [`classify`]: a negative difference is clock skew, never a
//! latency), and [`ForwardStats`] keeps the counts a scenario and the 10 s
//! summary line read. Negative values are counted from the *reported*
//! latencies, so a meter that lets one through is caught, not trusted.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::pipeline::latency::{classify, percentiles_of, Latency, Percentiles};

/// What one produce-to-forward difference is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measured {
    /// A latency in microseconds, as reported (signed, so that a wrong meter shows).
    Latency(i64),
    /// The producer's clock was ahead by this much: not a latency.
    Skew(Duration),
}

/// Turns `forward clock - created_at` into what is reported.
pub trait LatencyMeter: Send + Sync + Debug {
    fn measure(&self, created_at_us: i64, now_us: i64) -> Measured;
}

/// The meter the forwarder uses: the consumer's classification.
#[derive(Debug, Default, Clone, Copy)]
pub struct HonestMeter;

impl LatencyMeter for HonestMeter {
    fn measure(&self, created_at_us: i64, now_us: i64) -> Measured {
        match classify(created_at_us, now_us) {
            Latency::Positive(d) => Measured::Latency(d.as_micros() as i64),
            Latency::Skew(d) => Measured::Skew(d),
        }
    }
}

/// Samples kept per summary window and kind. Beyond it, a uniform sample of
/// the window is kept (reservoir sampling), so the percentiles stay unbiased
/// and memory stays bounded (1.6 MB per kind) whatever the rate.
pub const WINDOW_SAMPLES: usize = 200_000;

/// A bounded, uniform sample of a window's values (Vitter's algorithm R).
#[derive(Debug, Default)]
struct Reservoir {
    values: Vec<i64>,
    seen: u64,
    rng: u64,
}

impl Reservoir {
    fn add(&mut self, v: i64) {
        self.seen += 1;
        if self.values.len() < WINDOW_SAMPLES {
            self.values.push(v);
            return;
        }
        // xorshift64: statistical quality is plenty for choosing samples.
        self.rng = if self.rng == 0 { 0x9E37_79B9_7F4A_7C15 } else { self.rng };
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let j = self.rng % self.seen;
        if (j as usize) < WINDOW_SAMPLES {
            self.values[j as usize] = v;
        }
    }

    /// Percentiles of the sample, with `count` = every value seen.
    fn percentiles(&mut self) -> Percentiles {
        Percentiles { count: self.seen, ..percentiles_of(&mut self.values) }
    }
}

/// Totals since the forwarder started (what scenarios and `/stats` read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ForwardTotals {
    /// Records read from Kafka.
    pub records: u64,
    /// Records decoded and handed to clients.
    pub forwarded: u64,
    pub undecodable: u64,
    /// Reported latencies (one per forwarded record that was not skew).
    pub latencies: u64,
    /// Reported latencies below zero: the original bug. Must stay 0.
    pub negative_latency: u64,
    pub skewed: u64,
    pub max_skew_ms: f64,
    /// Clients closed as too slow (dropping records for the stall time without catching up).
    pub evicted: u64,
}

#[derive(Debug, Default)]
struct Window {
    e2e_us: Reservoir,
    added_us: Reservoir,
    /// Negative values among the reported latencies (all of them, not a sample).
    negative: u64,
    skewed: u64,
}

/// Counts and the current summary window, shared by the Kafka side and the client writers.
#[derive(Debug, Default)]
pub struct ForwardStats {
    totals: Mutex<ForwardTotals>,
    window: Mutex<Window>,
    /// Woken whenever the totals change (see [`ForwardStats::wait_until`]).
    changed: tokio::sync::Notify,
}

/// One summary window, taken (and reset) every `--summary-every`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WindowSummary {
    pub e2e_ms: Percentiles,
    pub added_ms: Percentiles,
    pub skewed: u64,
    pub negative: u64,
}

impl ForwardStats {
    pub fn record_read(&self) {
        self.totals.lock().unwrap_or_else(|p| p.into_inner()).records += 1;
    }

    pub fn record_undecodable(&self) {
        self.totals.lock().unwrap_or_else(|p| p.into_inner()).undecodable += 1;
        self.changed.notify_waiters();
    }

    /// A client closed as too slow.
    pub fn record_evicted(&self) {
        self.totals.lock().unwrap_or_else(|p| p.into_inner()).evicted += 1;
        self.changed.notify_waiters();
    }

    /// Waits until `cond` holds on the totals; after `deadline`, the totals as they are, as the error.
    pub async fn wait_until(&self, deadline: Duration, cond: impl Fn(&ForwardTotals) -> bool) -> Result<ForwardTotals, ForwardTotals> {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                let now = self.totals();
                if cond(&now) {
                    return now;
                }
                changed.await;
            }
        };
        tokio::time::timeout(deadline, wait).await.map_err(|_| self.totals())
    }

    /// One forwarded record and what its latency was reported as.
    pub fn record_forwarded(&self, measured: Measured) {
        let mut t = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        t.forwarded += 1;
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        match measured {
            Measured::Latency(us) => {
                t.latencies += 1;
                t.negative_latency += u64::from(us < 0);
                w.negative += u64::from(us < 0);
                w.e2e_us.add(us);
            }
            Measured::Skew(d) => {
                t.skewed += 1;
                t.max_skew_ms = t.max_skew_ms.max(d.as_secs_f64() * 1000.0);
                w.skewed += 1;
            }
        }
        drop((t, w));
        self.changed.notify_waiters();
    }

    /// Time from a record's arrival from Kafka to its frame written to one client.
    pub fn record_added(&self, d: Duration) {
        self.window.lock().unwrap_or_else(|p| p.into_inner()).added_us.add(d.as_micros() as i64);
    }

    pub fn totals(&self) -> ForwardTotals {
        *self.totals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The window since the last call, then starts a new one.
    pub fn take_window(&self) -> WindowSummary {
        let mut w = std::mem::take(&mut *self.window.lock().unwrap_or_else(|p| p.into_inner()));
        WindowSummary { e2e_ms: w.e2e_us.percentiles(), added_ms: w.added_us.percentiles(), skewed: w.skewed, negative: w.negative }
    }
}

impl WindowSummary {
    /// `E2E latency: p50 2.1 ms, p99 7.9 ms, max 12.0 ms over 9,812 messages; 0 skewed`
    /// (a negative count is added when there is one, and the added latency after it).
    pub fn line(&self) -> String {
        let e = &self.e2e_ms;
        let mut s = if e.count == 0 {
            format!("E2E latency: none measured; {} skewed", thousands(self.skewed))
        } else {
            format!(
                "E2E latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} messages; {} skewed",
                e.p50,
                e.p99,
                e.max,
                thousands(e.count),
                thousands(self.skewed)
            )
        };
        if self.negative > 0 {
            s.push_str(&format!("; {} NEGATIVE", thousands(self.negative)));
        }
        let a = &self.added_ms;
        s.push_str(&format!(" (added by the forwarder: p50 {:.2} ms, p99 {:.2} ms over {} writes)", a.p50, a.p99, thousands(a.count)));
        s
    }
}

/// One line per message, in the original forwarder's shape.
pub fn each_line(measured: Measured, created_at_us: i64, now_us: i64) -> String {
    match measured {
        Measured::Latency(us) => {
            format!("E2E latency: {:.2} ms (produce: {created_at_us} µs, forward: {now_us} µs)", us as f64 / 1000.0)
        }
        Measured::Skew(d) => format!(
            "E2E latency: not measured, producer clock ahead by {:.2} ms (produce: {created_at_us} µs, forward: {now_us} µs)",
            d.as_secs_f64() * 1000.0
        ),
    }
}

/// `9812` as `9,812`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_honest_meter_never_reports_a_negative_latency() {
        assert_eq!(HonestMeter.measure(1_000, 3_500), Measured::Latency(2_500));
        assert_eq!(HonestMeter.measure(5_000_000, 0), Measured::Skew(Duration::from_secs(5)));
        assert_eq!(HonestMeter.measure(7, 7), Measured::Latency(0));
    }

    #[test]
    fn negative_latencies_are_counted_from_what_was_reported() {
        let s = ForwardStats::default();
        s.record_forwarded(Measured::Latency(2_000));
        s.record_forwarded(Measured::Latency(-4_460));
        s.record_forwarded(Measured::Skew(Duration::from_millis(5)));
        let t = s.totals();
        assert_eq!((t.forwarded, t.latencies, t.negative_latency, t.skewed, t.max_skew_ms), (3, 2, 1, 1, 5.0));
        let w = s.take_window();
        assert_eq!((w.negative, w.skewed, w.e2e_ms.count), (1, 1, 2));
        assert!(w.line().contains("1 NEGATIVE"), "{}", w.line());
        assert_eq!(s.take_window(), WindowSummary::default(), "taking a window starts a new one");
        s.record_forwarded(Measured::Skew(Duration::from_secs(5)));
        assert!(s.take_window().line().starts_with("E2E latency: none measured; 1 skewed"));
    }

    #[test]
    fn past_the_cap_a_uniform_sample_is_kept_and_every_value_counted() {
        let mut r = Reservoir::default();
        for v in 0..(3 * WINDOW_SAMPLES as i64) {
            r.add(v);
        }
        let p = r.percentiles();
        assert_eq!((r.values.len(), p.count), (WINDOW_SAMPLES, 3 * WINDOW_SAMPLES as u64));
        let median_us = p.p50 * 1000.0;
        let true_median = 1.5 * WINDOW_SAMPLES as f64;
        assert!((median_us - true_median).abs() < 0.02 * true_median, "median {median_us} vs {true_median}: the sample is not uniform");
    }

    #[test]
    fn lines_read_as_operators_expect() {
        let s = ForwardStats::default();
        for us in [1_000, 2_000, 12_000] {
            s.record_forwarded(Measured::Latency(us));
        }
        s.record_added(Duration::from_micros(150));
        let line = s.take_window().line();
        assert!(line.starts_with("E2E latency: p50 2.0 ms, p99 12.0 ms, max 12.0 ms over 3 messages; 0 skewed"), "{line}");
        assert!(line.contains("p50 0.15 ms"), "{line}");
        assert_eq!(each_line(Measured::Latency(2_300), 10, 2_310), "E2E latency: 2.30 ms (produce: 10 µs, forward: 2310 µs)");
        assert!(each_line(Measured::Skew(Duration::from_secs(5)), 5_000_010, 10).contains("ahead by 5000.00 ms"));
        assert_eq!((thousands(9_812), thousands(999), thousands(1_000_000), thousands(0)), ("9,812".into(), "999".into(), "1,000,000".into(), "0".into()));
    }
}
