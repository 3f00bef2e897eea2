//! The reference producer: stamps headers, encodes with the codec, sends with
//! rdkafka (`acks=all`, idempotence on), counts everything.
//!
//! Compression happens in the codec, not in librdkafka, so it can be measured:
//! bytes before and after are counted per message and summarised in the log at
//! most every 10 s ("compressed N messages: X bytes to Y bytes, Z% smaller").

use std::sync::atomic::{AtomicU64, Ordering};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::future_producer::Delivery;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;

use super::idempotence::{IdempotenceWatch, STATS_INTERVAL_MS};
use super::latency::WallClock;
use super::metrics::Metrics;
use super::{set_default, PipelineError};
use crate::codec::{CodecConfig, EncodeError, Encoder, FrameFormat};
use crate::proto::{envelope::Payload, Envelope, Header};

/// Producer settings.
#[derive(Debug, Clone)]
pub struct ProducerSettings {
    pub topic: String,
    pub producer_id: String,
    pub codec: CodecConfig,
    /// Shifts `created_at` (tests simulate a producer whose clock is off).
    pub clock: WallClock,
    /// How long one send may take before it fails (librdkafka `message.timeout.ms`).
    pub delivery_timeout: Duration,
    /// Kafka's batch compression, on top of (or instead of) the codec's per-message zstd.
    pub batch_compression: BatchCompression,
}

/// Kafka's own compression of whole record batches (librdkafka
/// `compression.type`): the broker stores the batch compressed as sent.
/// Per-message zstd (the codec) pays off for large messages read one by one
/// (the browser view decodes each frame alone); batch compression for many
/// small, similar messages. `bench` measures both on the broker's disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchCompression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl BatchCompression {
    /// The librdkafka value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }
}

impl ProducerSettings {
    pub fn new(topic: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            producer_id: format!("dashstream-{}", std::process::id()),
            codec: CodecConfig::default(),
            clock: WallClock::default(),
            delivery_timeout: Duration::from_secs(30),
            batch_compression: BatchCompression::None,
        }
    }
}

/// A message the broker acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub sequence: u64,
    pub partition: i32,
    pub offset: i64,
    pub format: FrameFormat,
    /// Protobuf bytes before compression.
    pub raw_len: usize,
    /// Frame bytes on the wire.
    pub wire_len: usize,
}

/// The broker's answer to a send already handed to librdkafka ([`DashProducer::enqueue`]).
pub type PendingAck = Pin<Box<dyn Future<Output = Result<Ack, SendError>> + Send>>;

/// Why one send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("sequence {sequence}: encoding failed: {source}")]
    Encode { sequence: u64, source: EncodeError },
    #[error("sequence {sequence}: not acknowledged: {source}")]
    Kafka { sequence: u64, source: rdkafka::error::KafkaError },
}

impl SendError {
    pub fn sequence(&self) -> u64 {
        match self {
            Self::Encode { sequence, .. } | Self::Kafka { sequence, .. } => *sequence,
        }
    }

    /// Short reason for the `reason` metric label.
    pub fn reason(&self) -> String {
        match self {
            Self::Encode { .. } => "encode".into(),
            Self::Kafka { source, .. } => source.rdkafka_error_code().map(|c| format!("{c:?}")).unwrap_or_else(|| "other".into()),
        }
    }
}

#[derive(Debug)]
struct CompressionSummary {
    since: Instant,
    messages: u64,
    compressed: u64,
    raw: u64,
    wire: u64,
}

/// Sends DashStream messages for one producer session.
pub struct DashProducer {
    producer: FutureProducer<IdempotenceWatch>,
    idempotent: bool,
    /// Shares its flag with the client's context.
    watch: IdempotenceWatch,
    /// One encoder per core, so that sends on different runtime threads
    /// compress at the same time (each keeps its zstd context).
    encoders: Vec<Mutex<Encoder>>,
    next_encoder: AtomicU64,
    settings: ProducerSettings,
    session: String,
    next_sequence: AtomicU64,
    metrics: Metrics,
    /// The per-message counters, resolved once (a label lookup per message costs).
    counters: Counters,
    summary: Mutex<CompressionSummary>,
}

struct Counters {
    sent: prometheus::IntCounter,
    raw_bytes: prometheus::IntCounter,
    wire_bytes: prometheus::IntCounter,
}

/// How often the compression summary is logged, at most.
const SUMMARY_EVERY: Duration = Duration::from_secs(10);

impl DashProducer {
    /// A producer for `settings.topic`; `client` carries bootstrap servers and pass-through settings.
    pub fn new(client: &ClientConfig, settings: ProducerSettings, metrics: Metrics) -> Result<Self, PipelineError> {
        // The failure series of this topic at 0 from the start (a dashboard shows 0, not "no data").
        metrics.send_failures.with_label_values(&[settings.topic.as_str(), "encode"]);
        let mut cfg = crate::broker::roles::for_producer(client);
        set_default(&mut cfg, "acks", "all");
        // Idempotence needs acks=all; someone who asked for less gets what they asked for.
        let acks_all = matches!(cfg.get("acks"), Some("all") | Some("-1"));
        set_default(&mut cfg, "enable.idempotence", if acks_all { "true" } else { "false" });
        set_default(&mut cfg, "linger.ms", "5");
        // `-X compression.type` wins over the setting, as every `-X` does.
        set_default(&mut cfg, "compression.type", settings.batch_compression.as_str());
        cfg.set("message.timeout.ms", settings.delivery_timeout.as_millis().to_string());
        let idempotent = cfg.get("enable.idempotence") == Some("true");
        set_default(&mut cfg, "statistics.interval.ms", STATS_INTERVAL_MS);
        let watch = IdempotenceWatch::default();
        let producer: FutureProducer<IdempotenceWatch> =
            cfg.create_with_context(watch.clone()).map_err(|e| PipelineError::kafka("creating producer", e))?;
        let session = uuid::Uuid::new_v4().to_string();
        tracing::info!(producer_id = %settings.producer_id, %session, topic = %settings.topic, "producer session started");
        Ok(Self {
            producer,
            idempotent,
            watch,
            encoders: (0..std::thread::available_parallelism().map_or(1, |n| n.get())).map(|_| Mutex::new(Encoder::new(settings.codec.clone()))).collect(),
            next_encoder: AtomicU64::new(0),
            counters: Counters {
                sent: metrics.sent.with_label_values(&[&settings.topic]),
                raw_bytes: metrics.payload_bytes.with_label_values(&["raw"]),
                wire_bytes: metrics.payload_bytes.with_label_values(&["wire"]),
            },
            settings,
            session,
            next_sequence: AtomicU64::new(1),
            metrics,
            summary: Mutex::new(CompressionSummary { since: Instant::now(), messages: 0, compressed: 0, raw: 0, wire: 0 }),
        })
    }

    /// Waits until the broker has answered with metadata for this producer's
    /// topic and, when idempotent, until the producer id is assigned, so that
    /// the first messages do not carry the connection time (see `idempotence`).
    pub async fn connect(&self, timeout: Duration) -> Result<(), PipelineError> {
        let began = Instant::now();
        let producer = self.producer.clone();
        let topic = self.settings.topic.clone();
        tokio::task::spawn_blocking(move || producer.client().fetch_metadata(Some(&topic), timeout))
            .await
            .expect("metadata task panicked")
            .map_err(|e| PipelineError::kafka("connecting the producer", e))?;
        if !self.idempotent || self.watch.assigned() {
            return Ok(());
        }
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        while !self.watch.assigned() {
            if began.elapsed() > timeout {
                return Err(PipelineError::Unreachable(format!("the broker gave this producer no idempotent producer id within {timeout:?}")));
            }
            tick.tick().await;
        }
        tracing::debug!(ms = began.elapsed().as_millis() as u64, "producer ready");
        Ok(())
    }

    /// Messages librdkafka transmitted again after an error, so far (from its statistics, every 100 ms).
    pub fn request_retries(&self) -> u64 {
        self.watch.retries()
    }

    /// Where the client's messages are, in one line, as of its last statistics (every 100 ms).
    pub fn client_state(&self) -> String {
        self.watch.client_state()
    }

    /// This run's session id (new on every start).
    pub fn session(&self) -> &str {
        &self.session
    }

    pub fn producer_id(&self) -> &str {
        &self.settings.producer_id
    }

    pub fn topic(&self) -> &str {
        &self.settings.topic
    }

    /// Whether encoding may run zstd (worth another core), rather than only
    /// copy protobuf bytes.
    pub fn compresses(&self) -> bool {
        self.settings.codec.policy != crate::codec::CompressionPolicy::Never
    }

    /// The next envelope of this session: header stamped (sequence, created_at from the wall clock).
    pub fn stamp(&self, payload: Payload, run_id: &str, thread_id: &str) -> Envelope {
        let sequence = self.next_sequence.fetch_add(1, Ordering::SeqCst);
        Envelope {
            header: Some(Header {
                producer_id: self.settings.producer_id.clone(),
                producer_session: self.session.clone(),
                sequence,
                created_at_us: self.settings.clock.now_us(),
                run_id: run_id.to_string(),
                thread_id: thread_id.to_string(),
            }),
            payload: Some(payload),
        }
    }

    /// The work of a send before librdkafka takes over: encode, count the
    /// bytes. Public so that `benches/producer.rs` can show where time goes.
    pub fn prepare(&self, envelope: &Envelope) -> Result<crate::codec::EncodedFrame, SendError> {
        match self.encode(envelope) {
            Ok(frame) => {
                self.count_bytes(frame.raw_len, frame.wire_len(), frame.format);
                Ok(frame)
            }
            Err(source) => {
                let sequence = envelope.header.as_ref().map_or(0, |h| h.sequence);
                let err = SendError::Encode { sequence, source };
                self.metrics.send_failures.with_label_values(&[self.settings.topic.as_str(), &err.reason()]).inc();
                Err(err)
            }
        }
    }

    /// Encodes and sends one stamped envelope; resolves when acknowledged (or failed).
    pub async fn send(&self, envelope: &Envelope) -> Result<Ack, SendError> {
        let (sequence, key) = identity(envelope);
        let frame = self.prepare(envelope)?;
        self.send_frame(sequence, &key, frame).await
    }

    /// Encodes `envelope` and hands it to librdkafka on the calling thread;
    /// returns the broker's answer to come. Unlike [`DashProducer::send`],
    /// nothing waits to be polled: the record is queued when this returns, so a
    /// traffic generator needs no task per message. When librdkafka's queue is
    /// full, the answer first waits for room, as `send` does.
    pub fn enqueue(self: &Arc<Self>, envelope: &Envelope) -> PendingAck {
        let (sequence, key) = identity(envelope);
        let frame = match self.prepare(envelope) {
            Ok(frame) => frame,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let queued = self.producer.send_result(FutureRecord::to(&self.settings.topic).payload(&frame.bytes).key(&key)).map_err(|(e, _)| e);
        let this = self.clone();
        match queued {
            Ok(delivery) => {
                let shape = FrameShape::of(&frame);
                Box::pin(async move {
                    let answer = match delivery.await {
                        Ok(Ok(delivery)) => Ok(delivery),
                        Ok(Err((source, _))) => Err(source),
                        Err(_) => Err(KafkaError::Canceled),
                    };
                    this.answered(sequence, shape, answer)
                })
            }
            Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)) => Box::pin(async move { this.send_frame(sequence, &key, frame).await }),
            Err(source) => Box::pin(std::future::ready(self.answered(sequence, FrameShape::of(&frame), Err(source)))),
        }
    }

    /// Sends an encoded frame, waiting for room in librdkafka's queue if need be.
    async fn send_frame(&self, sequence: u64, key: &str, frame: crate::codec::EncodedFrame) -> Result<Ack, SendError> {
        let record = FutureRecord::to(&self.settings.topic).payload(&frame.bytes).key(key);
        let answer = self.producer.send(record, self.settings.delivery_timeout).await.map_err(|(e, _)| e);
        self.answered(sequence, FrameShape::of(&frame), answer)
    }

    /// Counts the broker's answer to one send and turns it into an [`Ack`].
    fn answered(&self, sequence: u64, shape: FrameShape, answer: Result<Delivery, KafkaError>) -> Result<Ack, SendError> {
        match answer {
            Ok(delivery) => {
                self.counters.sent.inc();
                Ok(Ack { sequence, partition: delivery.partition, offset: delivery.offset, format: shape.format, raw_len: shape.raw_len, wire_len: shape.wire_len })
            }
            Err(source) => {
                let err = SendError::Kafka { sequence, source };
                self.metrics.send_failures.with_label_values(&[self.settings.topic.as_str(), &err.reason()]).inc();
                Err(err)
            }
        }
    }

    /// Encodes with a free encoder if there is one, else waits for the next in turn.
    fn encode(&self, envelope: &Envelope) -> Result<crate::codec::EncodedFrame, EncodeError> {
        for encoder in &self.encoders {
            if let Ok(mut enc) = encoder.try_lock() {
                return enc.encode(envelope);
            }
        }
        let turn = self.next_encoder.fetch_add(1, Ordering::Relaxed) as usize % self.encoders.len();
        let mut enc = self.encoders[turn].lock().unwrap_or_else(|p| p.into_inner());
        enc.encode(envelope)
    }

    fn count_bytes(&self, raw: usize, wire: usize, format: FrameFormat) {
        self.counters.raw_bytes.inc_by(raw as u64);
        self.counters.wire_bytes.inc_by(wire as u64);
        let mut s = self.summary.lock().unwrap_or_else(|p| p.into_inner());
        s.messages += 1;
        s.compressed += u64::from(format == FrameFormat::Zstd);
        s.raw += raw as u64;
        s.wire += wire as u64;
        if s.since.elapsed() >= SUMMARY_EVERY {
            log_summary(&s);
            *s = CompressionSummary { since: Instant::now(), messages: 0, compressed: 0, raw: 0, wire: 0 };
        }
    }

    /// Shuts the producer down without blocking the async threads; what is still
    /// in flight is purged, as when a process dies.
    pub async fn close(self) {
        let client = self.producer.clone();
        drop(self);
        super::close_off_runtime(client).await;
    }

    /// [`DashProducer::close`] for a producer that sends shared: closed once the
    /// last share is gone; a share still held elsewhere is dropped on a blocking
    /// thread, so its teardown never blocks the runtime either.
    pub async fn close_shared(producer: Arc<Self>) {
        match Arc::try_unwrap(producer) {
            Ok(p) => p.close().await,
            Err(shared) => super::close_off_runtime(shared).await,
        }
    }

    /// Waits for in-flight sends (on a blocking thread: librdkafka's flush
    /// blocks) and logs the last compression summary.
    pub async fn flush(&self, timeout: Duration) -> Result<(), PipelineError> {
        {
            let s = self.summary.lock().unwrap_or_else(|p| p.into_inner());
            if s.messages > 0 {
                log_summary(&s);
            }
        }
        let client = self.producer.clone();
        tokio::task::spawn_blocking(move || client.flush(timeout))
            .await
            .map_err(|e| PipelineError::Unreachable(format!("flush task: {e}")))?
            .map_err(|e| PipelineError::kafka("flushing producer", e))
    }
}

/// A send's sequence and record key (the thread id).
fn identity(envelope: &Envelope) -> (u64, String) {
    let header = envelope.header.as_ref();
    (header.map_or(0, |h| h.sequence), header.map(|h| h.thread_id.clone()).unwrap_or_default())
}

/// What an [`Ack`] reports of the frame sent.
#[derive(Debug, Clone, Copy)]
struct FrameShape {
    format: FrameFormat,
    raw_len: usize,
    wire_len: usize,
}

impl FrameShape {
    fn of(frame: &crate::codec::EncodedFrame) -> Self {
        Self { format: frame.format, raw_len: frame.raw_len, wire_len: frame.wire_len() }
    }
}

fn log_summary(s: &CompressionSummary) {
    let smaller = if s.raw == 0 { 0.0 } else { 100.0 * (1.0 - s.wire as f64 / s.raw as f64) };
    tracing::info!(
        target: "dashstream::summary",
        messages = s.messages,
        compressed = s.compressed,
        "compressed {} messages: {} bytes to {} bytes, {smaller:.1}% smaller",
        s.messages,
        s.raw,
        s.wire
    );
}
