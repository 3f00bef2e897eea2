//! `dashstream encode` and `dashstream decode`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dashstream::codec::{CodecConfig, CompressionPolicy, Decoder, Encoder};
use dashstream::proto::Envelope;

use super::{one_line, EXIT_BAD_INPUT};

#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// When to compress: auto (at least --threshold bytes and smaller), always, never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    compress: String,
    /// zstd level.
    #[arg(long, default_value_t = CodecConfig::DEFAULT_LEVEL, allow_hyphen_values = true)]
    level: i32,
    /// Smallest message (protobuf bytes) that `auto` compresses.
    #[arg(long, default_value_t = CodecConfig::DEFAULT_THRESHOLD)]
    threshold: usize,
    /// JSON message to read: a file, or - for standard input.
    #[arg(default_value = "-")]
    input: PathBuf,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Reject frames without a format byte (legacy frames).
    #[arg(long)]
    no_legacy: bool,
    /// Largest decoded message accepted, in bytes.
    #[arg(long, default_value_t = CodecConfig::DEFAULT_MAX_DECODED)]
    max_bytes: usize,
    /// Frame to read: a file, or - for standard input.
    #[arg(default_value = "-")]
    input: PathBuf,
}

fn read_input(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut buf).context("reading standard input")?;
    } else {
        buf = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(buf)
}

pub fn encode(args: EncodeArgs) -> anyhow::Result<ExitCode> {
    let input = read_input(&args.input)?;
    let message: Envelope = match serde_json::from_slice(&input) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: bad-json: {}", one_line(&e.to_string()));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let policy: CompressionPolicy = args.compress.parse().map_err(anyhow::Error::msg)?;
    let config = CodecConfig::default().with_policy(policy).with_level(args.level).with_threshold(args.threshold);
    let frame = match Encoder::new(config).encode(&message) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: bad-message: {}", one_line(&e.to_string()));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(&frame.bytes).context("writing the frame to standard output")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn decode(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let frame = read_input(&args.input)?;
    let config = CodecConfig::default().with_legacy(!args.no_legacy).with_max_decoded_bytes(args.max_bytes);
    match Decoder::new(config).decode(&frame) {
        Ok(decoded) => {
            let json = serde_json::json!({
                "format": decoded.format.as_str(),
                "message": decoded.message,
            });
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &json)?;
            out.write_all(b"\n")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            Ok(ExitCode::from(EXIT_BAD_INPUT))
        }
    }
}
