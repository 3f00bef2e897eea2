//! The HTML rendering: one file, inline CSS and SVG, no script. Elements a
//! reader (or the browser test) looks for have stable ids: `headline`,
//! `verdict-matrix`, `chart-compression`, `history`, and per scenario its
//! anchor with `chart-latency-<anchor>` and `chart-timeline-<anchor>`.

use std::fmt::Write as _;

use super::history::{self, Run};
use super::matrix::{anchor, Row};
use super::{charts, esc, ReportInput};
use crate::conformance::evidence::{evidence_lines, ScenarioRecord};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:74em;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}\
.passed,.fixed,.caught{color:#176f2c;font-weight:bold}.failed,.not-fixed,.missed{color:#b00020;font-weight:bold}.skipped,.not-run{color:#a66b00;font-weight:bold}\
#headline{font-size:1.3em;padding:.6em 1em;border-radius:6px}#headline.pass{background:#e3f4e6}#headline.fail{background:#fbe3e3}\
section{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:1em 0}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}\
.chart{display:block;margin:.5em 0;background:#fff}ol.steps li{margin:.15em 0}.flaky{background:#fff3cd}small{color:#666}";

/// The whole page.
pub fn render(input: &ReportInput) -> String {
    let (ok, headline) = input.headline();
    let mut s = format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>DashStream conformance report</title><style>{STYLE}</style></head><body><h1>DashStream conformance report</h1>");
    let _ = write!(s, "<p id=\"headline\" class=\"{}\">{}</p><ul>", if ok { "pass" } else { "fail" }, esc(&headline));
    for line in input.summary {
        let _ = write!(s, "<li>{}</li>", esc(line));
    }
    s.push_str("</ul>");
    if input.original_bugs {
        matrix(&mut s, &input.matrix(), input.replicas.is_some());
    }
    compression(&mut s, input.records);
    if !input.history.is_empty() {
        history_table(&mut s, input.history);
    }
    scenario_index(&mut s, input.records);
    for r in input.records {
        scenario(&mut s, r);
    }
    s.push_str("</body></html>\n");
    s
}

fn matrix(s: &mut String, rows: &[Row], replicas_ran: bool) {
    s.push_str("<h2>The five original bugs</h2><table id=\"verdict-matrix\"><tr><th>bug (before)</th>");
    let backends: Vec<&str> = rows.first().map(|r| r.cells.iter().map(|c| c.backend.as_str()).collect()).unwrap_or_default();
    for b in &backends {
        let _ = write!(s, "<th>{} (reference pipeline)</th>", esc(b));
    }
    s.push_str("<th>replicas (each must be caught)</th></tr>");
    for row in rows {
        let _ = write!(s, "<tr id=\"bug-{}\"><td><b>{}</b><br><small>{}</small></td>", row.id, esc(row.title), esc(row.before));
        for c in &row.cells {
            let class = c.verdict.replace(' ', "-");
            let _ = write!(s, "<td><span class=\"{class}\">{}</span> ({} passed, {} failed)<br><a href=\"#{}\">{}</a></td>", c.verdict, c.passed, c.failed, c.anchor, esc(&c.figure));
        }
        s.push_str("<td>");
        if !replicas_ran {
            s.push_str("<span class=\"not-run\">not run here</span> (<code>cargo test --test conformance</code> runs them)");
        }
        for r in &row.replicas {
            let (class, word) = if r.caught { ("caught", "caught") } else { ("missed", "NOT caught") };
            // Each replica's run has its own report, next to this one.
            let _ = write!(s, "<div><span class=\"{class}\">{word}</span> <a href=\"replicas/report-{}.html\">{}</a> on {}: {}<br><small>{}</small></div>", esc(&r.replica), esc(&r.replica), esc(&r.backend), esc(&r.place), esc(&r.detail));
        }
        s.push_str("</td></tr>");
    }
    s.push_str("</table>");
}

fn compression(s: &mut String, records: &[ScenarioRecord]) {
    let compressed: Vec<&ScenarioRecord> = records.iter().filter(|r| r.feature_file == "compression.feature" && r.evidence.compression_ratio.is_some()).collect();
    if !compressed.is_empty() {
        s.push_str("<h2>Compression</h2>");
        s.push_str(&charts::compression("chart-compression", &compressed));
    }
}

fn history_table(s: &mut String, runs: &[Run]) {
    let flaky = history::flaky(runs);
    let _ = write!(s, "<h2>History (last {} runs)</h2><table id=\"history\"><tr><th>scenario</th>", runs.len());
    for run in runs {
        let _ = write!(s, "<th>{}<br><small>{} · {} passed</small></th>", esc(&run.date), esc(&run.commit), run.passed());
    }
    s.push_str("</tr>");
    let mut names: Vec<&String> = runs.iter().flat_map(|r| r.scenarios.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let is_flaky = flaky.contains(name);
        let _ = write!(s, "<tr{}><td>{}{}</td>", if is_flaky { " class=\"flaky\"" } else { "" }, esc(name), if is_flaky { " <b>flaky</b>" } else { "" });
        for run in runs {
            match run.scenarios.get(name) {
                Some(o) => drop(write!(s, "<td class=\"{}\" title=\"{}\">{} {:.1} s</td>", o.status, esc(&o.figure), if o.status == "passed" { "✓" } else { "✗" }, o.seconds)),
                None => s.push_str("<td>-</td>"),
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
}

fn scenario_index(s: &mut String, records: &[ScenarioRecord]) {
    s.push_str("<h2>Scenarios</h2><table id=\"scenarios\"><tr><th>backend</th><th>feature</th><th>scenario</th><th>result</th><th>seconds</th></tr>");
    for r in records {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td><a href=\"#{}\">{}</a></td><td class=\"{}\">{}</td><td>{:.1}</td></tr>",
            esc(&r.backend),
            esc(&r.feature),
            anchor(r),
            esc(&r.scenario),
            r.status,
            r.status,
            r.seconds
        );
    }
    s.push_str("</table>");
}

fn scenario(s: &mut String, r: &ScenarioRecord) {
    let id = anchor(r);
    let _ = write!(s, "<section id=\"{id}\"><h3>[{}] {} — {} <span class=\"{}\">{}</span></h3><p>{}, line {} · broker: {} · pipeline: {} · {:.1} s</p>", esc(&r.backend), esc(&r.feature), esc(&r.scenario), r.status, r.status, esc(&r.feature_file), r.line, esc(&r.evidence.broker), esc(&r.evidence.pipeline), r.seconds);
    if let Some(err) = &r.error {
        let _ = write!(s, "<p class=\"failed\">Failure: {}</p>", esc(err));
    }
    if !r.steps.is_empty() {
        s.push_str("<ol class=\"steps\">");
        for step in &r.steps {
            let _ = write!(s, "<li><span class=\"{}\">{}</span> <b>{}</b>{}", step.status, step.status, esc(step.keyword.trim()), esc(&format!(" {}", step.text)));
            if let Some(e) = &step.error {
                let _ = write!(s, "<pre>{}</pre>", esc(e));
            }
            s.push_str("</li>");
        }
        s.push_str("</ol>");
    }
    s.push_str("<ul>");
    for l in evidence_lines(&r.evidence) {
        let _ = write!(s, "<li>{}</li>", esc(&l).replace('\n', "<br>"));
    }
    s.push_str("</ul>");
    if let Some((p50, p99, max)) = r.evidence.latency_ms.filter(|_| !r.evidence.latency_buckets.is_empty()) {
        s.push_str(&charts::latency_histogram(&format!("chart-latency-{id}"), &r.evidence.latency_buckets, p50, p99, max));
    }
    if let Some(t) = r.evidence.timeline.as_ref().filter(|t| !t.seconds.is_empty()) {
        s.push_str(&charts::timeline(&format!("chart-timeline-{id}"), t));
    }
    if !r.evidence.metrics.is_empty() {
        let _ = write!(s, "<details><summary>metrics at the end</summary><pre>{}</pre></details>", esc(&r.evidence.metrics.join("\n")));
    }
    s.push_str("</section>");
}
