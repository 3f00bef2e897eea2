//! The verdict of `verify`: pass only for a clean run, judged from the report.

use super::verify::VerifyReport;

/// `pass` only if something was sent and every send was acknowledged and
/// received, everything decoded, no negative latency was observed, and every
/// decoded message gave exactly one latency sample or one skew observation.
pub fn verdict(r: &VerifyReport) -> &'static str {
    let undecoded: u64 = r.received.saturating_sub(r.decoded);
    let accounted = r.latency_ms.count + r.clock_skew.count == r.decoded;
    if r.acked > 0 && r.lost == 0 && r.unacked == 0 && undecoded == 0 && r.dlq == 0 && r.negative_latency == 0 && accounted {
        "pass"
    } else {
        "fail"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passing() -> VerifyReport {
        let mut r = VerifyReport { sent: 10, acked: 10, received: 10, decoded: 10, ..Default::default() };
        r.latency_ms.count = 7;
        r.clock_skew.count = 3;
        r
    }

    #[test]
    fn the_verdict_passes_only_a_clean_run() {
        assert_eq!(verdict(&passing()), "pass");
        let broken: [fn(&mut VerifyReport); 8] = [
            |r| r.lost = 1,
            |r| r.unacked = 1,
            |r| r.decoded = 9,
            |r| r.dlq = 1,
            |r| r.negative_latency = 1,
            |r| r.latency_ms.count = 8,
            |r| r.clock_skew.count = 2,
            |r| *r = VerifyReport::default(),
        ];
        for (i, breaks) in broken.iter().enumerate() {
            let mut r = passing();
            breaks(&mut r);
            assert_eq!(verdict(&r), "fail", "case {i}: {r:?}");
        }
    }
}
