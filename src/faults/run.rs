//! A fault run: steady traffic through the reference producer and consumer
//! while faults are injected and healed on a schedule, then a Jepsen-style
//! verdict over everything that was acknowledged and everything that was read.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use super::catalogue::{self, FaultPlan};
use crate::broker::Broker;
use crate::pipeline::consumer::{ConsumerSettings, DashConsumer, Event};
use crate::pipeline::metrics::Metrics;
use crate::pipeline::producer::{DashProducer, ProducerSettings};
use crate::pipeline::rangeset::RangeSet;
use crate::pipeline::PipelineError;
use crate::sample;

/// One scheduled fault: inject at `at` (from the start of traffic), heal `hold` later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scheduled {
    #[serde(serialize_with = "secs")]
    pub at: Duration,
    pub fault: FaultPlan,
    #[serde(serialize_with = "secs")]
    pub hold: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Serialize for FaultPlan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// How the traffic runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub rate: f64,
    pub size: usize,
    pub duration: Duration,
    pub schedule: Vec<Scheduled>,
    /// How long to keep reading after the last send for acknowledged messages to arrive.
    pub drain_timeout: Duration,
    /// Extra librdkafka producer settings (e.g. acks=0 to see a losing configuration fail).
    pub producer_overrides: BTreeMap<String, String>,
}

/// The verdict, Jepsen style.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub topic: String,
    pub broker: String,
    pub faults: Vec<String>,
    /// Sends acknowledged by the broker.
    pub acked: u64,
    /// Sends never acknowledged (failed or cut short by a crash): not losses.
    pub unacked: u64,
    /// Records read, duplicates included.
    pub received: u64,
    /// Acknowledged but never read: exact ranges per producer session.
    pub lost: u64,
    pub lost_ranges: Vec<String>,
    /// Read more than once (expected after a consumer crash; reported, not a failure).
    pub duplicates: u64,
    pub producer_sessions: usize,
    pub negative_latency: u64,
    /// Consumer lag per partition once the faults healed and the consumer drained.
    pub lag_after_heal: BTreeMap<i32, i64>,
    pub duration_s: f64,
    pub failures: Vec<String>,
    pub verdict: String,
}

#[derive(Default)]
struct Ledger {
    acked: BTreeMap<String, RangeSet>,
    unacked: u64,
    reads: BTreeMap<String, RangeSet>,
    received: u64,
    duplicates: u64,
    negative: u64,
    errors: Vec<String>,
}

enum ProducerCmd {
    Crash,
}

enum ConsumerCmd {
    Crash,
}

/// Runs traffic with the scheduled faults and judges it. `progress` gets a line every 5 s.
pub async fn run(broker: Arc<dyn Broker>, opts: &RunOptions, progress: &(dyn Fn(String) + Sync)) -> Result<Verdict, PipelineError> {
    let started = Instant::now();
    for s in &opts.schedule {
        if !s.fault.runs_on(broker.kind()) {
            return Err(PipelineError::Unreachable(format!("{} cannot run on the {} backend", s.fault, broker.kind().as_str())));
        }
    }
    let topic = format!("fault-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    broker.create_topic(&topic, 3).await?;
    broker.create_topic(&format!("{topic}.dlq"), 1).await?;
    let ledger: Arc<Mutex<Ledger>> = Arc::default();
    let metrics = Metrics::new();
    let group = format!("{topic}-group");

    // Consumer: manual commits every 100 records, so a crash re-delivers what was not committed.
    let (ctx, crx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let consumer_task = tokio::spawn(consume(broker.clone(), topic.clone(), group, metrics.clone(), ledger.clone(), crx, stop_rx));

    let (ptx, prx) = mpsc::unbounded_channel();
    let traffic_end = Instant::now() + opts.duration;
    let producer_task = tokio::spawn(produce(broker.clone(), topic.clone(), opts.clone(), metrics.clone(), ledger.clone(), prx, traffic_end));

    let mut faults = Vec::new();
    let t0 = Instant::now();
    let mut next_progress = Instant::now() + Duration::from_secs(5);
    let mut pending: Vec<Scheduled> = opts.schedule.clone();
    pending.sort_by_key(|s| s.at);
    let mut active: Vec<(Instant, catalogue::Injected)> = Vec::new();
    let mut failures = Vec::new();
    while Instant::now() < traffic_end || !active.is_empty() {
        let now = Instant::now();
        if let Some(s) = pending.first().copied().filter(|s| t0 + s.at <= now) {
            pending.remove(0);
            match s.fault {
                FaultPlan::ProducerCrash => {
                    let _ = ptx.send(ProducerCmd::Crash);
                    faults.push(format!("{:.1}s {}: producer crashed with sends in flight and restarted", s.at.as_secs_f64(), s.fault));
                }
                FaultPlan::ConsumerCrash => {
                    let _ = ctx.send(ConsumerCmd::Crash);
                    faults.push(format!("{:.1}s {}: consumer crashed before committing, a new one took over", s.at.as_secs_f64(), s.fault));
                }
                plan => match catalogue::inject(plan, broker.as_ref(), &topic).await {
                    Ok(inj) => {
                        faults.push(format!("{:.1}s {}: {}", s.at.as_secs_f64(), plan, inj.effect));
                        active.push((Instant::now() + s.hold, inj));
                    }
                    Err(e) => failures.push(format!("{plan}: {e}")),
                },
            }
        }
        if let Some(i) = active.iter().position(|(until, _)| *until <= Instant::now()) {
            let (_, inj) = active.remove(i);
            if let Err(e) = catalogue::heal(&inj, broker.as_ref(), &topic).await {
                failures.push(format!("healing {}: {e}", inj.plan));
            }
        }
        if Instant::now() >= next_progress {
            next_progress = Instant::now() + Duration::from_secs(5);
            let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
            let acked: u64 = l.acked.values().map(|r| r.len()).sum();
            progress(format!(
                "[{:5.1}s] acknowledged {acked}, unacknowledged {}, read {} (duplicates {}), faults so far {}",
                t0.elapsed().as_secs_f64(),
                l.unacked,
                l.received,
                l.duplicates,
                faults.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Err(e) = producer_task.await.expect("producer task panicked") {
        failures.push(format!("producer: {e}"));
    }

    // Drain: read until every acknowledged message arrived, or the drain timeout.
    let drain_start = Instant::now();
    loop {
        let done = {
            let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
            l.acked.iter().all(|(s, acked)| l.reads.get(s).is_some_and(|r| acked.difference(r).is_empty()))
        };
        if done || drain_start.elapsed() > opts.drain_timeout {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(true);
    let lag = match consumer_task.await.expect("consumer task panicked") {
        Ok(lag) => lag,
        Err(e) => {
            failures.push(format!("consumer: {e}"));
            BTreeMap::new()
        }
    };

    let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
    let mut v = Verdict {
        topic,
        broker: broker.describe(),
        faults,
        acked: l.acked.values().map(|r| r.len()).sum(),
        unacked: l.unacked,
        received: l.received,
        duplicates: l.duplicates,
        producer_sessions: l.acked.len(),
        negative_latency: l.negative,
        lag_after_heal: lag,
        duration_s: started.elapsed().as_secs_f64(),
        ..Default::default()
    };
    for (session, acked) in &l.acked {
        let empty = RangeSet::new();
        let lost = acked.difference(l.reads.get(session).unwrap_or(&empty));
        if !lost.is_empty() {
            v.lost += lost.len();
            v.lost_ranges.push(format!("{session}: {lost}"));
        }
    }
    failures.extend(l.errors.iter().take(10).cloned());
    let lag_total: i64 = v.lag_after_heal.values().sum();
    let pass = v.lost == 0 && v.negative_latency == 0 && lag_total == 0 && failures.is_empty() && v.acked > 0;
    v.failures = failures;
    v.verdict = if pass { "pass" } else { "fail" }.into();
    Ok(v)
}

async fn produce(
    broker: Arc<dyn Broker>,
    topic: String,
    opts: RunOptions,
    metrics: Metrics,
    ledger: Arc<Mutex<Ledger>>,
    mut cmds: mpsc::UnboundedReceiver<ProducerCmd>,
    until: Instant,
) -> Result<(), PipelineError> {
    let mut client = broker.client_config();
    for (k, v) in &opts.producer_overrides {
        client.set(k, v);
    }
    let new_producer = |n: usize| -> Result<Arc<DashProducer>, PipelineError> {
        let mut s = ProducerSettings::new(&topic);
        s.producer_id = format!("fault-run-{n}");
        s.delivery_timeout = Duration::from_secs(120);
        DashProducer::new(&client, s, metrics.clone()).map(Arc::new)
    };
    let mut incarnation = 1;
    let mut producer = new_producer(incarnation)?;
    let mut sends: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let start = Instant::now();
    let mut i: u64 = 0;
    while Instant::now() < until {
        if let Ok(ProducerCmd::Crash) = cmds.try_recv() {
            // Crash: the process is gone with its in-flight sends; they never get an answer.
            for s in sends.drain(..) {
                s.abort();
            }
            drop(producer);
            incarnation += 1;
            producer = new_producer(incarnation)?;
        }
        let due = start + Duration::from_secs_f64(i as f64 / opts.rate.max(1.0));
        tokio::time::sleep_until(due.into()).await;
        i += 1;
        let payload = sample::chunk(sample::header("", "", i, 0), opts.size).payload.expect("payload");
        let env = producer.stamp(payload, "fault-run", &format!("thread-{}", i % 7));
        let session = producer.session().to_string();
        let p = producer.clone();
        let ledger = ledger.clone();
        sends.retain(|h| !h.is_finished());
        sends.push(tokio::spawn(async move {
            let r = p.send(&env).await;
            let mut l = ledger.lock().unwrap_or_else(|p| p.into_inner());
            match r {
                Ok(ack) => {
                    l.acked.entry(session).or_default().insert(ack.sequence);
                }
                Err(e) => {
                    l.unacked += 1;
                    if l.errors.len() < 5 {
                        l.errors.push(format!("send: {e}"));
                    }
                }
            }
        }));
    }
    for s in sends {
        let _ = s.await;
    }
    let _ = producer.flush(Duration::from_secs(30));
    // Sends cut short by a crash were never answered: count them as unacknowledged.
    let l = &mut *ledger.lock().unwrap_or_else(|p| p.into_inner());
    let answered: u64 = l.acked.values().map(|r| r.len()).sum::<u64>() + l.unacked;
    l.unacked += i.saturating_sub(answered);
    Ok(())
}

async fn consume(
    broker: Arc<dyn Broker>,
    topic: String,
    group: String,
    metrics: Metrics,
    ledger: Arc<Mutex<Ledger>>,
    mut cmds: mpsc::UnboundedReceiver<ConsumerCmd>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<BTreeMap<i32, i64>, PipelineError> {
    let new_consumer = || -> Result<DashConsumer, PipelineError> {
        let mut s = ConsumerSettings::new(&topic, &group);
        s.auto_commit = false;
        s.grace = Duration::from_secs(600);
        DashConsumer::new(&broker.client_config(), s, metrics.clone())
    };
    let mut consumer = new_consumer()?;
    consumer.wait_for_assignment(Duration::from_secs(60)).await?;
    let mut since_commit = 0u64;
    let mut crash_pending = false;
    let mut stopped_at: Option<Instant> = None;
    loop {
        if let Ok(ConsumerCmd::Crash) = cmds.try_recv() {
            crash_pending = true;
        }
        // Crash only with something processed and not yet committed, so the crash is a real one.
        if crash_pending && since_commit > 0 {
            crash_pending = false;
            drop(consumer); // no commit: everything since the last commit is read again
            consumer = new_consumer()?;
            consumer.wait_for_assignment(Duration::from_secs(60)).await?;
            since_commit = 0;
        }
        if *stop.borrow() {
            // Caught up means at the end of the log (duplicates written during
            // the fault included), committed: lag zero, or the deadline.
            consumer.commit().await?;
            if consumer.update_lag().await.is_ok_and(|lag| lag.values().all(|l| *l == 0)) || stop_deadline(&mut stopped_at) {
                break;
            }
        }
        if let Some(Event::Message { envelope, .. }) = consumer.next(Duration::from_millis(100)).await? {
            let h = envelope.header.unwrap_or_default();
            {
                let mut l = ledger.lock().unwrap_or_else(|p| p.into_inner());
                l.received += 1;
                if !l.reads.entry(h.producer_session).or_default().insert(h.sequence) {
                    l.duplicates += 1;
                }
            }
            since_commit += 1;
            if since_commit >= 100 {
                since_commit = 0;
                consumer.commit().await?;
            }
        }
    }
    let report = consumer.finish().await?;
    ledger.lock().unwrap_or_else(|p| p.into_inner()).negative += report.negative_latency;
    Ok(report.lag)
}

/// After the stop request the consumer gets 30 s to reach the end of the log.
fn stop_deadline(stopped_at: &mut Option<Instant>) -> bool {
    stopped_at.get_or_insert_with(Instant::now).elapsed() > Duration::from_secs(30)
}
