//! A bare rdkafka consumer loop that the broken consumers share: each gets
//! every record's bytes and fills in the outcome its own (wrong) way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashstream::broker::Broker;
use dashstream::conformance::pipeline::{Pipeline, ProduceOutcome, ProducePlan};
use dashstream::conformance::reference::Reference;
use dashstream::pipeline::metrics::Metrics;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;

use dashstream::conformance::pipeline::{target, Background, ConsumeOutcome, RunningConsumer};

pub type Handler = Box<dyn FnMut(&[u8], &mut ConsumeOutcome) + Send>;

pub async fn spawn(broker: Arc<dyn Broker>, topic: &str, group: &str, mut handle: Handler) -> anyhow::Result<Box<dyn RunningConsumer>> {
    let c: StreamConsumer = broker
        .client_config()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "50")
        .create()?;
    c.subscribe(&[topic])?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.assignment()?.count() == 0 && Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(100), c.recv()).await;
    }
    Ok(Background::spawn(|mut rx| async move {
        let mut out = ConsumeOutcome::default();
        let mut last = Instant::now();
        loop {
            if let Ok(Ok(m)) = tokio::time::timeout(Duration::from_millis(100), c.recv()).await {
                last = Instant::now();
                out.report.received += 1;
                handle(m.payload().unwrap_or_default(), &mut out);
            }
            if let Some(expect) = target(&mut rx)? {
                if out.report.received >= expect.records || last.elapsed() >= expect.idle {
                    return Ok(out);
                }
            }
        }
    }))
}

pub fn count(map: &mut std::collections::BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_string()).or_default() += 1;
}

/// A replica whose only bug is how its consumer handles each record: the
/// reference producer, the bare consumer loop above, and `handler` per record.
pub struct ConsumerReplica {
    pub name: &'static str,
    pub handler: fn() -> Handler,
}

#[async_trait]
impl Pipeline for ConsumerReplica {
    fn name(&self) -> &str {
        self.name
    }

    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, _: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>> {
        spawn(broker, topic, group, (self.handler)()).await
    }

    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome> {
        Reference.produce(broker, topic, plan, metrics).await
    }
}
