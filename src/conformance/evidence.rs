//! Evidence: what each scenario proved, with numbers; its key figure (the one
//! the console line and the verdict matrix show) and its lines for the reports
//! (`conformance::report` writes them).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::conformance::world::DashWorld;

/// The numbers behind one scenario.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    pub broker: String,
    pub pipeline: String,
    pub sent: u64,
    pub acked: u64,
    pub received: u64,
    pub decoded: u64,
    pub decoded_by_format: BTreeMap<String, u64>,
    pub lost: u64,
    pub lost_ranges: Vec<String>,
    pub duplicates: u64,
    pub dlq: u64,
    pub latency_ms: Option<(f64, f64, f64)>,
    pub clock_skew: Option<(u64, f64)>,
    /// wire / raw bytes.
    pub compression_ratio: Option<f64>,
    pub notes: Vec<String>,
    /// The dashstream_* series at the end of the scenario.
    pub metrics: Vec<String>,
    /// The latency histogram: (upper bound in ms, cumulative count); empty without latency.
    pub latency_buckets: Vec<(f64, u64)>,
    /// A fault run second by second.
    pub timeline: Option<crate::faults::timeline::Timeline>,
}

/// One step as it ran, from the run's Cucumber JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepRecord {
    pub keyword: String,
    pub text: String,
    /// passed, failed or skipped.
    pub status: String,
    pub error: Option<String>,
}

/// One finished scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRecord {
    pub backend: String,
    pub feature: String,
    /// The feature's file name (`latency.feature`).
    pub feature_file: String,
    /// The scenario's name; a Scenario Outline example's ends with its values.
    pub scenario: String,
    /// Where the scenario (or the example's row) is in its feature file.
    pub line: usize,
    /// The steps as they ran, background first (filled from the Cucumber JSON).
    pub steps: Vec<StepRecord>,
    pub status: String,
    pub error: Option<String>,
    /// Wall time from the scenario's first step to its end.
    pub seconds: f64,
    /// Tagged `@serial`: it ran alone, not next to the others.
    pub serial: bool,
    pub evidence: Evidence,
}

#[cfg(test)]
impl ScenarioRecord {
    /// A finished scenario for tests: feature "F" in `file`, line 1, 1 s, no steps, no evidence.
    pub(crate) fn sample(backend: &str, file: &str, scenario: &str, status: &str) -> Self {
        Self {
            backend: backend.into(),
            feature: "F".into(),
            feature_file: file.into(),
            scenario: scenario.into(),
            line: 1,
            steps: Vec::new(),
            status: status.into(),
            error: None,
            seconds: 1.0,
            serial: false,
            evidence: Evidence::default(),
        }
    }
}

/// How long one backend took, and how long opening its broker took of that.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendTiming {
    pub backend: String,
    pub wall: f64,
    pub opening: f64,
}

/// One line per backend: the run's critical path. The broker opens first; the
/// `@serial` scenarios run alone, one after the other; the rest run together,
/// so they end with the slowest of them; what is left is starting and ending
/// scenarios and writing the reports.
pub fn critical_path(records: &[ScenarioRecord], timings: &[BackendTiming]) -> Vec<String> {
    timings
        .iter()
        .filter(|t| records.iter().any(|r| r.backend == t.backend))
        .map(|t| {
            let mine = || records.iter().filter(|r| r.backend == t.backend);
            let serial: Vec<&ScenarioRecord> = mine().filter(|r| r.serial).collect();
            let longest = mine().filter(|r| !r.serial).max_by(|a, b| a.seconds.total_cmp(&b.seconds));
            let mut parts = vec![format!("opening the broker {:.1} s", t.opening)];
            parts.extend(serial.iter().map(|r| format!("alone (@serial): {} {:.1} s", r.scenario, r.seconds)));
            parts.extend(longest.map(|r| format!("the slowest of the concurrent: {} {:.1} s", r.scenario, r.seconds)));
            let accounted = t.opening + serial.iter().map(|r| r.seconds).sum::<f64>() + longest.map_or(0.0, |r| r.seconds);
            parts.push(format!("the rest (starting and ending scenarios, reports) {:.1} s", (t.wall - accounted).max(0.0)));
            format!("{}: critical path {:.1} s = {}", t.backend, t.wall, parts.join(" + "))
        })
        .collect()
}

/// Collects the evidence from a world.
pub fn collect(w: &DashWorld) -> Evidence {
    let mut e = Evidence { notes: w.notes.clone(), timeline: w.verdict.as_ref().map(|v| v.timeline.clone()), ..Default::default() };
    if let Some(env) = &w.env {
        e.broker = w.broker().describe();
        e.pipeline = env.pipeline.name().to_string();
    }
    e.sent = w.total(|p| p.sent) + w.legacy_sent + w.poison.len() as u64;
    e.acked = w.total(|p| p.acked);
    let (raw, wire) = (w.total(|p| p.raw_bytes), w.total(|p| p.wire_bytes));
    if raw > 0 {
        e.compression_ratio = Some(wire as f64 / raw as f64);
    }
    if let Some(c) = &w.consumed {
        let r = &c.report;
        e.received = r.received;
        e.decoded = r.decoded;
        e.decoded_by_format = r.decoded_by_format.clone();
        e.lost = r.lost;
        e.lost_ranges = r.lost_ranges.iter().map(ToString::to_string).collect();
        e.duplicates = r.duplicates;
        e.dlq = r.dlq;
        if r.latency_ms.count > 0 {
            e.latency_ms = Some((r.latency_ms.p50, r.latency_ms.p99, r.latency_ms.max));
        }
        e.clock_skew = Some((r.clock_skew.count, r.clock_skew.max_ms));
        if r.latency_ms.count > 0 {
            e.latency_buckets = w.metrics.latency_buckets();
        }
        e.metrics = w
            .metrics
            .render()
            .lines()
            .filter(|l| l.starts_with("dashstream_") && !l.contains("_bucket{") && !l.ends_with(" 0"))
            .map(str::to_owned)
            .collect();
    }
    e
}

/// The evidence as sentences, one per line.
pub fn evidence_lines(e: &Evidence) -> Vec<String> {
    let mut v = Vec::new();
    if e.sent > 0 || e.received > 0 {
        v.push(format!("sent {}, acknowledged {}, received {}, decoded {}", e.sent, e.acked, e.received, e.decoded));
        let formats: Vec<String> = e.decoded_by_format.iter().map(|(k, n)| format!("{n} {k}")).collect();
        if !formats.is_empty() {
            v.push(format!("decoded by format: {}", formats.join(", ")));
        }
        v.push(format!("lost {}{}, duplicated {}, dead-lettered {}", e.lost, if e.lost_ranges.is_empty() { String::new() } else { format!(" ({})", e.lost_ranges.join("; ")) }, e.duplicates, e.dlq));
        if let Some((p50, p99, max)) = e.latency_ms {
            v.push(format!("latency p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"));
        }
        if let Some((n, max)) = e.clock_skew.filter(|(n, _)| *n > 0) {
            v.push(format!("clock skew on {n} messages, largest {max:.1} ms (not counted as latency)"));
        }
        if let Some(r) = e.compression_ratio {
            v.push(format!("compression: wire bytes are {:.1}% of the original", r * 100.0));
        }
    }
    v.extend(e.notes.iter().cloned());
    v
}

/// The one figure that says most about a scenario, for its console line and
/// its cell in the verdict matrix.
pub fn key_figure(r: &ScenarioRecord) -> String {
    let e = &r.evidence;
    if let Some(t) = &e.timeline {
        let acked: u64 = t.seconds.iter().map(|s| s.acked).sum();
        return format!("{} of {acked} acknowledged lost, {} duplicated", e.lost, e.duplicates);
    }
    if let Some(ratio) = e.compression_ratio.filter(|_| r.feature.starts_with("Compression")) {
        return format!("wire {:.0}% of the original bytes", ratio * 100.0);
    }
    if let Some((p50, p99, _)) = e.latency_ms.filter(|_| e.lost == 0 && e.dlq == 0) {
        let skew = e.clock_skew.filter(|(n, _)| *n > 0).map(|(n, _)| format!(", skew on {n}")).unwrap_or_default();
        return format!("latency p50 {p50:.1} ms, p99 {p99:.1} ms{skew}");
    }
    if e.received > 0 {
        return format!("{} of {} decoded, {} lost, {} duplicated, {} dead-lettered", e.decoded, e.received, e.lost, e.duplicates, e.dlq);
    }
    e.notes.first().map(|n| shorten(&n.split_whitespace().collect::<Vec<_>>().join(" "), 90)).unwrap_or_default()
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() <= max {
        return line.to_string();
    }
    format!("{}…", line.chars().take(max.saturating_sub(1)).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(backend: &str, scenario: &str, seconds: f64) -> ScenarioRecord {
        ScenarioRecord { seconds, ..ScenarioRecord::sample(backend, "f.feature", scenario, "passed") }
    }

    #[test]
    fn the_critical_path_is_the_broker_the_serial_scenarios_and_the_slowest_concurrent_one() {
        let serial = ScenarioRecord { serial: true, ..record("mock", "s", 2.0) };
        let records = [record("mock", "a", 3.0), record("container", "b", 40.5), record("mock", "c", 10.0), serial, record("container", "d", 2.0)];
        let timing = |backend: &str, wall, opening| BackendTiming { backend: backend.into(), wall, opening };
        let timings = [timing("mock", 14.0, 0.5), timing("container", 50.0, 6.0), timing("cluster", 1.0, 1.0)];
        assert_eq!(
            critical_path(&records, &timings),
            [
                "mock: critical path 14.0 s = opening the broker 0.5 s + alone (@serial): s 2.0 s + the slowest of the concurrent: c 10.0 s + the rest (starting and ending scenarios, reports) 1.5 s",
                "container: critical path 50.0 s = opening the broker 6.0 s + the slowest of the concurrent: b 40.5 s + the rest (starting and ending scenarios, reports) 3.5 s",
            ]
        );
    }

    #[test]
    fn the_key_figure_is_the_one_that_matters_for_the_scenario() {
        let mut r = record("mock", "a", 1.0);
        r.evidence.notes = vec!["found unix:///var/run/docker.sock".into()];
        assert_eq!(key_figure(&r), "found unix:///var/run/docker.sock");
        r.evidence = Evidence { sent: 10, received: 10, decoded: 9, lost: 1, ..Default::default() };
        assert_eq!(key_figure(&r), "9 of 10 decoded, 1 lost, 0 duplicated, 0 dead-lettered");
        r.evidence.lost = 0;
        r.evidence.latency_ms = Some((1.25, 4.0, 9.0));
        assert_eq!(key_figure(&r), "latency p50 1.2 ms, p99 4.0 ms");
        r.feature = "Compression really happens".into();
        r.evidence.compression_ratio = Some(0.412);
        assert_eq!(key_figure(&r), "wire 41% of the original bytes");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
