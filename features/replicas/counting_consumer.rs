//! Bug 4: the consumer counts messages and nothing else. It decodes every
//! record but keeps no sequence numbers, so it can never say what is missing.

use std::sync::Arc;

use async_trait::async_trait;
use dashstream::broker::Broker;
use dashstream::codec::{CodecConfig, Decoder};
use dashstream::pipeline::metrics::Metrics;

use super::plain_consumer::{self, count};
use dashstream::conformance::pipeline::{Pipeline, ProduceOutcome, ProducePlan, RunningConsumer};
use dashstream::conformance::reference::Reference;

pub struct CountingConsumer;

#[async_trait]
impl Pipeline for CountingConsumer {
    fn name(&self) -> &str {
        "replica: a consumer that only counts"
    }

    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, _: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>> {
        let mut decoder = Decoder::new(CodecConfig::default());
        plain_consumer::spawn(broker, topic, group, Box::new(move |payload, out| {
            if let Ok(d) = decoder.decode(payload) {
                out.report.decoded += 1;
                count(&mut out.report.decoded_by_format, d.format.as_str());
            }
        }))
        .await
    }

    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome> {
        Reference.produce(broker, topic, plan, metrics).await
    }
}
