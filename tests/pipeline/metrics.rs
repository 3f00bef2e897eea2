//! The metrics endpoint, scraped during a run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dashstream::broker::mock::MockBroker;
use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::verify::{verify, VerifyOptions};

use crate::support::{logs, quiet};

fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(series) && l[series.len()..].starts_with(' ')).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_shows_the_counters_during_and_after_a_run() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(1)?;
    let metrics = Metrics::new();
    let (addr, _server) = metrics.serve("127.0.0.1:0".parse()?).await?;
    let opts = VerifyOptions { count: 3000, rate: 1500.0, ..Default::default() };
    let run = {
        let metrics = metrics.clone();
        tokio::spawn(async move { verify(&broker, &opts, &metrics, &quiet).await })
    };
    // During the run: scrape on a 100 ms tick until the sent counter moves (30 s deadline).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut during = 0.0;
    while during == 0.0 && Instant::now() < deadline && !run.is_finished() {
        tick.tick().await;
        let text = tokio::task::spawn_blocking(move || scrape(addr)).await?;
        during = text.lines().filter(|l| l.starts_with("dashstream_messages_sent_total{")).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum();
    }
    assert!(during > 0.0, "scraped while running");
    let r = run.await??;
    assert_eq!(r.verdict, "pass");
    let text = tokio::task::spawn_blocking(move || scrape(addr)).await?;
    assert!(text.starts_with("HTTP/1.1 200 OK"));
    assert_eq!(value(&text, "dashstream_messages_lost_total"), Some(0.0));
    assert_eq!(value(&text, "dashstream_messages_duplicate_total"), Some(0.0));
    assert_eq!(value(&text, "dashstream_e2e_latency_negative_total"), Some(0.0));
    assert_eq!(value(&text, "dashstream_e2e_latency_seconds_count"), Some(3000.0));
    assert_eq!(value(&text, "dashstream_messages_decoded_total{format=\"zstd\"}"), Some(3000.0));
    let raw = value(&text, "dashstream_payload_bytes_total{stage=\"raw\"}").unwrap();
    let wire = value(&text, "dashstream_payload_bytes_total{stage=\"wire\"}").unwrap();
    assert!(wire < raw, "compression happened: {wire} < {raw}");
    assert!(text.contains("dashstream_consumer_lag{"), "lag exported");
    Ok(())
}
