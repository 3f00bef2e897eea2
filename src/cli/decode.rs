//! `dashstream decode`: a frame into JSON, `{"format": ..., "message": ...}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use dashstream::codec::{CodecConfig, Decoder};

use super::output::{print_json, read_input};
use super::{one_line, EXIT_BAD_INPUT};

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

/// What `decode` prints on stdout (schema: `dashstream schema decode`).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DecodeOutput {
    /// raw, zstd, legacy-raw or legacy-zstd.
    pub format: String,
    pub message: dashstream::proto::Envelope,
}

pub fn decode(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let frame = read_input(&args.input)?;
    let config = CodecConfig::default().with_legacy(!args.no_legacy).with_max_decoded_bytes(args.max_bytes);
    match Decoder::new(config).decode(&frame) {
        Ok(decoded) => {
            print_json(&DecodeOutput { format: decoded.format.as_str().to_string(), message: decoded.message })?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            Ok(ExitCode::from(EXIT_BAD_INPUT))
        }
    }
}
