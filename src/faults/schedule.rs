//! Fault schedules reproducible from a seed: the same seed, duration and fault
//! list always give the same injections at the same times.

use std::time::Duration;

use serde::Serialize;

use super::catalogue::Fault;

/// One scheduled fault: inject at `at` (from the start of traffic), heal `hold` later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Scheduled {
    /// Seconds from the start of traffic.
    #[serde(serialize_with = "secs")]
    #[schemars(with = "f64")]
    pub at: Duration,
    /// The fault's name (`dashstream chaos --help` lists them).
    #[schemars(with = "String")]
    pub fault: Fault,
    /// Seconds the fault holds before it heals.
    #[serde(serialize_with = "secs")]
    #[schemars(with = "f64")]
    pub hold: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// A small deterministic generator (SplitMix64): no dependency, same sequence everywhere.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next_u64() % (hi - lo + 1))
    }
}

/// Faults spread over `duration`: after a 5 s warm-up, one fault at a time, each
/// held 3–8 s, with 4–10 s of calm between faults and 5 s of calm at the end.
pub fn generate(seed: u64, duration: Duration, faults: &[Fault]) -> Vec<Scheduled> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::new();
    if faults.is_empty() {
        return out;
    }
    let mut t = Duration::from_secs(5);
    let end = duration.saturating_sub(Duration::from_secs(5));
    loop {
        let fault = faults[(rng.next_u64() % faults.len() as u64) as usize];
        let hold = match (fault.is_client_fault(), fault.fixed_hold()) {
            (true, _) => Duration::ZERO,
            (false, Some(hold)) => hold,
            (false, None) => rng.millis(3000, 8000),
        };
        if t + hold > end {
            break;
        }
        out.push(Scheduled { at: t, fault, hold });
        t += hold + rng.millis(4000, 10000);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let faults = [Fault::BrokerRestart, Fault::BrokerPause, Fault::ProducerCrash];
        let a = generate(42, Duration::from_secs(180), &faults);
        assert_eq!(a, generate(42, Duration::from_secs(180), &faults));
        assert_ne!(a, generate(43, Duration::from_secs(180), &faults));
        assert!(a.len() >= 8, "{a:?}");
        for w in a.windows(2) {
            assert!(w[0].at + w[0].hold < w[1].at, "one fault at a time");
        }
        assert!(a.last().map(|s| s.at + s.hold).unwrap() <= Duration::from_secs(175));
    }
}
