//! Bug 2, patched over: latency = consumer clock - producer clock, and a
//! negative result is clamped to zero instead of being counted as skew. No
//! latency is ever negative, yet the skew is hidden and zeros enter the figures.

use std::sync::Arc;

use async_trait::async_trait;
use dashstream::broker::Broker;
use dashstream::codec::{CodecConfig, Decoder};
use dashstream::pipeline::latency::{percentiles_of, WallClock};
use dashstream::pipeline::metrics::Metrics;

use super::plain_consumer::{self, count};
use dashstream::conformance::pipeline::{Pipeline, ProduceOutcome, ProducePlan, RunningConsumer};
use dashstream::conformance::reference::Reference;

pub struct ClampingLatency;

#[async_trait]
impl Pipeline for ClampingLatency {
    fn name(&self) -> &str {
        "replica: negative latency clamped to zero"
    }

    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, _: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>> {
        let mut decoder = Decoder::new(CodecConfig::default());
        let mut samples: Vec<i64> = Vec::new();
        plain_consumer::spawn(broker, topic, group, Box::new(move |payload, out| {
            if let Ok(d) = decoder.decode(payload) {
                out.report.decoded += 1;
                count(&mut out.report.decoded_by_format, d.format.as_str());
                let created = d.message.header.map(|h| h.created_at_us).unwrap_or(0);
                samples.push((WallClock::default().now_us() - created).max(0));
                out.report.latency_ms = percentiles_of(&mut samples.clone());
            }
        }))
        .await
    }

    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome> {
        Reference.produce(broker, topic, plan, metrics).await
    }
}
