//! The pipeline commands as a user runs them.

use std::process::Command;

fn dashstream(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dashstream")).args(args).env_remove("RUST_LOG").output().unwrap()
}

#[test]
fn verify_on_the_embedded_broker_prints_the_verdict_and_exits_0() {
    let out = dashstream(&["verify", "--count", "500", "--broker", "mock", "--metrics-addr", "off"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["sent", "acked", "received", "decoded", "lost", "lost_ranges", "duplicates", "dlq", "negative_latency", "latency_ms", "verdict"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let latency = &v["latency_ms"];
    let (p50, p99, max) = (latency["p50"].as_f64().unwrap(), latency["p99"].as_f64().unwrap(), latency["max"].as_f64().unwrap());
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "ordered, real percentiles: {latency}");
    let (samples, skewed) = (latency["count"].as_u64().unwrap(), v["clock_skew"]["count"].as_u64().unwrap());
    assert_eq!(samples + skewed, 500, "one latency sample or skew observation per message: {v}");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["received"], 500);
}

#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let topic = format!("no-such-topic-{}", std::process::id());
    let out = Command::new(env!("CARGO_BIN_EXE_dashstream"))
        .args(["forward", "--broker", "mock", "--topic", &topic, "--metrics-addr", "off", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("mock kafka cluster started") && err.contains("does not exist"), "{err}");
    assert!(!err.contains('\u{1b}'), "ANSI escape codes in piped stderr: {err:?}");
}

#[test]
fn log_format_json_writes_one_json_object_per_log_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_dashstream"))
        .args(["verify", "--count", "20", "--broker", "mock", "--metrics-addr", "off", "--log-format", "json"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let logs: Vec<serde_json::Value> = err.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(logs.iter().any(|l| l["level"] == "INFO" && l["fields"]["message"] == "mock kafka cluster started"), "{err}");
    assert!(!err.lines().any(|l| l.contains(" INFO ")), "a text log line among the JSON ones: {err}");
}

#[test]
fn every_command_has_help() {
    for cmd in ["encode", "decode", "produce", "consume", "verify", "aggregate", "forward", "check", "chaos", "schema"] {
        let out = dashstream(&[cmd, "--help"]);
        assert!(out.status.success(), "{cmd}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"), "{cmd}");
    }
}

#[test]
fn bad_flags_are_clap_errors() {
    let out = dashstream(&["verify", "--count", "many"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'many'"));
    let out = dashstream(&["consume", "--topic", "t", "--broker", "kafka9"]);
    assert_eq!(out.status.code(), Some(2));
    // Combinations that cannot work: refused before any broker is contacted
    // (127.0.0.1:1 would not answer; the refusal comes at once).
    for (args, says) in [
        (&["consume", "--topic", "t", "--broker", "mock", "--bootstrap", "127.0.0.1:1"][..], "--broker mock starts its own"),
        (&["produce", "--topic", "t", "--count", "1", "--broker", "external"][..], "--broker external needs --bootstrap"),
        (&["consume", "--topic", "t", "--from-beginning", "--from-end"][..], "cannot be used with"),
        (&["consume", "--topic", "t", "--fail-on", "none,lost", "--bootstrap", "127.0.0.1:1"][..], "--fail-on none cannot be combined"),
        (&["consume", "--topic", "t", "--max-records", "0"][..], "invalid value '0'"),
        (&["verify", "--count", "1", "--metrics-addr", "nowhere"][..], "neither HOST:PORT"),
    ] {
        let started = std::time::Instant::now();
        let out = dashstream(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{args:?} took {:?}", started.elapsed());
    }
}

#[test]
fn an_unreachable_broker_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bootstrap = format!("127.0.0.1:{port}");
    let out = dashstream(&["verify", "--count", "5", "--bootstrap", &bootstrap, "--connect-timeout", "2s", "--metrics-addr", "off"]);
    assert_eq!(out.status.code(), Some(3), "exit 3: broker unreachable");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unreachable") && err.contains(&bootstrap), "{err}");
}

#[test]
fn produce_then_aggregate_on_an_external_broker_address() {
    // The mock cluster lives in one process, so produce and aggregate go through verify's
    // neighbour: a mock cluster started here and addressed as an external broker.
    let mock = dashstream::broker::mock::MockBroker::start(1).unwrap();
    use dashstream::broker::Broker as _;
    let bootstrap = mock.bootstrap_servers();
    let topic = format!("quality-{}", std::process::id());
    mock.create_topic_now(&topic, 3).unwrap(); // the mock has no CreateTopics API
    mock.create_topic_now(&format!("{topic}.dlq"), 1).unwrap();
    let out = dashstream(&["produce", "--topic", &topic, "--count", "100", "--bootstrap", &bootstrap, "--metrics-addr", "off"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["acked"], 100);
    let out = dashstream(&["aggregate", "--topic", &topic, "--bootstrap", &bootstrap, "--idle-timeout", "3s", "--metrics-addr", "off"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total: u64 = a["threads"].as_object().unwrap().values().map(|t| t["reports"].as_u64().unwrap()).sum();
    assert_eq!(total, 10, "every 10th message is a quality report");
    let out = dashstream(&["consume", "--topic", &topic, "--bootstrap", &bootstrap, "--idle-timeout", "3s", "--metrics-addr", "off"]);
    assert!(out.status.success());
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["received"], 100);
    assert_eq!(c["lost"], 0);
}

#[test]
fn check_runs_the_suite_on_the_embedded_broker_and_writes_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let out = dashstream(&["check", "--broker", "mock", "--tags", "not @fault", "--report", report.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.lines().next(), Some("broker: embedded mock (librdkafka's mock cluster) (asked for)"), "the first line names the broker and why");
    let scenario_lines = stdout.lines().filter(|l| l.starts_with("✓ mock ")).count();
    assert!(scenario_lines >= 25, "one line per scenario: {stdout}");
    assert!(!stdout.contains("\x1b[") && !stderr.contains("librdkafka") && !stderr.contains(" WARN "), "no colour on a pipe, no log line on the console: {stderr}");
    let summary = stdout.lines().skip_while(|l| !l.is_empty()).find(|l| !l.is_empty()).unwrap_or_default();
    assert!(summary.starts_with("mock: librdkafka"), "first summary line names the broker: {summary:?}");
    assert!(stdout.trim_end().ends_with("check: pass") && stdout.contains("report: "), "the last lines are the summary and the report paths: {stdout}");
    for f in ["report-reference.md", "report-reference.html", "junit-reference-mock.xml", "cucumber-reference-mock.json", "dashstream.log", "history-reference.jsonl"] {
        let text = std::fs::read_to_string(report.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(text.len() > 500, "{f} is nearly empty");
    }
    let html = std::fs::read_to_string(report.join("report-reference.html")).unwrap();
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"), "self-contained");
    assert!(html.contains("dead-lettered 3"), "evidence in the report");
}

#[test]
fn check_with_nothing_selected_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dashstream(&["check", "--broker", "mock", "--tags", "@no-such-tag", "--report", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn chaos_schedules_are_reproducible_from_the_seed() {
    let run = |seed: &str| dashstream(&["chaos", "--broker", "cluster", "--duration", "3m", "--seed", seed, "--dry-run"]);
    let (a, b, c) = (run("42"), run("42"), run("43"));
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout, "same seed, same schedule");
    assert_ne!(a.stdout, c.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert!(v["schedule"].as_array().unwrap().len() >= 8);
    let out = dashstream(&["chaos", "--broker", "mock", "--faults", "broker-kill", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "a fault the backend cannot run is refused as bad usage");
}
