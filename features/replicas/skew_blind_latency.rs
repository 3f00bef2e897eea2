//! Bug 2: latency = consumer clock - producer clock, taken as is. When the
//! producer's clock runs ahead the "latency" is negative, and it is recorded.

use dashstream::codec::{CodecConfig, Decoder};
use dashstream::pipeline::latency::{percentiles_of, WallClock};

use super::plain_consumer::{count, Handler};

pub const NAME: &str = "replica: skew-blind latency";

/// The broken per-record handling.
pub fn handler() -> Handler {
    let mut decoder = Decoder::new(CodecConfig::default());
    let mut samples: Vec<i64> = Vec::new();
    Box::new(move |payload, out| {
        if let Ok(d) = decoder.decode(payload) {
            out.report.decoded += 1;
            count(&mut out.report.decoded_by_format, d.format.as_str());
            let created = d.message.header.map(|h| h.created_at_us).unwrap_or(0);
            samples.push(WallClock::default().now_us() - created);
            out.report.negative_latency = samples.iter().filter(|s| **s < 0).count() as u64;
            out.report.latency_ms = percentiles_of(&mut samples.clone());
        }
    })
}
