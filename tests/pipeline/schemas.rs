//! The JSON Schemas in `schemas/` are what `dashstream schema` prints today,
//! and every command that prints JSON prints something they accept.
//! `DASHSTREAM_BLESS=1` rewrites the published schemas from the code.

use std::path::PathBuf;
use std::process::{Command, Output};

use rdkafka::mocking::MockCluster;

const PRINTING: [&str; 7] = ["produce", "consume", "verify", "aggregate", "decode", "chaos", "bench"];

fn dashstream(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dashstream")).args(args).env_remove("RUST_LOG").output().unwrap()
}

fn published(command: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas").join(format!("{command}.schema.json"))
}

/// Fails with every violation when `out`'s stdout does not validate against the published schema.
fn conforms(command: &str, out: &Output) {
    assert!(out.status.code().is_some_and(|c| c <= 1), "{command}: {}", String::from_utf8_lossy(&out.stderr));
    conforms_value(command, &serde_json::from_slice(&out.stdout).unwrap());
}

/// Fails with every violation when `instance` does not validate against `schemas/{command}.schema.json`.
pub fn conforms_value(command: &str, instance: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(published(command)).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{command} output does not match schemas/{command}.schema.json:\n{}\n{instance:#}", errors.join("\n"));
}

#[test]
fn the_published_schemas_are_what_the_code_prints() {
    let bless = std::env::var_os("DASHSTREAM_BLESS").is_some();
    for command in PRINTING {
        let out = dashstream(&["schema", command]);
        assert!(out.status.success());
        if bless {
            std::fs::write(published(command), &out.stdout).unwrap();
        }
        let file = std::fs::read(published(command)).unwrap_or_default();
        assert!(file == out.stdout, "schemas/{command}.schema.json is stale: DASHSTREAM_BLESS=1 cargo test --test pipeline schemas");
    }
}

#[test]
fn every_printing_command_matches_its_schema() {
    conforms("verify", &dashstream(&["verify", "--count", "50", "--broker", "mock", "--metrics-addr", "off"]));
    conforms("chaos", &dashstream(&["chaos", "--dry-run", "--seed", "7", "--broker", "mock", "--duration", "60s"]));
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for frame in ["raw.bin", "zstd.bin", "legacy-raw.bin", "legacy-zstd.bin"] {
        conforms("decode", &dashstream(&["decode", fixtures.join(frame).to_str().unwrap()]));
    }
    let mock = MockCluster::new(1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    for topic in ["schema-t", "schema-t.dlq", "schema-empty", "schema-empty.dlq"] {
        mock.create_topic(topic, 1, 1).unwrap(); // the mock has no CreateTopics API
    }
    let common = ["--bootstrap", bootstrap.as_str(), "--metrics-addr", "off"];
    conforms("produce", &dashstream(&[&["produce", "--topic", "schema-t", "--count", "20"][..], &common].concat()));
    conforms("consume", &dashstream(&[&["consume", "--topic", "schema-t", "--idle-timeout", "2s"][..], &common].concat()));
    conforms("aggregate", &dashstream(&[&["aggregate", "--topic", "schema-t", "--idle-timeout", "2s"][..], &common].concat()));
    // Nothing read: latency is null, not zeros.
    let empty = dashstream(&[&["consume", "--topic", "schema-empty", "--idle-timeout", "1s"][..], &common].concat());
    conforms("consume", &empty);
    let report: serde_json::Value = serde_json::from_slice(&empty.stdout).unwrap();
    assert!(report["latency_ms"].is_null(), "{report}");
}
