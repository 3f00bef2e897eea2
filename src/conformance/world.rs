//! The World: one scenario's state. It owns (a share of) a broker backend,
//! the pipeline under test, its topic, and the evidence the report shows.

use std::path::PathBuf;
use std::sync::Arc;

use crate::broker::{Broker, BrokerKind};
use crate::conformance::fake_docker::FakeMachine;
use crate::docker::{DockerHostError, FoundHost};
use crate::pipeline::metrics::Metrics;

use crate::conformance::pipeline::{ConsumeOutcome, Expectation, Pipeline, ProduceOutcome, ProducePlan, RunningConsumer};

/// What every scenario of one run shares: the backend, the pipeline, where to scan.
pub struct SuiteEnv {
    /// Which backend the scenarios run on.
    pub backend: BrokerKind,
    pub broker: Arc<dyn Broker>,
    pub pipeline: Arc<dyn Pipeline>,
    /// Who performs the fault scenarios' broker actions.
    pub injector: Arc<dyn crate::faults::inject::Injector>,
    /// Roots whose Rust sources the test-hygiene scenarios parse.
    pub scan_roots: Vec<PathBuf>,
    /// The `dashstream` binary, for scenarios that run the shipped commands as processes.
    pub cli: Option<PathBuf>,
    /// How the run opened its broker (Kafka version, `-X` settings, profile): a
    /// fault scenario's broker of its own is opened the same way.
    pub connection: crate::broker::factory::ConnectionArgs,
}

/// What `dashstream aggregate` did under traffic.
#[derive(Debug, Clone, Default)]
pub struct AggregatorRun {
    /// Quality reports it aggregated (from its JSON).
    pub reports: u64,
    /// Messages the producer had acknowledged.
    pub acked: u64,
    /// Its log (stderr) at the default level.
    pub log: String,
}

/// One scenario's state.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct DashWorld {
    pub env: Option<Arc<SuiteEnv>>,
    /// When the scenario's first step began (for its duration in the report).
    pub started: Option<std::time::Instant>,
    pub topic: String,
    pub group: String,
    pub metrics: Metrics,
    pub consumer: Option<Box<dyn RunningConsumer>>,
    /// What the scenario asked producers to send (the checks compare with this).
    pub planned: Vec<ProducePlan>,
    /// What the pipeline under test says it sent.
    pub produced: Vec<ProduceOutcome>,
    /// DashStream messages written by other (legacy) clients.
    pub legacy_sent: u64,
    /// Records that are not DashStream messages: (bytes, partition, offset).
    pub poison: Vec<(Vec<u8>, i32, i64)>,
    pub consumed: Option<ConsumeOutcome>,
    pub clock_offset_ms: i64,
    /// Free-form evidence lines for scenarios without traffic.
    pub notes: Vec<String>,
    pub machine: Option<FakeMachine>,
    pub docker_host: Option<String>,
    pub discovery: Option<Result<FoundHost, DockerHostError>>,
    pub scan: Option<crate::conformance::hygiene::Scan>,
    pub nested_failed: Option<bool>,
    /// A broker only this scenario uses (fault scenarios must not hit others).
    pub own_broker: Option<Arc<dyn Broker>>,
    pub verdict: Option<crate::faults::Verdict>,
    /// The live path: a forwarder and WebSocket clients.
    pub live: crate::conformance::live::Live,
    /// Frames another protobuf library wrote: the message planned and its bytes.
    pub interop: Option<(crate::proto::Envelope, Vec<u8>)>,
    /// Quality reports the scenario planned, and the aggregator's run.
    pub planned_quality_reports: u64,
    pub aggregator: Option<AggregatorRun>,
}

impl std::fmt::Debug for DashWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashWorld")
            .field("backend", &self.env.as_ref().map(|e| e.backend))
            .field("topic", &self.topic)
            .field("produced", &self.produced)
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

impl DashWorld {
    fn new() -> Self {
        Self {
            env: None,
            started: None,
            topic: String::new(),
            group: String::new(),
            metrics: Metrics::new(),
            consumer: None,
            planned: Vec::new(),
            produced: Vec::new(),
            legacy_sent: 0,
            poison: Vec::new(),
            consumed: None,
            clock_offset_ms: 0,
            notes: Vec::new(),
            machine: None,
            docker_host: None,
            discovery: None,
            scan: None,
            nested_failed: None,
            own_broker: None,
            verdict: None,
            live: Default::default(),
            interop: None,
            planned_quality_reports: 0,
            aggregator: None,
        }
    }

    pub fn env(&self) -> &Arc<SuiteEnv> {
        self.env.as_ref().expect("the suite sets the environment before each scenario")
    }

    pub fn broker(&self) -> Arc<dyn Broker> {
        self.own_broker.clone().unwrap_or_else(|| self.env().broker.clone())
    }

    /// Everything the scenario put on the topic: planned DashStream records,
    /// legacy ones and poison.
    pub fn expected_records(&self) -> u64 {
        self.planned_records() + self.legacy_sent + self.poison.len() as u64
    }

    /// DashStream records the scenario planned (from the plans, never from the pipeline).
    pub fn planned_records(&self) -> u64 {
        self.planned.iter().map(ProducePlan::records).sum()
    }

    /// Messages that should decode: planned records and legacy ones.
    pub fn planned_decodable(&self) -> u64 {
        self.planned_records() + self.legacy_sent
    }

    /// What the consumer is told when it should finish.
    pub fn expectation(&self, idle: std::time::Duration) -> Expectation {
        let last_sequences = self.planned.iter().zip(&self.produced).map(|(plan, out)| (out.producer_id.clone(), out.session.clone(), plan.count)).collect();
        Expectation { records: self.expected_records(), idle, last_sequences }
    }

    pub fn consumed(&self) -> &ConsumeOutcome {
        self.consumed.as_ref().expect("a step 'the consumer has caught up' comes first")
    }

    pub fn total<F: Fn(&ProduceOutcome) -> u64>(&self, f: F) -> u64 {
        self.produced.iter().map(f).sum()
    }
}
