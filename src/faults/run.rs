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
    let dlq = format!("{topic}.dlq");
    tokio::try_join!(broker.create_topic(&topic, 3), broker.create_topic(&dlq, 1))?;
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

/// Starts the consumer and waits until it holds its partitions, then the
/// producer and waits until it is connected (its idempotent producer id
/// included), then starts the traffic: a slow group join or producer id on a
/// loaded machine must not eat into the schedule (a mock fault due 1 s in
/// struck 2.7 s in, waiting for the first acknowledgement, in one CI run).
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
    let (producer_crash, producer_crashes) = mpsc::unbounded_channel();
    let ((ready_tx, ready_rx), (go_tx, go_rx)) = (oneshot::channel(), oneshot::channel());
    let ledger = shared.ledger.clone();
    let producer = tokio::spawn(workload::produce(shared, opts.clone(), producer_crashes, workload::Start { ready: ready_tx, go: go_rx }));
    if ready_rx.await.is_err() {
        let _ = stop.send(true);
        let why = producer.await.expect("producer task panicked").err();
        return Err(why.unwrap_or_else(|| PipelineError::Unreachable("the fault run's producer stopped before it connected".into())));
    }
    let t0 = Instant::now();
    lock(&ledger).timeline.start(t0);
    let _ = go_tx.send(t0);
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
        // A fault meets traffic that flows: it waits for the first acknowledgement.
        let flowing = || lock(ledger).acked_total() > 0;
        if let Some(s) = pending.first().copied().filter(|s| t0 + s.at <= Instant::now() && flowing()) {
            pending.remove(0);
            match s.fault {
                Fault::ProducerCrash => drop(clients.producer_crash.send(())),
                Fault::ConsumerCrash => drop(clients.consumer_crash.send(())),
                fault => match (t0.elapsed(), inject::inject(fault, broker.as_ref(), topic, opts.injector.as_ref()).await) {
                    (at, Ok(inj)) => {
                        out.faults.push((at, format!("{fault}: {} (took {:.1}s to inject and check)", inj.effect, (t0.elapsed() - at).as_secs_f64())));
                        // The hold counts from the strike, its proof included
                        // (`Scheduled`: heal `hold` after the injection).
                        active.push((t0 + at, t0 + at + s.hold, inj));
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
    let why = if lock(ledger).acked_total() == 0 { "no send was acknowledged before the traffic ended" } else { "the traffic ended first" };
    out.failures.extend(pending.iter().map(|s| format!("{}: due {:.1}s in, never struck: {why}", s.fault, s.at.as_secs_f64())));
    out
}

/// Once everything the broker confirmed has been read, how long the drain
/// still waits for sends acknowledged without an offset (`acks=0`) after the
/// last read: nothing says the broker ever stored them. Longer than a stalled
/// consumer takes to be rebuilt (10 s of silence, `pipeline::stall`), so a
/// consumer that is merely stuck is not mistaken for one that read everything.
const UNCONFIRMED_QUIET: Duration = Duration::from_secs(15);

/// Waits until every acknowledged message was read, or the drain timeout.
/// Sends acknowledged without the broker confirming them are waited for only
/// while reads still come in ([`UNCONFIRMED_QUIET`]): an `acks=0` run that
/// lost some would otherwise wait out the whole timeout (83 s in CI for the
/// fire-and-forget replica); it is still read as far as the broker has it.
async fn drain(ledger: &Mutex<Ledger>, timeout: Duration) {
    use tokio::time::Instant;
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let (mut received, mut last_read) = (lock(ledger).received, Instant::now());
    while start.elapsed() <= timeout {
        let (all_read, confirmed_read, now_received) = {
            let l = lock(ledger);
            (l.all_acked_read(), l.all_confirmed_read(), l.received)
        };
        if all_read || (confirmed_read && last_read.elapsed() >= UNCONFIRMED_QUIET) {
            return;
        }
        if now_received != received {
            (received, last_read) = (now_received, Instant::now());
        }
        tick.tick().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::FrameFormat;
    use crate::pipeline::producer::Ack;
    use crate::pipeline::traffic::Sent;

    fn acked(l: &Mutex<Ledger>, session: &str, offset: i64) {
        let now = std::time::Instant::now();
        let ack = Ack { sequence: 1, partition: 0, offset, format: FrameFormat::Raw, raw_len: 1, wire_len: 2 };
        lock(l).sent(Sent { sequence: 1, session: session.into(), intended: now, handed_over: now, answered: now, result: Ok(ack) });
    }

    /// How long `drain` waits, in tokio's paused time, with `timeout` 60 s.
    async fn drain_time(l: &Mutex<Ledger>) -> Duration {
        let start = tokio::time::Instant::now();
        drain(l, Duration::from_secs(60)).await;
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_send_acknowledged_without_an_offset_is_not_waited_for_past_the_quiet_time() {
        let l = Mutex::new(Ledger::default());
        acked(&l, "confirmed", 7);
        acked(&l, "acks0", -1);
        lock(&l).reads.entry("confirmed".into()).or_default().insert(1);
        let waited = drain_time(&l).await;
        assert!(waited >= UNCONFIRMED_QUIET && waited < UNCONFIRMED_QUIET + Duration::from_secs(1), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_confirmed_send_not_yet_read_is_waited_for_until_the_timeout() {
        let l = Mutex::new(Ledger::default());
        acked(&l, "confirmed", 7);
        acked(&l, "acks0", -1);
        let waited = drain_time(&l).await;
        assert!(waited >= Duration::from_secs(60), "{waited:?}");
    }
}
