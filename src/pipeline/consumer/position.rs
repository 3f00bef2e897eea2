//! Where a [`DashConsumer`] stands: its assignment, positions and lag, and
//! the stall watch that rebuilds its Kafka client (see `pipeline::stall`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use std::sync::atomic::{AtomicBool, Ordering};

use super::{subscribed, Client, DashConsumer, Event};
use crate::pipeline::{stall, PipelineError};

/// How often a running consumer measures and exports its lag.
pub const LAG_EVERY: Duration = Duration::from_secs(5);

/// When the exported lag is measured next, and whether a measurement runs.
#[derive(Debug)]
pub(super) struct LagRefresh {
    next: Instant,
    busy: Arc<AtomicBool>,
}

impl Default for LagRefresh {
    fn default() -> Self {
        Self { next: Instant::now() + Duration::from_secs(1), busy: Arc::default() }
    }
}

/// Lag per partition of `topic`: high watermark minus the group's committed
/// offset (the low watermark where nothing is committed). Blocking.
fn measure_lag(consumer: &Client, topic: &str) -> Result<BTreeMap<i32, i64>, rdkafka::error::KafkaError> {
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(5))?;
    let mut all = TopicPartitionList::new();
    for t in md.topics().iter().filter(|t| t.name() == topic) {
        for p in t.partitions() {
            all.add_partition(topic, p.id());
        }
    }
    let committed = consumer.committed_offsets(all, Duration::from_secs(5))?;
    let mut lag = BTreeMap::new();
    for el in committed.elements_for_topic(topic) {
        let (low, high) = consumer.fetch_watermarks(topic, el.partition(), Duration::from_secs(5))?;
        let done = match el.offset() {
            Offset::Offset(o) => o,
            _ => low,
        };
        lag.insert(el.partition(), (high - done).max(0));
    }
    Ok(lag)
}

impl DashConsumer {
    /// Current lag of every partition of the topic (high watermark minus the
    /// group's committed offset), also exported. Works whether or not the
    /// group is rebalancing: it asks for the topic's partitions, not the assignment.
    pub async fn update_lag(&mut self) -> Result<BTreeMap<i32, i64>, PipelineError> {
        let (consumer, topic) = (self.consumer.clone(), self.settings.topic.clone());
        let lag = tokio::task::spawn_blocking(move || measure_lag(&consumer, &topic))
            .await
            .expect("lag task panicked")
            .map_err(|e| PipelineError::kafka("measuring consumer lag", e))?;
        for (p, l) in &lag {
            self.metrics.consumer_lag.with_label_values(&[&self.settings.topic, &p.to_string()]).set(*l);
        }
        self.report.lag = lag.clone();
        Ok(lag)
    }

    /// Keeps the exported lag fresh while records flow (a dashboard's lag
    /// panel): every [`LAG_EVERY`] a measurement on a blocking thread, never
    /// two at once, never waited for.
    pub(super) fn refresh_lag(&mut self, now: Instant) {
        if now < self.lag_refresh.next || self.lag_refresh.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        self.lag_refresh.next = now + LAG_EVERY;
        let (consumer, topic, busy, gauge) = (self.consumer.clone(), self.settings.topic.clone(), self.lag_refresh.busy.clone(), self.metrics.consumer_lag.clone());
        tokio::task::spawn_blocking(move || {
            if let Ok(lag) = measure_lag(&consumer, &topic) {
                for (p, l) in lag {
                    gauge.with_label_values(&[&topic, &p.to_string()]).set(l);
                }
            }
            busy.store(false, Ordering::Release);
        });
    }

    /// Polls until the group has given this consumer its partitions (so that
    /// latency measured afterwards is not the group join), or fails at the deadline.
    /// Records that arrive meanwhile are processed and returned.
    pub async fn wait_for_assignment(&mut self, deadline: Duration) -> Result<Vec<Event>, PipelineError> {
        let start = Instant::now();
        let mut events = Vec::new();
        while self.consumer.assignment().map(|a| a.count() == 0).unwrap_or(true) {
            if start.elapsed() > deadline {
                return Err(PipelineError::Unreachable(format!("no partitions assigned to group {} within {deadline:?}", self.settings.group)));
            }
            if let Some(ev) = self.next(Duration::from_millis(100)).await? {
                events.push(ev);
            }
        }
        Ok(events)
    }

    /// Seeks nothing, just exposes the topic-partition list assigned (for tests and reports).
    pub fn assignment(&self) -> Result<TopicPartitionList, PipelineError> {
        self.consumer.assignment().map_err(|e| PipelineError::kafka("reading assignment", e))
    }

    /// What this consumer holds and where it stands, for a report when it
    /// stops making progress: assigned partitions with their fetch positions
    /// (e.g. `assigned [0@412, 2@none]`), and the records received so far.
    pub fn describe_position(&self) -> String {
        let positions = match self.consumer.position() {
            Err(e) => format!("positions unknown ({e})"),
            Ok(tpl) if tpl.count() == 0 => "no partitions assigned".to_string(),
            Ok(tpl) => {
                let each: Vec<String> = tpl
                    .elements()
                    .iter()
                    .map(|el| match el.offset() {
                        Offset::Offset(o) => format!("{}@{o}", el.partition()),
                        _ => format!("{}@none", el.partition()),
                    })
                    .collect();
                format!("assigned [{}]", each.join(", "))
            }
        };
        format!("{positions}, {} records received", self.report.received)
    }

    /// Called when a poll found nothing: if the watch says it is time, asks
    /// the broker whether records wait beyond the assigned positions, and if
    /// they do, rebuilds the client. One query that fails is not a stall;
    /// `stall::FAILED_CHECKS` in a row are (the client cannot reach the broker).
    pub(super) async fn watch_for_stall(&mut self) {
        if !self.stall.due(Instant::now()) {
            return;
        }
        let (consumer, topic) = (self.consumer.clone(), self.settings.topic.clone());
        let behind = tokio::task::spawn_blocking(move || stall::behind(&consumer, &topic)).await.expect("stall query panicked");
        let why = match behind {
            Ok(behind) if !behind.is_empty() => {
                self.stall.query_answered();
                let waiting: Vec<String> = behind.iter().map(|(p, at, high)| format!("{p}: at {at}, log ends at {high}")).collect();
                format!("records wait ({})", waiting.join("; "))
            }
            Ok(_) => {
                tracing::debug!("stall check: nothing waits beyond the assigned positions ({})", self.describe_position());
                return self.stall.query_answered();
            }
            Err(e) if self.stall.query_failed() => format!("the broker was out of its reach for {} checks in a row ({e})", stall::FAILED_CHECKS),
            Err(e) => return tracing::debug!("stall check could not reach the broker: {e}"),
        };
        let quiet = self.settings.restart_when_stalled.unwrap_or_default();
        tracing::warn!("consumer of {} received nothing for {quiet:?} and {why}; {}: rebuilding its Kafka client", self.settings.topic, self.describe_position());
        if let Err(e) = self.rebuild() {
            tracing::warn!("rebuilding the stalled consumer failed, keeping the old one: {e}");
        }
    }

    /// A fresh client in the same group replaces the stalled one. What was
    /// processed is stored and committed if the coordinator answers; what was
    /// not committed is read again (duplicates, never a loss).
    fn rebuild(&mut self) -> Result<(), PipelineError> {
        let everything = self.pending.take();
        self.store(everything);
        let _ = self.consumer.commit_consumer_state(CommitMode::Async);
        // A rebuilt client resumes from what the group committed, whatever the first one started at.
        let fresh = subscribed(&self.consumer_config, &self.settings.topic, super::StartAt::Committed)?;
        let stalled = std::mem::replace(&mut self.consumer, Arc::new(fresh));
        // Closing a stalled client may wait on the very state that stalled it:
        // on a thread of its own, never awaited.
        std::thread::spawn(move || drop(stalled));
        self.stall.disarm();
        self.report.stall_restarts += 1;
        self.metrics.stall_restarts.inc();
        Ok(())
    }
}

impl DashConsumer {
    /// Pauses this client's fetchers behind everyone's back: the stall the
    /// watch exists for, made on purpose (tests prove the watch with it).
    #[doc(hidden)]
    pub fn freeze_fetchers(&self) -> Result<(), PipelineError> {
        let assigned = self.consumer.assignment().map_err(|e| PipelineError::kafka("reading assignment", e))?;
        self.consumer.pause(&assigned).map_err(|e| PipelineError::kafka("pausing", e))
    }
}
