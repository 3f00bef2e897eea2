//! The browser view in a real headless Chromium: the page connects to the
//! forwarder, decodes every frame itself (format byte, zstd, protobuf), and
//! its counters (`window.dashstream.stats`) must match what was produced. A
//! screenshot of each run goes to the report folder.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::cdp::Browser;
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
    let mut browser = Browser::launch().await?;
    let page = browser.open(&format!("http://{}/", rig.forwarder.local_addr())).await?;
    browser.wait_for(&page, STATS, Duration::from_secs(30), |v| v.is_object()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while rig.forwarder.clients_connected() == 0 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the page never connected to the forwarder");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
