//! `dashstream forward`: the live path of the original system, Kafka to
//! WebSocket to browser, where the negative end-to-end latency was first seen.
//!
//! - [`source`] reads the topic from its end (no group, no commits), decodes
//!   each frame's header to measure produce-to-forward latency with a
//!   [`latency::LatencyMeter`], and hands decodable records to the [`hub`].
//! - [`hub`] numbers records, keeps a bounded replay buffer, and pushes each
//!   record into every client's bounded [`queue`] without ever waiting.
//! - [`server`] serves `/ws` (binary messages: frames byte for byte; text
//!   messages: [`notice`]s), the browser view at `/` ([`page`]), `/stats` and `/metrics`.
//!
//! Memory is bounded whatever the clients do: every queue and the replay buffer
//! hold a suffix of the records forwarded, so together they hold at most the
//! newest `max(queue, replay)` records and bytes (see [`ForwardSettings`]),
//! plus the ledger ([`hub::LEDGER_ENTRIES`]) and a fixed amount per client.

pub mod hub;
pub mod latency;
pub mod metrics;
pub mod notice;
pub mod page;
pub mod queue;
pub mod server;
pub mod source;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::ClientConfig;

use crate::codec::CodecConfig;
use crate::pipeline::latency::WallClock;
use crate::pipeline::loss::StreamKey;
use crate::pipeline::metrics::Metrics;
use latency::{ForwardStats, LatencyMeter};
use queue::Limits;

/// One record on its way to the clients.
#[derive(Debug)]
pub struct Record {
    /// Forwarder index (set by the hub).
    pub index: u64,
    /// The Kafka record value, byte for byte.
    pub frame: Bytes,
    pub stream: Arc<StreamKey>,
    pub sequence: u64,
    /// When it arrived from Kafka (for the added latency).
    pub received_at: Instant,
}

/// Why the forwarder could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    #[error("kafka: {context}: {source}")]
    Kafka { context: String, source: rdkafka::error::KafkaError },
    #[error("topic {0:?} does not exist (or has no partitions); create it first")]
    NoSuchTopic(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// How the forwarder runs.
#[derive(Debug, Clone)]
pub struct ForwardSettings {
    pub topic: String,
    pub listen: SocketAddr,
    /// Per-client queue bound.
    pub queue: Limits,
    /// Replay buffer bound (`?last=N`, reconnects).
    pub replay: Limits,
    /// Disconnect a client that has been dropping records this long without catching up.
    pub stall: Duration,
    pub keepalive: Duration,
    pub max_clients: usize,
    /// How often the `E2E latency: ...` summary is logged.
    pub summary_every: Duration,
    /// Log one line per message, in the original's shape.
    pub log_each: bool,
    pub codec: CodecConfig,
    pub clock: WallClock,
    /// How long to wait for a topic that does not exist yet (0: fail at once).
    pub topic_wait: Duration,
}

impl ForwardSettings {
    pub fn new(topic: impl Into<String>, listen: SocketAddr) -> Self {
        Self {
            topic: topic.into(),
            listen,
            queue: Limits { items: 1024, bytes: 8 << 20 },
            replay: Limits { items: 1000, bytes: 8 << 20 },
            stall: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            max_clients: 100,
            summary_every: Duration::from_secs(10),
            log_each: false,
            codec: CodecConfig::default(),
            clock: WallClock::default(),
            topic_wait: Duration::ZERO,
        }
    }
}

/// A running forwarder; stops (telling clients why) on [`Forwarder::shutdown`] or drop.
pub struct Forwarder {
    addr: SocketAddr,
    hub: Arc<hub::Hub>,
    stats: Arc<ForwardStats>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Forwarder {
    /// Assigns the topic's partitions at their ends, binds the listener, and
    /// returns once both are done: every record produced after this is forwarded.
    pub async fn start(
        client: &ClientConfig,
        settings: ForwardSettings,
        metrics: &Metrics,
        meter: Arc<dyn LatencyMeter>,
    ) -> Result<Self, ForwardError> {
        let fm = metrics::ForwardMetrics::register(metrics);
        let stats = Arc::new(ForwardStats::default());
        let hub = Arc::new(hub::Hub::new(&settings.topic, settings.queue, settings.replay, settings.stall, settings.max_clients));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let consumer = source::assign_at_end(client, &settings.topic, settings.topic_wait).await?;
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| ForwardError::Listen { addr: settings.listen, source })?;
        let addr = listener.local_addr().map_err(|source| ForwardError::Listen { addr: settings.listen, source })?;
        let ctx = server::Context { hub: hub.clone(), stats: stats.clone(), metrics: fm.clone(), registry: metrics.clone(), settings: settings.clone(), stopped: stopped.clone() };
        let source = source::Source { consumer, hub: hub.clone(), stats: stats.clone(), metrics: fm, meter, settings };
        let tasks = vec![tokio::spawn(source.run(stopped.clone())), tokio::spawn(server::serve(listener, ctx))];
        tracing::info!(%addr, "forwarding to ws://{addr}/ws, view at http://{addr}/");
        Ok(Self { addr, hub, stats, stop, tasks })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn totals(&self) -> latency::ForwardTotals {
        self.stats.totals()
    }

    /// Waits until `cond` holds on the totals (no polling); after `deadline`, the totals as the error.
    pub async fn wait_until(&self, deadline: Duration, cond: impl Fn(&latency::ForwardTotals) -> bool) -> Result<latency::ForwardTotals, latency::ForwardTotals> {
        self.stats.wait_until(deadline, cond).await
    }

    pub fn clients_connected(&self) -> usize {
        self.hub.clients_connected()
    }

    /// Tells every client the forwarder is closing, then stops reading and serving.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
