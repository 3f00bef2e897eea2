//! `verify`: produce N messages and consume them back in one process, then
//! judge: every acknowledged message received, nothing undecoded, no negative
//! latency. Loss here is exact: acknowledged sequences never consumed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;

use super::consumer::{ConsumerSettings, DashConsumer, Event, SkewReport};
use super::latency::{percentiles_of, Percentiles, WallClock};
use super::metrics::Metrics;
use super::producer::{DashProducer, ProducerSettings};
use super::rangeset::RangeSet;
use super::PipelineError;
use crate::broker::{admin, Broker};
use crate::codec::CodecConfig;
use crate::sample;

/// What to run.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub count: u64,
    pub topic: Option<String>,
    pub size: usize,
    pub clock_offset_ms: i64,
    pub codec: CodecConfig,
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
            partitions: 3,
            in_flight: 256,
            rate: 0.0,
            idle_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// Compression as measured on the producer side.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompressionReport {
    pub raw_bytes: u64,
    pub wire_bytes: u64,
    /// wire / raw.
    pub ratio: f64,
    pub compressed_messages: u64,
}

/// The verdict and the evidence behind it (printed as JSON by the CLI).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    pub topic: String,
    pub broker: String,
    pub sent: u64,
    pub acked: u64,
    pub unacked: u64,
    pub received: u64,
    pub decoded: u64,
    pub decoded_by_format: std::collections::BTreeMap<String, u64>,
    pub lost: u64,
    pub lost_ranges: Vec<String>,
    pub duplicates: u64,
    pub dlq: u64,
    pub negative_latency: u64,
    pub clock_skew: SkewReport,
    pub latency_ms: Percentiles,
    /// Send to receive on this process's monotonic clock (immune to wall-clock skew).
    pub rtt_ms: Percentiles,
    pub compression: CompressionReport,
    pub duration_s: f64,
    pub failures: Vec<String>,
    pub verdict: String,
}

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
    broker.create_topic(&topic, opts.partitions).await?;
    broker.create_topic(&format!("{topic}.dlq"), 1).await?;

    let mut psettings = ProducerSettings::new(&topic);
    psettings.codec = opts.codec.clone();
    psettings.clock = WallClock::with_offset_ms(opts.clock_offset_ms);
    let producer = Arc::new(DashProducer::new(&client, psettings, metrics.clone())?);
    let session = producer.session().to_string();
    let group = format!("verify-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut consumer = DashConsumer::new(&client, ConsumerSettings::new(&topic, group), metrics.clone())?;

    consumer.wait_for_assignment(opts.connect_timeout).await?;
    producer.connect(opts.connect_timeout).await?;

    let sent_at: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let acked: Arc<Mutex<RangeSet>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let producing = tokio::spawn(produce_all(producer.clone(), opts.clone(), sent_at.clone(), acked.clone(), failures.clone()));

    let mut received = RangeSet::new();
    let mut rtts_us = Vec::new();
    let mut last_progress = Instant::now();
    let mut last_arrival = Instant::now();
    loop {
        let done = producing.is_finished();
        if done {
            let acked = acked.lock().unwrap_or_else(|p| p.into_inner());
            if acked.difference(&received).is_empty() {
                break;
            }
            if last_arrival.elapsed() > opts.idle_timeout {
                tracing::warn!("nothing received for {:?} after the last send: stopping", opts.idle_timeout);
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
            progress(acked.lock().unwrap_or_else(|p| p.into_inner()).len(), received.len());
        }
    }
    let compression = producing.await.expect("producer task panicked");
    let _ = producer.flush(Duration::from_secs(10));
    let c = consumer.finish().await?;

    let acked = acked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let lost = acked.difference(&received);
    let mut report = VerifyReport {
        topic,
        broker: broker.describe(),
        sent: opts.count,
        acked: acked.len(),
        unacked: opts.count - acked.len(),
        received: c.received,
        decoded: c.decoded,
        decoded_by_format: c.decoded_by_format,
        lost: lost.len(),
        lost_ranges: if lost.is_empty() { vec![] } else { vec![format!("{}/{}: {lost}", producer.producer_id(), session)] },
        duplicates: c.duplicates,
        dlq: c.dlq,
        negative_latency: c.negative_latency,
        clock_skew: c.clock_skew,
        latency_ms: c.latency_ms,
        rtt_ms: percentiles_of(&mut rtts_us),
        compression,
        duration_s: started.elapsed().as_secs_f64(),
        failures: failures.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        verdict: String::new(),
    };
    report.verdict = verdict(&report).to_string();
    Ok(report)
}

/// `pass` only if every send was acknowledged and received, everything decoded,
/// and no negative latency was observed.
pub fn verdict(r: &VerifyReport) -> &'static str {
    let undecoded: u64 = r.received.saturating_sub(r.decoded);
    if r.lost == 0 && r.unacked == 0 && undecoded == 0 && r.dlq == 0 && r.negative_latency == 0 {
        "pass"
    } else {
        "fail"
    }
}

async fn produce_all(
    producer: Arc<DashProducer>,
    opts: VerifyOptions,
    sent_at: Arc<Mutex<HashMap<u64, Instant>>>,
    acked: Arc<Mutex<RangeSet>>,
    failures: Arc<Mutex<Vec<String>>>,
) -> CompressionReport {
    let mut in_flight = FuturesUnordered::new();
    let mut report = CompressionReport::default();
    let interval = (opts.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / opts.rate));
    let start = Instant::now();
    for i in 0..opts.count {
        if let Some(iv) = interval {
            let due = start + iv * i as u32;
            tokio::time::sleep_until(due.into()).await;
        }
        while in_flight.len() >= opts.in_flight.max(1) {
            collect(in_flight.next().await, &acked, &failures, &mut report);
        }
        let thread = format!("thread-{}", i % 7);
        let seq_hint = i + 1;
        let envelope = {
            let probe = sample::chunk(sample::header("", "", seq_hint, 0), opts.size);
            producer.stamp(probe.payload.expect("chunk has a payload"), &format!("run-{}", i / 100), &thread)
        };
        let seq = envelope.header.as_ref().map(|h| h.sequence).unwrap_or(0);
        sent_at.lock().unwrap_or_else(|p| p.into_inner()).insert(seq, Instant::now());
        let p = producer.clone();
        // Spawned, so the record is handed to librdkafka now, not when the set is next polled.
        in_flight.push(tokio::spawn(async move { p.send(&envelope).await }));
    }
    while let Some(r) = in_flight.next().await {
        collect(Some(r), &acked, &failures, &mut report);
    }
    report.ratio = if report.raw_bytes == 0 { 1.0 } else { report.wire_bytes as f64 / report.raw_bytes as f64 };
    report
}

type SendOutcome = Result<super::producer::Ack, super::producer::SendError>;

fn collect(r: Option<Result<SendOutcome, tokio::task::JoinError>>, acked: &Mutex<RangeSet>, failures: &Mutex<Vec<String>>, report: &mut CompressionReport) {
    let Some(result) = r else { return };
    let result = result.expect("send task panicked");
    match result {
        Ok(ack) => {
            report.raw_bytes += ack.raw_len as u64;
            report.wire_bytes += ack.wire_len as u64;
            acked.lock().unwrap_or_else(|p| p.into_inner()).insert(ack.sequence);
            if ack.format == crate::codec::FrameFormat::Zstd {
                report.compressed_messages += 1;
            }
        }
        Err(e) => {
            let mut f = failures.lock().unwrap_or_else(|p| p.into_inner());
            if f.len() < 20 {
                f.push(e.to_string());
            }
        }
    }
}
