//! `dashstream chaos`: a long fault run for releases, with a schedule of faults
//! reproducible from a seed, progress as it runs, the same reports as `check`,
//! and a non-zero exit on any lost message.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dashstream::broker::select::{self, BrokerChoice};
use dashstream::broker::Broker;
use dashstream::faults::{self, schedule, FaultPlan, RunOptions};

use super::pipeline_cmds::parse_duration;
use crate::steps::evidence::{self, Evidence, ScenarioRecord};

#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// How long traffic runs.
    #[arg(long, default_value = "3m", value_parser = parse_duration)]
    duration: Duration,
    /// Messages per second.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Faults to draw from (comma-separated); default: every fault the broker supports.
    #[arg(long, value_delimiter = ',')]
    faults: Vec<String>,
    /// Seed of the fault schedule: the same seed gives the same schedule. Default: random (printed).
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, default_value = "container", value_parser = ["container", "cluster", "mock", "external"])]
    broker: String,
    #[arg(long)]
    bootstrap: Option<String>,
    /// librdkafka setting for every client, e.g. -X acks=0 (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Message size in protobuf bytes.
    #[arg(long, default_value_t = 300)]
    size: usize,
    /// Where to write the reports.
    #[arg(long, default_value = "target/dashstream-report")]
    report: PathBuf,
    /// Only print the schedule the seed gives, do not run it.
    #[arg(long)]
    dry_run: bool,
}

pub async fn chaos(args: ChaosArgs) -> anyhow::Result<ExitCode> {
    let kind = match args.broker.as_str() {
        "container" => dashstream::broker::BrokerKind::Container,
        "cluster" => dashstream::broker::BrokerKind::Cluster,
        "mock" => dashstream::broker::BrokerKind::Mock,
        _ => dashstream::broker::BrokerKind::External,
    };
    let plans: Vec<FaultPlan> = if args.faults.is_empty() {
        FaultPlan::ALL.into_iter().filter(|p| p.runs_on(kind)).collect()
    } else {
        args.faults.iter().map(|f| f.parse::<FaultPlan>().map_err(anyhow::Error::msg)).collect::<Result<_, _>>()?
    };
    if let Some(bad) = plans.iter().find(|p| !p.runs_on(kind)) {
        anyhow::bail!("fault {bad} cannot run on the {} backend", args.broker);
    }
    let seed = args.seed.unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let plan = schedule::generate(seed, args.duration, &plans);
    let lines: Vec<String> = plan.iter().map(|s| format!("{:6.1}s {} for {:.1}s", s.at.as_secs_f64(), s.fault, s.hold.as_secs_f64())).collect();
    eprintln!("schedule (seed {seed}, {} faults over {:?}):", plan.len(), args.duration);
    for l in &lines {
        eprintln!("  {l}");
    }
    if args.dry_run {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "seed": seed, "schedule": plan }))?);
        return Ok(ExitCode::SUCCESS);
    }
    let choice: BrokerChoice = args.broker.parse().map_err(anyhow::Error::msg)?;
    let settings = dashstream::broker::external::ExternalBroker::parse_settings(args.settings.iter().map(String::as_str))?;
    let broker: Arc<dyn Broker> = Arc::from(select::start(choice, args.bootstrap.as_deref(), settings).await?);
    eprintln!("broker: {}", broker.describe());
    let opts = RunOptions {
        rate: args.rate,
        size: args.size,
        duration: args.duration,
        schedule: plan.clone(),
        drain_timeout: Duration::from_secs(120),
        producer_overrides: Default::default(),
    };
    let verdict = faults::run(broker.clone(), &opts, &|line| eprintln!("{line}")).await?;

    std::fs::create_dir_all(&args.report)?;
    let mut notes = vec![format!("seed {seed}; schedule:")];
    notes.extend(lines.iter().map(|l| format!("  {l}")));
    notes.extend(verdict.faults.iter().map(|f| format!("fault: {f}")));
    notes.push(format!("acknowledged {}, unacknowledged {}, read {} ({} duplicates), producer sessions {}", verdict.acked, verdict.unacked, verdict.received, verdict.duplicates, verdict.producer_sessions));
    notes.push(format!("lag after healing: {:?}", verdict.lag_after_heal));
    notes.extend(verdict.failures.iter().map(|f| format!("problem: {f}")));
    let record = ScenarioRecord {
        backend: args.broker.clone(),
        feature: "chaos".into(),
        scenario: format!("{:?} of traffic at {}/s with {} faults", args.duration, args.rate, plan.len()),
        status: if verdict.verdict == "pass" { "passed" } else { "failed" }.into(),
        error: (verdict.verdict != "pass").then(|| format!("lost {}: {}; {}", verdict.lost, verdict.lost_ranges.join("; "), verdict.failures.join("; "))),
        evidence: Evidence {
            broker: verdict.broker.clone(),
            pipeline: "reference".into(),
            sent: verdict.acked + verdict.unacked,
            acked: verdict.acked,
            received: verdict.received,
            decoded: verdict.received,
            lost: verdict.lost,
            lost_ranges: verdict.lost_ranges.clone(),
            duplicates: verdict.duplicates,
            notes,
            ..Default::default()
        },
    };
    let summary = vec![format!("chaos on {}: verdict {} (seed {seed})", verdict.broker, verdict.verdict)];
    std::fs::write(args.report.join("report-chaos.md"), evidence::markdown(std::slice::from_ref(&record), &summary))?;
    std::fs::write(args.report.join("report-chaos.html"), evidence::html(std::slice::from_ref(&record), &summary))?;
    std::fs::write(args.report.join("chaos-verdict.json"), serde_json::to_string_pretty(&serde_json::json!({ "seed": seed, "schedule": plan, "verdict": verdict }))?)?;
    std::fs::write(args.report.join("junit-chaos.xml"), junit(&verdict, seed))?;
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    Ok(if verdict.verdict == "pass" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn junit(v: &faults::Verdict, seed: u64) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let failed = v.verdict != "pass";
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites><testsuite name=\"chaos seed {seed}\" tests=\"1\" failures=\"{}\">\n<testcase classname=\"chaos\" name=\"no acknowledged message lost\" time=\"{:.1}\">",
        u8::from(failed),
        v.duration_s
    );
    if failed {
        x.push_str(&format!("<failure message=\"{}\"/>", esc(&format!("lost {}: {} {}", v.lost, v.lost_ranges.join("; "), v.failures.join("; ")))));
    }
    x.push_str("</testcase>\n</testsuite></testsuites>\n");
    x
}
