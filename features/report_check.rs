//! The run's HTML report, opened in a real headless Chromium (Debian's, as
//! `ci/chromium` installs it): the headline says what the run did, the verdict
//! matrix has a row per original bug, and every chart the run's evidence calls
//! for is rendered with a size; a screenshot goes next to the report.

use std::path::Path;
use std::time::Duration;

use dashstream::conformance::evidence::ScenarioRecord;

use crate::cdp::Browser;

/// What the page must show, computed from the run's records (not from the page).
pub struct Expected {
    pub pass: bool,
    pub timelines: usize,
    pub latency_charts: usize,
    pub compression_chart: bool,
}

impl Expected {
    pub fn from_run(pass: bool, records: &[ScenarioRecord]) -> Self {
        Self {
            pass,
            timelines: records.iter().filter(|r| r.evidence.timeline.as_ref().is_some_and(|t| !t.seconds.is_empty())).count(),
            latency_charts: records.iter().filter(|r| r.evidence.latency_ms.is_some() && !r.evidence.latency_buckets.is_empty()).count(),
            compression_chart: records.iter().any(|r| r.feature_file == "compression.feature" && r.evidence.compression_ratio.is_some()),
        }
    }
}

const PROBE: &str = r#"(() => {
  const all = s => [...document.querySelectorAll(s)];
  const drawn = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  return {
    ready: document.readyState,
    url: location.href,
    headline: (document.getElementById('headline') || {}).textContent || '',
    bugRows: all('#verdict-matrix tr[id^="bug-"]').filter(drawn).length,
    timelines: all('svg[id^="chart-timeline-"]').filter(drawn).length,
    latency: all('svg[id^="chart-latency-"]').filter(drawn).length,
    compression: all('svg#chart-compression').filter(drawn).length,
    history: all('#history tr').length,
  };
})()"#;

/// Opens `report` and compares the page with `expected`; the screenshot goes to `png`.
pub async fn check(report: &Path, png: &Path, expected: &Expected) -> anyhow::Result<String> {
    let mut browser = Browser::launch().await?;
    let page = browser.open(&format!("file://{}", report.canonicalize()?.display())).await?;
    let seen = browser.wait_for(&page, PROBE, Duration::from_secs(20), |v| {
        // A new tab is about:blank, complete at once, before the report starts loading.
        v["ready"] == "complete" && v["url"].as_str().is_some_and(|u| u.starts_with("file:"))
    }).await?;
    std::fs::write(png, browser.screenshot(&page).await?)?;
    let count = |k: &str| seen[k].as_u64().unwrap_or(0) as usize;
    let headline = seen["headline"].as_str().unwrap_or_default();
    let mut wrong = Vec::new();
    if headline.starts_with("PASS") != expected.pass {
        wrong.push(format!("headline {headline:?} but the run {}", if expected.pass { "passed" } else { "failed" }));
    }
    for (what, seen, planned) in [
        ("verdict matrix rows", count("bugRows"), 5),
        ("fault timelines", count("timelines"), expected.timelines),
        ("latency histograms", count("latency"), expected.latency_charts),
        ("compression charts", count("compression"), usize::from(expected.compression_chart)),
    ] {
        if seen != planned {
            wrong.push(format!("{what}: {seen} drawn, {planned} expected"));
        }
    }
    if count("history") < 2 {
        wrong.push("no history row".into());
    }
    anyhow::ensure!(wrong.is_empty(), "the report in Chromium: {}", wrong.join("; "));
    Ok(format!("{} bug rows, {} timelines, {} latency histograms drawn; screenshot {}", count("bugRows"), count("timelines"), count("latency"), png.display()))
}
