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
    /// Consumer commits that failed during a fault (retried by the next one).
    pub commit_failures: u64,
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
    commit_failures: u64,
    /// Client crashes as they really happened: (when, what happened).
    crashes: Vec<(Instant, String)>,
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
    // Traffic and the fault clock start once the consumer has its partitions:
    // a slow group join on a loaded machine must not eat into the schedule.
    let (ctx, crx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let shared = Shared { broker: broker.clone(), topic: topic.clone(), metrics: metrics.clone(), ledger: ledger.clone() };
    let consumer_task = tokio::spawn(consume(shared.clone(), group, crx, stop_rx, ready_tx));
    if ready_rx.await.is_err() {
        // The consumer gave up before it was assigned: its error says why.
        return Err(consumer_task.await.expect("consumer task panicked").err().unwrap_or_else(|| PipelineError::Unreachable("the fault run's consumer stopped before it was assigned".into())));
    }
    let t0 = Instant::now();

    let (ptx, prx) = mpsc::unbounded_channel();
    let traffic_end = t0 + opts.duration;
    let producer_task = tokio::spawn(produce(shared, opts.clone(), prx, t0, traffic_end));

    let mut faults: Vec<(Duration, String)> = Vec::new();
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
                // Client crashes are recorded by the client when they really happen.
                FaultPlan::ProducerCrash => {
                    let _ = ptx.send(ProducerCmd::Crash);
                }
                FaultPlan::ConsumerCrash => {
                    let _ = ctx.send(ConsumerCmd::Crash);
                }
                plan => match (t0.elapsed(), catalogue::inject(plan, broker.as_ref(), &topic).await) {
                    (at, Ok(inj)) => {
                        faults.push((at, format!("{plan}: {} (took {:.1}s to inject and check)", inj.effect, (t0.elapsed() - at).as_secs_f64())));
                        active.push((Instant::now() + s.hold, inj));
                    }
                    (_, Err(e)) => failures.push(format!("{plan}: {e}")),
                },
            }
        }
        if let Some(i) = active.iter().position(|(until, _)| *until <= Instant::now()) {
            let (_, inj) = active.remove(i);
            if let Err(e) = catalogue::heal(&inj, broker.as_ref(), &topic, active.is_empty()).await {
                failures.push(format!("healing {}: {e}", inj.plan));
            }
        }
        if Instant::now() >= next_progress {
            next_progress = Instant::now() + Duration::from_secs(5);
            let l = lock(&ledger);
            let acked: u64 = l.acked.values().map(|r| r.len()).sum();
            progress(format!(
                "[{:5.1}s] acknowledged {acked}, unacknowledged {}, read {} (duplicates {}), faults so far {}",
                t0.elapsed().as_secs_f64(),
                l.unacked,
                l.received,
                l.duplicates,
                faults.len() + l.crashes.len()
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
            let l = lock(&ledger);
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

    let l = lock(&ledger);
    faults.extend(l.crashes.iter().map(|(at, what)| (at.saturating_duration_since(t0), what.clone())));
    faults.sort_by_key(|(at, _)| *at);
    let mut v = Verdict {
        topic,
        broker: broker.describe(),
        faults: faults.into_iter().map(|(at, f)| format!("{:.1}s {f}", at.as_secs_f64())).collect(),
        acked: l.acked.values().map(|r| r.len()).sum(),
        unacked: l.unacked,
        received: l.received,
        duplicates: l.duplicates,
        commit_failures: l.commit_failures,
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

/// What the producer and consumer tasks of one run share.
#[derive(Clone)]
struct Shared {
    broker: Arc<dyn Broker>,
    topic: String,
    metrics: Metrics,
    ledger: Arc<Mutex<Ledger>>,
}

async fn produce(
    shared: Shared,
    opts: RunOptions,
    mut cmds: mpsc::UnboundedReceiver<ProducerCmd>,
    t0: Instant,
    until: Instant,
) -> Result<(), PipelineError> {
    let Shared { broker, topic, metrics, ledger } = shared;
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
    let mut crash_pending = false;
    // A crash waits for a session with acknowledged sends; it never waits past this.
    let crash_deadline = until + Duration::from_secs(30);
    let mut i: u64 = 0;
    while Instant::now() < until || (crash_pending && Instant::now() < crash_deadline) {
        if let Ok(ProducerCmd::Crash) = cmds.try_recv() {
            crash_pending = true;
        }
        let due = t0 + Duration::from_secs_f64(i as f64 / opts.rate.max(1.0));
        tokio::time::sleep_until(due.into()).await;
        i += 1;
        let payload = sample::chunk(sample::header("", "", i, 0), opts.size).payload.expect("payload");
        let env = producer.stamp(payload, "fault-run", &format!("thread-{}", i % 7));
        let session = producer.session().to_string();
        let p = producer.clone();
        let task_ledger = ledger.clone();
        sends.retain(|h| !h.is_finished());
        sends.push(tokio::spawn(async move {
            let r = p.send(&env).await;
            let mut l = lock(&task_ledger);
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
        // Crash only once this session has acknowledged sends, right after handing
        // the client a send: the crash always cuts a send short and always
        // leaves two sessions behind.
        let acked_in_session = lock(&ledger).acked.get(producer.session()).map_or(0, |r| r.len());
        if crash_pending && acked_in_session > 0 {
            crash_pending = false;
            tokio::task::yield_now().await; // let the last send reach the client
            let in_flight = sends.iter().filter(|h| !h.is_finished()).count();
            // The process is gone with its in-flight sends; they never get an answer.
            let crashed_at = Instant::now();
            for s in &sends {
                s.abort();
            }
            for s in sends.drain(..) {
                let _ = s.await; // cancelled: its handle on the producer is gone
            }
            incarnation += 1;
            let dead = std::mem::replace(&mut producer, new_producer(incarnation)?);
            if let Ok(dead) = Arc::try_unwrap(dead) {
                dead.close().await;
            }
            let what = format!(
                "producer-crash: producer crashed with {in_flight} sends in flight after {acked_in_session} acknowledged, and restarted as a new session"
            );
            lock(&ledger).crashes.push((crashed_at, what));
        }
    }
    if crash_pending {
        let mut l = lock(&ledger);
        l.errors.push("producer-crash: no send of the session was acknowledged before the end of the run, so it never crashed".into());
    }
    for s in sends {
        let _ = s.await;
    }
    let _ = producer.flush(Duration::from_secs(30));
    if let Ok(producer) = Arc::try_unwrap(producer) {
        producer.close().await;
    }
    // Sends cut short by a crash were never answered: count them as unacknowledged.
    let l = &mut *lock(&ledger);
    let answered: u64 = l.acked.values().map(|r| r.len()).sum::<u64>() + l.unacked;
    l.unacked += i.saturating_sub(answered);
    Ok(())
}

async fn consume(
    shared: Shared,
    group: String,
    mut cmds: mpsc::UnboundedReceiver<ConsumerCmd>,
    stop: tokio::sync::watch::Receiver<bool>,
    ready: tokio::sync::oneshot::Sender<()>,
) -> Result<BTreeMap<i32, i64>, PipelineError> {
    let Shared { broker, topic, metrics, ledger } = shared;
    let new_consumer = || -> Result<DashConsumer, PipelineError> {
        let mut s = ConsumerSettings::new(&topic, &group);
        s.auto_commit = false;
        s.grace = Duration::from_secs(600);
        DashConsumer::new(&broker.client_config(), s, metrics.clone())
    };
    let mut consumer = new_consumer()?;
    let early = consumer.wait_for_assignment(Duration::from_secs(60)).await?;
    let _ = ready.send(());
    let mut since_commit = record(&ledger, early);
    let mut crash_pending = false;
    let mut stopped_at: Option<Instant> = None;
    loop {
        if let Ok(ConsumerCmd::Crash) = cmds.try_recv() {
            crash_pending = true;
        }
        // Crash only with something processed and not yet committed, so the crash is a real one.
        if crash_pending && since_commit > 0 {
            crash_pending = false;
            let crashed_at = Instant::now();
            consumer.close().await; // no commit: everything since the last commit is read again
            let what = format!("consumer-crash: consumer crashed with {since_commit} records read since its last commit; a new one took over");
            lock(&ledger).crashes.push((crashed_at, what));
            consumer = new_consumer()?;
            let early = consumer.wait_for_assignment(Duration::from_secs(60)).await?;
            since_commit = record(&ledger, early);
        }
        if *stop.borrow() {
            if std::mem::take(&mut crash_pending) {
                let mut l = lock(&ledger);
                l.errors.push("consumer-crash: nothing was read before the end of the run, so it never crashed".into());
            }
            // Caught up means at the end of the log (duplicates written during
            // the fault included), committed: lag zero, or the deadline.
            commit(&consumer, &ledger).await;
            if consumer.update_lag().await.is_ok_and(|lag| lag.values().all(|l| *l == 0)) || stop_deadline(&mut stopped_at) {
                break;
            }
        }
        if let Some(event) = consumer.next(Duration::from_millis(100)).await? {
            since_commit += record(&ledger, vec![event]);
            if since_commit >= 100 {
                since_commit = 0;
                commit(&consumer, &ledger).await;
            }
        }
    }
    let report = consumer.finish().await?;
    lock(&ledger).negative += report.negative_latency;
    Ok(report.lag)
}

/// Commits what was processed. A commit that fails during a fault is not the
/// end of the consumer: it is counted, and the next commit covers the same
/// records (whatever is read again shows as duplicates, never as loss).
async fn commit(consumer: &DashConsumer, ledger: &Mutex<Ledger>) {
    if let Err(e) = consumer.commit().await {
        let mut l = lock(ledger);
        l.commit_failures += 1;
        if l.commit_failures == 1 {
            tracing::warn!("fault run: a commit failed, the next one retries it: {e}");
        }
    }
}

/// The ledger, also after a task panicked while holding it: what it had
/// recorded until then still counts in the verdict.
fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|p| p.into_inner())
}

/// Enters the records among `events` in the ledger; returns how many there were.
fn record(ledger: &Mutex<Ledger>, events: Vec<Event>) -> u64 {
    let mut l = lock(ledger);
    let mut n = 0;
    for event in events {
        if let Event::Message { envelope, .. } = event {
            let h = envelope.header.unwrap_or_default();
            l.received += 1;
            n += 1;
            if !l.reads.entry(h.producer_session).or_default().insert(h.sequence) {
                l.duplicates += 1;
            }
        }
    }
    n
}

/// After the stop request the consumer gets 30 s to reach the end of the log.
fn stop_deadline(stopped_at: &mut Option<Instant>) -> bool {
    stopped_at.get_or_insert_with(Instant::now).elapsed() > Duration::from_secs(30)
}
