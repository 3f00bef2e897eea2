//! Bug 2 where it was first seen: the original WebSocket forwarder logged
//! `E2E latency: -4.46ms`. Its latency was the forwarder's clock minus the
//! producer's `created_at`, two clocks taken as one, with no skew handling:
//! whatever the subtraction gave was reported. Producer and consumer are the
//! reference ones; only the forwarder's meter is the original's.

use std::sync::Arc;

use async_trait::async_trait;
use dashstream::broker::Broker;
use dashstream::conformance::pipeline::{Pipeline, ProduceOutcome, ProducePlan, RunningConsumer};
use dashstream::conformance::reference::Reference;
use dashstream::forward::latency::{LatencyMeter, Measured};
use dashstream::pipeline::metrics::Metrics;

/// Consume time minus produce time, reported as is.
#[derive(Debug)]
struct TwoClockMeter;

impl LatencyMeter for TwoClockMeter {
    fn measure(&self, created_at_us: i64, now_us: i64) -> Measured {
        Measured::Latency(now_us - created_at_us)
    }
}

pub struct OriginalForwarder;

#[async_trait]
impl Pipeline for OriginalForwarder {
    fn name(&self) -> &str {
        "replica: the original forwarder's latency"
    }

    fn forward_meter(&self) -> Arc<dyn LatencyMeter> {
        Arc::new(TwoClockMeter)
    }

    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, metrics: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>> {
        Reference.start_consumer(broker, topic, group, metrics).await
    }

    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome> {
        Reference.produce(broker, topic, plan, metrics).await
    }
}
