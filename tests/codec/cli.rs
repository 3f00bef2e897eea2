//! `dashstream encode` / `decode` as a user runs them: stdin/stdout, exit codes, one-line errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dashstream"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG")
        .spawn()
        .unwrap();
    // The command may exit (bad flags) before reading its input: a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

const MESSAGE: &str = r#"{
  "header": {"producer_id": "cli", "producer_session": "s", "sequence": 3, "created_at_us": 1764000000000000, "run_id": "r", "thread_id": "t"},
  "payload": {"quality_report": {"score": 0.5, "metrics": {"relevance": 0.75}, "evaluator": "judge"}}
}"#;

#[test]
fn encode_then_decode_round_trips_through_json() {
    for policy in ["auto", "always", "never"] {
        let frame = run(&["encode", "--compress", policy], MESSAGE.as_bytes());
        assert!(frame.status.success(), "{}", String::from_utf8_lossy(&frame.stderr));
        assert_eq!(frame.stdout[0], if policy == "always" { 1 } else { 0 });
        let decoded = run(&["decode", "-"], &frame.stdout);
        assert!(decoded.status.success());
        let json: serde_json::Value = serde_json::from_slice(&decoded.stdout).unwrap();
        assert_eq!(json["format"], if policy == "always" { "zstd" } else { "raw" });
        assert_eq!(json["message"], serde_json::from_str::<serde_json::Value>(MESSAGE).unwrap());
        // encode(decode(frame).message) decodes to the same message again.
        let again = run(&["encode", "--compress", policy], json["message"].to_string().as_bytes());
        let json2: serde_json::Value = serde_json::from_slice(&run(&["decode"], &again.stdout).stdout).unwrap();
        assert_eq!(json2["message"], json["message"]);
    }
}

#[test]
fn bad_frames_exit_2_with_one_error_line_naming_the_kind() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let cases = [
        ("empty.bin", "empty"),
        ("unknown-format.bin", "unknown-format"),
        ("bomb-undeclared.bin", "too-large"),
        ("bomb-declared.bin", "too-large"),
        ("truncated-zstd.bin", "bad-zstd"),
        ("truncated-raw.bin", "bad-protobuf"),
    ];
    for (file, kind) in cases {
        let out = run(&["decode", &format!("{dir}/fixtures/{file}")], b"");
        assert_eq!(out.status.code(), Some(2), "{file}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{file}: {stderr:?}");
        assert!(stderr.starts_with(&format!("error: {kind}: ")), "{file}: {stderr:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn no_legacy_refuses_legacy_frames() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let ok = run(&["decode", &format!("{dir}/fixtures/legacy-raw.bin")], b"");
    assert!(ok.status.success());
    let out = run(&["decode", "--no-legacy", &format!("{dir}/fixtures/legacy-raw.bin")], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: unknown-format: "));
}

#[test]
fn bad_flags_get_a_usage_error() {
    let out = run(&["encode", "--compress", "sometimes"], MESSAGE.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'sometimes'"));
}

#[test]
fn bad_json_is_a_clear_error() {
    let out = run(&["encode"], b"{\"header\": 5}");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: bad-json: "));
}
