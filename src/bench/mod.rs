//! `dashstream bench`: the reference client measured side by side with
//! Kafka's own tools, on one broker, in one run.
//!
//! On the container backend the peers (kafka-producer-perf-test,
//! kafka-consumer-perf-test, kafka-e2e-latency) run inside the broker's
//! container through `docker exec`; dashstream runs here, through the mapped
//! port. Each producer gets a warm-up run that is left out; latency is
//! recorded in HdrHistograms after a warm-up, with the publish delay beside
//! it (coordinated omission shows). Every figure is reported with the peer's
//! and the ratio: a bar is a ratio, never an absolute time.

pub mod compression;
pub mod dead_letter;
pub mod hdr;
pub mod ours;
pub mod peer;
pub mod report;
pub mod svg;

use rdkafka::ClientConfig;

use crate::broker::container::ContainerBroker;
use crate::broker::profile::Profile;
use crate::broker::{Broker, BrokerError};
use crate::codec::{CodecConfig, CompressionPolicy};
use crate::pipeline::metrics::Metrics;
use crate::pipeline::producer::ProducerSettings;
use crate::pipeline::PipelineError;
use crate::proto::envelope::Payload;
use report::{BenchReport, ConsumerSection, LatencySection, Machine, ProducerSection};

/// Why a bench run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("{tool} exited with code {code}: {output}")]
    PeerFailed { tool: String, code: i64, output: String },
    #[error(transparent)]
    PeerOutput(#[from] peer::PeerParseError),
}

/// What to measure.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct BenchOptions {
    /// Records per producer and consumer run.
    pub records: u64,
    /// Producer and consumer runs per side, taking turns; the medians are compared.
    pub rounds: u32,
    /// Record size in bytes (protobuf bytes for dashstream, value bytes for the peers).
    pub size: usize,
    /// Messages per latency run, at `latency_rate` per second.
    pub latency_messages: u64,
    pub latency_rate: f64,
    /// Good records, and as many poison ones, in the dead-letter run.
    pub dead_letter_records: u64,
    /// Records per compression cell, at most (see `compression::records_for`).
    pub compression_records: u64,
    /// `-X` settings for dashstream's clients.
    pub settings: Vec<(String, String)>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            records: 300_000,
            rounds: 5,
            size: 600,
            latency_messages: 1_000,
            latency_rate: 100.0,
            dead_letter_records: 5_000,
            compression_records: 50_000,
            settings: Vec::new(),
        }
    }
}

/// One bench run against one container broker.
pub struct Bench<'a> {
    broker: &'a ContainerBroker,
    opts: BenchOptions,
    metrics: Metrics,
    progress: &'a (dyn Fn(&str) + Sync),
    run: String,
}

impl<'a> Bench<'a> {
    pub fn new(broker: &'a ContainerBroker, opts: BenchOptions, progress: &'a (dyn Fn(&str) + Sync)) -> Self {
        let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();
        Self { broker, opts, metrics: Metrics::new(), progress, run }
    }

    /// Runs every measurement and returns the report.
    pub async fn run(&self) -> Result<BenchReport, BenchError> {
        let producer = self.producers().await?;
        let consumer = self.consumers(&producer.rounds[0].never_topic).await?;
        let latency = self.latencies().await?;
        (self.progress)("dead-lettering: good records, then as many poison ones");
        let dlq_topic = self.topic("dlq", 1).await?;
        self.broker.create_topic(&format!("{dlq_topic}.dlq"), 1).await?;
        let dead_letter = dead_letter::measure(&self.client(Profile::Throughput), &dlq_topic, self.opts.dead_letter_records, &self.metrics).await?;
        let compression = self.compression().await?;
        let machine = Machine::here(self.broker.image().to_string(), self.broker.route());
        Ok(BenchReport::new(machine, self.opts.clone(), producer, consumer, latency, dead_letter, compression))
    }

    /// A new topic of this run.
    async fn topic(&self, what: &str, partitions: i32) -> Result<String, BenchError> {
        let name = format!("bench-{}-{what}", self.run);
        self.broker.create_topic(&name, partitions).await?;
        Ok(name)
    }

    /// dashstream's client settings: the broker's, the profile's, then `-X`.
    fn client(&self, profile: Profile) -> ClientConfig {
        let mut c = self.broker.client_config();
        for (k, v) in profile.settings() {
            c.set(*k, *v);
        }
        for (k, v) in &self.opts.settings {
            c.set(k, v);
        }
        c
    }

    /// Runs a Kafka tool in the broker's container; its stdout, or an error with what it printed.
    async fn tool(&self, cmd: Vec<String>) -> Result<String, BenchError> {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let out = self.broker.exec(1, &args).await?;
        let tool = cmd[0].rsplit('/').next().unwrap_or_default().trim_end_matches(".sh").to_string();
        tracing::debug!(%tool, stdout = %out.stdout, stderr = %out.stderr, "peer finished");
        if out.code != 0 {
            let tail: String = out.combined().lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            return Err(BenchError::PeerFailed { tool, code: out.code, output: tail });
        }
        Ok(out.stdout)
    }

    /// Producers take turns; the order flips every round (peer first in odd
    /// rounds, dashstream first in even ones), so that a broker still warming
    /// up favours neither side. The warm-up is a full round's worth each.
    async fn producers(&self) -> Result<ProducerSection, BenchError> {
        let (records, size, rounds) = (self.opts.records, self.opts.size, self.opts.rounds.max(1));
        let warmup = records;
        (self.progress)(&format!(
            "producers: warm-up of {warmup} records each, then {rounds} rounds of {records} of {size} B, taking turns (order flips each round)"
        ));
        let peer_topic = self.topic("peer-produce", 3).await?;
        self.tool(peer::producer_perf(&peer_topic, warmup, size, &[])).await?;
        let pool = ours::payloads(size, 64);
        let warm_topic = self.topic("warm-up", 3).await?;
        self.produce_ours(&warm_topic, CompressionPolicy::Never, warmup, &pool).await?;
        let mut all = Vec::new();
        for round in 1..=rounds {
            let peer_first = round % 2 == 1;
            let run_peer = || async {
                let out = self.tool(peer::producer_perf(&peer_topic, records, size, &[])).await?;
                Ok::<_, BenchError>(peer::parse_producer_perf(&out)?)
            };
            let early_peer = if peer_first { Some(run_peer().await?) } else { None };
            let never_topic = self.topic(&format!("produce-never-{round}"), 3).await?;
            let never = self.produce_ours(&never_topic, CompressionPolicy::Never, records, &pool).await?;
            let auto_topic = self.topic(&format!("produce-auto-{round}"), 3).await?;
            let auto = self.produce_ours(&auto_topic, CompressionPolicy::Auto, records, &pool).await?;
            let peer = match early_peer {
                Some(peer) => peer,
                None => run_peer().await?,
            };
            all.push(report::ProducerRound { peer, never, auto, never_topic });
        }
        Ok(ProducerSection::from_rounds(all))
    }

    /// dashstream's producer, throughput profile, sending `records` from `pool` to `topic`.
    async fn produce_ours(&self, topic: &str, policy: CompressionPolicy, records: u64, pool: &[Payload]) -> Result<ours::ProduceFigures, BenchError> {
        let settings = ProducerSettings { codec: CodecConfig::default().with_policy(policy), ..ProducerSettings::new(topic) };
        Ok(ours::produce(&self.client(Profile::Throughput), settings, records, pool, &self.metrics).await?)
    }

    /// Both consumers read the same DashStream topic from the start, taking
    /// turns, the order flipping every round as for the producers.
    async fn consumers(&self, topic: &str) -> Result<ConsumerSection, BenchError> {
        let (records, rounds) = (self.opts.records, self.opts.rounds.max(1));
        (self.progress)(&format!("consumers: {rounds} rounds of {records} records of {topic}, taking turns (order flips each round)"));
        let mut all = Vec::new();
        for round in 1..=rounds {
            let group = format!("bench-{}-peer-{round}", self.run);
            let run_peer = || async {
                let out = self.tool(peer::consumer_perf(topic, records, &group)).await?;
                Ok::<_, BenchError>(peer::parse_consumer_perf(&out)?)
            };
            let early_peer = if round % 2 == 1 { Some(run_peer().await?) } else { None };
            let ours = ours::consume(&self.client(Profile::Throughput), topic, records, &self.metrics).await?;
            let peer = match early_peer {
                Some(peer) => peer,
                None => run_peer().await?,
            };
            all.push(report::ConsumerRound { peer, ours });
        }
        Ok(ConsumerSection::from_rounds(all))
    }

    async fn latencies(&self) -> Result<LatencySection, BenchError> {
        let (messages, rate, size) = (self.opts.latency_messages, self.opts.latency_rate, self.opts.size);
        (self.progress)(&format!("latency: {messages} messages, the peer one at a time, dashstream at {rate}/s in both profiles"));
        let peer_topic = self.topic("peer-e2e", 1).await?;
        let peer = peer::parse_end_to_end_latency(&self.tool(peer::end_to_end_latency(&peer_topic, messages, size)).await?)?;
        let topic = self.topic("latency", 1).await?;
        let latency_profile = ours::latency(&self.client(Profile::Latency), &topic, messages, rate, size, &self.metrics).await?;
        let topic = self.topic("latency-default", 1).await?;
        let throughput_profile = ours::latency(&self.client(Profile::Throughput), &topic, messages, rate, size, &self.metrics).await?;
        Ok(LatencySection { peer, latency_profile, throughput_profile })
    }

    async fn compression(&self) -> Result<Vec<compression::CompressionCell>, BenchError> {
        (self.progress)("compression: per-message, batch and both, on the broker's disk");
        let client = self.client(Profile::Throughput);
        let mut cells = Vec::new();
        let mut topics = Vec::new();
        for size in compression::SIZES {
            let records = compression::records_for(size, self.opts.compression_records);
            for mode in compression::Mode::ALL {
                let topic = self.topic(&format!("zstd-{size}-{}", mode.as_str()), 1).await?;
                cells.push(compression::produce_cell(&client, &topic, size, mode, records, &self.metrics).await?);
                topics.push(topic);
            }
        }
        // One call for every topic: each start of the tool costs a JVM.
        let sizes = self.tool(peer::log_dirs(&topics.join(","))).await?;
        for (cell, topic) in cells.iter_mut().zip(&topics) {
            cell.broker_bytes = peer::parse_log_dirs(&sizes, topic)?;
            cell.broker_bytes_per_record = cell.broker_bytes as f64 / cell.records.max(1) as f64;
        }
        Ok(cells)
    }
}
