//! The JSON Schemas in `schemas/` are what `dashstream schema` prints today,
//! and every command that prints JSON prints something they accept.
//! `DASHSTREAM_BLESS=1` rewrites the published schemas from the code.

use std::path::PathBuf;
use std::process::{Command, Output};

use dashstream::broker::mock::MockBroker;
use dashstream::broker::Broker;

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
    let errors = crate::json_schema::violations(&schema, instance);
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
    let mock = MockBroker::start(1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    for topic in ["schema-t", "schema-t.dlq", "schema-empty", "schema-empty.dlq"] {
        mock.create_topic_now(topic, 1).unwrap(); // the mock has no CreateTopics API
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

/// The validator itself goes red on each kind of violation the published schemas can express.
#[test]
fn the_schema_validator_catches_every_kind_of_violation() {
    let schema = serde_json::json!({
        "type": "object",
        "required": ["count", "ranges"],
        "additionalProperties": false,
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "ratio": {"type": ["number", "null"]},
            "mode": {"enum": ["never", "auto"]},
            "kind": {"const": "verify"},
            "ranges": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/Range"}},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "minItems": 2},
            "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "by_partition": {"type": "object", "patternProperties": {"^-?\\d+$": {"type": "integer"}}, "additionalProperties": false}
        },
        "$defs": {"Range": {"type": "object", "required": ["first"], "properties": {"first": {"type": "integer", "format": "uint64"}}}}
    });
    let good = serde_json::json!({"count": 3, "ratio": null, "mode": "auto", "kind": "verify", "ranges": [{"first": 1}],
        "pair": ["a", 1], "either": 4, "by_partition": {"0": 5, "-1": 2}});
    assert_eq!(crate::json_schema::violations(&schema, &good), Vec::<String>::new());
    let bad = [
        (serde_json::json!({"ranges": []}), "required property \"count\""),
        (serde_json::json!({"count": -1, "ranges": []}), "breaks minimum"),
        (serde_json::json!({"count": 1.5, "ranges": []}), "is not of type"),
        (serde_json::json!({"count": 1, "ranges": [], "extra": 1}), "/extra: no value is allowed"),
        (serde_json::json!({"count": 1, "ranges": [], "mode": "always"}), "is not enum"),
        (serde_json::json!({"count": 1, "ranges": [], "kind": "consume"}), "is not const"),
        (serde_json::json!({"count": 1, "ranges": [{}, {}, {}]}), "3 items breaks maxItems"),
        (serde_json::json!({"count": 1, "ranges": [{"first": "x"}]}), "/ranges/0/first"),
        (serde_json::json!({"count": 1, "ranges": [], "pair": [1, 1]}), "/pair/0"),
        (serde_json::json!({"count": 1, "ranges": [], "pair": ["a"]}), "breaks minItems"),
        (serde_json::json!({"count": 1, "ranges": [], "either": true}), "0 of 2 oneOf"),
        (serde_json::json!({"count": 1, "ranges": [], "by_partition": {"0": "x"}}), "/by_partition/0"),
        (serde_json::json!({"count": 1, "ranges": [], "by_partition": {"p0": 1}}), "/by_partition/p0"),
    ];
    for (instance, expected) in bad {
        let found = crate::json_schema::violations(&schema, &instance);
        assert!(found.iter().any(|v| v.contains(expected)), "{instance}: expected \"{expected}\" among {found:?}");
    }
    let unknown = serde_json::json!({"type": "string", "pattern": "^a"});
    assert!(crate::json_schema::violations(&unknown, &serde_json::json!("b"))[0].contains("does not check"));
}
