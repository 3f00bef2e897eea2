//! Shared helpers: a mock cluster with a topic, a forwarder on it, a producer.

use std::sync::Arc;

use dashstream::broker::mock::MockBroker;
use dashstream::broker::Broker;
use dashstream::conformance::pipeline::{Pipeline, ProduceOutcome, ProducePlan};
use dashstream::conformance::reference::Reference;
use dashstream::forward::latency::HonestMeter;
use dashstream::forward::{ForwardSettings, Forwarder};
use dashstream::pipeline::metrics::Metrics;

pub fn logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().with_ansi(false).try_init();
}

/// A name unique to this test and run.
pub fn unique(test: &str) -> String {
    format!("{test}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// A broker with a fresh 3-partition topic and a forwarder on it.
pub struct Rig {
    pub broker: Arc<dyn Broker>,
    pub topic: String,
    pub metrics: Metrics,
    pub forwarder: Forwarder,
}

impl Rig {
    pub async fn start(test: &str, tune: impl FnOnce(&mut ForwardSettings)) -> anyhow::Result<Self> {
        logs();
        let broker: Arc<dyn Broker> = Arc::new(MockBroker::start(1)?);
        let topic = unique(test);
        broker.create_topic(&topic, 3).await?;
        let metrics = Metrics::new();
        let mut settings = ForwardSettings::new(&topic, "127.0.0.1:0".parse()?);
        tune(&mut settings);
        let forwarder = Forwarder::start(&broker.client_config(), settings, &metrics, Arc::new(HonestMeter)).await?;
        Ok(Self { broker, topic, metrics, forwarder })
    }

    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}/ws{query}", self.forwarder.local_addr())
    }

    /// Sends `count` messages of 600 bytes with the producer's clock shifted by `clock_offset_ms`.
    pub async fn produce(&self, count: u64, clock_offset_ms: i64) -> anyhow::Result<ProduceOutcome> {
        let plan = ProducePlan { clock_offset_ms, ..ProducePlan::new(count) };
        Reference.produce(self.broker.clone(), &self.topic, &plan, self.metrics.clone()).await
    }
}
