//! A fault run: steady traffic through the reference producer and consumer
//! while faults are injected and healed on a schedule, then a Jepsen-style
//! verdict over everything that was acknowledged and everything that was read.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use super::catalogue::Fault;
use super::inject::{self, Injected, Injector};
use super::ledger::{lock, Ledger};
use super::schedule::Scheduled;
use super::workload::{self, Shared};
use crate::broker::Broker;
use crate::pipeline::metrics::Metrics;
use crate::pipeline::PipelineError;

/// How the traffic runs.
#[derive(Clone)]
pub struct RunOptions {
    pub rate: f64,
    pub size: usize,
    pub duration: Duration,
    pub schedule: Vec<Scheduled>,
    /// How long to keep reading after the last send for acknowledged messages to arrive.
    pub drain_timeout: Duration,
    /// Extra librdkafka producer settings (e.g. acks=0 to see a losing configuration fail).
    pub producer_overrides: BTreeMap<String, String>,
    /// Who performs the broker actions (`Direct`, or a broken one in a replica).
    pub injector: Arc<dyn Injector>,
}

/// The verdict, Jepsen style.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub topic: String,
    pub broker: String,
    pub faults: Vec<String>,
    /// Sends acknowledged by the broker.
    pub acked: u64,
    /// Of those, reported delivered without an offset from the broker (`acks=0`).
    pub unconfirmed: u64,
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
    /// Produce requests the producers retried (librdkafka statistics).
    pub producer_retries: u64,
    pub producer_sessions: usize,
    pub negative_latency: u64,
    /// Consumer lag per partition once the faults healed and the consumer drained.
    pub lag_after_heal: BTreeMap<i32, i64>,
    pub duration_s: f64,
    pub failures: Vec<String>,
    pub verdict: String,
}

/// The clients of a run, started.
struct Clients {
    t0: Instant,
    producer_crash: mpsc::UnboundedSender<()>,
    consumer_crash: mpsc::UnboundedSender<()>,
    stop: watch::Sender<bool>,
    producer: tokio::task::JoinHandle<Result<(), PipelineError>>,
    consumer: tokio::task::JoinHandle<Result<BTreeMap<i32, i64>, PipelineError>>,
}

/// What the schedule did: `(when, what)` per fault, and what went wrong.
#[derive(Default)]
struct Happenings {
    faults: Vec<(Duration, String)>,
    failures: Vec<String>,
}

/// Runs traffic with the scheduled faults and judges it. `progress` gets a line every 5 s.
pub async fn run(broker: Arc<dyn Broker>, opts: &RunOptions, progress: &(dyn Fn(String) + Sync)) -> Result<Verdict, PipelineError> {
    let started = Instant::now();
    if let Some(s) = opts.schedule.iter().find(|s| !s.fault.runs_on(broker.kind())) {
        return Err(PipelineError::Unreachable(format!("{} cannot run on the {} backend", s.fault, broker.kind())));
    }
    let topic = format!("fault-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    broker.create_topic(&topic, 3).await?;
    broker.create_topic(&format!("{topic}.dlq"), 1).await?;
    let shared = Shared { broker: broker.clone(), topic: topic.clone(), metrics: Metrics::new(), ledger: Arc::default() };
    let ledger = shared.ledger.clone();
    let clients = start_clients(shared, opts).await?;
    let mut happened = follow_schedule(&broker, &topic, opts, &clients, &ledger, progress).await;
    if let Err(e) = clients.producer.await.expect("producer task panicked") {
        happened.failures.push(format!("producer: {e}"));
    }
    drain(&ledger, opts.drain_timeout).await;
    let _ = clients.stop.send(true);
    let lag = match clients.consumer.await.expect("consumer task panicked") {
        Ok(lag) => lag,
        Err(e) => {
            happened.failures.push(format!("consumer: {e}"));
            BTreeMap::new()
        }
    };
    let mut v = judge(&lock(&ledger), clients.t0, happened, lag, &opts.schedule);
    v.topic = topic;
    v.broker = broker.describe();
    v.duration_s = started.elapsed().as_secs_f64();
    Ok(v)
}

/// Starts the consumer, waits until it holds its partitions (a slow group join
/// on a loaded machine must not eat into the schedule), then the producer.
async fn start_clients(shared: Shared, opts: &RunOptions) -> Result<Clients, PipelineError> {
    let (consumer_crash, consumer_crashes) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = oneshot::channel();
    let group = format!("{}-group", shared.topic);
    let consumer = tokio::spawn(workload::consume(shared.clone(), group, consumer_crashes, stop_rx, ready_tx));
    if ready_rx.await.is_err() {
        // The consumer gave up before it was assigned: its error says why.
        let why = consumer.await.expect("consumer task panicked").err();
        return Err(why.unwrap_or_else(|| PipelineError::Unreachable("the fault run's consumer stopped before it was assigned".into())));
    }
    let t0 = Instant::now();
    let (producer_crash, producer_crashes) = mpsc::unbounded_channel();
    let producer = tokio::spawn(workload::produce(shared, opts.clone(), producer_crashes, t0, t0 + opts.duration));
    Ok(Clients { t0, producer_crash, consumer_crash, stop, producer, consumer })
}

/// Injects each fault when due and heals it `hold` later, until the traffic
/// ends and every fault healed. Client crashes are handed to the client, which
/// records them when they really happen.
async fn follow_schedule(
    broker: &Arc<dyn Broker>,
    topic: &str,
    opts: &RunOptions,
    clients: &Clients,
    ledger: &Mutex<Ledger>,
    progress: &(dyn Fn(String) + Sync),
) -> Happenings {
    let t0 = clients.t0;
    let mut out = Happenings::default();
    let mut pending: Vec<Scheduled> = opts.schedule.clone();
    pending.sort_by_key(|s| s.at);
    let mut active: Vec<(Instant, Injected)> = Vec::new();
    let mut next_progress = Instant::now() + Duration::from_secs(5);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while Instant::now() < t0 + opts.duration || !active.is_empty() {
        tick.tick().await;
        if let Some(s) = pending.first().copied().filter(|s| t0 + s.at <= Instant::now()) {
            pending.remove(0);
            match s.fault {
                Fault::ProducerCrash => drop(clients.producer_crash.send(())),
                Fault::ConsumerCrash => drop(clients.consumer_crash.send(())),
                fault => match (t0.elapsed(), inject::inject(fault, broker.as_ref(), topic, opts.injector.as_ref()).await) {
                    (at, Ok(inj)) => {
                        out.faults.push((at, format!("{fault}: {} (took {:.1}s to inject and check)", inj.effect, (t0.elapsed() - at).as_secs_f64())));
                        active.push((Instant::now() + s.hold, inj));
                    }
                    (_, Err(e)) => out.failures.push(format!("{fault}: {e}")),
                },
            }
        }
        if let Some(i) = active.iter().position(|(until, _)| *until <= Instant::now()) {
            let (_, inj) = active.remove(i);
            if let Err(e) = inject::heal(&inj, broker.as_ref(), topic, active.is_empty(), opts.injector.as_ref()).await {
                out.failures.push(format!("healing {}: {e}", inj.fault));
            }
        }
        if Instant::now() >= next_progress {
            next_progress = Instant::now() + Duration::from_secs(5);
            let l = lock(ledger);
            progress(format!(
                "[{:5.1}s] acknowledged {}, unacknowledged {}, read {} (duplicates {}), faults so far {}",
                t0.elapsed().as_secs_f64(),
                l.acked_total(),
                l.unacked,
                l.received,
                l.duplicates,
                out.faults.len() + l.crashes.len()
            ));
        }
    }
    out
}

/// Waits until every acknowledged message was read, or the drain timeout.
async fn drain(ledger: &Mutex<Ledger>, timeout: Duration) {
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while !lock(ledger).all_acked_read() && start.elapsed() <= timeout {
        tick.tick().await;
    }
}

/// The verdict from the books alone: pass only with something acknowledged,
/// nothing acknowledged lost, no negative latency, lag back to zero and no failure.
fn judge(l: &Ledger, t0: Instant, happened: Happenings, lag: BTreeMap<i32, i64>, schedule: &[Scheduled]) -> Verdict {
    let Happenings { mut faults, mut failures } = happened;
    failures.extend(producer_side_proofs(l, schedule));
    faults.extend(l.crashes.iter().map(|(at, what)| (at.saturating_duration_since(t0), what.clone())));
    faults.sort_by_key(|(at, _)| *at);
    let lost = l.lost();
    failures.extend(l.errors.iter().take(10).cloned());
    let mut v = Verdict {
        faults: faults.into_iter().map(|(at, f)| format!("{:.1}s {f}", at.as_secs_f64())).collect(),
        acked: l.acked_total(),
        unconfirmed: l.unconfirmed,
        unacked: l.unacked,
        received: l.received,
        lost: lost.iter().map(|(_, r)| r.len()).sum(),
        lost_ranges: lost.iter().map(|(session, r)| format!("{session}: {r}")).collect(),
        duplicates: l.duplicates,
        commit_failures: l.commit_failures,
        producer_retries: l.producer_retries,
        producer_sessions: l.acked.len(),
        negative_latency: l.negative,
        lag_after_heal: lag,
        ..Default::default()
    };
    if !l.latency_accounted() {
        failures.push(format!("latency accounting: {} decoded, but {} latency samples and {} skew observations", l.decoded, l.latency_samples, l.skewed));
    }
    let lag_total: i64 = v.lag_after_heal.values().sum();
    let pass = v.lost == 0 && v.unconfirmed == 0 && v.negative_latency == 0 && lag_total == 0 && failures.is_empty() && v.acked > 0;
    v.failures = failures;
    v.verdict = if pass { "pass" } else { "fail" }.into();
    v
}

/// Faults whose effect only the producer can see, proven from its books:
/// retriable errors make librdkafka retry requests; refusals leave sends unacknowledged.
fn producer_side_proofs(l: &Ledger, schedule: &[Scheduled]) -> Vec<String> {
    let mut out = Vec::new();
    let scheduled = |f: Fault| schedule.iter().any(|s| s.fault == f);
    if scheduled(Fault::MockRetriableErrors) && l.producer_retries == 0 {
        out.push("fault mock-retriable-errors had no effect: the producer retried no request".into());
    }
    if scheduled(Fault::MockFatalErrors) && l.unacked == 0 {
        out.push("fault mock-fatal-errors had no effect: every send was acknowledged".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::rangeset::RangeSet;

    fn ranges(from: u64, to: u64) -> RangeSet {
        let mut r = RangeSet::new();
        r.insert_range(from, to);
        r
    }

    fn clean_books() -> Ledger {
        let mut l = Ledger::default();
        l.acked.insert("s".into(), ranges(1, 100));
        l.reads.insert("s".into(), ranges(1, 100));
        l.received = 100;
        (l.decoded, l.latency_samples, l.skewed) = (100, 90, 10);
        l
    }

    fn judged(l: &Ledger, failures: Vec<String>, lag: i64, schedule: &[Scheduled]) -> Verdict {
        let happened = Happenings { faults: vec![], failures };
        judge(l, Instant::now(), happened, BTreeMap::from([(0, lag)]), schedule)
    }

    #[test]
    fn the_verdict_is_computed_from_the_books() {
        let clean = clean_books();
        assert_eq!(judged(&clean, vec![], 0, &[]).verdict, "pass");
        let mut lossy = clean_books();
        lossy.reads.insert("s".into(), ranges(1, 90));
        let v = judged(&lossy, vec![], 0, &[]);
        assert_eq!((v.verdict.as_str(), v.lost, v.lost_ranges.clone()), ("fail", 10, vec!["s: 91-100".to_string()]));
        assert_eq!(judged(&clean, vec!["heal".into()], 0, &[]).verdict, "fail");
        assert_eq!(judged(&clean, vec![], 3, &[]).verdict, "fail");
        let broken: [fn(&mut Ledger); 4] = [|l| l.negative = 1, |l| l.unconfirmed = 1, |l| l.skewed = 9, |l| *l = Ledger::default()];
        for (i, breaks) in broken.iter().enumerate() {
            let mut l = clean_books();
            breaks(&mut l);
            assert_eq!(judged(&l, vec![], 0, &[]).verdict, "fail", "case {i}");
        }
    }

    #[test]
    fn faults_only_the_producer_sees_are_proven_from_its_books() {
        let at = |fault| [Scheduled { at: Duration::ZERO, fault, hold: Duration::ZERO }];
        let mut l = clean_books();
        assert_eq!(judged(&l, vec![], 0, &at(Fault::MockRetriableErrors)).verdict, "fail", "no retransmission: no effect");
        l.producer_retries = 3;
        assert_eq!(judged(&l, vec![], 0, &at(Fault::MockRetriableErrors)).verdict, "pass");
        assert_eq!(judged(&l, vec![], 0, &at(Fault::MockFatalErrors)).verdict, "fail", "nothing refused: no effect");
        l.unacked = 3;
        assert_eq!(judged(&l, vec![], 0, &at(Fault::MockFatalErrors)).verdict, "pass");
    }
}
