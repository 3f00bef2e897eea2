//! A TCP fault proxy, after Toxiproxy: it stands between Kafka clients and a
//! broker and injects network faults ("toxics": latency with jitter, a
//! bandwidth cap, a black hole, connection resets, sliced writes, slow
//! closes), each addable and removable while traffic flows.
//!
//! Why: `tc netem` needs a kernel module this machine (and many laptops'
//! Docker VMs) lacks, and `NET_ADMIN`. A proxy on the client's path needs
//! neither. The container backends start one proxy per broker and make the
//! broker advertise the proxy's address, so every client connection, also
//! those metadata sends to another broker, passes through one.
//!
//! The proxies run on a runtime of their own (one thread), so a client that
//! blocks the caller's runtime (a blocking librdkafka call on a test's
//! single-threaded runtime) can never stall the bytes it is waiting for.
//! Whether a toxic had an effect is never asked of the proxy: the fault
//! proofs measure it from outside (`faults::wire_probe`).

mod link;
mod toxic;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::watch;

pub use toxic::{Direction, Toxic, ToxicSet};

/// Counters of one proxy, for logs and reports (never for proofs).
#[derive(Debug, Default)]
pub struct ProxyStats {
    accepted: AtomicU64,
    resets: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

/// A copy of [`ProxyStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProxyCounts {
    pub accepted: u64,
    pub resets: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

/// One listening proxy in front of one upstream address. Dropped means
/// stopped: the listener closes and every connection through it ends.
pub struct FaultProxy {
    address: SocketAddr,
    upstream: String,
    toxics: watch::Sender<ToxicSet>,
    stats: Arc<ProxyStats>,
    /// Dropped with the proxy; every task of the proxy ends when it is.
    _alive: watch::Sender<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy").field("address", &self.address).field("upstream", &self.upstream).finish_non_exhaustive()
    }
}

/// The proxies' own runtime.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dashstream-proxy")
            .enable_all()
            .build()
            .expect("the fault proxy's runtime starts")
    })
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and passes every connection on to
    /// `upstream` (`host:port`), which need not answer yet: a connection it
    /// refuses is closed on the client.
    pub fn start(upstream: impl Into<String>) -> std::io::Result<Self> {
        let upstream = upstream.into();
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let listener = {
            let _inside = runtime().enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (toxics, toxics_rx) = watch::channel(ToxicSet::default());
        let stats = Arc::new(ProxyStats::default());
        let (alive, alive_rx) = watch::channel(());
        runtime().spawn(accept_loop(listener, upstream.clone(), toxics_rx, stats.clone(), alive_rx));
        tracing::debug!(%address, %upstream, "fault proxy listening");
        Ok(Self { address, upstream, toxics, stats, _alive: alive })
    }

    /// Where clients connect: `127.0.0.1:<port>`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The address the proxy passes connections on to.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Adds a toxic (replacing one of its kind); every connection feels it at once.
    pub fn add(&self, toxic: Toxic) {
        tracing::info!(proxy = %self.address, %toxic, "toxic added");
        self.toxics.send_modify(|set| *set = set.with(toxic));
    }

    /// Removes the toxic named `name` (see [`Toxic::name`]); whether there was one.
    pub fn remove(&self, name: &str) -> bool {
        let present = self.toxics.borrow().toxics().iter().any(|t| t.name() == name);
        if present {
            tracing::info!(proxy = %self.address, toxic = name, "toxic removed");
            self.toxics.send_modify(|set| *set = set.without(name));
        }
        present
    }

    /// Removes every toxic.
    pub fn clear(&self) {
        self.toxics.send_replace(ToxicSet::default());
    }

    /// The toxics in force.
    pub fn toxics(&self) -> ToxicSet {
        self.toxics.borrow().clone()
    }

    /// The proxy's counters now.
    pub fn counts(&self) -> ProxyCounts {
        let s = &self.stats;
        ProxyCounts {
            accepted: s.accepted.load(Ordering::Relaxed),
            resets: s.resets.load(Ordering::Relaxed),
            bytes_up: s.bytes_up.load(Ordering::Relaxed),
            bytes_down: s.bytes_down.load(Ordering::Relaxed),
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    upstream: String,
    toxics: watch::Receiver<ToxicSet>,
    stats: Arc<ProxyStats>,
    mut alive: watch::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = alive.changed() => return,
        };
        let client = match accepted {
            Ok((client, _)) => client,
            Err(e) => {
                tracing::warn!(error = %e, "fault proxy: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let serving = link::serve(client, upstream.clone(), toxics.clone(), stats.clone());
        let mut alive = alive.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = serving => {}
                _ = alive.changed() => {}
            }
        });
    }
}
