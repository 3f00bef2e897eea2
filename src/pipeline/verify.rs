//! `verify`: produce N messages and consume them back in one process, then
//! judge: every acknowledged message received, nothing undecoded, no negative
//! latency. Loss here is exact: acknowledged sequences never consumed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::consumer::{ConsumeReport, ConsumerSettings, DashConsumer, Event, SkewReport};
use super::latency::{percentiles_of, Percentiles, WallClock};
use super::metrics::Metrics;
use super::producer::{DashProducer, ProducerSettings};
use super::rangeset::RangeSet;
use super::traffic::{Sent, Traffic};
use super::PipelineError;
use crate::broker::{admin, Broker};
use crate::codec::{CodecConfig, FrameFormat};
use crate::sample;

/// What to run.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub count: u64,
    pub topic: Option<String>,
    pub size: usize,
    pub clock_offset_ms: i64,
    pub codec: CodecConfig,
    /// Kafka's batch compression for the producer.
    pub batch_compression: super::producer::BatchCompression,
    pub partitions: i32,
    /// Sends in flight at once.
    pub in_flight: usize,
    /// Messages per second (0: as fast as acknowledgements allow).
    pub rate: f64,
    /// Stop consuming when nothing arrived for this long after the last send.
    pub idle_timeout: Duration,
    /// How long the broker may take to answer at all.
    pub connect_timeout: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            count: 1000,
            topic: None,
            size: 600,
            clock_offset_ms: 0,
            codec: CodecConfig::default(),
            batch_compression: super::producer::BatchCompression::None,
            partitions: 3,
            in_flight: super::traffic::DEFAULT_IN_FLIGHT,
            rate: 0.0,
            idle_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// Compression as measured on the producer side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CompressionReport {
    pub raw_bytes: u64,
    pub wire_bytes: u64,
    /// wire / raw.
    pub ratio: f64,
    pub compressed_messages: u64,
}

/// The verdict and the evidence behind it (printed as JSON by the CLI).
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct VerifyReport {
    pub topic: String,
    /// What was found or done: e.g. "created with 3 partitions", "exists with 1 partition, used as it is".
    pub topic_status: String,
    pub broker: String,
    pub sent: u64,
    pub acked: u64,
    pub unacked: u64,
    pub received: u64,
    pub decoded: u64,
    pub decoded_by_format: std::collections::BTreeMap<String, u64>,
    pub lost: u64,
    pub lost_ranges: Vec<crate::pipeline::loss::LostRange>,
    pub duplicates: u64,
    pub dlq: u64,
    pub negative_latency: u64,
    pub clock_skew: SkewReport,
    /// `null` in JSON when no latency was measured.
    #[serde(serialize_with = "super::latency::null_when_empty")]
    #[schemars(with = "Option<Percentiles>")]
    pub latency_ms: Percentiles,
    /// Send to receive on this process's monotonic clock (immune to wall-clock skew).
    pub rtt_ms: Percentiles,
    /// How late sends were handed to the client against the rate's schedule
    /// (coordinated omission shows here, not hidden in the latency).
    pub publish_delay_ms: Percentiles,
    pub compression: CompressionReport,
    pub duration_s: f64,
    pub failures: Vec<String>,
    pub verdict: String,
}

/// What the producing side recorded.
#[derive(Debug, Default)]
struct Produced {
    acked: RangeSet,
    failures: Vec<String>,
    compression: CompressionReport,
    publish_delays_us: Vec<u64>,
}

impl Produced {
    fn add(&mut self, sent: Sent) {
        self.publish_delays_us.push(sent.publish_delay().as_micros() as u64);
        match sent.result {
            Ok(ack) => {
                self.compression.raw_bytes += ack.raw_len as u64;
                self.compression.wire_bytes += ack.wire_len as u64;
                self.compression.compressed_messages += u64::from(ack.format == FrameFormat::Zstd);
                self.acked.insert(ack.sequence);
            }
            Err(e) if self.failures.len() < 20 => self.failures.push(e.to_string()),
            Err(_) => {}
        }
    }
}

/// Send instants by sequence, for round trips on the monotonic clock.
type SentAt = Arc<Mutex<HashMap<u64, Instant>>>;

/// Runs a verify against `broker`. `progress` is called about every second with (acked, received).
pub async fn verify(
    broker: &dyn Broker,
    opts: &VerifyOptions,
    metrics: &Metrics,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<VerifyReport, PipelineError> {
    let started = Instant::now();
    let client = broker.client_config();
    admin::wait_for_brokers(&client, 1, opts.connect_timeout).await.map_err(|e| {
        PipelineError::Unreachable(format!("broker at {} did not answer within {:?}: {e}", broker.bootstrap_servers(), opts.connect_timeout))
    })?;
    let topic = opts.topic.clone().unwrap_or_else(|| format!("verify-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
    let topic_status = broker.create_topic(&topic, opts.partitions).await?;
    let dlq_status = broker.create_topic(&format!("{topic}.dlq"), 1).await?;
    tracing::info!("topic {topic}: {topic_status}; dead-letter topic {topic}.dlq: {dlq_status}");

    let mut psettings = ProducerSettings::new(&topic);
    psettings.codec = opts.codec.clone();
    psettings.batch_compression = opts.batch_compression;
    psettings.clock = WallClock::with_offset_ms(opts.clock_offset_ms);
    let producer = Arc::new(DashProducer::new(&client, psettings, metrics.clone())?);
    let group = format!("verify-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut consumer = DashConsumer::new(&client, ConsumerSettings::new(&topic, group), metrics.clone())?;
    consumer.wait_for_assignment(opts.connect_timeout).await?;
    producer.connect(opts.connect_timeout).await?;

    let sent_at: SentAt = Arc::default();
    let produced: Arc<Mutex<Produced>> = Arc::default();
    let producing = tokio::spawn(produce_all(producer.clone(), opts.clone(), sent_at.clone(), produced.clone()));
    let (received, mut rtts_us) = read_back(&mut consumer, producer.session(), &producing, &produced, &sent_at, opts.idle_timeout, progress).await?;
    producing.await.expect("producer task panicked");
    let _ = producer.flush(Duration::from_secs(10)).await;
    let c = consumer.finish().await?;
    let (producer_id, session) = (producer.producer_id().to_string(), producer.session().to_string());
    DashProducer::close_shared(producer).await;

    let mut p = std::mem::take(&mut *produced.lock().unwrap_or_else(|p| p.into_inner()));
    let lost = p.acked.difference(&received);
    p.compression.ratio = if p.compression.raw_bytes == 0 { 1.0 } else { p.compression.wire_bytes as f64 / p.compression.raw_bytes as f64 };
    let mut report = VerifyReport {
        topic,
        topic_status: topic_status.to_string(),
        broker: broker.describe(),
        sent: opts.count,
        acked: p.acked.len(),
        unacked: opts.count - p.acked.len(),
        lost: lost.len(),
        lost_ranges: if lost.is_empty() { vec![] } else { vec![crate::pipeline::loss::LostRange::new(&producer_id, &session, &lost)] },
        rtt_ms: percentiles_of(&mut rtts_us),
        publish_delay_ms: percentiles_of(&mut p.publish_delays_us),
        compression: p.compression,
        duration_s: started.elapsed().as_secs_f64(),
        failures: p.failures,
        ..VerifyReport::from_consumer(c)
    };
    report.verdict = super::verdict::verdict(&report).to_string();
    Ok(report)
}

impl VerifyReport {
    /// The consumer's side of the report.
    fn from_consumer(c: ConsumeReport) -> Self {
        Self {
            received: c.received,
            decoded: c.decoded,
            decoded_by_format: c.decoded_by_format,
            duplicates: c.duplicates,
            dlq: c.dlq,
            negative_latency: c.negative_latency,
            clock_skew: c.clock_skew,
            latency_ms: c.latency_ms,
            ..Self::default()
        }
    }
}

/// Reads until every acknowledged sequence of `session` arrived once the
/// producer is done, or nothing arrived for `idle`. Returns the sequences read
/// and the round trips in µs.
async fn read_back(
    consumer: &mut DashConsumer,
    session: &str,
    producing: &tokio::task::JoinHandle<()>,
    produced: &Mutex<Produced>,
    sent_at: &SentAt,
    idle: Duration,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(RangeSet, Vec<u64>), PipelineError> {
    let mut received = RangeSet::new();
    let mut rtts_us = Vec::new();
    let mut last_progress = Instant::now();
    let mut last_arrival = Instant::now();
    loop {
        if producing.is_finished() {
            if produced.lock().unwrap_or_else(|p| p.into_inner()).acked.difference(&received).is_empty() {
                break;
            }
            if last_arrival.elapsed() > idle {
                tracing::warn!("nothing received for {idle:?} after the last send: stopping");
                break;
            }
        }
        if let Some(Event::Message { envelope, .. }) = consumer.next(Duration::from_millis(200)).await? {
            last_arrival = Instant::now();
            let h = envelope.header.unwrap_or_default();
            if h.producer_session == session {
                received.insert(h.sequence);
                if let Some(t) = sent_at.lock().unwrap_or_else(|p| p.into_inner()).get(&h.sequence) {
                    rtts_us.push(t.elapsed().as_micros() as u64);
                }
            }
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            progress(produced.lock().unwrap_or_else(|p| p.into_inner()).acked.len(), received.len());
        }
    }
    Ok((received, rtts_us))
}

async fn produce_all(producer: Arc<DashProducer>, opts: VerifyOptions, sent_at: SentAt, produced: Arc<Mutex<Produced>>) {
    let mut traffic = Traffic::new(opts.rate, opts.in_flight);
    let mut done = |sent: Sent| produced.lock().unwrap_or_else(|p| p.into_inner()).add(sent);
    for i in 0..opts.count {
        let intended = traffic.next_slot(&mut done).await;
        let mut envelope = producer.stamp(sample::empty_chunk(i + 1), &format!("run-{}", i / 100), &format!("thread-{}", i % 7));
        sample::resize_chunk(&mut envelope, opts.size);
        let seq = envelope.header.as_ref().map_or(0, |h| h.sequence);
        sent_at.lock().unwrap_or_else(|p| p.into_inner()).insert(seq, Instant::now());
        traffic.send(&producer, envelope, intended);
    }
    traffic.drain(&mut done).await;
}
