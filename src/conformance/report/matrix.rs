//! The five bugs the original pipeline shipped with, as a matrix computed from
//! the run: per backend, whether the reference pipeline passed the scenarios
//! that guard the bug (with their key figure), and whether the bug's replicas
//! were caught where they must be. Nothing in it is written by hand but the
//! bugs' descriptions.

use serde::Serialize;

use crate::conformance::evidence::{key_figure, ScenarioRecord};

/// One of the five original bugs, and the feature files that guard it (the
/// one that shows it best first).
#[derive(Debug, Clone, Copy)]
pub struct OriginalBug {
    pub id: &'static str,
    pub title: &'static str,
    /// What the original system did (the BEFORE).
    pub before: &'static str,
    pub features: &'static [&'static str],
}

/// The bugs, in the order the directive lists them.
pub const ORIGINAL_BUGS: [OriginalBug; 5] = [
    OriginalBug {
        id: "decompression",
        title: "Every message failed decompression",
        before: "the consumer guessed the format: zstd first, then a fallback with a warning per message",
        features: &["decompression.feature", "aggregator.feature"],
    },
    OriginalBug {
        id: "negative-latency",
        title: "End-to-end latency came out negative",
        before: "the forwarder logged `E2E latency: -4.46ms`: the producer's clock was ahead of the consumer's",
        features: &["latency.feature", "forwarding.feature"],
    },
    OriginalBug {
        id: "ignored-tests",
        title: "Half of the Kafka tests were switched off",
        before: "every test that needed Kafka carried the ignore attribute, so CI never ran them",
        features: &["test_hygiene.feature", "docker_host.feature"],
    },
    OriginalBug {
        id: "undetected-loss",
        title: "Nothing detected lost messages",
        before: "the consumer counted what arrived; a gap in the sequence went unnoticed",
        features: &["loss_detection.feature", "faults.feature"],
    },
    OriginalBug {
        id: "noop-compression",
        title: "Compression was switched on but did nothing",
        before: "the compression setting was read and never applied: every message travelled as it was",
        features: &["compression.feature"],
    },
];

/// How one replica's run went: caught where it must be, or not.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaOutcome {
    pub replica: String,
    /// What the replica does wrong.
    pub bug: String,
    pub feature_file: String,
    pub backend: String,
    /// Where it must fail: scenario (and example) and step.
    pub place: String,
    pub caught: bool,
    /// The error it was caught with, or why it was not.
    pub detail: String,
}

/// The reference pipeline's outcome for one bug on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub backend: String,
    /// `fixed`, `not fixed` or `not run`.
    pub verdict: &'static str,
    pub passed: usize,
    pub failed: usize,
    /// The key figure of the first guarding scenario that failed, else of the first one.
    pub figure: String,
    /// The report anchor of that scenario.
    pub anchor: String,
}

/// One row of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: &'static str,
    pub title: &'static str,
    pub before: &'static str,
    pub cells: Vec<Cell>,
    pub replicas: Vec<ReplicaOutcome>,
}

impl Row {
    /// Fixed on every backend that ran, and every replica caught.
    pub fn holds(&self) -> bool {
        self.cells.iter().any(|c| c.verdict == "fixed") && self.cells.iter().all(|c| c.verdict != "not fixed") && self.replicas.iter().all(|r| r.caught)
    }
}

/// The report anchor of a scenario: stable across runs, and distinct for
/// examples that differ only in a sign (`+5 ms` and `-5 ms`).
pub fn anchor(r: &ScenarioRecord) -> String {
    let name = format!("{} {}", r.backend, r.scenario);
    let mut slug = String::from("s-");
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let word = match c {
            '+' if chars.peek().is_some_and(char::is_ascii_digit) => "plus",
            '-' if chars.peek().is_some_and(char::is_ascii_digit) => "minus",
            c if c.is_ascii_alphanumeric() => {
                slug.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "",
        };
        if !slug.ends_with('-') {
            slug.push('-');
        }
        slug.push_str(word);
    }
    slug.trim_end_matches('-').to_string()
}

fn cell(backend: &str, guarding: &[&ScenarioRecord]) -> Cell {
    let passed = guarding.iter().filter(|r| r.status == "passed").count();
    let failed = guarding.len() - passed;
    let shown = guarding.iter().find(|r| r.status != "passed").or(guarding.first());
    let verdict = match (guarding.is_empty(), failed) {
        (true, _) => "not run",
        (false, 0) => "fixed",
        _ => "not fixed",
    };
    Cell {
        backend: backend.to_string(),
        verdict,
        passed,
        failed,
        figure: shown.map(|r| format!("{}: {}", r.scenario, key_figure(r))).unwrap_or_default(),
        anchor: shown.map(|r| anchor(r)).unwrap_or_default(),
    }
}

/// The matrix: one row per original bug, one cell per backend that ran.
pub fn matrix(records: &[ScenarioRecord], replicas: &[ReplicaOutcome]) -> Vec<Row> {
    let mut backends: Vec<&str> = records.iter().map(|r| r.backend.as_str()).collect();
    backends.dedup();
    backends.sort_unstable();
    backends.dedup();
    ORIGINAL_BUGS
        .iter()
        .map(|bug| {
            let cells = backends
                .iter()
                .map(|b| {
                    // In the order of the bug's feature files: the first one shows the bug best.
                    let guarding: Vec<&ScenarioRecord> = bug.features.iter().flat_map(|f| records.iter().filter(move |r| r.backend == *b && r.feature_file == *f)).collect();
                    cell(b, &guarding)
                })
                .collect();
            let replicas = replicas.iter().filter(|r| bug.features.contains(&r.feature_file.as_str())).cloned().collect();
            Row { id: bug.id, title: bug.title, before: bug.before, cells, replicas }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::evidence::Evidence;

    fn record(backend: &str, file: &str, scenario: &str, status: &str) -> ScenarioRecord {
        let evidence = Evidence { notes: vec![format!("{scenario} evidence")], ..Default::default() };
        ScenarioRecord { evidence, ..ScenarioRecord::sample(backend, file, scenario, status) }
    }

    #[test]
    fn the_matrix_is_computed_from_the_outcomes() {
        let records = [
            record("mock", "compression.feature", "Large", "passed"),
            record("mock", "compression.feature", "Small", "failed"),
            record("container", "compression.feature", "Large", "passed"),
            record("container", "latency.feature", "Clock (offset +5 s)", "passed"),
        ];
        let replica = ReplicaOutcome {
            replica: "noop-compression".into(),
            bug: "b".into(),
            feature_file: "compression.feature".into(),
            backend: "mock".into(),
            place: "Large".into(),
            caught: true,
            detail: "wire 100%".into(),
        };
        let rows = matrix(&records, std::slice::from_ref(&replica));
        let compression = rows.iter().find(|r| r.id == "noop-compression").expect("row");
        let verdicts: Vec<(&str, &str)> = compression.cells.iter().map(|c| (c.backend.as_str(), c.verdict)).collect();
        assert_eq!(verdicts, [("container", "fixed"), ("mock", "not fixed")]);
        assert_eq!(compression.cells[1].anchor, "s-mock-small", "the cell shows the scenario that failed");
        assert!(!compression.holds(), "a failing backend is not fixed");
        let latency = rows.iter().find(|r| r.id == "negative-latency").expect("row");
        assert_eq!(latency.cells[1].verdict, "not run");
        assert!(latency.holds());
        assert!(!rows.iter().find(|r| r.id == "decompression").expect("row").holds(), "nothing ran");
        let mut missed = replica;
        missed.caught = false;
        let rows = matrix(&records[2..], &[missed]);
        assert!(!rows.iter().find(|r| r.id == "noop-compression").expect("row").holds(), "a replica not caught");
        assert_eq!(anchor(&records[3]), "s-container-clock-offset-plus5-s");
        assert_eq!(anchor(&record("mock", "f", "Clock (offset -5 s)", "passed")), "s-mock-clock-offset-minus5-s");
    }
}
