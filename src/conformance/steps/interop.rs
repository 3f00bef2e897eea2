//! Frames written by another protobuf implementation (Python's protobuf
//! library, `fixtures/python/write_envelope.py`) decode like prost's own.
//!
//! The scenario plans an `Envelope` in Rust, the Python library re-encodes it
//! its own way from the schema the build compiled, and the decoder must give
//! back exactly the planned message, with or without a format byte.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cucumber::{given, then, when};
use prost::Message as _;

use crate::codec::{CodecConfig, Decoder, FrameFormat, HEADER_RAW};
use crate::conformance::world::DashWorld;
use crate::proto::{envelope::Payload, Envelope, Header, QualityReport, FILE_DESCRIPTOR_SET};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[given(expr = "a quality report whose metric {string} is {float}")]
fn quality_report(w: &mut DashWorld, metric: String, value: f64) {
    let header = Header { producer_id: "interop".into(), producer_session: "s1".into(), sequence: 1, created_at_us: 1_700_000_000_000_000, ..Default::default() };
    let report = QualityReport { score: 0.75, metrics: [(metric, value), ("precision".to_string(), 0.5)].into(), evaluator: "judge".into() };
    let planned = Envelope { header: Some(header), payload: Some(Payload::QualityReport(report)) };
    w.interop = Some((planned, Vec::new()));
}

/// Runs the Python writer; a missing interpreter or library is an error that says how to install it.
fn python_writes(planned: &Envelope, variant: &str) -> anyhow::Result<Vec<u8>> {
    let fds = tempfile::NamedTempFile::new()?;
    std::fs::write(fds.path(), FILE_DESCRIPTOR_SET)?;
    let script = crate_dir().join("fixtures/python/write_envelope.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(fds.path())
        .arg(variant)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("python3 could not start ({e}); `bash ci/python-protobuf` installs it"))?;
    child.stdin.take().expect("piped").write_all(&planned.encode_to_vec())?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "{} {variant} failed ({}); `bash ci/python-protobuf` installs the library:\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out.stdout)
}

#[when(expr = "Python's protobuf library writes it {word}")]
fn python_writes_it(w: &mut DashWorld, variant: String) -> anyhow::Result<()> {
    let (planned, _) = w.interop.take().ok_or_else(|| anyhow::anyhow!("no message planned"))?;
    let frame = python_writes(&planned, &variant)?;
    w.notes.push(format!("Python protobuf ({variant}) wrote {} bytes; prost writes {}", frame.len(), planned.encoded_len()));
    w.interop = Some((planned, frame));
    Ok(())
}

fn planned_and_frame(w: &DashWorld) -> anyhow::Result<&(Envelope, Vec<u8>)> {
    w.interop.as_ref().filter(|(_, f)| !f.is_empty()).ok_or_else(|| anyhow::anyhow!("no frame written"))
}

#[then("its bytes differ from prost's own encoding of the same message")]
fn differs(w: &mut DashWorld) -> anyhow::Result<()> {
    let (planned, frame) = planned_and_frame(w)?;
    let ours = planned.encode_to_vec();
    anyhow::ensure!(*frame != ours, "Python wrote the same {} bytes as prost: this example proves nothing", ours.len());
    Ok(())
}

fn decode(frame: &[u8]) -> Result<(Envelope, FrameFormat), crate::codec::DecodeError> {
    Decoder::new(CodecConfig::default()).decode(frame).map(|d| (d.message, d.format))
}

#[then(expr = "as a legacy frame, without a format byte, it decodes to the planned message")]
fn legacy_decodes(w: &mut DashWorld) -> anyhow::Result<()> {
    let (planned, frame) = planned_and_frame(w)?;
    let (message, format) = decode(frame).map_err(|e| anyhow::anyhow!("refused: {e}"))?;
    anyhow::ensure!(format == FrameFormat::LegacyRaw, "decoded as {format}, expected legacy-raw");
    anyhow::ensure!(message == *planned, "decoded {message:?}, planned {planned:?}");
    Ok(())
}

#[then(expr = "behind the 0x00 format byte it decodes to the planned message")]
fn raw_decodes(w: &mut DashWorld) -> anyhow::Result<()> {
    let (planned, frame) = planned_and_frame(w)?;
    let mut framed = vec![HEADER_RAW];
    framed.extend_from_slice(frame);
    let (message, format) = decode(&framed).map_err(|e| anyhow::anyhow!("refused: {e}"))?;
    anyhow::ensure!(format == FrameFormat::Raw && message == *planned, "decoded {message:?} as {format}, planned {planned:?}");
    Ok(())
}

#[then(expr = "as a legacy frame it is refused as {string}, naming {string}")]
fn legacy_refused(w: &mut DashWorld, kind: String, needle: String) -> anyhow::Result<()> {
    let (_, frame) = planned_and_frame(w)?;
    match decode(frame) {
        Ok((m, format)) => anyhow::bail!("accepted as {format}: {m:?}"),
        Err(e) => {
            anyhow::ensure!(e.kind().as_str() == kind && e.to_string().contains(&needle), "refused as {}: {e}", e.kind().as_str());
            w.notes.push(format!("refused: {e}"));
            Ok(())
        }
    }
}
