//! Bugs 4 and the dropped poison: the consumer decodes what it can and counts
//! it, and nothing else. It keeps no sequence numbers, so it cannot say what
//! is missing, and it drops what it cannot decode without a trace.

use dashstream::codec::{CodecConfig, Decoder};

use super::plain_consumer::{count, Handler};

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
