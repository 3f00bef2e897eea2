//! What a run's Cucumber JSON report says failed, step by step: the evidence
//! the replica check reads to know that a replica was caught by the right
//! step, for the right reason (not by a Given that broke, or a timeout).

use std::path::Path;

use serde::Deserialize;

use crate::conformance::evidence::StepRecord;

/// One failed step of one scenario (or one Scenario Outline example).
#[derive(Debug, Clone, PartialEq)]
pub struct FailedStep {
    pub feature: String,
    pub scenario: String,
    /// Every step of the scenario as run (with the example's values filled in).
    pub steps: Vec<String>,
    /// The step that failed, without its keyword.
    pub step: String,
    pub error: String,
}

#[derive(Deserialize)]
struct Feature {
    name: String,
    #[serde(default)]
    elements: Vec<Element>,
}

#[derive(Deserialize)]
struct Element {
    name: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    line: usize,
    #[serde(default)]
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    #[serde(default)]
    keyword: String,
    name: String,
    result: StepResult,
}

#[derive(Deserialize)]
struct StepResult {
    status: String,
    #[serde(default)]
    error_message: Option<String>,
}

fn read_report(report: &Path) -> Result<Vec<Feature>, String> {
    let text = std::fs::read_to_string(report).map_err(|e| format!("{}: {e}", report.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", report.display()))
}

/// Where a scenario is: its feature's name and the line of the scenario (or of the example's row).
pub type ScenarioPlace = (String, usize);

/// Every scenario's steps as they ran, background first, by where it is.
pub fn scenario_steps(report: &Path) -> Result<Vec<(ScenarioPlace, Vec<StepRecord>)>, String> {
    let mut out = Vec::new();
    for f in read_report(report)? {
        let mut background = Vec::new();
        for e in f.elements {
            let steps = e.steps.into_iter().map(|s| StepRecord { keyword: s.keyword, text: s.name, status: s.result.status, error: s.result.error_message });
            if e.kind == "background" {
                background = steps.collect();
            } else {
                out.push(((f.name.clone(), e.line), std::mem::take(&mut background).into_iter().chain(steps).collect()));
            }
        }
    }
    Ok(out)
}

/// The failed steps in a Cucumber JSON report, background steps included
/// (named as the scenario they ran for).
pub fn failed_steps(report: &Path) -> Result<Vec<FailedStep>, String> {
    let mut out = Vec::new();
    for f in read_report(report)? {
        for e in f.elements {
            let steps: Vec<String> = e.steps.iter().map(|s| s.name.clone()).collect();
            for s in e.steps.iter().filter(|s| s.result.status == "failed") {
                let step = if e.kind == "background" { format!("(background) {}", s.name) } else { s.name.clone() };
                out.push(FailedStep {
                    feature: f.name.clone(),
                    scenario: e.name.clone(),
                    steps: steps.clone(),
                    step,
                    error: s.result.error_message.clone().unwrap_or_default(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_failed_steps_of_a_report() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.json");
        let json = r#"[{"name":"F","elements":[
            {"name":"S","type":"background","steps":[{"keyword":"Given ","name":"a topic","result":{"status":"passed"}}]},
            {"name":"S","type":"scenario","steps":[{"keyword":"Given ","name":"clock +5 ms","result":{"status":"passed"}},
              {"keyword":"Then ","name":"no latency is negative","result":{"status":"failed","error_message":"3 negative"}},
              {"keyword":"And ","name":"skew","result":{"status":"skipped"}}]}]}]"#;
        std::fs::write(&path, json).expect("write");
        let failed = failed_steps(&path).expect("parsed");
        assert_eq!(failed.len(), 1);
        assert_eq!((failed[0].scenario.as_str(), failed[0].step.as_str(), failed[0].error.as_str()), ("S", "no latency is negative", "3 negative"));
        assert_eq!(failed[0].steps, vec!["clock +5 ms", "no latency is negative", "skew"]);
        assert!(failed_steps(&dir.path().join("missing.json")).is_err());
        let steps = scenario_steps(&path).expect("parsed");
        assert_eq!(steps.len(), 1, "the background belongs to the scenario after it");
        let texts: Vec<(&str, &str)> = steps[0].1.iter().map(|s| (s.keyword.as_str(), s.status.as_str())).collect();
        assert_eq!((steps[0].0.clone(), texts), (("F".to_string(), 0), vec![("Given ", "passed"), ("Given ", "passed"), ("Then ", "failed"), ("And ", "skipped")]));
    }
}
