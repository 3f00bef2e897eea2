//! The run history: each run appends one line of JSON (date, commit, brokers,
//! every scenario's outcome and key figure) to `history-<label>.jsonl` in the
//! report folder; the report shows the last runs side by side and marks the
//! scenarios whose outcome changed between them as flaky.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::conformance::evidence::{key_figure, ScenarioRecord};

/// How many past runs the report shows.
pub const SHOWN_RUNS: usize = 10;

/// One scenario in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: String,
    pub seconds: f64,
    pub figure: String,
}

/// One run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// RFC 3339, UTC, to the second.
    pub date: String,
    pub commit: String,
    pub brokers: Vec<String>,
    /// By `[backend] scenario`.
    pub scenarios: BTreeMap<String, Outcome>,
}

impl Run {
    pub fn new(commit: &str, brokers: Vec<String>, records: &[ScenarioRecord]) -> Self {
        let scenarios = records
            .iter()
            .map(|r| (key(r), Outcome { status: r.status.clone(), seconds: (r.seconds * 10.0).round() / 10.0, figure: key_figure(r) }))
            .collect();
        Self { date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(), commit: commit.to_string(), brokers, scenarios }
    }

    pub fn passed(&self) -> usize {
        self.scenarios.values().filter(|o| o.status == "passed").count()
    }
}

/// The history key of a scenario.
pub fn key(r: &ScenarioRecord) -> String {
    format!("[{}] {}", r.backend, r.scenario)
}

/// Appends `run` to the history file.
pub fn append(path: &Path, run: &Run) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(f, "{}", serde_json::to_string(run).map_err(std::io::Error::other)?)?;
    drop(f);
    keep_last(path, KEPT_RUNS)
}

/// Runs kept in a history file (a full suite's run is about 13 KB): older ones are dropped.
pub const KEPT_RUNS: usize = 200;

/// Rewrites `path` with its last `n` lines when it has more (a new file, then a rename).
fn keep_last(path: &Path, n: usize) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= n {
        return Ok(());
    }
    let kept = lines[lines.len() - n..].join("\n") + "\n";
    let fresh = path.with_extension("jsonl.new");
    std::fs::write(&fresh, kept)?;
    std::fs::rename(fresh, path)
}

/// The last `n` runs, oldest first; lines that do not parse (an older format) are left out.
pub fn last(path: &Path, n: usize) -> Vec<Run> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let runs: Vec<Run> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    runs[runs.len().saturating_sub(n)..].to_vec()
}

/// Scenarios whose outcome differs between runs in `runs` (a scenario missing
/// from a run does not count): flaky, or changed by a commit.
pub fn flaky(runs: &[Run]) -> Vec<String> {
    let mut outcomes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for run in runs {
        for (name, o) in &run.scenarios {
            outcomes.entry(name).or_default().push(&o.status);
        }
    }
    outcomes.into_iter().filter(|(_, s)| s.windows(2).any(|w| w[0] != w[1])).map(|(name, _)| name.to_string()).collect()
}

/// The commit the crate at `dir` is checked out at (`git rev-parse --short
/// HEAD`), with `+changes` when the work tree differs; `unknown` without git.
pub fn current_commit(dir: &Path) -> String {
    let git = |args: &[&str]| std::process::Command::new("git").arg("-C").arg(dir).args(args).output().ok().filter(|o| o.status.success());
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else { return "unknown".into() };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|o| !o.stdout.is_empty());
    format!("{}{}", String::from_utf8_lossy(&head.stdout).trim(), if dirty { "+changes" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(statuses: &[(&str, &str)]) -> Run {
        let scenarios = statuses.iter().map(|(n, s)| (n.to_string(), Outcome { status: s.to_string(), seconds: 1.0, figure: String::new() })).collect();
        Run { date: "2026-11-29T06:00:00Z".into(), commit: "abc".into(), brokers: vec![], scenarios }
    }

    #[test]
    fn runs_are_appended_and_read_back_and_changed_outcomes_are_flaky() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history-reference.jsonl");
        assert!(last(&path, 5).is_empty(), "no history yet");
        append(&path, &run(&[("[mock] a", "passed"), ("[mock] b", "passed")])).expect("append");
        std::fs::OpenOptions::new().append(true).open(&path).and_then(|mut f| writeln!(f, "not json")).expect("garbage line");
        append(&path, &run(&[("[mock] a", "failed"), ("[mock] b", "passed")])).expect("append");
        append(&path, &run(&[("[mock] a", "passed"), ("[mock] c", "failed")])).expect("append");
        let runs = last(&path, 10);
        assert_eq!(runs.len(), 3, "the line that does not parse is left out");
        assert_eq!(flaky(&runs), ["[mock] a"]);
        assert_eq!(last(&path, 1)[0].passed(), 1);
        assert_eq!(flaky(&last(&path, 1)), Vec::<String>::new());
    }

    #[test]
    fn only_the_last_runs_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history-reference.jsonl");
        for i in 0..5 {
            let status = if i == 4 { "failed" } else { "passed" };
            append(&path, &run(&[("[mock] a", status)])).expect("append");
        }
        keep_last(&path, 2).expect("trim");
        let runs = last(&path, 10);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert_eq!((runs[0].passed(), runs[1].passed()), (1, 0), "the newest runs stay");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1, "no file left beside it");
    }
}
