//! Bug 4: undecodable messages are skipped: no count, no dead-letter copy.

use std::sync::Arc;

use async_trait::async_trait;
use dashstream::broker::Broker;
use dashstream::codec::{CodecConfig, Decoder};
use dashstream::pipeline::metrics::Metrics;

use super::plain_consumer::{self, count};
use dashstream::conformance::pipeline::{Pipeline, ProduceOutcome, ProducePlan, RunningConsumer};
use dashstream::conformance::reference::Reference;

pub struct DroppingConsumer;

#[async_trait]
impl Pipeline for DroppingConsumer {
    fn name(&self) -> &str {
        "replica: dropping consumer"
    }

    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, _: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>> {
        let mut decoder = Decoder::new(CodecConfig::default());
        plain_consumer::spawn(broker, topic, group, Box::new(move |payload, out| {
            if let Ok(d) = decoder.decode(payload) {
                out.report.decoded += 1;
                count(&mut out.report.decoded_by_format, d.format.as_str());
            } // else: silently dropped
        }))
        .await
    }

    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome> {
        Reference.produce(broker, topic, plan, metrics).await
    }
}
