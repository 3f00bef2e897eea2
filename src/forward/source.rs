//! The Kafka side of the forwarder: read the topic from its end, measure each
//! record's latency, hand decodable records to the hub.
//!
//! No consumer group and no commits: a forwarder starts from now, like the
//! original. Partitions are assigned explicitly at their high watermarks, so
//! [`assign_at_end`] returning means every later record will be read.
//! Undecodable records are not forwarded: counted, and logged rate-limited.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::watch;

use super::hub::Hub;
use super::latency::{each_line, ForwardStats, LatencyMeter, Measured};
use super::metrics::ForwardMetrics;
use super::{ForwardError, ForwardSettings, Record};
use crate::codec::Decoder;
use crate::pipeline::loss::StreamKey;
use crate::pipeline::ratelimit::RateLimitedLog;

const METADATA_TIMEOUT: Duration = Duration::from_secs(15);
/// Records broadcast before the reading loop yields to the client writers.
const YIELD_EVERY: u32 = 32;

/// A consumer assigned to every partition of `topic` at its current end. A
/// topic that does not exist yet is waited for up to `wait` (0: fail at once);
/// once it appears it is read from its start, since all it holds is new.
pub async fn assign_at_end(client: &ClientConfig, topic: &str, wait: Duration) -> Result<StreamConsumer, ForwardError> {
    let mut cfg = crate::broker::roles::for_consumer(client);
    cfg.set("group.id", format!("dashstream-forward-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
    cfg.set("enable.auto.commit", "false");
    cfg.set("enable.auto.offset.store", "false");
    crate::pipeline::set_default(&mut cfg, "fetch.wait.max.ms", "10");
    crate::pipeline::set_default(&mut cfg, "fetch.error.backoff.ms", "50");
    let consumer: StreamConsumer = cfg.create().map_err(|e| kafka("creating the consumer", e))?;
    let topic = topic.to_string();
    // Metadata and watermark requests block: keep them off the runtime's workers.
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + wait;
        let mut waited = false;
        let partitions = loop {
            let metadata = consumer.fetch_metadata(Some(&topic), METADATA_TIMEOUT).map_err(|e| kafka("reading the topic's metadata", e))?;
            let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
            if !partitions.is_empty() {
                break partitions;
            }
            if Instant::now() >= deadline {
                return Err(ForwardError::NoSuchTopic(topic));
            }
            if !waited {
                tracing::info!("forwarder: topic {topic:?} does not exist yet; waiting up to {wait:?} for it");
                waited = true;
            }
            std::thread::sleep(Duration::from_millis(250).min(deadline.saturating_duration_since(Instant::now())));
        };
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            let offset = if waited {
                Offset::Beginning
            } else {
                Offset::Offset(consumer.fetch_watermarks(&topic, p, METADATA_TIMEOUT).map_err(|e| kafka("reading the partition ends", e))?.1)
            };
            tpl.add_partition_offset(&topic, p, offset).map_err(|e| kafka("building the assignment", e))?;
        }
        consumer.assign(&tpl).map_err(|e| kafka("assigning the partitions", e))?;
        Ok(consumer)
    })
    .await
    .expect("the metadata task does not panic")
}

fn kafka(context: &str, source: rdkafka::error::KafkaError) -> ForwardError {
    ForwardError::Kafka { context: context.into(), source }
}

/// The reading loop and what it needs.
pub struct Source {
    pub consumer: StreamConsumer,
    pub hub: Arc<Hub>,
    pub stats: Arc<ForwardStats>,
    pub metrics: ForwardMetrics,
    pub meter: Arc<dyn LatencyMeter>,
    pub settings: ForwardSettings,
}

impl Source {
    /// Reads until `stopped` turns true, logging the summary every `summary_every`.
    pub async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut decoder = Decoder::new(self.settings.codec.clone());
        let mut sessions = Sessions::default();
        let log = RateLimitedLog::default();
        let mut summary = tokio::time::interval_at(tokio::time::Instant::now() + self.settings.summary_every, self.settings.summary_every);
        let mut since_yield = 0u32;
        loop {
            // librdkafka hands over a whole fetch at once: let the client writers
            // run between records of a burst instead of after it.
            since_yield += 1;
            if since_yield >= YIELD_EVERY {
                since_yield = 0;
                tokio::task::yield_now().await;
            }
            tokio::select! {
                _ = stopped.changed() => break,
                _ = summary.tick() => tracing::info!("{}", self.stats.take_window().line()),
                msg = self.consumer.recv() => match msg {
                    Ok(m) => self.forward(m.payload().unwrap_or_default(), &mut decoder, &mut sessions, &log),
                    Err(e) => log.warn("consumer-error", || format!("forwarder: consumer error (retrying): {e}")),
                },
            }
        }
        let window = self.stats.take_window();
        if window.e2e_ms.count + window.skewed > 0 {
            tracing::info!("{}", window.line());
        }
        crate::pipeline::close_off_runtime(self.consumer).await;
    }

    fn forward(&self, frame: &[u8], decoder: &mut Decoder, sessions: &mut Sessions, log: &RateLimitedLog) {
        let received_at = Instant::now();
        let now_us = self.settings.clock.now_us();
        self.stats.record_read();
        let envelope = match decoder.decode(frame) {
            Ok(d) => d.message,
            Err(err) => {
                self.stats.record_undecodable();
                self.metrics.dropped.with_label_values(&["undecodable"]).inc();
                log.warn(err.kind().as_str(), || format!("forwarder: undecodable record not forwarded: {err}"));
                return;
            }
        };
        let header = envelope.header.unwrap_or_default();
        let measured = self.meter.measure(header.created_at_us, now_us);
        self.stats.record_forwarded(measured);
        self.metrics.observe(measured);
        if self.settings.log_each {
            tracing::info!("{}", each_line(measured, header.created_at_us, now_us));
        } else if let Measured::Skew(_) = measured {
            log.warn(&format!("clock-skew/{}", header.producer_id), || {
                format!("forwarder: producer {} clock is ahead: {}", header.producer_id, each_line(measured, header.created_at_us, now_us))
            });
        }
        let stream = sessions.key(header.producer_id, header.producer_session);
        let record = Record { index: 0, frame: Bytes::copy_from_slice(frame), stream, sequence: header.sequence, received_at };
        self.metrics.records.inc();
        let dropped = self.hub.broadcast(record);
        self.metrics.dropped.with_label_values(&["slow-client"]).inc_by(dropped);
    }
}

/// Shares one `StreamKey` allocation among the records of a session (bounded).
#[derive(Default)]
struct Sessions(HashMap<(String, String), Arc<StreamKey>>);

impl Sessions {
    fn key(&mut self, producer_id: String, session: String) -> Arc<StreamKey> {
        if self.0.len() >= 4096 {
            self.0.clear();
        }
        self.0
            .entry((producer_id, session))
            .or_insert_with_key(|(p, s)| Arc::new(StreamKey { producer_id: p.clone(), session: s.clone() }))
            .clone()
    }
}
