//! Bug 2, patched over: latency = consumer clock - producer clock, and a
//! negative result is clamped to zero instead of being counted as skew. No
//! latency is ever negative, yet the skew is hidden and zeros enter the figures.

use dashstream::codec::{CodecConfig, Decoder};
use dashstream::pipeline::latency::{percentiles_of, WallClock};

use super::plain_consumer::{count, Handler};

pub const NAME: &str = "replica: negative latency clamped to zero";

/// The broken per-record handling.
pub fn handler() -> Handler {
    let mut decoder = Decoder::new(CodecConfig::default());
    let mut samples: Vec<i64> = Vec::new();
    Box::new(move |payload, out| {
        if let Ok(d) = decoder.decode(payload) {
            out.report.decoded += 1;
            count(&mut out.report.decoded_by_format, d.format.as_str());
            let created = d.message.header.map(|h| h.created_at_us).unwrap_or(0);
            samples.push((WallClock::default().now_us() - created).max(0));
            out.report.latency_ms = percentiles_of(&mut samples.clone());
        }
    })
}
