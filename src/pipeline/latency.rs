//! End-to-end latency that is never negative.
//!
//! Latency = consumer wall clock - producer's `created_at`. Those are two clocks;
//! when the producer's runs ahead the difference is negative. A negative value
//! is never recorded as a latency: it counts as clock skew (counter, gauge of
//! the largest skew seen, a rate-limited "clock skew" warning naming the producer).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ratelimit::RateLimitedLog;

/// A wall clock that can be shifted, to simulate a producer whose clock is off.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock {
    offset_ms: i64,
}

impl WallClock {
    pub fn with_offset_ms(offset_ms: i64) -> Self {
        Self { offset_ms }
    }

    /// Microseconds since the Unix epoch, shifted by the offset.
    pub fn now_us(&self) -> i64 {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
        real + self.offset_ms * 1000
    }
}

/// What one observation was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// A real latency.
    Positive(Duration),
    /// The producer's clock was ahead by this much: not a latency.
    Skew(Duration),
}

/// Classifies `now_us - created_at_us`.
pub fn classify(created_at_us: i64, now_us: i64) -> Latency {
    let d = now_us.saturating_sub(created_at_us);
    if d >= 0 {
        Latency::Positive(Duration::from_micros(d as u64))
    } else {
        Latency::Skew(Duration::from_micros(d.unsigned_abs()))
    }
}

/// Keeps latency samples for percentiles, and the skew seen.
#[derive(Debug, Default)]
pub struct LatencyStats {
    inner: Mutex<Inner>,
    log: RateLimitedLog,
}

#[derive(Debug, Default)]
struct Inner {
    /// The latencies as reported, signed: a negative one here is the bug this
    /// module exists to prevent, and [`LatencyStats::negative_samples`] counts them.
    samples_us: Vec<i64>,
    negative: u64,
    max_skew: Duration,
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Percentiles {
    pub min: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub count: u64,
    /// Samples of exactly 0 µs. A transit through a broker takes time, so many
    /// of them are negative differences clamped to zero; one can be chance (a
    /// producer clock set 5 ms ahead of a 5 ms transit). Not printed: it is
    /// for the conformance checks.
    #[serde(skip)]
    pub zeros: u64,
}

/// Serializes percentiles as `null` when nothing was measured: zeros would
/// read as a measurement (`#[serde(serialize_with = ...)]` on report fields).
pub fn null_when_empty<S: serde::Serializer>(p: &Percentiles, s: S) -> Result<S::Ok, S::Error> {
    if p.count == 0 {
        s.serialize_none()
    } else {
        serde::Serialize::serialize(p, s)
    }
}

impl LatencyStats {
    /// Records one message; returns what it was. `producer` names it in the skew warning.
    pub fn record(&self, producer: &str, created_at_us: i64, now_us: i64) -> Latency {
        let l = classify(created_at_us, now_us);
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match l {
            Latency::Positive(d) => inner.samples_us.push(d.as_micros() as i64),
            Latency::Skew(d) => {
                inner.negative += 1;
                inner.max_skew = inner.max_skew.max(d);
                drop(inner);
                self.log.warn(&format!("clock-skew/{producer}"), || {
                    format!("clock skew: producer {producer} is {:.3} ms ahead of this consumer; latency not recorded", d.as_secs_f64() * 1000.0)
                });
            }
        }
        l
    }

    /// Latency samples below zero among those reported: what a negative-latency
    /// bug would show, computed from the samples themselves.
    pub fn negative_samples(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).samples_us.iter().filter(|&&us| us < 0).count() as u64
    }

    /// Negative differences seen (clock skew), never put in the histogram.
    pub fn negative(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).negative
    }

    /// Largest skew seen.
    pub fn max_skew(&self) -> Duration {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).max_skew
    }

    /// p50, p99 and max of the latencies, in ms.
    pub fn percentiles(&self) -> Percentiles {
        let mut v = self.inner.lock().unwrap_or_else(|p| p.into_inner()).samples_us.clone();
        percentiles_of(&mut v)
    }
}

/// Nearest-rank percentiles of microsecond samples, in ms.
pub fn percentiles_of<T: Copy + Ord + Into<i128>>(v: &mut [T]) -> Percentiles {
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_unstable();
    let ms = |us: T| Into::<i128>::into(us) as f64 / 1000.0;
    let rank = |q: f64| ms(v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]);
    let zeros = v.iter().filter(|&&us| Into::<i128>::into(us) == 0).count() as u64;
    Percentiles { min: ms(v[0]), p50: rank(0.50), p99: rank(0.99), max: ms(v[v.len() - 1]), count: v.len() as u64, zeros }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_zeros_are_counted_apart() {
        let p = percentiles_of(&mut [0i64, 1_500, 0, 700]);
        assert_eq!((p.count, p.zeros, p.min, p.max), (4, 2, 0.0, 1.5));
        assert_eq!(percentiles_of(&mut [1i64, 2]).zeros, 0);
    }

    #[test]
    fn negative_differences_are_skew_not_latency() {
        assert_eq!(classify(1_000_000, 1_005_000), Latency::Positive(Duration::from_millis(5)));
        assert_eq!(classify(1_005_000, 1_000_000), Latency::Skew(Duration::from_millis(5)));
        let s = LatencyStats::default();
        assert_eq!((s.negative(), s.negative_samples(), s.max_skew()), (0, 0, Duration::ZERO));
        s.record("p", 0, 1_000);
        assert_eq!(s.negative(), 0, "a positive difference is no skew");
        s.record("p", 10_000, 5_000);
        s.record("p", 0, 2_000);
        assert_eq!(s.negative(), 1);
        assert_eq!(s.max_skew(), Duration::from_millis(5));
        assert_eq!(s.percentiles().count, 2);
        assert_eq!((s.percentiles().min, s.percentiles().max), (1.0, 2.0));
        assert_eq!(s.negative_samples(), 0);
    }

    #[test]
    fn negative_samples_are_counted_from_the_samples_themselves() {
        let s = LatencyStats::default();
        s.record("p", 0, 3_000);
        // What a regression in `record` would leave behind: a negative sample.
        s.inner.lock().unwrap().samples_us.extend([-2_000, -1, 0]);
        assert_eq!(s.negative_samples(), 2);
        assert_eq!(s.percentiles().min, -2.0);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().map(|i| i * 1000).collect();
        let p = percentiles_of(&mut v);
        assert_eq!((p.min, p.p50, p.p99, p.max, p.count), (1.0, 50.0, 99.0, 100.0, 100));
        let mut few: Vec<i64> = vec![-3000, 1000, 2000];
        let p = percentiles_of(&mut few);
        assert_eq!((p.min, p.p50, p.p99, p.max), (-3.0, 1.0, 2.0, 2.0));
        assert_eq!(percentiles_of::<u64>(&mut []), Percentiles::default());
    }

    #[test]
    fn offset_clock_is_shifted() {
        let a = WallClock::default().now_us();
        let b = WallClock::with_offset_ms(5000).now_us();
        assert!(b - a >= 4_900_000 && b - a < 6_000_000);
    }
}
