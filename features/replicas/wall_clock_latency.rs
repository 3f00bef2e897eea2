//! Bug 2 and a patch over it: latency = consumer clock - producer clock.
//! - skew-blind: taken as is; when the producer's clock runs ahead the
//!   "latency" is negative, and it is recorded.
//! - clamping: a negative result is clamped to zero instead of being counted
//!   as skew; no latency is ever negative, yet the skew is hidden and zeros
//!   enter the figures.

use dashstream::codec::{CodecConfig, Decoder};
use dashstream::pipeline::latency::{percentiles_of, WallClock};

use super::plain_consumer::{count, Handler};

pub fn skew_blind() -> Handler {
    handler(false)
}

pub fn clamping() -> Handler {
    handler(true)
}

fn handler(clamp: bool) -> Handler {
    let mut decoder = Decoder::new(CodecConfig::default());
    let mut samples: Vec<i64> = Vec::new();
    Box::new(move |payload, out| {
        if let Ok(d) = decoder.decode(payload) {
            out.report.decoded += 1;
            count(&mut out.report.decoded_by_format, d.format.as_str());
            let created = d.message.header.map(|h| h.created_at_us).unwrap_or(0);
            let latency = WallClock::default().now_us() - created;
            samples.push(if clamp { latency.max(0) } else { latency });
            out.report.negative_latency = samples.iter().filter(|s| **s < 0).count() as u64;
            out.report.latency_ms = percentiles_of(&mut samples.clone());
        }
    })
}
