//! The pipeline a scenario exercises, as a trait, so that the suite can run
//! against the reference implementation or against a deliberately broken one
//! (the bug replicas in `features/replicas/`, test-only).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use crate::broker::Broker;
use crate::codec::CompressionPolicy;
use crate::pipeline::consumer::ConsumeReport;
use crate::pipeline::metrics::Metrics;
use crate::pipeline::rangeset::RangeSet;

/// What a producer is asked to send.
#[derive(Debug, Clone)]
pub struct ProducePlan {
    pub count: u64,
    pub size: usize,
    pub policy: CompressionPolicy,
    pub clock_offset_ms: i64,
    /// Messages per second, 0 for as fast as acknowledged.
    pub rate: f64,
    /// Sequences stamped but never sent (simulated loss on the way).
    pub removed: RangeSet,
    /// Sequences sent twice (simulated redelivery).
    pub twice: RangeSet,
    /// Random bytes instead of text (does not compress).
    pub incompressible: bool,
    /// Client settings for a goal (the timing scenario uses `Latency`).
    pub profile: crate::broker::profile::Profile,
}

impl ProducePlan {
    /// Records this plan puts on the topic: removed ones are not, twice-sent ones count twice.
    pub fn records(&self) -> u64 {
        self.count - self.removed.len() + self.twice.len()
    }

    /// Distinct sequences this plan puts on the topic.
    pub fn unique(&self) -> u64 {
        self.count - self.removed.len()
    }

    pub fn new(count: u64) -> Self {
        Self {
            count,
            size: 600,
            policy: CompressionPolicy::Auto,
            clock_offset_ms: 0,
            rate: 0.0,
            removed: RangeSet::new(),
            twice: RangeSet::new(),
            incompressible: false,
            profile: Default::default(),
        }
    }
}

/// What the producer saw.
#[derive(Debug, Clone, Default)]
pub struct ProduceOutcome {
    pub producer_id: String,
    pub session: String,
    /// Records handed to Kafka (removed ones are not; twice-sent ones count twice).
    pub sent: u64,
    pub acked: u64,
    pub raw_bytes: u64,
    pub wire_bytes: u64,
    pub compressed: u64,
    /// Largest (frame length - protobuf length) over all messages.
    pub max_growth: i64,
}

/// What the consumer saw.
#[derive(Debug, Clone, Default)]
pub struct ConsumeOutcome {
    pub report: ConsumeReport,
    /// Warning lines about decoding (failures, fallbacks).
    pub decode_warnings: u64,
}

/// What the scenario planned, told to the consumer when it should finish.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// Records on the topic.
    pub records: u64,
    /// Stop when nothing arrived for this long.
    pub idle: Duration,
    /// The last sequence each producer session sent: `(producer id, session, last)`.
    /// A consumer that tracks sequences reports a lost tail from it.
    pub last_sequences: Vec<(String, String, u64)>,
}

/// A consumer running in the background since the scenario started.
#[async_trait]
pub trait RunningConsumer: Send {
    /// Reads until the expected records arrived (or nothing came for `idle`), then drains and reports.
    async fn finish(self: Box<Self>, expect: Expectation) -> anyhow::Result<ConsumeOutcome>;
}

/// A DashStream producer + consumer implementation under test.
#[async_trait]
pub trait Pipeline: Send + Sync {
    fn name(&self) -> &str;
    /// librdkafka settings for the producer of fault runs (the reference adds none).
    fn fault_producer_settings(&self) -> std::collections::BTreeMap<String, String> {
        Default::default()
    }
    /// How the forwarder of the live-path scenarios measures latency (the reference: honestly).
    fn forward_meter(&self) -> Arc<dyn crate::forward::latency::LatencyMeter> {
        Arc::new(crate::forward::latency::HonestMeter)
    }
    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, metrics: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>>;
    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome>;
}

/// When a background consumer should stop: nothing yet, or the expectation.
pub type Target = Option<Expectation>;

/// A consumer loop running in a task, told through a channel when to finish.
/// The reference pipeline and the replicas share it.
pub struct Background {
    tx: watch::Sender<Target>,
    task: tokio::task::JoinHandle<anyhow::Result<ConsumeOutcome>>,
}

impl Background {
    /// Spawns `run`, which reads until [`target`] says to stop.
    pub fn spawn<F>(run: impl FnOnce(watch::Receiver<Target>) -> F) -> Box<dyn RunningConsumer>
    where
        F: std::future::Future<Output = anyhow::Result<ConsumeOutcome>> + Send + 'static,
    {
        let (tx, rx) = watch::channel(None);
        Box::new(Self { tx, task: tokio::spawn(run(rx)) })
    }
}

/// The current stop target; an error once the scenario dropped the consumer
/// without asking for results (so the loop ends instead of running forever).
pub fn target(rx: &mut watch::Receiver<Target>) -> anyhow::Result<Target> {
    if rx.has_changed().is_err() {
        anyhow::bail!("scenario ended without reading the consumer's results");
    }
    Ok(rx.borrow_and_update().clone())
}

#[async_trait]
impl RunningConsumer for Background {
    async fn finish(self: Box<Self>, expect: Expectation) -> anyhow::Result<ConsumeOutcome> {
        let _ = self.tx.send(Some(expect));
        self.task.await?
    }
}
