//! The human reports of a run: one self-contained HTML file (inline CSS and
//! SVG, no script, nothing fetched) and the same in Markdown. Both open with a
//! headline verdict and the five original bugs as a matrix computed from the
//! run, then the charts, the history of the last runs, and every scenario with
//! its steps and evidence.
//!
//! - [`matrix`]: the original bugs, bug by backend, and the replicas' outcomes.
//! - [`charts`]: the SVG charts.
//! - [`history`]: the run history file and the flaky marks.
//! - `html` and `markdown`: the two renderings.

pub mod charts;
pub mod history;
mod html;
mod markdown;
pub mod matrix;

use std::path::Path;

use crate::conformance::evidence::ScenarioRecord;
use history::Run;
use matrix::{ReplicaOutcome, Row};

/// Everything a report shows.
pub struct ReportInput<'a> {
    /// `reference`, or a replica's name: goes into the file names.
    pub label: &'a str,
    pub records: &'a [ScenarioRecord],
    /// One line per backend (which broker ran, counts, time) and the critical path.
    pub summary: &'a [String],
    /// The replicas' outcomes; `None` when this run did not run them (`check`).
    pub replicas: Option<&'a [ReplicaOutcome]>,
    /// The last runs, oldest first, this one included.
    pub history: &'a [Run],
    /// Whether to judge the five original bugs (the suite's report), or only
    /// the scenarios (a chaos run's).
    pub original_bugs: bool,
}

impl ReportInput<'_> {
    /// The matrix rows, from the records and the replicas.
    fn matrix(&self) -> Vec<Row> {
        matrix::matrix(self.records, self.replicas.unwrap_or_default())
    }

    /// The headline: PASS or FAIL, and why in one sentence.
    pub fn headline(&self) -> (bool, String) {
        let passed = self.records.iter().filter(|r| r.status == "passed").count();
        let mut backends: Vec<&str> = self.records.iter().map(|r| r.backend.as_str()).collect();
        backends.sort_unstable();
        backends.dedup();
        let rows = self.matrix();
        let fixed = rows.iter().filter(|r| r.holds()).count();
        let replicas = match self.replicas {
            Some(r) => format!("{} of {} replica catches", r.iter().filter(|o| o.caught).count(), r.len()),
            None => "replicas not run here (`cargo test --test conformance` runs them)".into(),
        };
        let bugs_hold = !self.original_bugs || (fixed == rows.len() && self.replicas.is_none_or(|r| r.iter().all(|o| o.caught)));
        let ok = !self.records.is_empty() && passed == self.records.len() && bugs_hold;
        let mut text = format!(
            "{}: {passed} of {} scenarios passed on {}",
            if ok { "PASS" } else { "FAIL" },
            self.records.len(),
            if backends.is_empty() { "no backend".to_string() } else { backends.join(", ") },
        );
        if self.original_bugs {
            text.push_str(&format!("; {fixed} of {} original bugs fixed on every backend; {replicas}", rows.len()));
        }
        (ok, text)
    }
}

/// Writes `report-<label>.md` and `report-<label>.html` into `dir`.
pub fn write(dir: &Path, input: &ReportInput) -> std::io::Result<()> {
    std::fs::write(dir.join(format!("report-{}.md", input.label)), markdown::render(input))?;
    std::fs::write(dir.join(format!("report-{}.html", input.label)), html::render(input))
}

/// HTML-escaped text.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests;
