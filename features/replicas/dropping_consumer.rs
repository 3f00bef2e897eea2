//! Bug 4: undecodable messages are skipped: no count, no dead-letter copy.

use dashstream::codec::{CodecConfig, Decoder};

use super::plain_consumer::{count, Handler};

pub const NAME: &str = "replica: dropping consumer";

/// The broken per-record handling.
pub fn handler() -> Handler {
    let mut decoder = Decoder::new(CodecConfig::default());
    Box::new(move |payload, out| {
        if let Ok(d) = decoder.decode(payload) {
            out.report.decoded += 1;
            count(&mut out.report.decoded_by_format, d.format.as_str());
        } // else: silently dropped
    })
}
