//! The reports: headline, matrix, charts and history as a reader finds them.

use super::history::Run;
use super::matrix::ReplicaOutcome;
use super::*;
use crate::conformance::evidence::StepRecord;
use crate::faults::timeline::{Second, Timeline, Window};

fn record(backend: &str, file: &str, scenario: &str, status: &str) -> ScenarioRecord {
    let steps = vec![StepRecord { keyword: "Then ".into(), text: "no latency is negative".into(), status: status.into(), error: None }];
    ScenarioRecord { line: 9, steps, seconds: 3.25, ..ScenarioRecord::sample(backend, file, scenario, status) }
}

/// One passing scenario for each original bug, on the mock.
fn all_fixed() -> Vec<ScenarioRecord> {
    let mut latency = record("mock", "latency.feature", "Clock (offset +5 s)", "passed");
    latency.evidence.latency_ms = Some((1.0, 2.0, 3.0));
    latency.evidence.latency_buckets = vec![(1.0, 5), (2.5, 9), (5.0, 10)];
    let mut fault = record("mock", "faults.feature", "A broker goes down", "passed");
    fault.evidence.timeline = Some(Timeline { seconds: vec![Second { sent: 5, acked: 5, read: 5, read_new: 5, ..Default::default() }; 3], faults: vec![Window { what: "broker-down".into(), from_s: 1.0, to_s: 2.0 }] });
    let mut compression = record("mock", "compression.feature", "Large", "passed");
    compression.evidence.compression_ratio = Some(0.4);
    vec![record("mock", "decompression.feature", "All decode", "passed"), latency, record("mock", "test_hygiene.feature", "No ignore", "passed"), fault, compression]
}

fn replica(caught: bool) -> ReplicaOutcome {
    ReplicaOutcome { replica: "noop-compression".into(), bug: "b".into(), feature_file: "compression.feature".into(), backend: "mock".into(), place: "Large".into(), caught, detail: "d".into() }
}

fn input<'a>(records: &'a [ScenarioRecord], replicas: Option<&'a [ReplicaOutcome]>, history: &'a [Run]) -> ReportInput<'a> {
    ReportInput { label: "t", records, summary: &[], replicas, history, original_bugs: true }
}

#[test]
fn the_headline_passes_only_with_every_scenario_every_bug_and_every_replica() {
    let records = all_fixed();
    let caught = [replica(true)];
    let (ok, text) = input(&records, Some(&caught), &[]).headline();
    assert!(ok, "{text}");
    assert_eq!(text, "PASS: 5 of 5 scenarios passed on mock; 5 of 5 original bugs fixed on every backend; 1 of 1 replica catches");
    assert!(!input(&records, Some(&[replica(false)]), &[]).headline().0, "a replica not caught");
    assert!(!input(&records[1..], None, &[]).headline().0, "no scenario for the decompression bug");
    let mut failed = all_fixed();
    failed[0].status = "failed".into();
    assert!(!input(&failed, None, &[]).headline().0);
    assert!(!input(&[], None, &[]).headline().0, "nothing ran");
    assert!(input(&records, None, &[]).headline().1.contains("replicas not run here"));
}

#[test]
fn the_html_report_has_the_matrix_the_charts_the_steps_and_the_history() {
    let records = all_fixed();
    let runs = [Run::new("abc", vec![], &records), Run::new("def", vec![], &records)];
    let caught = [replica(true)];
    let html = html::render(&input(&records, Some(&caught), &runs));
    for id in ["id=\"headline\" class=\"pass\"", "id=\"verdict-matrix\"", "id=\"bug-noop-compression\"", "id=\"chart-compression\"", "id=\"history\"", "id=\"chart-latency-s-mock-clock-offset-plus5-s\"", "id=\"chart-timeline-s-mock-a-broker-goes-down\""] {
        assert!(html.contains(id), "{id} missing");
    }
    assert!(html.contains("<b>Then</b> no latency is negative"), "steps are shown");
    assert!(html.contains("<td>3.2</td>"), "durations are shown");
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"), "self-contained");
    let md = markdown::render(&input(&records, Some(&caught), &runs));
    assert!(md.contains("| mock | F | All decode | passed | 3.2 |") && md.contains("**PASS:") && md.contains("caught noop-compression"));
}

#[test]
fn a_scenario_whose_outcome_changed_is_marked_flaky() {
    let records = all_fixed();
    let mut failed = all_fixed();
    failed[2].status = "failed".into();
    let runs = [Run::new("abc", vec![], &records), Run::new("def", vec![], &failed)];
    let html = html::render(&input(&records, None, &runs));
    assert_eq!(html.matches("<b>flaky</b>").count(), 1);
    assert!(html.contains("[mock] No ignore <b>flaky</b>"));
    assert!(markdown::render(&input(&records, None, &runs)).contains("flaky (outcome changed between them): [mock] No ignore"));
}
