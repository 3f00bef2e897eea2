//! The proxy against a local echo server: bytes pass unchanged, and each
//! toxic has its effect, seen by a client (never from the proxy's counters).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// An echo server that closes its side once the client closed its own.
async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

async fn proxied() -> (FaultProxy, TcpStream) {
    let proxy = FaultProxy::start(echo_server().await).unwrap();
    let client = TcpStream::connect(proxy.address()).await.unwrap();
    (proxy, client)
}

/// Sends `payload` and reads as many bytes back; the time and the number of reads it took.
async fn round_trip(client: &mut TcpStream, payload: &[u8]) -> std::io::Result<(Duration, usize)> {
    let start = Instant::now();
    client.write_all(payload).await?;
    let mut back = vec![0u8; payload.len()];
    let (mut got, mut reads) = (0, 0);
    while got < payload.len() {
        let n = client.read(&mut back[got..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
        reads += 1;
    }
    assert_eq!(back, payload, "the bytes came back unchanged");
    Ok((start.elapsed(), reads))
}

#[tokio::test]
async fn bytes_pass_unchanged_both_ways() {
    let (proxy, mut client) = proxied().await;
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    round_trip(&mut client, &payload).await.unwrap();
    let counts = proxy.counts();
    assert_eq!((counts.accepted, counts.bytes_up, counts.bytes_down), (1, 200_000, 200_000));
}

#[tokio::test]
async fn latency_delays_each_way() {
    let (proxy, mut client) = proxied().await;
    let (plain, _) = round_trip(&mut client, b"ping").await.unwrap();
    proxy.add(Toxic::Latency { direction: Direction::Both, latency: Duration::from_millis(100), jitter: Duration::from_millis(20) });
    let (slow, _) = round_trip(&mut client, b"ping").await.unwrap();
    assert!(slow >= Duration::from_millis(160), "two ways of at least 80 ms each: {slow:?} (without: {plain:?})");
    assert!(proxy.remove("latency"));
    let (fast, _) = round_trip(&mut client, b"ping").await.unwrap();
    assert!(fast < Duration::from_millis(80), "removed at run time: {fast:?}");
}

#[tokio::test]
async fn bandwidth_caps_throughput() {
    let (proxy, mut client) = proxied().await;
    proxy.add(Toxic::Bandwidth { direction: Direction::Downstream, bytes_per_sec: 64 * 1024 });
    let (took, _) = round_trip(&mut client, &[7u8; 32 * 1024]).await.unwrap();
    assert!(took >= Duration::from_millis(400), "32 KiB at 64 KiB/s takes about half a second: {took:?}");
}

#[tokio::test]
async fn a_black_hole_answers_nothing_and_holds_the_bytes_until_it_lifts() {
    let (proxy, mut client) = proxied().await;
    proxy.add(Toxic::BlackHole { lasts: None });
    client.write_all(b"held").await.unwrap();
    let mut buf = [0u8; 4];
    let silent = tokio::time::timeout(Duration::from_millis(300), client.read_exact(&mut buf)).await;
    assert!(silent.is_err(), "no answer while the black hole holds");
    let newcomer = TcpStream::connect(proxy.address()).await;
    assert!(newcomer.is_ok(), "new connections are accepted");
    proxy.remove("black-hole");
    tokio::time::timeout(Duration::from_secs(2), client.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf, b"held", "nothing was dropped");
}

#[tokio::test]
async fn a_timed_black_hole_lifts_by_itself() {
    let (proxy, mut client) = proxied().await;
    proxy.add(Toxic::BlackHole { lasts: Some(Duration::from_millis(300)) });
    let (took, _) = round_trip(&mut client, b"wait").await.unwrap();
    assert!(took >= Duration::from_millis(250), "{took:?}");
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::UnexpectedEof)
}

#[tokio::test]
async fn a_reset_after_some_bytes_cuts_every_connection() {
    let (proxy, mut client) = proxied().await;
    proxy.add(Toxic::Reset { after_bytes: 1000 });
    let mut outcome = Ok((Duration::ZERO, 0));
    for _ in 0..20 {
        outcome = round_trip(&mut client, &[1u8; 100]).await;
        if outcome.is_err() {
            break;
        }
    }
    let e = outcome.expect_err("reset after 1000 bytes both ways");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "a reset, not a clean close: {e}");
    let mut fresh = TcpStream::connect(proxy.address()).await.unwrap();
    assert!(round_trip(&mut fresh, &[1u8; 100]).await.is_ok(), "a new connection gets its own 1000 bytes");
}

#[tokio::test]
async fn a_reset_at_once_cuts_idle_connections_and_refuses_new_ones() {
    let (proxy, mut client) = proxied().await;
    round_trip(&mut client, b"hello").await.unwrap();
    proxy.add(Toxic::Reset { after_bytes: 0 });
    let mut buf = [0u8; 1];
    let idle = tokio::time::timeout(Duration::from_secs(2), client.read(&mut buf)).await.expect("the idle connection is cut at once");
    assert!(idle.as_ref().map(|n| *n == 0).unwrap_or_else(is_reset), "{idle:?}");
    // The reset can beat the client's own view of the handshake: then the
    // connect itself reports it (seen in about half the runs of the whole
    // unit suite on 2 cores).
    let e = match TcpStream::connect(proxy.address()).await {
        Ok(mut fresh) => round_trip(&mut fresh, b"x").await.expect_err("a new connection is reset"),
        Err(e) => e,
    };
    assert!(is_reset(&e), "{e}");
}

#[tokio::test]
async fn a_slicer_delivers_a_write_in_pieces() {
    let (proxy, mut client) = proxied().await;
    let (_, whole) = round_trip(&mut client, &[3u8; 1000]).await.unwrap();
    proxy.add(Toxic::Slicer { direction: Direction::Downstream, size: 100, delay: Duration::from_millis(5) });
    let (took, pieces) = round_trip(&mut client, &[3u8; 1000]).await.unwrap();
    assert!(pieces >= 5 && took >= Duration::from_millis(45), "{pieces} reads in {took:?} (without: {whole} read)");
}

#[tokio::test]
async fn a_slow_close_holds_back_the_close() {
    let (proxy, mut client) = proxied().await;
    proxy.add(Toxic::SlowClose { delay: Duration::from_millis(300) });
    let start = Instant::now();
    client.shutdown().await.unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(client.read(&mut buf).await.unwrap(), 0, "the server's close arrives");
    assert!(start.elapsed() >= Duration::from_millis(280), "{:?}", start.elapsed());
}

#[tokio::test]
async fn an_unreachable_upstream_closes_the_client() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proxy = FaultProxy::start(format!("127.0.0.1:{port}")).unwrap();
    let mut client = TcpStream::connect(proxy.address()).await.unwrap();
    let mut buf = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf)).await.expect("closed within the deadline");
    assert!(closed.as_ref().map(|n| *n == 0).unwrap_or_else(is_reset), "{closed:?}");
}

/// Counts how often the wrapped future is polled: a wait that spins is polled
/// thousands of times, one that sleeps a handful.
struct PollCounter<F> {
    inner: std::pin::Pin<Box<F>>,
    polls: usize,
}

impl<F: std::future::Future> std::future::Future for PollCounter<F> {
    type Output = (F::Output, usize);
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        self.polls += 1;
        let polls = self.polls;
        self.inner.as_mut().poll(cx).map(|out| (out, polls))
    }
}

#[tokio::test]
async fn a_connection_held_in_the_black_hole_sleeps_instead_of_spinning() {
    let (_toxics, mut rx) = watch::channel(ToxicSet::default().with(Toxic::BlackHole { lasts: Some(Duration::from_millis(300)) }));
    let wait = PollCounter { inner: Box::pin(async move { link::wait_out_black_hole(&mut rx, None).await }), polls: 0 };
    let (lifted, polls) = wait.await;
    assert!(lifted, "the hole lifted by itself, no reset");
    assert!(polls <= 5, "the wait was polled {polls} times in 300 ms: it spins");
}
