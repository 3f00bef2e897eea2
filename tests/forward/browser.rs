//! The browser view in a real headless Chromium: the page connects to the
//! forwarder, decodes every frame itself (format byte, zstd, protobuf), and
//! its counters (`window.dashstream.stats`) must match what was produced. A
//! screenshot of each run goes to the report folder.

use std::path::PathBuf;
use std::time::Duration;

use dashstream::forward::queue::Limits;
use serde_json::Value;

use crate::cdp::{Browser, Page};
use dashstream::conformance::live::WsClient;
use crate::support::Rig;

const STATS: &str = "window.dashstream && window.dashstream.stats";

fn report_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("dashstream-report")
}

/// Opens the page, produces `count` messages with the given clock offset, and
/// returns the page's counters once it has received them all.
async fn run(test: &str, count: u64, clock_offset_ms: i64) -> anyhow::Result<Value> {
    let rig = Rig::start(test, |_| {}).await?;
    let (mut browser, page) = open_page(&rig).await?;
    let sent = rig.produce(count, clock_offset_ms).await?;
    anyhow::ensure!(sent.acked == count, "only {} of {count} messages acknowledged", sent.acked);
    let stats = browser.wait_for(&page, STATS, Duration::from_secs(60), |v| v["received"].as_u64() >= Some(count)).await?;
    // Let the page render the final counts before the picture is taken.
    browser.wait_for(&page, "document.body.innerText", Duration::from_secs(10), |v| v.as_str().is_some_and(|t| t.contains(&count.to_string()))).await?;
    std::fs::create_dir_all(report_dir())?;
    let png = browser.screenshot(&page).await?;
    std::fs::write(report_dir().join(format!("{test}.png")), png)?;
    rig.forwarder.shutdown().await;
    Ok(stats)
}

/// Chromium with the forwarder's page open and connected.
async fn open_page(rig: &Rig) -> anyhow::Result<(Browser, Page)> {
    let mut browser = Browser::launch().await?;
    let page = browser.open(&format!("http://{}/", rig.forwarder.local_addr())).await?;
    browser.wait_for(&page, STATS, Duration::from_secs(30), |v| v.is_object()).await?;
    browser.wait_for(&page, "window.dashstream.stats.connected", Duration::from_secs(30), |v| v == &Value::Bool(true)).await?;
    Ok((browser, page))
}

fn counter(stats: &Value, name: &str) -> u64 {
    stats[name].as_u64().unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_counts_every_message_and_no_negative_latency() -> anyhow::Result<()> {
    let stats = run("browser-view", 1000, 0).await?;
    for (name, want) in [("received", 1000), ("decoded", 1000), ("undecodable", 0), ("lost", 0), ("duplicates", 0), ("negativeLatency", 0), ("skewed", 0)] {
        assert_eq!(counter(&stats, name), want, "{name} in {stats}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_clock_5s_ahead_is_skew_in_the_page_never_a_negative_latency() -> anyhow::Result<()> {
    let stats = run("browser-view-skew", 1000, 5000).await?;
    for (name, want) in [("received", 1000), ("decoded", 1000), ("lost", 0), ("negativeLatency", 0), ("skewed", 1000)] {
        assert_eq!(counter(&stats, name), want, "{name} in {stats}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_reconnects_resumes_and_counts_what_it_missed_apart_from_loss() -> anyhow::Result<()> {
    // One client at a time and a replay buffer of 10: while another client
    // holds the only place, the page is refused, and of the 50 records sent
    // meanwhile it can get the last 10 back; the 40 others must be announced.
    let rig = Rig::start("browser-reconnect", |s| {
        s.replay = Limits { items: 10, bytes: 1 << 20 };
        s.max_clients = 1;
    })
    .await?;
    let (mut browser, page) = open_page(&rig).await?;
    rig.produce(100, 0).await?;
    browser.wait_for(&page, STATS, Duration::from_secs(30), |v| v["received"].as_u64() >= Some(100)).await?;
    browser.eval(&page, "window.dashstream.disconnect()").await?;
    browser.wait_for(&page, "window.dashstream.stats.connected", Duration::from_secs(10), |v| v == &Value::Bool(false)).await?;
    // The page waits 0.5 s before it reconnects: time for this client to take the place.
    let holder = WsClient::connect(&rig.ws_url(""), false).await.map_err(|e| anyhow::anyhow!("the page came back before the other client took its place: {e}"))?;
    rig.produce(50, 0).await?;
    holder.wait_until(Duration::from_secs(30), "the 50 records", |r| r.frames.len() == 50).await?;
    holder.disconnect().await;
    let done = |v: &Value| v["received"].as_u64().unwrap_or(0) + v["missedByForwarder"].as_u64().unwrap_or(0) >= 150;
    let stats = browser.wait_for(&page, STATS, Duration::from_secs(30), done).await?;
    assert_eq!((counter(&stats, "received"), counter(&stats, "missedByForwarder")), (110, 40), "{stats}");
    assert_eq!((counter(&stats, "lost"), counter(&stats, "duplicates")), (0, 0), "{stats}");
    rig.forwarder.shutdown().await;
    Ok(())
}
