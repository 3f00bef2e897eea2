//! The two clients of a fault run: a producer sending steady traffic (and
//! crashing on request), and a consumer reading it (and crashing on request).
//! Both write only to the run's [`Ledger`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::ledger::{lock, record, Ledger};
use super::run::RunOptions;
use crate::broker::Broker;
use crate::pipeline::consumer::{ConsumerSettings, DashConsumer};
use crate::pipeline::metrics::Metrics;
use crate::pipeline::producer::{DashProducer, ProducerSettings};
use crate::pipeline::traffic::{Sent, Traffic};
use crate::pipeline::PipelineError;
use crate::sample;

/// What the producer and consumer tasks of one run share.
#[derive(Clone)]
pub(super) struct Shared {
    pub broker: Arc<dyn Broker>,
    pub topic: String,
    pub metrics: Metrics,
    pub ledger: Arc<Mutex<Ledger>>,
}

/// A crash request for one of the clients.
pub(super) type CrashRequests = mpsc::UnboundedReceiver<()>;

/// How the producer task starts: it says when its client is connected, then
/// waits for the start of the traffic (`t0`).
pub(super) struct Start {
    pub ready: oneshot::Sender<()>,
    pub go: oneshot::Receiver<Instant>,
}

/// Steady traffic from `t0` for the run's duration; a crash request is carried out once the
/// current session has acknowledged sends, right after a send was handed to the
/// client, so a crash always cuts a send short and always leaves two sessions.
pub(super) async fn produce(shared: Shared, opts: RunOptions, mut crashes: CrashRequests, start: Start) -> Result<(), PipelineError> {
    let Shared { broker, topic, metrics, ledger } = shared;
    let mut client = broker.client_config();
    for (k, v) in &opts.producer_overrides {
        client.set(k, v);
    }
    let new_producer = |n: usize| -> Result<Arc<DashProducer>, PipelineError> {
        let mut s = ProducerSettings::new(&topic);
        s.producer_id = format!("fault-run-{n}");
        s.delivery_timeout = Duration::from_secs(120);
        let producer = DashProducer::new(&client, s, metrics.clone()).map(Arc::new)?;
        lock(&ledger).producers.insert(producer.session().to_string(), producer.producer_id().to_string());
        Ok(producer)
    };
    let mut incarnation = 1;
    let mut producer = new_producer(incarnation)?;
    producer.connect(Duration::from_secs(30)).await?;
    let _ = start.ready.send(());
    let Ok(t0) = start.go.await else { return Ok(()) };
    let until = t0 + opts.duration;
    let mut traffic = Traffic::starting_at(t0, opts.rate.max(1.0), usize::MAX);
    let mut done = |sent: Sent| lock(&ledger).sent(sent);
    let mut crash_pending = false;
    // A crash waits for a session with acknowledged sends; it never waits past this.
    let crash_deadline = until + Duration::from_secs(30);
    while Instant::now() < until || (crash_pending && Instant::now() < crash_deadline) {
        crash_pending |= crashes.try_recv().is_ok();
        let intended = traffic.next_slot(&mut done).await;
        let i = traffic.handed_over() + 1;
        let payload = sample::chunk(sample::header("", "", i, 0), opts.size).payload.expect("a chunk has a payload");
        traffic.send(&producer, producer.stamp(payload, "fault-run", &format!("thread-{}", i % 7)), intended);
        let acked_in_session = lock(&ledger).acked_in(producer.session());
        if crash_pending && acked_in_session > 0 {
            crash_pending = false;
            tokio::task::yield_now().await; // let the last send reach the client
            let crashed_at = Instant::now();
            let cut_short = traffic.abandon(&mut done);
            incarnation += 1;
            let dead = std::mem::replace(&mut producer, new_producer(incarnation)?);
            lock(&ledger).producer_retries += dead.request_retries();
            DashProducer::close_shared(dead).await;
            let what = format!(
                "producer-crash: producer crashed with {cut_short} sends in flight after {acked_in_session} acknowledged, and restarted as a new session"
            );
            lock(&ledger).crashes.push((crashed_at, what));
        }
    }
    if crash_pending {
        lock(&ledger).errors.push("producer-crash: no send of the session was acknowledged before the end of the run, so it never crashed".into());
    }
    traffic.drain(&mut done).await;
    let unacked = lock(&ledger).unacked;
    if unacked > 0 {
        // Once per run: for a run whose sends timed out, what the client was waiting for.
        tracing::warn!(topic = %topic, "fault run: {unacked} sends not acknowledged; the producer's client at the end: {}", producer.client_state());
    }
    let _ = producer.flush(Duration::from_secs(30)).await;
    lock(&ledger).producer_retries += producer.request_retries();
    DashProducer::close_shared(producer).await;
    // Sends cut short by a crash were never answered: count them as unacknowledged.
    let l = &mut *lock(&ledger);
    let answered = l.acked_total() + l.unacked;
    l.unacked += traffic.handed_over().saturating_sub(answered);
    Ok(())
}

/// Reads the run's topic with manual commits every 100 records, so a crash
/// re-delivers what was not committed. Says `ready` once it holds its
/// partitions; after `stop` it reads on until the end of the log. Returns the
/// lag per partition at the end.
pub(super) async fn consume(
    shared: Shared,
    group: String,
    mut crashes: CrashRequests,
    stop: watch::Receiver<bool>,
    ready: oneshot::Sender<()>,
) -> Result<BTreeMap<i32, i64>, PipelineError> {
    let Shared { broker, topic, metrics, ledger } = shared;
    let new_consumer = || -> Result<DashConsumer, PipelineError> {
        let mut s = ConsumerSettings::new(&topic, &group);
        s.auto_commit = false;
        s.grace = Duration::from_secs(600);
        // Well inside the stop deadline, so a stalled client is rebuilt in time to catch up.
        s.restart_when_stalled = Some(Duration::from_secs(10));
        DashConsumer::new(&broker.client_config(), s, metrics.clone())
    };
    let mut consumer = new_consumer()?;
    let early = consumer.wait_for_assignment(Duration::from_secs(60)).await?;
    let _ = ready.send(());
    let mut since_commit = record(&ledger, early);
    let mut crash_pending = false;
    let mut stopped_at: Option<Instant> = None;
    // After the stop: when to ask the broker for the lag next (at once when a poll came back empty).
    let mut lag_check_at = Instant::now();
    loop {
        crash_pending |= crashes.try_recv().is_ok();
        // Crash only with something processed and not yet committed, so the crash is a real one.
        if crash_pending && since_commit > 0 {
            crash_pending = false;
            let crashed_at = Instant::now();
            lock(&ledger).consumer_report(&consumer.report());
            consumer.close().await; // no commit: everything since the last commit is read again
            let what = format!("consumer-crash: consumer crashed with {since_commit} records read since its last commit; a new one took over");
            lock(&ledger).crashes.push((crashed_at, what));
            consumer = new_consumer()?;
            let early = consumer.wait_for_assignment(Duration::from_secs(60)).await?;
            since_commit = record(&ledger, early);
        }
        if *stop.borrow() {
            if std::mem::take(&mut crash_pending) {
                lock(&ledger).errors.push("consumer-crash: nothing was read before the end of the run, so it never crashed".into());
            }
            // Caught up means at the end of the log (duplicates written during
            // the fault included), committed: lag zero, or the deadline. The
            // lag is a round trip to the broker: asked for when a poll came
            // back empty or every LAG_CHECK_EVERY, never once per record (that
            // throttled a consumer re-reading 700 records after a rebalance to
            // ten a second, past the deadline).
            let deadline_passed = stop_deadline(&mut stopped_at);
            if Instant::now() >= lag_check_at || deadline_passed {
                commit(&mut consumer, &ledger).await;
                let lag = consumer.update_lag().await;
                if lag.as_ref().is_ok_and(|lag| lag.values().all(|l| *l == 0)) {
                    break;
                }
                if deadline_passed {
                    let lag = lag.map_or_else(|e| format!("unknown ({e})"), |l| format!("{l:?}"));
                    let state = consumer.describe_position();
                    lock(&ledger).errors.push(format!("consumer-stuck: not at the end of the log {STOP_DEADLINE:?} after the stop: lag {lag}; {state}"));
                    break;
                }
                lag_check_at = Instant::now() + LAG_CHECK_EVERY;
            }
        }
        match consumer.next(Duration::from_millis(100)).await? {
            Some(event) => {
                since_commit += record(&ledger, vec![event]);
                if since_commit >= 100 {
                    since_commit = 0;
                    commit(&mut consumer, &ledger).await;
                }
            }
            None => lag_check_at = Instant::now(),
        }
    }
    let report = consumer.finish().await?;
    lock(&ledger).consumer_report(&report);
    Ok(report.lag)
}

/// Commits what was processed, without waiting for the answer: a reader
/// blocked in a synchronous commit cannot serve the rebalance a broker restart
/// starts, and the two waited for each other (seen: a commit that never
/// returned). A commit that fails during a fault is not the end of the
/// consumer: it is counted, and the next commit covers the same records
/// (whatever is read again shows as duplicates, never as loss).
async fn commit(consumer: &mut DashConsumer, ledger: &Mutex<Ledger>) {
    if let Err(e) = consumer.commit_async() {
        let mut l = lock(ledger);
        l.commit_failures += 1;
        if l.commit_failures == 1 {
            tracing::warn!("fault run: a commit failed, the next one retries it: {e}");
        }
    }
}

/// After the stop request the consumer gets 30 s to reach the end of the log.
fn stop_deadline(stopped_at: &mut Option<Instant>) -> bool {
    stopped_at.get_or_insert_with(Instant::now).elapsed() > STOP_DEADLINE
}

/// How long after the stop request the consumer may take to reach the end of the log.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// While records keep coming after the stop, how often the lag is asked for.
const LAG_CHECK_EVERY: Duration = Duration::from_millis(500);
