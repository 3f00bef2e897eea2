//! Bug 1: the consumer guesses. It tries zstd on every payload, logs a warning
//! when that fails, and falls back to plain protobuf of the whole payload.

use dashstream::proto::Envelope;
use prost::Message as _;

use super::plain_consumer::{count, Handler};

/// The broken per-record handling.
pub fn handler() -> Handler {
    Box::new(|payload, out| {
        let (bytes, format) = match zstd::bulk::decompress(payload, 4 << 20) {
            Ok(b) => (b, "zstd"),
            Err(_) => {
                out.decode_warnings += 1; // "zstd failed, trying raw" on every plain message
                (payload.to_vec(), "raw")
            }
        };
        match Envelope::decode(bytes.as_slice()) {
            Ok(_) => {
                out.report.decoded += 1;
                count(&mut out.report.decoded_by_format, format);
            }
            Err(_) => count(&mut out.report.decode_failures, "bad-protobuf"),
        }
    })
}
