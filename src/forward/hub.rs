//! The hub: who is connected, the replay buffer, and the broadcast.
//!
//! Every record gets the next forwarder index (0, 1, 2, ...). The replay buffer
//! keeps the newest records (bounded by count and bytes) for clients that ask
//! for the last N or reconnect with `?from=INDEX`; a longer, compact ledger
//! (index to producer session and sequence, no payload) lets a reconnecting
//! client learn exactly which sequences it missed beyond the buffer.
//!
//! Lock order: replay buffer, then clients. `join` takes both, so a new client
//! sees every record exactly once: replayed, or live, never both or neither.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::notice::{Missed, Notice};
use super::queue::{ClientQueue, Limits};
use super::Record;
use crate::pipeline::loss::StreamKey;

/// Index to (session, sequence) entries kept for reconnects (about 40 bytes each).
pub const LEDGER_ENTRIES: usize = 100_000;

/// Where a new client starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Start {
    /// Replay the last N records first (capped by the buffer).
    pub last: Option<u64>,
    /// Resume at this forwarder index (a reconnect); wins over `last`.
    pub from: Option<u64>,
}

/// Why a client was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many clients (the limit is {max})")]
pub struct TooManyClients {
    pub max: usize,
}

#[derive(Debug, Default)]
struct Replay {
    records: VecDeque<Arc<Record>>,
    bytes: usize,
    ledger: VecDeque<(Arc<StreamKey>, u64)>,
    /// Index of `ledger[0]`.
    ledger_first: u64,
    next_index: u64,
}

/// Shared by the Kafka side and every connection.
#[derive(Debug)]
pub struct Hub {
    topic: String,
    queue_limits: Limits,
    replay_limits: Limits,
    stall: Duration,
    max_clients: usize,
    replay: Mutex<Replay>,
    clients: Mutex<HashMap<u64, Arc<ClientQueue>>>,
    next_client: Mutex<u64>,
}

/// A joined client: its id (to leave), its queue and its hello.
#[derive(Debug)]
pub struct Joined {
    pub id: u64,
    pub queue: Arc<ClientQueue>,
}

impl Hub {
    pub fn new(topic: &str, queue_limits: Limits, replay_limits: Limits, stall: Duration, max_clients: usize) -> Self {
        Self {
            topic: topic.to_string(),
            queue_limits,
            replay_limits,
            stall,
            max_clients,
            replay: Mutex::default(),
            clients: Mutex::default(),
            next_client: Mutex::new(0),
        }
    }

    fn replay(&self) -> std::sync::MutexGuard<'_, Replay> {
        self.replay.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ClientQueue>>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Numbers `record`, keeps it for replay and queues it for every client.
    /// Returns the records dropped for slow clients. Never waits on a client.
    pub fn broadcast(&self, mut record: Record) -> u64 {
        let now = Instant::now();
        let mut replay = self.replay();
        record.index = replay.next_index;
        replay.next_index += 1;
        let record = Arc::new(record);
        self.keep(&mut replay, &record);
        let clients = self.clients();
        clients.values().map(|q| q.push(record.clone(), now)).sum()
    }

    fn keep(&self, replay: &mut Replay, record: &Arc<Record>) {
        replay.ledger.push_back((record.stream.clone(), record.sequence));
        if replay.ledger.len() > LEDGER_ENTRIES {
            replay.ledger.pop_front();
            replay.ledger_first += 1;
        }
        replay.bytes += record.frame.len();
        replay.records.push_back(record.clone());
        while replay.records.len() > self.replay_limits.items || replay.bytes > self.replay_limits.bytes {
            let Some(old) = replay.records.pop_front() else { break };
            replay.bytes -= old.frame.len();
        }
    }

    /// Registers a client and queues its hello, replay and (on a reconnect) gap.
    pub fn join(&self, start: Start) -> Result<Joined, TooManyClients> {
        let replay = self.replay();
        let mut clients = self.clients();
        if clients.len() >= self.max_clients {
            return Err(TooManyClients { max: self.max_clients });
        }
        let queue = Arc::new(ClientQueue::new(self.queue_limits, self.stall));
        let buffer_first = replay.next_index - replay.records.len() as u64;
        let (first, missed) = match (start.from, start.last) {
            (Some(from), _) => {
                let from = from.min(replay.next_index);
                (from.max(buffer_first), self.missed_before_buffer(&replay, from, buffer_first))
            }
            (None, Some(n)) => (replay.next_index.saturating_sub(n.min(self.replay_limits.items as u64)).max(buffer_first), Missed::default()),
            (None, None) => (replay.next_index, Missed::default()),
        };
        let replayed: Vec<_> = replay.records.iter().filter(|r| r.index >= first).cloned().collect();
        queue.push_notice(Notice::Hello {
            topic: self.topic.clone(),
            forwarder: format!("dashstream {}", env!("CARGO_PKG_VERSION")),
            next: first - missed.count,
            replayed: replayed.len() as u64,
            max_replay: self.replay_limits.items as u64,
        });
        queue.push_gap(missed);
        let now = Instant::now();
        for r in replayed {
            queue.push(r, now);
        }
        let mut next = self.next_client.lock().unwrap_or_else(|p| p.into_inner());
        *next += 1;
        clients.insert(*next, queue.clone());
        Ok(Joined { id: *next, queue })
    }

    /// What a client resuming at `from` missed because the buffer no longer holds it
    /// (at most [`LEDGER_ENTRIES`] looked up; older ones are counted as unknown).
    fn missed_before_buffer(&self, replay: &Replay, from: u64, buffer_first: u64) -> Missed {
        let mut missed = Missed::default();
        let known_from = from.max(replay.ledger_first).min(buffer_first);
        if from < known_from {
            missed.count = known_from - from;
            missed.unknown = known_from - from;
            missed.indices.insert_range(from, known_from - 1);
        }
        for index in known_from..buffer_first {
            let (stream, seq) = &replay.ledger[(index - replay.ledger_first) as usize];
            missed.add(index, stream, *seq);
        }
        missed
    }

    pub fn leave(&self, id: u64) {
        self.clients().remove(&id);
    }

    pub fn clients_connected(&self) -> usize {
        self.clients().len()
    }

    /// Index the next record will get.
    pub fn next_index(&self) -> u64 {
        self.replay().next_index
    }
}
