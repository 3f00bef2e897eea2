//! Golden frames in fixtures/: each decodes to its expected result.
//!
//! `DASHSTREAM_BLESS=1 cargo test --test codec fixtures` regenerates every file
//! and fixtures/README.md from the table below, deterministically. Without it,
//! the test decodes each file and checks that the cheap ones still regenerate
//! byte for byte (so an encoder change that alters the wire shows up here).

use std::path::PathBuf;

use dashstream::codec::{CodecConfig, CompressionPolicy, Decoder, Encoder};
use dashstream::proto::Envelope;
use dashstream::sample;
use prost::Message;

const GIB: usize = 1 << 30;

struct Fixture {
    file: &'static str,
    what: &'static str,
    /// `ok:<format>` or `err:<kind>`.
    expect: &'static str,
    /// The message an `ok` fixture decodes to.
    message: Option<fn() -> Envelope>,
    build: fn() -> Vec<u8>,
    /// Too slow to rebuild on every run (inflates 1 GiB): checked by decoding only.
    expensive: bool,
}

fn h(seq: u64) -> dashstream::proto::Header {
    sample::header("fixture-producer", "fixture-session", seq, 1_764_000_000_000_000 + seq as i64)
}
fn m_small() -> Envelope {
    sample::node_finished(h(1), "retrieve", 12_345)
}
fn m_big() -> Envelope {
    sample::chunk(h(2), 2000)
}
fn m_report() -> Envelope {
    sample::quality_report(h(3), 0.875)
}
fn m_legacy() -> Envelope {
    sample::chunk(h(4), 700)
}
/// At level 3, the level the golden frames were made with (any level decodes the same).
fn enc(policy: CompressionPolicy, m: &Envelope) -> Vec<u8> {
    Encoder::new(CodecConfig::default().with_policy(policy).with_level(3)).encode(m).unwrap().bytes
}
fn zeros_zstd(len: usize, declare: bool) -> Vec<u8> {
    let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    e.include_contentsize(declare).unwrap();
    if declare {
        e.set_pledged_src_size(Some(len as u64)).unwrap();
    }
    let block = vec![0u8; 1 << 20];
    for _ in 0..len / block.len() {
        std::io::Write::write_all(&mut e, &block).unwrap();
    }
    e.finish().unwrap()
}
fn with(first: u8, rest: Vec<u8>) -> Vec<u8> {
    let mut v = vec![first];
    v.extend(rest);
    v
}

fn table() -> Vec<Fixture> {
    vec![
        Fixture { file: "raw.bin", what: "0x00 + a node-finished event", expect: "ok:raw", message: Some(m_small), build: || enc(CompressionPolicy::Auto, &m_small()), expensive: false },
        Fixture { file: "zstd.bin", what: "0x01 + zstd of a 2 KB streamed chunk (auto policy)", expect: "ok:zstd", message: Some(m_big), build: || enc(CompressionPolicy::Auto, &m_big()), expensive: false },
        Fixture { file: "zstd-always.bin", what: "0x01 + zstd of a quality report (always policy)", expect: "ok:zstd", message: Some(m_report), build: || enc(CompressionPolicy::Always, &m_report()), expensive: false },
        Fixture { file: "legacy-zstd.bin", what: "bare zstd frame, no format byte (pre-header producers)", expect: "ok:legacy-zstd", message: Some(m_legacy), build: || zstd::bulk::compress(&m_legacy().encode_to_vec(), 3).unwrap(), expensive: false },
        Fixture { file: "legacy-raw.bin", what: "bare protobuf, no format byte (pre-header producers)", expect: "ok:legacy-raw", message: Some(m_report), build: || m_report().encode_to_vec(), expensive: false },
        Fixture { file: "empty.bin", what: "zero bytes", expect: "err:empty", message: None, build: Vec::new, expensive: false },
        Fixture { file: "unknown-format.bin", what: "format byte 0x02 + a valid protobuf body", expect: "err:unknown-format", message: None, build: || with(0x02, m_small().encode_to_vec()), expensive: false },
        Fixture { file: "unknown-format-ff.bin", what: "format byte 0xff (wire type 7: not protobuf either)", expect: "err:unknown-format", message: None, build: || vec![0xff, 0x00, 0x01], expensive: false },
        Fixture { file: "bomb-declared.bin", what: "0x01 + zstd frame declaring 1 GiB of zeros", expect: "err:too-large", message: None, build: || with(0x01, zeros_zstd(GIB, true)), expensive: true },
        Fixture { file: "bomb-undeclared.bin", what: "0x01 + zstd frame inflating to 1 GiB of zeros, size not declared", expect: "err:too-large", message: None, build: || with(0x01, zeros_zstd(GIB, false)), expensive: true },
        Fixture { file: "bomb-legacy.bin", what: "bare zstd frame inflating to 1 GiB, size not declared", expect: "err:too-large", message: None, build: || zeros_zstd(GIB, false), expensive: true },
        Fixture { file: "truncated-zstd.bin", what: "zstd.bin cut in half", expect: "err:bad-zstd", message: None, build: || { let f = enc(CompressionPolicy::Auto, &m_big()); f[..f.len() / 2].to_vec() }, expensive: false },
        Fixture { file: "corrupt-zstd.bin", what: "zstd.bin with a reserved bit set in the frame header", expect: "err:bad-zstd", message: None, build: || { let mut f = enc(CompressionPolicy::Auto, &m_big()); f[5] |= 0x08; f }, expensive: false },
        Fixture { file: "trailing-zstd.bin", what: "zstd.bin followed by 3 stray bytes", expect: "err:bad-zstd", message: None, build: || { let mut f = enc(CompressionPolicy::Auto, &m_big()); f.extend([1, 2, 3]); f }, expensive: false },
        Fixture { file: "truncated-raw.bin", what: "raw.bin without its last 3 bytes", expect: "err:bad-protobuf", message: None, build: || { let f = enc(CompressionPolicy::Auto, &m_small()); f[..f.len() - 3].to_vec() }, expensive: false },
        Fixture { file: "bad-protobuf.bin", what: "0x00 + a length prefix running past the end", expect: "err:bad-protobuf", message: None, build: || vec![0x00, 0x0a, 0xff, 0xff, 0x03, 0x01], expensive: false },
        Fixture { file: "no-header.bin", what: "0x00 + an envelope without header", expect: "err:bad-protobuf", message: None, build: || with(0x00, Envelope { header: None, payload: m_small().payload }.encode_to_vec()), expensive: false },
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn outcome(frame: &[u8]) -> (String, Option<Envelope>) {
    match Decoder::new(CodecConfig::default()).decode(frame) {
        Ok(d) => (format!("ok:{}", d.format), Some(d.message)),
        Err(e) => (format!("err:{}", e.kind()), None),
    }
}

#[test]
fn golden_frames_decode_to_their_expected_result() {
    let bless = std::env::var_os("DASHSTREAM_BLESS").is_some();
    if bless {
        write_all();
    }
    for f in table() {
        let path = dir().join(f.file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (regenerate with DASHSTREAM_BLESS=1)", path.display()));
        let (got, message) = outcome(&bytes);
        assert_eq!(got, f.expect, "{}", f.file);
        if let Some(expected) = f.message {
            assert_eq!(message.as_ref(), Some(&expected()), "{}", f.file);
        }
        if !f.expensive {
            assert!((f.build)() == bytes, "{} no longer regenerates byte for byte: the encoder changed the wire", f.file);
        }
    }
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    assert_eq!(readme, render_readme(), "fixtures/README.md is stale (DASHSTREAM_BLESS=1 to regenerate)");
}

fn write_all() {
    std::fs::create_dir_all(dir()).unwrap();
    for f in table() {
        std::fs::write(dir().join(f.file), (f.build)()).unwrap();
    }
    std::fs::write(dir().join("README.md"), render_readme()).unwrap();
    std::fs::write(dir().join("decoded.json"), render_decoded()).unwrap();
}

/// What the codec makes of every golden frame, as JSON: `{"format", "message"}`
/// (the shape `dashstream decode` prints) or `{"error": kind}`. The browser
/// view's decoder is tested against this file (`web/test/decoder.test.mjs`).
fn render_decoded() -> String {
    let mut all = serde_json::Map::new();
    for f in table() {
        let bytes = (f.build)();
        let entry = match Decoder::new(CodecConfig::default()).decode(&bytes) {
            Ok(d) => serde_json::json!({"format": d.format.as_str(), "message": d.message}),
            Err(e) => serde_json::json!({"error": e.kind().as_str()}),
        };
        all.insert(f.file.to_string(), entry);
    }
    serde_json::to_string_pretty(&serde_json::Value::Object(all)).unwrap() + "\n"
}

#[test]
fn decoded_json_is_what_the_codec_gives_for_every_golden_frame() {
    let on_disk = std::fs::read_to_string(dir().join("decoded.json")).unwrap_or_default();
    assert!(on_disk == render_decoded(), "fixtures/decoded.json is stale (DASHSTREAM_BLESS=1 cargo test --test codec fixtures)");
}

fn render_readme() -> String {
    let mut s = String::from(
        "# Golden frames\n\n\
         One file per wire format and per decode error kind. Each is decoded by \
         `tests/codec/fixtures.rs` with the default settings (legacy on, cap 4 MiB) and must give the \
         result below; `ok` fixtures must also decode to the exact message the table in that file builds.\n\n\
         Regenerate (deterministic, same bytes every time): `DASHSTREAM_BLESS=1 cargo test --test codec fixtures`.\n\
         This README is generated by the same command; do not edit it by hand.\n\n\
         | file | bytes | what | expected decode |\n|---|---|---|---|\n",
    );
    for f in table() {
        let len = std::fs::metadata(dir().join(f.file)).map(|m| m.len().to_string()).unwrap_or_else(|_| "?".into());
        let expect = f.expect.replace("ok:", "ok, format `").replace("err:", "error `") + "`";
        s.push_str(&format!("| `{}` | {} | {} | {} |\n", f.file, len, f.what, expect));
    }
    s.push_str("\nTry one: `cargo run -q -- decode fixtures/zstd.bin`, or `cargo run -q -- decode fixtures/bomb-undeclared.bin` (exit 2, `error: too-large: ...`).\n");
    s
}
