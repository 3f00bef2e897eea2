//! One proxied connection: the client's socket, the broker's socket, and a
//! flow each way. A flow is a reader, which takes chunks off one socket as
//! they come (stamped with their arrival), and a writer, which applies the
//! toxics in force and puts the chunks on the other socket. Reading ahead
//! keeps latency a delay, not a throughput cap: chunks in flight each wait
//! their own time, in order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::toxic::{Direction, Jitter, ToxicSet};
use super::ProxyStats;

/// Largest chunk read at once.
const CHUNK: usize = 16 * 1024;
/// Chunks read ahead per direction: memory per connection stays under 1 MiB each way.
const READ_AHEAD: usize = 64;
/// How long the broker is given to accept the proxy's connection.
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

struct Chunk {
    bytes: Vec<u8>,
    arrived: Instant,
}

/// What the two flows of one connection share.
struct LinkState {
    /// Bytes passed both ways, for [`super::Toxic::Reset`].
    bytes: AtomicU64,
    /// Set once the connection must be reset; both flows end at once.
    reset: watch::Sender<bool>,
    stats: Arc<ProxyStats>,
}

impl LinkState {
    fn reset_now(&self) {
        if !self.reset.send_replace(true) {
            self.stats.resets.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Resets the connection if the reset toxic says its bytes are up.
    fn check_reset(&self, toxics: &ToxicSet) -> bool {
        match toxics.reset_after() {
            Some(after) if self.bytes.load(Ordering::Relaxed) >= after => {
                self.reset_now();
                true
            }
            _ => *self.reset.borrow(),
        }
    }
}

/// Serves one accepted connection until both sides closed, or a reset.
pub(super) async fn serve(client: TcpStream, upstream: String, mut toxics: watch::Receiver<ToxicSet>, stats: Arc<ProxyStats>) {
    // Accepted, never answered: nothing is passed on while the black hole holds.
    if !wait_out_black_hole(&mut toxics, None).await {
        return;
    }
    if toxics.borrow().reset_after() == Some(0) {
        stats.resets.fetch_add(1, Ordering::Relaxed);
        let _ = client.set_zero_linger();
        return;
    }
    let server = match tokio::time::timeout(CONNECT_DEADLINE, TcpStream::connect(&upstream)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return tracing::debug!(%upstream, error = %e, "proxy: upstream refused the connection; closing the client's"),
        Err(_) => return tracing::debug!(%upstream, "proxy: upstream did not accept within {CONNECT_DEADLINE:?}; closing the client's"),
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let link = Arc::new(LinkState { bytes: AtomicU64::new(0), reset: watch::channel(false).0, stats });
    let up = flow(Direction::Upstream, client_read, server_write, toxics.clone(), link.clone());
    let down = flow(Direction::Downstream, server_read, client_write, toxics, link);
    tokio::join!(up, down);
}

/// Waits while the black hole holds. False if the connection was reset meanwhile.
/// Each wait sleeps until the hole lifts, the toxics change or a reset: it
/// never spins (a connection accepted into the hole once polled a closed
/// channel in a loop, a core's worth of CPU per held connection).
pub(super) async fn wait_out_black_hole(toxics: &mut watch::Receiver<ToxicSet>, reset: Option<&mut watch::Receiver<bool>>) -> bool {
    // No reset to watch: a channel whose sender lives as long as the wait, so it never fires.
    let (_never_sent, mut never) = watch::channel(false);
    let reset = reset.unwrap_or(&mut never);
    loop {
        if *reset.borrow() {
            return false;
        }
        let until = match toxics.borrow().black_hole() {
            None => return true,
            Some(until) => until,
        };
        let lifts = async {
            match until {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = lifts => {}
            changed = toxics.changed() => if changed.is_err() { return false },
            _ = reset.changed() => {}
        }
    }
}

/// One direction: the reader and the writer, run together.
async fn flow(direction: Direction, src: OwnedReadHalf, dst: OwnedWriteHalf, toxics: watch::Receiver<ToxicSet>, link: Arc<LinkState>) {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    let reader = read_side(direction, src, tx, toxics.clone(), link.clone());
    let writer = write_side(direction, rx, dst, toxics, link);
    tokio::join!(reader, writer);
}

async fn read_side(direction: Direction, mut src: OwnedReadHalf, tx: mpsc::Sender<Chunk>, mut toxics: watch::Receiver<ToxicSet>, link: Arc<LinkState>) {
    let mut reset = link.reset.subscribe();
    loop {
        if link.check_reset(&toxics.borrow()) || !wait_out_black_hole(&mut toxics, Some(&mut reset)).await {
            break;
        }
        let mut buf = vec![0u8; CHUNK];
        tokio::select! {
            read = src.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    buf.truncate(n);
                    link.bytes.fetch_add(n as u64, Ordering::Relaxed);
                    count(&link.stats, direction, n);
                    if link.check_reset(&toxics.borrow()) || tx.send(Chunk { bytes: buf, arrived: Instant::now() }).await.is_err() {
                        break;
                    }
                }
            },
            changed = toxics.changed() => if changed.is_err() { break },
            _ = reset.changed() => {}
        }
    }
    if direction == Direction::Upstream && *link.reset.borrow() {
        let _ = src.as_ref().set_zero_linger();
    }
}

fn count(stats: &ProxyStats, direction: Direction, n: usize) {
    let counter = if direction == Direction::Upstream { &stats.bytes_up } else { &stats.bytes_down };
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

/// When the writer may put its next bytes on the wire.
struct Pace {
    jitter: Jitter,
    /// Chunks keep their order: none is delivered before the one ahead of it.
    last_delivery: Instant,
    /// The bandwidth budget: the earliest time the next byte may go.
    next_free: Instant,
}

async fn write_side(direction: Direction, mut rx: mpsc::Receiver<Chunk>, mut dst: OwnedWriteHalf, mut toxics: watch::Receiver<ToxicSet>, link: Arc<LinkState>) {
    let mut reset = link.reset.subscribe();
    let mut pace = Pace { jitter: Jitter::seeded(), last_delivery: Instant::now(), next_free: Instant::now() };
    let ended_by_peer = loop {
        let chunk = tokio::select! {
            chunk = rx.recv() => chunk,
            _ = reset.changed() => break false,
        };
        let Some(chunk) = chunk else { break true };
        if !wait_out_black_hole(&mut toxics, Some(&mut reset)).await {
            break false;
        }
        let delivered = tokio::select! {
            r = deliver(direction, &chunk, &mut dst, &toxics, &mut pace) => r.is_ok(),
            _ = reset.changed() => false,
        };
        if !delivered {
            break false;
        }
    };
    if *link.reset.borrow() {
        if direction == Direction::Downstream {
            // A reset, not a close: no FIN first (a write half sends one when dropped).
            let _ = dst.as_ref().set_zero_linger();
            dst.forget();
        }
        return;
    }
    if ended_by_peer {
        let slow_close = toxics.borrow().slow_close();
        if let Some(delay) = slow_close {
            tokio::time::sleep(delay).await;
        }
        let _ = dst.shutdown().await;
    }
}

/// Puts one chunk on the wire as the toxics in force say: latency, then
/// bandwidth and slicing, piece by piece.
async fn deliver(direction: Direction, chunk: &Chunk, dst: &mut OwnedWriteHalf, toxics: &watch::Receiver<ToxicSet>, pace: &mut Pace) -> std::io::Result<()> {
    let set = toxics.borrow().clone();
    if let Some((latency, jitter)) = set.latency(direction) {
        let at = (chunk.arrived + pace.jitter.around(latency, jitter)).max(pace.last_delivery);
        pace.last_delivery = at;
        tokio::time::sleep_until(at).await;
    }
    let rate = set.bandwidth(direction);
    let slice = set.slicer(direction);
    // Pieces small enough that a bandwidth cap is smooth (a twentieth of a second each).
    let piece = match (rate, slice) {
        (_, Some((size, _))) => size,
        (Some(rate), None) => ((rate / 20) as usize).clamp(256, CHUNK),
        (None, None) => CHUNK,
    };
    for (i, bytes) in chunk.bytes.chunks(piece).enumerate() {
        if let (Some((_, delay)), true) = (slice, i > 0) {
            tokio::time::sleep(delay).await;
        }
        if let Some(rate) = rate {
            let start = pace.next_free.max(Instant::now());
            tokio::time::sleep_until(start).await;
            pace.next_free = start + Duration::from_secs_f64(bytes.len() as f64 / rate as f64);
        }
        dst.write_all(bytes).await?;
    }
    Ok(())
}
