//! The Markdown rendering: the same sections as the HTML file, without charts.

use std::fmt::Write as _;

use super::history;
use super::ReportInput;
use crate::conformance::evidence::evidence_lines;

/// Table cells cannot hold a `|` or a line break.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The whole document.
pub fn render(input: &ReportInput) -> String {
    let (_, headline) = input.headline();
    let mut s = format!("# DashStream conformance report\n\n**{headline}**\n\n");
    for line in input.summary {
        let _ = writeln!(s, "- {line}");
    }
    if input.original_bugs {
        bug_matrix(&mut s, input);
    }
    history_and_scenarios(&mut s, input);
    s
}

fn bug_matrix(s: &mut String, input: &ReportInput) {
    let rows = input.matrix();
    let backends: Vec<&str> = rows.first().map(|r| r.cells.iter().map(|c| c.backend.as_str()).collect()).unwrap_or_default();
    let _ = writeln!(s, "\n## The five original bugs\n\n| bug | {} | replicas |\n|---|{}---|", backends.join(" | "), "---|".repeat(backends.len()));
    for row in &rows {
        let cells: Vec<String> = row.cells.iter().map(|c| format!("**{}** ({} passed, {} failed): {}", c.verdict, c.passed, c.failed, cell(&c.figure))).collect();
        let replicas = match input.replicas {
            None => "not run here".to_string(),
            Some(_) => row.replicas.iter().map(|r| format!("{} {}", if r.caught { "caught" } else { "**NOT caught**" }, r.replica)).collect::<Vec<_>>().join("; "),
        };
        let _ = writeln!(s, "| **{}** ({}) | {} | {} |", row.title, cell(row.before), cells.join(" | "), replicas);
    }
}

fn history_and_scenarios(s: &mut String, input: &ReportInput) {
    let flaky = history::flaky(input.history);
    let _ = writeln!(s, "\n## History\n\n{} runs shown; flaky (outcome changed between them): {}", input.history.len(), if flaky.is_empty() { "none".to_string() } else { flaky.join("; ") });
    let _ = writeln!(s, "\n## Scenarios\n\n| backend | feature | scenario | result | seconds |\n|---|---|---|---|---|");
    for r in input.records {
        let _ = writeln!(s, "| {} | {} | {} | {} | {:.1} |", r.backend, cell(&r.feature), cell(&r.scenario), r.status, r.seconds);
    }
    for r in input.records {
        let _ = writeln!(s, "\n### [{}] {} — {}: {}\n", r.backend, r.feature, r.scenario, r.status.to_uppercase());
        let _ = writeln!(s, "{}, line {} · broker: {} · pipeline: {}\n", r.feature_file, r.line, r.evidence.broker, r.evidence.pipeline);
        if let Some(err) = &r.error {
            let _ = writeln!(s, "**Failure:** {}\n", err.replace('\n', " "));
        }
        for (i, step) in r.steps.iter().enumerate() {
            let _ = writeln!(s, "{}. {} {} — {}", i + 1, step.keyword.trim(), step.text, step.status);
        }
        if !r.steps.is_empty() {
            s.push('\n');
        }
        for l in evidence_lines(&r.evidence) {
            let _ = writeln!(s, "- {}", l.replace('\n', "\n  "));
        }
        if !r.evidence.metrics.is_empty() {
            let _ = writeln!(s, "\n<details><summary>metrics at the end</summary>\n\n```\n{}\n```\n</details>", r.evidence.metrics.join("\n"));
        }
    }
}
