//! Bug 1: the consumer guesses. It tries zstd on every payload, logs a warning
//! when that fails, and falls back to plain protobuf of the whole payload.

use std::sync::Arc;

use async_trait::async_trait;
use dashstream::broker::Broker;
use dashstream::pipeline::metrics::Metrics;
use dashstream::proto::Envelope;
use prost::Message as _;

use super::plain_consumer::{self, count};
use dashstream::conformance::pipeline::{Pipeline, ProduceOutcome, ProducePlan, RunningConsumer};
use dashstream::conformance::reference::Reference;

pub struct GuessingConsumer;

#[async_trait]
impl Pipeline for GuessingConsumer {
    fn name(&self) -> &str {
        "replica: guessing consumer"
    }

    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, _: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>> {
        plain_consumer::spawn(broker, topic, group, Box::new(|payload, out| {
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
        }))
        .await
    }

    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome> {
        Reference.produce(broker, topic, plan, metrics).await
    }
}
