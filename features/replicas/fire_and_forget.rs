//! A producer tuned for speed: `acks=0`, no idempotence. The broker never
//! confirms anything: librdkafka calls a message delivered once it is written
//! to a socket, so whatever a fault swallows on the way is gone unnoticed.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use dashstream::broker::Broker;
use dashstream::conformance::pipeline::{Pipeline, ProduceOutcome, ProducePlan, RunningConsumer};
use dashstream::conformance::reference::Reference;
use dashstream::pipeline::metrics::Metrics;

pub struct FireAndForget;

#[async_trait]
impl Pipeline for FireAndForget {
    fn name(&self) -> &str {
        "replica: acks=0 producer without idempotence"
    }

    fn fault_producer_settings(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("acks".to_string(), "0".to_string()), ("enable.idempotence".to_string(), "false".to_string())])
    }

    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, metrics: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>> {
        Reference.start_consumer(broker, topic, group, metrics).await
    }

    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome> {
        Reference.produce(broker, topic, plan, metrics).await
    }
}
