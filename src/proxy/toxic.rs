//! The faults a [`super::FaultProxy`] injects ("toxics", after Toxiproxy):
//! what each one does, which direction it acts on, and the set in force.
//!
//! A proxy holds at most one toxic of each kind; adding one replaces the one
//! of its kind. The set is published through a `watch` channel, so every
//! connection sees a change at once, also while it waits.

use std::fmt;
use std::time::{Duration, Instant};

/// Which way the bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Client to broker (requests).
    Upstream,
    /// Broker to client (responses, fetched records).
    Downstream,
    /// Both ways.
    Both,
}

impl Direction {
    /// Whether a toxic aimed at `self` acts on bytes flowing `flow`.
    pub fn covers(self, flow: Direction) -> bool {
        self == Direction::Both || self == flow
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Upstream => "upstream",
            Self::Downstream => "downstream",
            Self::Both => "both ways",
        })
    }
}

/// One fault of the proxy.
#[derive(Debug, Clone, PartialEq)]
pub enum Toxic {
    /// Every chunk delivered `latency` ± up to `jitter` after it arrived (order kept).
    Latency { direction: Direction, latency: Duration, jitter: Duration },
    /// At most `bytes_per_sec` per connection and direction.
    Bandwidth { direction: Direction, bytes_per_sec: u64 },
    /// Connections are accepted and never answered: nothing flows either way,
    /// new connections are not passed on. Bytes are held, not dropped (as TCP
    /// retransmits across a real black hole), and flow again once it lifts,
    /// by itself after `lasts` or when removed.
    BlackHole { lasts: Option<Duration> },
    /// Every connection reset (RST) once `after_bytes` have passed through it,
    /// both ways counted; `0` resets every connection at once, and every new one.
    Reset { after_bytes: u64 },
    /// Writes cut into pieces of `size` bytes, `delay` apart.
    Slicer { direction: Direction, size: usize, delay: Duration },
    /// When one side closes, the other side's close is held back by `delay`.
    SlowClose { delay: Duration },
}

impl Toxic {
    /// The kind's name; a proxy holds one toxic per name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Latency { .. } => "latency",
            Self::Bandwidth { .. } => "bandwidth",
            Self::BlackHole { .. } => "black-hole",
            Self::Reset { .. } => "reset",
            Self::Slicer { .. } => "slicer",
            Self::SlowClose { .. } => "slow-close",
        }
    }
}

impl fmt::Display for Toxic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latency { direction, latency, jitter } => write!(f, "latency {latency:?} ± {jitter:?} {direction}"),
            Self::Bandwidth { direction, bytes_per_sec } => write!(f, "bandwidth {} KiB/s {direction}", bytes_per_sec / 1024),
            Self::BlackHole { lasts: Some(d) } => write!(f, "black hole for {d:?}"),
            Self::BlackHole { lasts: None } => write!(f, "black hole"),
            Self::Reset { after_bytes: 0 } => write!(f, "reset every connection at once"),
            Self::Reset { after_bytes } => write!(f, "reset every connection after {after_bytes} bytes"),
            Self::Slicer { direction, size, delay } => write!(f, "writes sliced into {size}-byte pieces {delay:?} apart {direction}"),
            Self::SlowClose { delay } => write!(f, "closes held back {delay:?}"),
        }
    }
}

/// The toxics in force, as every connection sees them.
#[derive(Debug, Clone, Default)]
pub struct ToxicSet {
    toxics: Vec<Toxic>,
    /// When the black hole lifts by itself (`None` inside: when removed).
    black_hole_until: Option<Option<Instant>>,
}

impl ToxicSet {
    /// This set with `toxic` added (replacing the one of its kind).
    pub(super) fn with(&self, toxic: Toxic) -> Self {
        let mut next = self.without(toxic.name());
        if let Toxic::BlackHole { lasts } = &toxic {
            next.black_hole_until = Some(lasts.map(|d| Instant::now() + d));
        }
        next.toxics.push(toxic);
        next
    }

    /// This set without the toxic named `name`.
    pub(super) fn without(&self, name: &str) -> Self {
        let toxics: Vec<Toxic> = self.toxics.iter().filter(|t| t.name() != name).cloned().collect();
        let black_hole_until = if name == "black-hole" { None } else { self.black_hole_until };
        Self { toxics, black_hole_until }
    }

    /// The toxics in force, in the order they were added.
    pub fn toxics(&self) -> &[Toxic] {
        &self.toxics
    }

    /// Whether the black hole holds now, and until when (`None`: until removed).
    pub fn black_hole(&self) -> Option<Option<Instant>> {
        match self.black_hole_until {
            Some(Some(until)) if until <= Instant::now() => None,
            other => other,
        }
    }

    pub(super) fn latency(&self, flow: Direction) -> Option<(Duration, Duration)> {
        self.toxics.iter().find_map(|t| match t {
            Toxic::Latency { direction, latency, jitter } if direction.covers(flow) => Some((*latency, *jitter)),
            _ => None,
        })
    }

    pub(super) fn bandwidth(&self, flow: Direction) -> Option<u64> {
        self.toxics.iter().find_map(|t| match t {
            Toxic::Bandwidth { direction, bytes_per_sec } if direction.covers(flow) => Some((*bytes_per_sec).max(1)),
            _ => None,
        })
    }

    pub(super) fn slicer(&self, flow: Direction) -> Option<(usize, Duration)> {
        self.toxics.iter().find_map(|t| match t {
            Toxic::Slicer { direction, size, delay } if direction.covers(flow) => Some(((*size).max(1), *delay)),
            _ => None,
        })
    }

    pub(super) fn reset_after(&self) -> Option<u64> {
        self.toxics.iter().find_map(|t| match t {
            Toxic::Reset { after_bytes } => Some(*after_bytes),
            _ => None,
        })
    }

    pub(super) fn slow_close(&self) -> Option<Duration> {
        self.toxics.iter().find_map(|t| match t {
            Toxic::SlowClose { delay } => Some(*delay),
            _ => None,
        })
    }
}

/// A small, fast, good-enough random source for jitter (xorshift64*).
#[derive(Debug)]
pub(super) struct Jitter(u64);

impl Jitter {
    pub(super) fn seeded() -> Self {
        Self(uuid::Uuid::new_v4().as_u64_pair().0 | 1)
    }

    /// `base` ± up to `spread`, never below zero.
    pub(super) fn around(&mut self, base: Duration, spread: Duration) -> Duration {
        if spread.is_zero() {
            return base;
        }
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let unit = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        let offset = spread.as_secs_f64() * (2.0 * unit - 1.0);
        Duration::from_secs_f64((base.as_secs_f64() + offset).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_toxic_per_kind_and_removal_by_name() {
        let set = ToxicSet::default()
            .with(Toxic::Latency { direction: Direction::Both, latency: Duration::from_millis(10), jitter: Duration::ZERO })
            .with(Toxic::Latency { direction: Direction::Upstream, latency: Duration::from_millis(20), jitter: Duration::ZERO });
        assert_eq!(set.toxics().len(), 1);
        assert_eq!(set.latency(Direction::Upstream), Some((Duration::from_millis(20), Duration::ZERO)));
        assert_eq!(set.latency(Direction::Downstream), None);
        assert!(set.without("latency").toxics().is_empty());
    }

    #[test]
    fn a_black_hole_lifts_by_itself_or_when_removed() {
        let timed = ToxicSet::default().with(Toxic::BlackHole { lasts: Some(Duration::ZERO) });
        assert_eq!(timed.black_hole(), None, "a black hole of no duration has already lifted");
        let open = ToxicSet::default().with(Toxic::BlackHole { lasts: None });
        assert_eq!(open.black_hole(), Some(None));
        assert_eq!(open.without("black-hole").black_hole(), None);
    }

    #[test]
    fn jitter_stays_within_its_spread() {
        let mut j = Jitter::seeded();
        let samples: Vec<Duration> = (0..1000).map(|_| j.around(Duration::from_millis(200), Duration::from_millis(50))).collect();
        assert!(samples.iter().all(|d| *d >= Duration::from_millis(150) && *d <= Duration::from_millis(250)));
        let distinct: std::collections::BTreeSet<_> = samples.iter().collect();
        assert!(distinct.len() > 100, "jitter varies: {} distinct values", distinct.len());
    }
}
