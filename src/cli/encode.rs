//! `dashstream encode`: a message given as JSON into a frame on stdout.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dashstream::codec::{CodecConfig, CompressionPolicy, Encoder};
use dashstream::proto::Envelope;

use super::output::read_input;
use super::{one_line, EXIT_BAD_INPUT};

#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// When to compress: auto (at least --threshold bytes and smaller), always, never.
    #[arg(long, value_enum, default_value_t = CompressionPolicy::Auto)]
    compress: CompressionPolicy,
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

pub fn encode(args: EncodeArgs) -> anyhow::Result<ExitCode> {
    let input = read_input(&args.input)?;
    let message: Envelope = match serde_json::from_slice(&input) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: bad-json: {}", one_line(&e.to_string()));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let config = CodecConfig::default().with_policy(args.compress).with_level(args.level).with_threshold(args.threshold);
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
