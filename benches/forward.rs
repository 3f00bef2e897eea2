//! Measurement command for the forwarder (not a timed test):
//! `cargo bench --bench forward` runs `dashstream forward` as its own process
//! on a real broker (a Kafka container, or `DASHSTREAM_TEST_BROKER` /
//! `DASHSTREAM_TEST_BOOTSTRAP`), connects 10 WebSocket clients, produces
//! 10,000 messages/s of 600 bytes for 10 s, and prints what the forwarder
//! added (record received from Kafka to WebSocket frame written, p50/p99, from
//! its own final summary line), end-to-end latency, what each client got, and
//! the forwarder process's peak resident memory (VmHWM).
//!
//! Knobs: `FORWARD_BENCH_RATE` (10000), `FORWARD_BENCH_SECONDS` (10),
//! `FORWARD_BENCH_CLIENTS` (10), `FORWARD_BENCH_SIZE` (600),
//! `FORWARD_BENCH_CLOCK_OFFSET_MS` (0: the producer's clock shift) and
//! `FORWARD_BENCH_LOG_EACH=1` (the forwarder logs every message; the run then
//! also reports the directive's check, `grep "E2E latency: -" | wc -l`).
#![allow(clippy::print_stdout)]

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dashstream::broker::{BrokerArgs, BrokerKind};
use dashstream::conformance::pipeline::{Pipeline, ProducePlan};
use dashstream::conformance::reference::Reference;
use dashstream::pipeline::metrics::Metrics;
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Counts what one client receives: frames, and records announced missed.
async fn count_client(url: String, frames: Arc<AtomicU64>, missed: Arc<AtomicU64>) -> anyhow::Result<()> {
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    let (_w, mut read) = ws.split();
    while let Some(msg) = read.next().await {
        match msg? {
            Message::Binary(_) => {
                frames.fetch_add(1, Ordering::Relaxed);
            }
            Message::Text(t) if t.as_str().contains("\"type\":\"gap\"") => {
                let v: serde_json::Value = serde_json::from_str(t.as_str())?;
                missed.fetch_add(v["missed"].as_u64().unwrap_or(0), Ordering::Relaxed);
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(())
}

fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).context("VmHWM value")?.parse()?)
}

/// Waits until the forwarder answers `/stats`.
async fn wait_until_serving(addr: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if Instant::now() > deadline {
            bail!("the forwarder did not listen on {addr} within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Waits until the forwarder's `/stats` counts `n` clients.
async fn wait_for_clients(addr: &str, n: u64) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"GET /stats HTTP/1.0\r\n\r\n").await?;
        let mut body = String::new();
        s.read_to_string(&mut body).await?;
        let json = body.split("\r\n\r\n").nth(1).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        if v["clients"].as_u64() == Some(n) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {} of {n} clients connected: {json}", v["clients"]);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let (rate, seconds, clients, size) = (knob("FORWARD_BENCH_RATE", 10_000), knob("FORWARD_BENCH_SECONDS", 10), knob("FORWARD_BENCH_CLIENTS", 10), knob("FORWARD_BENCH_SIZE", 600));
    let count = rate * seconds;
    let (clock_offset_ms, log_each) = (knob("FORWARD_BENCH_CLOCK_OFFSET_MS", 0) as i64, knob("FORWARD_BENCH_LOG_EACH", 0) == 1);
    let broker: Arc<dyn dashstream::broker::Broker> = Arc::from(BrokerArgs::from_env(BrokerKind::Container)?.open().await?);
    let topic = format!("forward-bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    broker.create_topic(&topic, 3).await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dashstream"))
        .args(["forward", "--broker", "external", "--bootstrap", &broker.bootstrap_servers(), "--topic", &topic, "--listen", &listen])
        .args(["--summary-every", "1h", "--metrics-addr", "off"])
        .args(if log_each { &["--log-each"][..] } else { &[][..] })
        .env("RUST_LOG", "warn,dashstream::forward=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("forwarder pid")?;
    let stderr = child.stderr.take().context("stderr")?;
    let log = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let (mut last, mut each, mut negative) = (String::new(), 0u64, 0u64);
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("E2E latency: p50") || l.contains("E2E latency: none measured") {
                last = l;
            } else if l.contains("E2E latency:") {
                each += 1;
                negative += u64::from(l.contains("E2E latency: -"));
            }
        }
        (last, each, negative)
    });
    wait_until_serving(&listen).await?;
    let (frames, missed): (Vec<_>, Vec<_>) = (0..clients).map(|_| (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)))).unzip();
    for (f, m) in frames.iter().zip(&missed) {
        tokio::spawn(count_client(format!("ws://{listen}/ws"), f.clone(), m.clone()));
    }
    wait_for_clients(&listen, clients).await?;
    let started = Instant::now();
    let plan = ProducePlan { size: size as usize, rate: rate as f64, clock_offset_ms, ..ProducePlan::new(count) };
    let sent = Reference.produce(broker.clone(), &topic, &plan, Metrics::new()).await?;
    let produce_secs = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(60);
    let accounted = || frames.iter().zip(&missed).map(|(f, m)| f.load(Ordering::Relaxed) + m.load(Ordering::Relaxed)).min().unwrap_or(0);
    while accounted() < sent.acked && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_kib = peak_rss_kib(pid)?;
    // SAFETY: a plain signal to our own child process.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let out = child.wait_with_output().await?;
    let (summary, each, negative) = log.await?;
    let got: Vec<u64> = frames.iter().map(|f| f.load(Ordering::Relaxed)).collect();
    let lost: Vec<u64> = missed.iter().map(|m| m.load(Ordering::Relaxed)).collect();
    println!("forward bench on {} ({}), topic {topic}", broker.kind(), broker.bootstrap_servers());
    println!("produced {} of {count} acknowledged in {produce_secs:.1} s ({:.0} msg/s of {size} B)", sent.acked, sent.acked as f64 / produce_secs);
    println!("clients {clients}: frames received min {} max {}; announced missed total {}", got.iter().min().unwrap_or(&0), got.iter().max().unwrap_or(&0), lost.iter().sum::<u64>());
    println!("forwarder summary: {}", summary.split("E2E latency:").nth(1).map(|s| format!("E2E latency:{s}")).unwrap_or_else(|| "none".into()));
    println!("forwarder totals: {}", String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" "));
    println!("forwarder peak RSS: {:.1} MiB", rss_kib as f64 / 1024.0);
    if log_each {
        println!("per-message lines: {each}; grep \"E2E latency: -\" | wc -l: {negative} (producer clock offset {clock_offset_ms} ms)");
    }
    Ok(())
}
