//! Evidence: what each scenario proved, with numbers, and the human reports
//! (Markdown and one self-contained HTML file) built from it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

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
}

/// One finished scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRecord {
    pub backend: String,
    pub feature: String,
    pub scenario: String,
    pub status: String,
    pub error: Option<String>,
    /// Wall time from the scenario's first step to its end.
    pub seconds: f64,
    pub evidence: Evidence,
}

/// One line per backend naming its longest scenario: the run's critical path,
/// since scenarios run concurrently and the backend ends with its slowest.
pub fn critical_path(records: &[ScenarioRecord]) -> Vec<String> {
    let mut longest: BTreeMap<&str, &ScenarioRecord> = BTreeMap::new();
    for r in records {
        let slot = longest.entry(r.backend.as_str()).or_insert(r);
        if r.seconds > slot.seconds {
            *slot = r;
        }
    }
    longest.into_iter().map(|(backend, r)| format!("{backend}: critical path {} ({:.1} s)", r.scenario, r.seconds)).collect()
}

/// Collects the evidence from a world.
pub fn collect(w: &DashWorld) -> Evidence {
    let mut e = Evidence { notes: w.notes.clone(), ..Default::default() };
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

fn evidence_lines(e: &Evidence) -> Vec<String> {
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

/// The Markdown report.
pub fn markdown(records: &[ScenarioRecord], summary: &[String]) -> String {
    let mut s = String::from("# DashStream conformance report\n\n");
    for line in summary {
        let _ = writeln!(s, "- {line}");
    }
    let _ = writeln!(s, "\n| backend | feature | scenario | result | seconds |\n|---|---|---|---|---|");
    for r in records {
        let _ = writeln!(s, "| {} | {} | {} | {} | {:.1} |", r.backend, r.feature, r.scenario, r.status, r.seconds);
    }
    for r in records {
        let _ = writeln!(s, "\n## [{}] {} — {}: {}\n", r.backend, r.feature, r.scenario, r.status.to_uppercase());
        let _ = writeln!(s, "Broker: {} · pipeline: {}\n", r.evidence.broker, r.evidence.pipeline);
        if let Some(err) = &r.error {
            let _ = writeln!(s, "**Failure:** {}\n", err.replace('\n', " "));
        }
        for l in evidence_lines(&r.evidence) {
            let _ = writeln!(s, "- {}", l.replace('\n', "\n  "));
        }
        if !r.evidence.metrics.is_empty() {
            let _ = writeln!(s, "\n<details><summary>metrics at the end</summary>\n\n```\n{}\n```\n</details>", r.evidence.metrics.join("\n"));
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// One self-contained HTML file (inline CSS, no scripts, no external assets).
pub fn html(records: &[ScenarioRecord], summary: &[String]) -> String {
    let mut s = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>DashStream conformance report</title><style>\
         body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}\
         table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left}\
         .passed{color:#176f2c;font-weight:bold}.failed{color:#b00020;font-weight:bold}.skipped{color:#a66b00;font-weight:bold}\
         section{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:1em 0}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}\
         </style></head><body><h1>DashStream conformance report</h1><ul>",
    );
    for line in summary {
        let _ = write!(s, "<li>{}</li>", esc(line));
    }
    s.push_str("</ul><table><tr><th>backend</th><th>feature</th><th>scenario</th><th>result</th><th>seconds</th></tr>");
    for r in records {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{:.1}</td></tr>",
            esc(&r.backend),
            esc(&r.feature),
            esc(&r.scenario),
            r.status,
            r.status,
            r.seconds
        );
    }
    s.push_str("</table>");
    for r in records {
        let _ = write!(s, "<section><h3>[{}] {} — {} <span class=\"{}\">{}</span></h3><p>Broker: {} · pipeline: {}</p>", esc(&r.backend), esc(&r.feature), esc(&r.scenario), r.status, r.status, esc(&r.evidence.broker), esc(&r.evidence.pipeline));
        if let Some(err) = &r.error {
            let _ = write!(s, "<p class=\"failed\">Failure: {}</p>", esc(err));
        }
        s.push_str("<ul>");
        for l in evidence_lines(&r.evidence) {
            let _ = write!(s, "<li>{}</li>", esc(&l).replace('\n', "<br>"));
        }
        s.push_str("</ul>");
        if !r.evidence.metrics.is_empty() {
            let _ = write!(s, "<details><summary>metrics at the end</summary><pre>{}</pre></details>", esc(&r.evidence.metrics.join("\n")));
        }
        s.push_str("</section>");
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(backend: &str, scenario: &str, seconds: f64) -> ScenarioRecord {
        ScenarioRecord {
            backend: backend.into(),
            feature: "f".into(),
            scenario: scenario.into(),
            status: "passed".into(),
            error: None,
            seconds,
            evidence: Evidence::default(),
        }
    }

    #[test]
    fn the_critical_path_is_each_backends_longest_scenario() {
        let records = [record("mock", "a", 3.0), record("container", "b", 40.5), record("mock", "c", 16.1), record("container", "d", 2.0)];
        assert_eq!(critical_path(&records), ["container: critical path b (40.5 s)", "mock: critical path c (16.1 s)"]);
    }

    #[test]
    fn both_reports_show_each_scenarios_duration() {
        let records = [record("mock", "a", 3.25)];
        assert!(markdown(&records, &[]).contains("| mock | f | a | passed | 3.2 |"));
        assert!(html(&records, &[]).contains("<td>3.2</td>"));
    }
}
