//! Steps that run the shipped `dashstream aggregate` and `dashstream produce`
//! as processes against the scenario's broker (the binary is the suite's
//! `SuiteEnv::cli`), and judge the aggregator by its output and its log.

use std::process::Stdio;
use std::time::Duration;

use cucumber::{given, then, when};

use super::ensure;
use crate::conformance::world::{AggregatorRun, DashWorld};

/// `produce` makes every 10th message a quality report.
const REPORT_EVERY: u64 = 10;

#[given("a fresh quality topic")]
async fn fresh_quality_topic(w: &mut DashWorld) -> anyhow::Result<()> {
    w.topic = format!("quality-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let broker = w.broker();
    broker.create_topic(&w.topic, 3).await?;
    broker.create_topic(&format!("{}.dlq", w.topic), 1).await?;
    Ok(())
}

/// `dashstream <args>` against the scenario's broker (its settings as `-X`).
fn command(w: &DashWorld, args: &[&str]) -> anyhow::Result<tokio::process::Command> {
    let cli = w.env().cli.clone().ok_or_else(|| anyhow::anyhow!("this suite was started without a dashstream binary to run (SuiteEnv::cli)"))?;
    let mut c = tokio::process::Command::new(cli);
    c.args(args).args(["--topic", &w.topic, "--bootstrap", &w.broker().bootstrap_servers(), "--metrics-addr", "off"]);
    for (k, v) in w.broker().client_config().config_map().iter().filter(|(k, _)| **k != "bootstrap.servers") {
        c.arg("-X").arg(format!("{k}={v}"));
    }
    c.env_remove("RUST_LOG").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    Ok(c)
}

/// The aggregator runs until it has read every message the producer sends, or
/// `deadline_secs` at most; it starts before the producer and reads from the
/// beginning, so a late group join loses nothing and costs only time.
#[when(expr = "the quality aggregator reads while the producer sends {int} messages of {int} bytes at {int} per second, for {int} seconds at most")]
async fn aggregator_under_traffic(w: &mut DashWorld, count: u64, size: usize, rate: u64, deadline_secs: u64) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let aggregate = ["aggregate", "--from-beginning", "--max-records", &count.to_string(), "--duration", &format!("{deadline_secs}s")];
    let aggregator = command(w, &aggregate)?.spawn()?;
    let producer = command(w, &["produce", "--count", &count.to_string(), "--size", &size.to_string(), "--rate", &rate.to_string(), "--compress", "auto"])?.output();
    let deadline = Duration::from_secs(deadline_secs + 30);
    let produced = tokio::time::timeout(deadline, producer).await??;
    anyhow::ensure!(produced.status.success(), "dashstream produce failed: {}", String::from_utf8_lossy(&produced.stderr));
    let acked = serde_json::from_slice::<serde_json::Value>(&produced.stdout)?["acked"].as_u64().unwrap_or(0);
    let out = tokio::time::timeout(deadline, aggregator.wait_with_output()).await??;
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    anyhow::ensure!(out.status.success(), "dashstream aggregate failed: {log}");
    let aggregates: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let reports = aggregates["threads"].as_object().map_or(0, |t| t.values().filter_map(|s| s["reports"].as_u64()).sum());
    w.notes.push(format!(
        "{reports} quality reports aggregated by dashstream aggregate in {:.1} s, while dashstream produce sent {count} messages at {rate}/s ({acked} acknowledged)",
        started.elapsed().as_secs_f64()
    ));
    w.planned_quality_reports = count / REPORT_EVERY;
    w.aggregator = Some(AggregatorRun { reports, acked, log });
    Ok(())
}

fn run(w: &DashWorld) -> &AggregatorRun {
    w.aggregator.as_ref().expect("a step running the aggregator comes first")
}

#[then("the aggregator counted every quality report the producer sent")]
fn counted_every_report(w: &mut DashWorld) -> anyhow::Result<()> {
    let (r, planned) = (run(w), w.planned_quality_reports);
    ensure(r.acked == planned * REPORT_EVERY, || format!("the producer had {} of {} messages acknowledged", r.acked, planned * REPORT_EVERY))?;
    ensure(r.reports == planned, || format!("the aggregator counted {} quality reports, {planned} were sent", r.reports))
}

#[then(expr = "the aggregator logged fewer than {int} warnings")]
fn fewer_warnings(w: &mut DashWorld, bar: usize) -> anyhow::Result<()> {
    let warnings: Vec<String> = run(w).log.lines().filter(|l| l.contains(" WARN ") || l.contains("ERROR")).map(str::to_owned).collect();
    w.notes.push(format!("aggregator warnings: {} (bar: fewer than {bar})", warnings.len()));
    ensure(warnings.len() < bar, || format!("{} warnings, the first: {}", warnings.len(), warnings.iter().take(3).cloned().collect::<Vec<_>>().join(" | ")))
}

#[then("the aggregator logged how many messages it decompressed")]
fn decompression_summary(w: &mut DashWorld) -> anyhow::Result<()> {
    let lines: Vec<String> = run(w).log.lines().filter(|l| l.contains("decompressed ") && l.contains(" bytes to ")).map(str::to_owned).collect();
    w.notes.extend(lines.iter().map(|l| format!("aggregator log: {}", l.split("decompressed ").nth(1).map_or(l.as_str(), |rest| rest))));
    ensure(!lines.is_empty(), || "no \"decompressed N messages: X bytes to Y bytes\" line in the aggregator's log".into())
}
