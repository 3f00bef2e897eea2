//! A fault run: steady traffic through the reference producer and consumer
//! while faults are injected and healed on a schedule, then a Jepsen-style
//! verdict over everything that was acknowledged and everything that was read.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::catalogue::Fault;
use super::inject::{self, Injected, Injector};
use super::ledger::{lock, Ledger};
use super::verdict::{judge, Happenings, Verdict};
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

/// The clients of a run, started.
struct Clients {
    t0: Instant,
    producer_crash: mpsc::UnboundedSender<()>,
    consumer_crash: mpsc::UnboundedSender<()>,
    stop: watch::Sender<bool>,
    producer: tokio::task::JoinHandle<Result<(), PipelineError>>,
    consumer: tokio::task::JoinHandle<Result<BTreeMap<i32, i64>, PipelineError>>,
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
    lock(&shared.ledger).timeline.start(t0);
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
    let mut active: Vec<(Instant, Instant, Injected)> = Vec::new();
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
                        active.push((t0 + at, Instant::now() + s.hold, inj));
                    }
                    (_, Err(e)) => out.failures.push(format!("{fault}: {e}")),
                },
            }
        }
        if let Some(i) = active.iter().position(|(_, until, _)| *until <= Instant::now()) {
            let (injected_at, _, inj) = active.remove(i);
            let outcome = inject::heal(&inj, broker.as_ref(), topic, active.is_empty(), opts.injector.as_ref()).await;
            lock(ledger).timeline.fault(&inj.fault.to_string(), injected_at, Instant::now());
            if let Err(e) = outcome {
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
