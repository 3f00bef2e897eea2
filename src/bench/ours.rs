//! dashstream's side of `bench`: the reference producer and consumer measured
//! the way the peers measure themselves (records per second over the run,
//! latency from the creation stamp to decoding, the group join apart).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use serde::Serialize;

use super::hdr::{Quantiles, Recorder};
use crate::pipeline::consumer::{ConsumerSettings, DashConsumer, Event};
use crate::pipeline::latency::Latency;
use crate::pipeline::metrics::Metrics;
use crate::pipeline::producer::{DashProducer, ProducerSettings};
use crate::pipeline::traffic::{Sent, Traffic, DEFAULT_IN_FLIGHT};
use crate::pipeline::PipelineError;
use crate::proto::envelope::Payload;
use crate::sample;

/// How long a client may take to connect, and a read may wait for the next record.
const PATIENCE: Duration = Duration::from_secs(30);

/// `count` different payloads of `size` bytes, made before the clock starts:
/// building samples is not what is measured. Throughput runs cycle through
/// 64; compression runs need every message different, or batch compression
/// would find the repeats.
pub fn payloads(size: usize, count: u64) -> Vec<Payload> {
    (1..=count.max(1)).map(|i| sample::chunk(sample::header("", "", i, 0), size).payload.expect("a chunk has a payload")).collect()
}

/// What a producing run came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProduceFigures {
    pub records: u64,
    pub acked: u64,
    pub records_per_s: f64,
    /// Frame bytes handed to Kafka (after the codec).
    pub wire_bytes: u64,
    pub raw_bytes: u64,
}

/// Sends `records` messages (cycling through `pool`) as fast as acknowledgements allow,
/// through the same producer and traffic generator `produce` uses.
pub async fn produce(client: &ClientConfig, settings: ProducerSettings, records: u64, pool: &[Payload], metrics: &Metrics) -> Result<ProduceFigures, PipelineError> {
    let producer = Arc::new(DashProducer::new(client, settings, metrics.clone())?);
    producer.connect(PATIENCE).await?;
    let mut figures = ProduceFigures { records, ..Default::default() };
    let mut add = |sent: Sent| {
        if let Ok(ack) = sent.result {
            figures.acked += 1;
            figures.wire_bytes += ack.wire_len as u64;
            figures.raw_bytes += ack.raw_len as u64;
        }
    };
    let mut traffic = Traffic::new(0.0, DEFAULT_IN_FLIGHT);
    let started = Instant::now();
    for i in 0..records {
        let intended = traffic.next_slot(&mut add).await;
        let envelope = producer.stamp(pool[i as usize % pool.len()].clone(), "bench", &format!("thread-{}", i % 7));
        traffic.send(&producer, envelope, intended);
    }
    traffic.drain(&mut add).await;
    let elapsed = started.elapsed().as_secs_f64();
    DashProducer::close_shared(producer).await;
    figures.records_per_s = figures.acked as f64 / elapsed;
    Ok(figures)
}

/// What a consuming run came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ConsumeFigures {
    pub records: u64,
    /// From creating the consumer to its partitions being assigned.
    pub join_ms: f64,
    /// After the join: decoded, loss-checked, counted in the metrics.
    pub fetch_records_per_s: f64,
    /// Including the join.
    pub records_per_s: f64,
    pub lost: u64,
}

/// Reads `records` records from the start of `topic` with the reference consumer.
pub async fn consume(client: &ClientConfig, topic: &str, records: u64, metrics: &Metrics) -> Result<ConsumeFigures, PipelineError> {
    let started = Instant::now();
    let group = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut consumer = DashConsumer::new(client, ConsumerSettings::new(topic, group), metrics.clone())?;
    let mut got = consumer.wait_for_assignment(PATIENCE).await?.len() as u64;
    let joined = Instant::now();
    while got < records {
        match consumer.next(PATIENCE).await? {
            Some(_) => got += 1,
            None => return Err(PipelineError::Unreachable(format!("{topic}: {got} of {records} records read, then nothing for {PATIENCE:?}"))),
        }
    }
    let done = Instant::now();
    let report = consumer.finish().await?;
    Ok(ConsumeFigures {
        records: got,
        join_ms: joined.duration_since(started).as_secs_f64() * 1000.0,
        fetch_records_per_s: got as f64 / done.duration_since(joined).as_secs_f64(),
        records_per_s: got as f64 / done.duration_since(started).as_secs_f64(),
        lost: report.lost,
    })
}

/// End-to-end latency at a fixed rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LatencyFigures {
    pub rate: f64,
    pub messages: u64,
    /// The first messages, left out of the figures.
    pub warmup: u64,
    /// Creation stamp to decoded, on the wall clock (one host, one clock).
    pub latency: Quantiles,
    /// Intended send time to the hand-over to the client: a producer that
    /// falls behind shows here (coordinated omission), not hidden.
    pub publish_delay: Quantiles,
    /// Messages whose stamp was ahead of the consumer's clock (never latencies).
    pub skew: u64,
}

/// Sends `messages` at `rate` per second while reading them back in the same process.
pub async fn latency(client: &ClientConfig, topic: &str, messages: u64, rate: f64, size: usize, metrics: &Metrics) -> Result<LatencyFigures, PipelineError> {
    let warmup = (messages / 10).max(1);
    let group = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut consumer = DashConsumer::new(client, ConsumerSettings::new(topic, group), metrics.clone())?;
    consumer.wait_for_assignment(PATIENCE).await?;
    let producer = Arc::new(DashProducer::new(client, ProducerSettings::new(topic), metrics.clone())?);
    producer.connect(PATIENCE).await?;
    let session = producer.session().to_string();
    let sending = tokio::spawn(send_paced(producer.clone(), messages, rate, size, warmup));
    let mut figures = LatencyFigures { rate, messages, warmup, ..Default::default() };
    let mut latency = Recorder::default();
    let mut seen = 0;
    while seen < messages {
        let Some(event) = consumer.next(PATIENCE).await? else {
            return Err(PipelineError::Unreachable(format!("{topic}: {seen} of {messages} messages back, then nothing for {PATIENCE:?}")));
        };
        let Event::Message { envelope, latency: l, .. } = event else { continue };
        let header = envelope.header.unwrap_or_default();
        if header.producer_session != session {
            continue;
        }
        seen += 1;
        match l {
            Latency::Skew(_) => figures.skew += 1,
            Latency::Positive(d) if header.sequence > warmup => latency.record(d),
            Latency::Positive(_) => {}
        }
    }
    let publish_delay = sending.await.expect("sending task panicked");
    consumer.close().await;
    DashProducer::close_shared(producer).await;
    figures.latency = latency.quantiles();
    figures.publish_delay = publish_delay.quantiles();
    Ok(figures)
}

/// The producing half of [`latency`]; returns the publish delays after the warm-up.
async fn send_paced(producer: Arc<DashProducer>, messages: u64, rate: f64, size: usize, warmup: u64) -> Recorder {
    let pool = payloads(size, 64);
    let mut delays = Recorder::default();
    let mut add = |sent: Sent| {
        if sent.sequence > warmup {
            delays.record(sent.publish_delay());
        }
    };
    let mut traffic = Traffic::new(rate, DEFAULT_IN_FLIGHT);
    for i in 0..messages {
        let intended = traffic.next_slot(&mut add).await;
        let envelope = producer.stamp(pool[i as usize % pool.len()].clone(), "bench", "latency");
        traffic.send(&producer, envelope, intended);
    }
    traffic.drain(&mut add).await;
    delays
}
