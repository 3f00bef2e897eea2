//! The reference consumer: decodes every record, dead-letters what it cannot,
//! detects loss and duplicates, measures latency that is never negative.
//!
//! At least once: a record's offset is stored only after it was processed
//! (decoded and handed over, or copied to the dead-letter topic and
//! acknowledged there); librdkafka commits stored offsets in the background and
//! [`DashConsumer::finish`] commits the rest. Nothing is dropped silently.

use std::collections::BTreeMap;

use futures::FutureExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde::Serialize;

use super::latency::{Latency, LatencyStats, Percentiles, WallClock};
use super::loss::{LossDetector, Seen, StreamKey};
use super::metrics::Metrics;
use super::set_default;
use super::ratelimit::RateLimitedLog;
use super::deferred::{CopyFailed, Deferred, Settled, MAX_IN_FLIGHT};
use super::offsets::PendingOffsets;
use super::stall::StallWatch;
use super::start::{StartAt, StartContext};
use super::PipelineError;
use crate::codec::{CodecConfig, DecodeError, DecodeErrorKind, Decoder, FrameFormat};
use crate::proto::Envelope;

/// How long a commit may wait for the group coordinator's answer.
pub const COMMIT_DEADLINE: Duration = Duration::from_secs(30);

/// Record headers the dead-letter copy carries.
pub mod dlq_headers {
    pub const TOPIC: &str = "dashstream.origin.topic";
    pub const PARTITION: &str = "dashstream.origin.partition";
    pub const OFFSET: &str = "dashstream.origin.offset";
    pub const ERROR: &str = "dashstream.error";
    pub const ERROR_KIND: &str = "dashstream.error.kind";
}

/// Consumer settings.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub topic: String,
    pub group: String,
    /// Where undecodable records go; default `<topic>.dlq`.
    pub dlq_topic: String,
    pub codec: CodecConfig,
    /// How long a hole in a session's sequences may stay open before it is reported lost.
    pub grace: Duration,
    pub clock: WallClock,
    /// Commit stored offsets in the background (default). When off, only
    /// [`DashConsumer::commit`] and [`DashConsumer::finish`] commit.
    pub auto_commit: bool,
    /// Rebuild the Kafka client when, this long without a record, assigned
    /// partitions still have records waiting (see `stall`); `None`: never.
    pub restart_when_stalled: Option<Duration>,
    /// Where to start each partition (default: the group's committed offset).
    pub start: StartAt,
}

impl ConsumerSettings {
    pub fn new(topic: impl Into<String>, group: impl Into<String>) -> Self {
        let topic = topic.into();
        Self {
            dlq_topic: format!("{topic}.dlq"),
            topic,
            group: group.into(),
            codec: CodecConfig::default(),
            grace: Duration::from_secs(10),
            clock: WallClock::default(),
            auto_commit: true,
            restart_when_stalled: Some(Duration::from_secs(30)),
            start: StartAt::Committed,
        }
    }
}

/// What one record turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Message { envelope: Box<Envelope>, format: FrameFormat, seen: Seen, latency: Latency, partition: i32, offset: i64 },
    DeadLettered { kind: DecodeErrorKind, partition: i32, offset: i64 },
}

/// Skew seen: messages whose created_at was ahead of this consumer's clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SkewReport {
    pub count: u64,
    pub max_ms: f64,
}

/// Counts of a consumer run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ConsumeReport {
    pub received: u64,
    pub decoded: u64,
    pub decoded_by_format: BTreeMap<String, u64>,
    pub decode_failures: BTreeMap<String, u64>,
    pub dlq: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub lost_ranges: Vec<super::loss::LostRange>,
    /// Negative values among the latency samples (computed from them): must stay 0.
    pub negative_latency: u64,
    pub clock_skew: SkewReport,
    /// `null` in JSON when no latency was measured.
    #[serde(serialize_with = "super::latency::null_when_empty")]
    #[schemars(with = "Option<Percentiles>")]
    pub latency_ms: Percentiles,
    /// Per partition: high watermark minus committed offset, at the last check.
    pub lag: BTreeMap<i32, i64>,
    /// Times the Kafka client was rebuilt because it stalled with records waiting.
    pub stall_restarts: u64,
}

mod position;

/// The librdkafka consumer under a [`DashConsumer`].
pub type Client = StreamConsumer<StartContext>;

/// A consumer subscribed to `topic`, starting where `start` says.
fn subscribed(cfg: &ClientConfig, topic: &str, start: StartAt) -> Result<Client, PipelineError> {
    let consumer: Client = cfg.create_with_context(StartContext::new(start)).map_err(|e| PipelineError::kafka("creating consumer", e))?;
    consumer.subscribe(&[topic]).map_err(|e| PipelineError::kafka("subscribing", e))?;
    Ok(consumer)
}

/// Consumes one topic.
pub struct DashConsumer {
    consumer: Arc<Client>,
    /// What the client was created from, to create it again after a stall.
    consumer_config: ClientConfig,
    stall: StallWatch,
    lag_refresh: position::LagRefresh,
    dlq: FutureProducer,
    decoder: Decoder,
    detector: LossDetector,
    latency: LatencyStats,
    metrics: Metrics,
    log: RateLimitedLog,
    /// Bytes in and out of decompression, logged every 10 s (`pipeline::summary`).
    decompression: super::summary::DecompressionSummary,
    settings: ConsumerSettings,
    report: ConsumeReport,
    last_tick: Instant,
    /// Offsets waiting behind dead-letter copies in flight.
    deferred: Deferred,
    /// Processed offsets not handed to librdkafka yet (see `offsets`).
    pending: PendingOffsets,
    /// The per-record counters, resolved once (a label lookup per record costs).
    received: prometheus::IntCounter,
    decoded_by_format: [prometheus::IntCounter; 4],
}

impl DashConsumer {
    /// Subscribes to `settings.topic` from the earliest offset of a new group.
    pub fn new(client: &ClientConfig, settings: ConsumerSettings, metrics: Metrics) -> Result<Self, PipelineError> {
        let mut cfg = crate::broker::roles::for_consumer(client);
        cfg.set("group.id", &settings.group);
        cfg.set("enable.auto.offset.store", "false");
        cfg.set("enable.auto.commit", if settings.auto_commit { "true" } else { "false" });
        set_default(&mut cfg, "auto.commit.interval.ms", "1000");
        set_default(&mut cfg, "auto.offset.reset", "earliest");
        set_default(&mut cfg, "session.timeout.ms", "10000");
        // Latency matters more than fetch efficiency here: do not park fetches for 500 ms.
        set_default(&mut cfg, "fetch.wait.max.ms", "50");
        set_default(&mut cfg, "fetch.error.backoff.ms", "50");
        let consumer = subscribed(&cfg, &settings.topic, settings.start)?;
        let mut pcfg = crate::broker::roles::for_producer(client);
        // Dead letters are the last copy of a record: always fully acknowledged.
        pcfg.set("acks", "all");
        pcfg.set("enable.idempotence", "true");
        let dlq: FutureProducer = pcfg.create().map_err(|e| PipelineError::kafka("creating dead-letter producer", e))?;
        Ok(Self {
            consumer: Arc::new(consumer),
            consumer_config: cfg,
            stall: StallWatch::new(settings.restart_when_stalled),
            lag_refresh: Default::default(),
            dlq,
            decoder: Decoder::new(settings.codec.clone()),
            detector: LossDetector::new(settings.grace),
            latency: LatencyStats::default(),
            log: RateLimitedLog::default(),
            decompression: Default::default(),
            report: ConsumeReport::default(),
            last_tick: Instant::now(),
            deferred: Deferred::default(),
            pending: PendingOffsets::default(),
            received: metrics.received.with_label_values(&[&settings.topic]),
            decoded_by_format: FrameFormat::ALL.map(|f| metrics.decoded.with_label_values(&[f.as_str()])),
            metrics,
            settings,
        })
    }

    /// The next record, processed; `None` if none arrived within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Result<Option<Event>, PipelineError> {
        // The clock is read once per record where it can be: on this kind of
        // machine a read costs more than decoding a small record.
        let mut now = Instant::now();
        self.tick(now);
        let settled = self.deferred.settle();
        self.apply(settled)?;
        // Also when idle: librdkafka's background commit then has them, and
        // an explicit commit later finds nothing left to wait for.
        let due = self.pending.due(now);
        self.store(due);
        let consumer = self.consumer.clone();
        // A record already waiting is taken without arming a timer.
        let received = match consumer.recv().now_or_never() {
            Some(r) => r,
            None => match tokio::time::timeout(timeout, consumer.recv()).await {
                Err(_) => {
                    self.watch_for_stall().await;
                    return Ok(None);
                }
                Ok(r) => {
                    now = Instant::now();
                    r
                }
            },
        };
        let msg = match received {
            Err(e) => {
                self.log.warn("consumer-error", || format!("consumer error (retrying): {e}"));
                // A stalled client may answer with errors only, never with a timeout.
                self.watch_for_stall().await;
                return Ok(None);
            }
            Ok(m) => m,
        };
        let (partition, offset) = (msg.partition(), msg.offset());
        self.stall.record_arrived(now);
        self.report.received += 1;
        self.received.inc();
        let payload = msg.payload().unwrap_or_default();
        let event = match self.decoder.decode(payload) {
            Ok(decoded) => {
                if decoded.format.is_compressed() {
                    self.decompression.add(payload.len(), prost::Message::encoded_len(&decoded.message));
                }
                self.accept(decoded.message, decoded.format, partition, offset, now)
            }
            Err(err) => self.dead_letter(&msg, err).await?,
        };
        // Processed: only now may the offset be stored, and only once every
        // record before it in its partition is (a dead-lettered one counts once
        // its copy is acknowledged). If the partition was taken away meanwhile
        // (a rebalance), the offset cannot be stored: its new owner reads the
        // record again, a duplicate and never a loss.
        if matches!(event, Event::Message { .. }) && self.deferred.processed(partition, offset) {
            self.pending.processed(partition, offset);
        }
        let settled = self.deferred.settle();
        self.apply(settled)?;
        let due = self.pending.due(now);
        self.store(due);
        Ok(Some(event))
    }

    /// Copies an undecodable record to the dead-letter topic as it was (a null
    /// value stays null, its key and headers go along) plus headers saying
    /// where it came from and why. Sent, not awaited: the record's offset waits
    /// behind the copy's acknowledgement (see `deferred`).
    async fn dead_letter(&mut self, msg: &BorrowedMessage<'_>, err: DecodeError) -> Result<Event, PipelineError> {
        let (topic, partition, offset) = (msg.topic().to_string(), msg.partition(), msg.offset());
        let kind = err.kind();
        self.report.decode_failures.entry(kind.as_str().to_string()).and_modify(|n| *n += 1).or_insert(1);
        self.metrics.decode_failures.with_label_values(&[kind.as_str()]).inc();
        self.log.warn(kind.as_str(), || format!("undecodable record {topic}/{partition}@{offset} sent to {}: {err}", self.settings.dlq_topic));
        if self.deferred.in_flight() >= MAX_IN_FLIGHT {
            let settled = self.deferred.settle_oldest().await;
            self.apply(settled)?;
        }
        let mut headers = OwnedHeaders::new();
        for h in msg.headers().map(|hs| hs.iter().collect::<Vec<_>>()).unwrap_or_default() {
            headers = headers.insert(h);
        }
        let headers = headers
            .insert(Header { key: dlq_headers::TOPIC, value: Some(topic.as_str()) })
            .insert(Header { key: dlq_headers::PARTITION, value: Some(&partition.to_string()) })
            .insert(Header { key: dlq_headers::OFFSET, value: Some(&offset.to_string()) })
            .insert(Header { key: dlq_headers::ERROR, value: Some(&err.to_string()) })
            .insert(Header { key: dlq_headers::ERROR_KIND, value: Some(kind.as_str()) });
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.settings.dlq_topic).headers(headers);
        if let Some(v) = msg.payload() {
            record = record.payload(v);
        }
        if let Some(k) = msg.key() {
            record = record.key(k);
        }
        let copy = self
            .dlq
            .send_result(record)
            .map_err(|(e, _)| PipelineError::kafka(format!("copying {topic}/{partition}@{offset} to the dead-letter topic"), e))?;
        self.deferred.dead_lettered(partition, offset, copy);
        Ok(Event::DeadLettered { kind, partition, offset })
    }

    /// Hands processed offsets to librdkafka, which commits them.
    fn store(&self, offsets: Vec<(i32, i64)>) {
        for (partition, offset) in offsets {
            if let Err(e) = self.consumer.store_offset(&self.settings.topic, partition, offset) {
                let topic = &self.settings.topic;
                self.log.warn("store-offset", || format!("offset {topic}/{partition}@{offset} not stored, it will be read again: {e}"));
            }
        }
    }

    /// Stores what became storable and counts the acknowledged dead-letter copies.
    fn apply(&mut self, settled: Result<Settled, CopyFailed>) -> Result<(), PipelineError> {
        let settled = settled.map_err(|f| {
            let topic = &self.settings.topic;
            PipelineError::kafka(format!("copying {topic}/{}@{} to the dead-letter topic", f.partition, f.offset), f.error)
        })?;
        for (partition, offset) in settled.store {
            self.pending.processed(partition, offset);
        }
        self.report.dlq += settled.copies_acked;
        self.metrics.dlq.inc_by(settled.copies_acked);
        Ok(())
    }

    fn accept(&mut self, envelope: Envelope, format: FrameFormat, partition: i32, offset: i64, now: Instant) -> Event {
        self.report.decoded += 1;
        *self.report.decoded_by_format.entry(format.as_str().to_string()).or_default() += 1;
        if let Some(counter) = FrameFormat::ALL.iter().position(|f| *f == format).map(|i| &self.decoded_by_format[i]) {
            counter.inc();
        }
        if format.is_legacy() {
            // Counted by format (metrics, report); not a warning: legacy frames are valid.
            tracing::debug!(%format, "legacy frame decoded");
        }
        let default_header = crate::proto::Header::default();
        let header = envelope.header.as_ref().unwrap_or(&default_header);
        let latency = self.latency.record(&header.producer_id, header.created_at_us, self.settings.clock.now_us());
        match latency {
            Latency::Positive(d) => self.metrics.latency.observe(d.as_secs_f64()),
            Latency::Skew(d) => {
                self.metrics.latency_negative.inc();
                let max = self.latency.max_skew().max(d).as_secs_f64();
                self.metrics.clock_skew.set(max);
            }
        }
        let key = StreamKey { producer_id: header.producer_id.clone(), session: header.producer_session.clone() };
        let seen = self.detector.observe(&key, header.sequence, now);
        if seen == Seen::Duplicate {
            self.metrics.duplicates.inc();
        }
        Event::Message { envelope: Box::new(envelope), format, seen, latency, partition, offset }
    }

    /// Judges holes older than the grace period (called by `next`, at most once a second).
    fn tick(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_tick) < Duration::from_secs(1) {
            return;
        }
        self.last_tick = now;
        let lost = self.detector.overdue(now);
        self.count_lost(lost);
        self.refresh_lag(now);
    }

    fn count_lost(&mut self, lost: Vec<super::loss::LostRanges>) {
        for l in lost {
            let n = l.ranges.len();
            self.metrics.lost.inc_by(n);
            tracing::warn!(producer = %l.stream.producer_id, session = %l.stream.session, "lost {n} messages: sequences {}", l.ranges);
        }
    }

    /// Counts so far (holes still within the grace period are not yet lost).
    pub fn report(&self) -> ConsumeReport {
        let mut r = self.report.clone();
        let sum = self.detector.summary();
        r.duplicates = sum.duplicates;
        r.lost = sum.lost;
        r.lost_ranges = sum.lost_ranges;
        r.clock_skew = SkewReport { count: self.latency.negative(), max_ms: self.latency.max_skew().as_secs_f64() * 1000.0 };
        r.latency_ms = self.latency.percentiles();
        r.negative_latency = self.latency.negative_samples();
        r
    }

    /// Tells the loss detector the last sequence a producer session sent, so a
    /// lost tail is reported (see [`LossDetector::expect_last`]).
    pub fn expect_last(&mut self, producer_id: &str, session: &str, last: u64) {
        let key = StreamKey { producer_id: producer_id.to_string(), session: session.to_string() };
        self.detector.expect_last(&key, last, Instant::now());
    }

    /// The loss detector, for callers that check sessions themselves.
    pub fn detector(&self) -> &LossDetector {
        &self.detector
    }

    /// Waits until every dead-letter copy in flight is acknowledged (or one
    /// failed) and stores the offsets that were waiting behind them.
    pub async fn settle_dead_letters(&mut self) -> Result<(), PipelineError> {
        let settled = self.deferred.settle_all().await;
        self.apply(settled)
    }

    /// Drained: every open hole is lost now. Commits stored offsets and returns the final counts.
    pub async fn finish(self) -> Result<ConsumeReport, PipelineError> {
        self.finish_with(true).await
    }

    /// Stopped before the end on purpose (a record limit, a signal): commits
    /// and reports like [`DashConsumer::finish`], but holes still within the
    /// grace period stay open rather than lost, since the records that fill
    /// them may simply not have been read yet.
    pub async fn finish_early(self) -> Result<ConsumeReport, PipelineError> {
        self.finish_with(false).await
    }

    async fn finish_with(mut self, drained: bool) -> Result<ConsumeReport, PipelineError> {
        self.decompression.log();
        self.settle_dead_letters().await?;
        if drained {
            let lost = self.detector.drain();
            self.count_lost(lost);
        }
        self.commit().await?;
        // The brokers may still be settling after a fault: retry the lag for a while.
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Err(e) = self.update_lag().await {
            if Instant::now() > deadline {
                tracing::warn!("could not measure consumer lag: {e}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let report = self.report();
        self.close().await;
        Ok(report)
    }

    /// Leaves the group without committing and without blocking the async
    /// threads, as when a process dies: what was not committed is read again.
    pub async fn close(self) {
        let clients = (self.consumer.clone(), self.dlq.clone());
        drop(self);
        super::close_off_runtime(clients).await;
    }

    /// Commits the offsets stored so far (processed records only) and waits for
    /// the broker's answer, off the async threads.
    pub async fn commit(&mut self) -> Result<(), PipelineError> {
        let everything = self.pending.take();
        self.store(everything);
        let consumer = self.consumer.clone();
        // librdkafka's synchronous commit waits for the coordinator without a
        // deadline; this one has one (the blocked thread finishes when the
        // coordinator answers or the client is destroyed).
        let task = tokio::task::spawn_blocking(move || consumer.commit_consumer_state(CommitMode::Sync));
        let result = match tokio::time::timeout(COMMIT_DEADLINE, task).await {
            Err(_) => return Err(PipelineError::Unreachable(format!("the group coordinator did not answer a commit within {COMMIT_DEADLINE:?}"))),
            Ok(joined) => joined.expect("commit task panicked"),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::NoOffset) => Ok(()),
            Err(e) => Err(PipelineError::kafka("committing offsets", e)),
        }
    }

    /// Stores what was processed and asks librdkafka to commit it, without
    /// waiting for the answer: the caller keeps reading, so a rebalance that
    /// needs this consumer to poll can never wait behind its own commit.
    pub fn commit_async(&mut self) -> Result<(), PipelineError> {
        let everything = self.pending.take();
        self.store(everything);
        match self.consumer.commit_consumer_state(CommitMode::Async) {
            Ok(()) => Ok(()),
            Err(e) if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::NoOffset) => Ok(()),
            Err(e) => Err(PipelineError::kafka("committing offsets", e)),
        }
    }


}
