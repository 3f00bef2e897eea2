//! Bug 4: the consumer counts messages and nothing else. It decodes every
//! record but keeps no sequence numbers, so it can never say what is missing.

use dashstream::codec::{CodecConfig, Decoder};

use super::plain_consumer::{count, Handler};

pub const NAME: &str = "replica: a consumer that only counts";

/// The broken per-record handling.
pub fn handler() -> Handler {
    let mut decoder = Decoder::new(CodecConfig::default());
    Box::new(move |payload, out| {
        if let Ok(d) = decoder.decode(payload) {
            out.report.decoded += 1;
            count(&mut out.report.decoded_by_format, d.format.as_str());
        }
    })
}
