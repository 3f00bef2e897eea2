//! The one traffic generator: paced sends through a [`DashProducer`], each
//! handed to librdkafka at once ([`DashProducer::enqueue`]: on this loop's
//! thread, or in a short task when zstd has work to do), with a cap on sends
//! in flight.
//!
//! Every send records when the schedule wanted it sent (`intended`) and when it
//! really was (`handed_over`), as the OpenMessaging Benchmark does: a producer
//! that falls behind its rate shows as publish delay instead of hiding it
//! (coordinated omission). `produce`, `verify`, fault runs and the conformance
//! suite all send through this.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;

use super::producer::{Ack, DashProducer, PendingAck, SendError};
use crate::proto::Envelope;

/// Sends awaiting an answer at once by default. Enough to keep librdkafka's
/// batches full at the rates a broker takes (Kafka's Java producer buffers
/// 32 MiB, about 50,000 records of 600 B); each costs its frame in
/// librdkafka's queue and a small future (2,000 hold a 300,000-record run at
/// the broker's pace, measured in `dashstream bench`).
pub const DEFAULT_IN_FLIGHT: usize = 2_000;

/// One finished send.
#[derive(Debug)]
pub struct Sent {
    pub sequence: u64,
    /// The producer session the envelope was stamped with.
    pub session: String,
    /// When the schedule wanted it sent.
    pub intended: Instant,
    /// When it was handed to the client.
    pub handed_over: Instant,
    /// When the broker answered (or the send failed).
    pub answered: Instant,
    pub result: Result<Ack, SendError>,
}

impl Sent {
    /// How late the send was handed over against its schedule.
    pub fn publish_delay(&self) -> Duration {
        self.handed_over.saturating_duration_since(self.intended)
    }
}

/// Paces and tracks sends. Slot `i` is due at `start + i / rate`.
pub struct Traffic {
    start: Instant,
    rate: f64,
    max_in_flight: usize,
    slots: u64,
    handed_over: u64,
    in_flight: FuturesUnordered<InFlight>,
}

impl Traffic {
    /// `rate` in messages per second (0: as fast as the in-flight cap allows);
    /// `max_in_flight` sends at once (at least 1).
    pub fn new(rate: f64, max_in_flight: usize) -> Self {
        Self::starting_at(Instant::now(), rate, max_in_flight)
    }

    /// As [`Traffic::new`], with slot 0 due at `start`.
    pub fn starting_at(start: Instant, rate: f64, max_in_flight: usize) -> Self {
        Self { start, rate, max_in_flight: max_in_flight.max(1), slots: 0, handed_over: 0, in_flight: FuturesUnordered::new() }
    }

    /// Sends handed to the client so far.
    pub fn handed_over(&self) -> u64 {
        self.handed_over
    }

    /// Sends not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Waits until the next slot is due and there is room in flight, handing
    /// every send that finishes meanwhile to `done`. Returns the slot's
    /// intended send time.
    ///
    /// A slot already due returns without touching the timer: tokio's timer
    /// has a 1 ms grain, and sleeping until "now" would cap an unpaced run at
    /// about 1,000 sends per second.
    pub async fn next_slot(&mut self, done: &mut impl FnMut(Sent)) -> Instant {
        let intended = if self.rate > 0.0 { self.start + Duration::from_secs_f64(self.slots as f64 / self.rate) } else { Instant::now() };
        self.slots += 1;
        loop {
            self.collect_finished(done);
            let room = self.in_flight.len() < self.max_in_flight;
            if room && Instant::now() >= intended {
                return intended;
            }
            tokio::select! {
                biased;
                Some(finished) = self.in_flight.next(), if !self.in_flight.is_empty() => done(finished),
                _ = tokio::time::sleep_until(intended.into()), if room => return intended,
            }
        }
    }

    /// Hands every send that has already finished to `done`, without waiting.
    fn collect_finished(&mut self, done: &mut impl FnMut(Sent)) {
        while let Some(Some(finished)) = self.in_flight.next().now_or_never() {
            done(finished);
        }
    }

    /// Hands `envelope` to the client now: on this thread when encoding is
    /// cheap (no compression), else in a short task, so that zstd runs on every
    /// core while this loop goes on.
    pub fn send(&mut self, producer: &Arc<DashProducer>, envelope: Envelope, intended: Instant) {
        let handed_over = Instant::now();
        let (sequence, session) = envelope.header.as_ref().map_or((0, String::new()), |h| (h.sequence, h.producer_session.clone()));
        let answer = if producer.compresses() {
            let producer = producer.clone();
            // The task only encodes and queues; its result is the answer to come, awaited here.
            #[allow(clippy::async_yields_async)]
            let queued = tokio::spawn(async move { producer.enqueue(&envelope) });
            Box::pin(async move {
                match queued.await {
                    Ok(answer) => answer.await,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                }
            })
        } else {
            producer.enqueue(&envelope)
        };
        self.handed_over += 1;
        self.in_flight.push(InFlight { answer, sequence, session, intended, handed_over });
    }

    /// Waits for every send in flight.
    pub async fn drain(&mut self, done: &mut impl FnMut(Sent)) {
        while let Some(finished) = self.in_flight.next().await {
            done(finished);
        }
    }

    /// Stops waiting for every send in flight, as when the process dies: they
    /// never get an answer. Sends already answered still go to `done`.
    /// Returns how many were cut short.
    pub fn abandon(&mut self, done: &mut impl FnMut(Sent)) -> usize {
        self.collect_finished(done);
        let cut_short = self.in_flight.len();
        self.in_flight.clear();
        cut_short
    }
}

/// A send handed to librdkafka, awaiting the broker's answer.
struct InFlight {
    answer: PendingAck,
    sequence: u64,
    session: String,
    intended: Instant,
    handed_over: Instant,
}

impl Future for InFlight {
    type Output = Sent;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Sent> {
        let result = std::task::ready!(self.answer.as_mut().poll(cx));
        let this = &mut *self;
        Poll::Ready(Sent {
            sequence: this.sequence,
            session: std::mem::take(&mut this.session),
            intended: this.intended,
            handed_over: this.handed_over,
            answered: Instant::now(),
            result,
        })
    }
}
