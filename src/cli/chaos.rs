//! `dashstream chaos`: a long fault run for releases, with a schedule of faults
//! reproducible from a seed, progress as it runs, the same reports as `check`,
//! and a non-zero exit on any lost message.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dashstream::broker::{factory, Broker, BrokerKind, ConnectionArgs};
use dashstream::conformance::evidence::{Evidence, ScenarioRecord};
use dashstream::conformance::report::{self, ReportInput};
use dashstream::faults::inject::Direct;
use dashstream::faults::{self, schedule, Fault, RunOptions, Scheduled, Verdict};

#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// How long traffic runs (e.g. 90s, 3m).
    #[arg(long, default_value = "3m", value_parser = factory::parse_duration)]
    duration: Duration,
    /// Messages per second.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Faults to draw from (comma-separated); default: every fault the broker supports.
    #[arg(long, value_enum, value_delimiter = ',')]
    faults: Vec<Fault>,
    /// Seed of the fault schedule: the same seed gives the same schedule. Default: random (printed).
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, value_enum, default_value_t = BrokerKind::Container)]
    broker: BrokerKind,
    #[command(flatten)]
    connection: ConnectionArgs,
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

/// What `chaos --dry-run` prints: the schedule the seed gives.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ChaosPlan {
    pub seed: u64,
    pub schedule: Vec<Scheduled>,
}

/// What `chaos` prints on stdout: the verdict of the run, or with `--dry-run` the plan.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
pub enum ChaosOutput {
    Verdict(Box<Verdict>),
    Plan(ChaosPlan),
}

pub async fn chaos(args: ChaosArgs) -> anyhow::Result<ExitCode> {
    let kind = factory::resolve(args.broker, &args.connection);
    let faults: Vec<Fault> = if args.faults.is_empty() { Fault::all().iter().copied().filter(|f| f.runs_on(kind)).collect() } else { args.faults.clone() };
    if let Some(bad) = faults.iter().find(|f| !f.runs_on(kind)) {
        return Err(super::UsageError(format!("fault {bad} cannot run on the {kind} backend")).into());
    }
    let seed = args.seed.unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let plan = schedule::generate(seed, args.duration, &faults);
    let lines: Vec<String> = plan.iter().map(|s| format!("{:6.1}s {} for {:.1}s", s.at.as_secs_f64(), s.fault, s.hold.as_secs_f64())).collect();
    eprintln!("schedule (seed {seed}, {} faults over {:?}):", plan.len(), args.duration);
    for l in &lines {
        eprintln!("  {l}");
    }
    if args.dry_run {
        super::output::print_json(&ChaosPlan { seed, schedule: plan })?;
        return Ok(ExitCode::SUCCESS);
    }
    let broker: Arc<dyn Broker> = Arc::from(factory::open(kind, &args.connection).await?);
    eprintln!("broker: {}", broker.describe());
    let opts = RunOptions {
        rate: args.rate,
        size: args.size,
        duration: args.duration,
        schedule: plan.clone(),
        drain_timeout: Duration::from_secs(120),
        producer_overrides: Default::default(),
        injector: Arc::new(Direct),
    };
    let verdict = faults::run(broker.clone(), &opts, &|line| eprintln!("{line}")).await?;
    write_reports(&args, kind, seed, &plan, &lines, &verdict)?;
    super::output::print_json(&verdict)?;
    Ok(if verdict.verdict == "pass" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn write_reports(args: &ChaosArgs, kind: BrokerKind, seed: u64, plan: &[Scheduled], lines: &[String], verdict: &Verdict) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.report)?;
    let record = scenario_record(args, kind, seed, plan, lines, verdict);
    let summary = vec![format!("chaos on {}: verdict {} (seed {seed})", verdict.broker, verdict.verdict)];
    let input = ReportInput { label: "chaos", records: std::slice::from_ref(&record), summary: &summary, replicas: None, history: &[], original_bugs: false };
    report::write(&args.report, &input)?;
    let json = serde_json::json!({ "seed": seed, "schedule": plan, "verdict": verdict });
    std::fs::write(args.report.join("chaos-verdict.json"), serde_json::to_string_pretty(&json)?)?;
    write_junit(&args.report.join("junit-chaos.xml"), verdict, seed)
}

fn scenario_record(args: &ChaosArgs, kind: BrokerKind, seed: u64, plan: &[Scheduled], lines: &[String], v: &Verdict) -> ScenarioRecord {
    let mut notes = vec![format!("seed {seed}; schedule:")];
    notes.extend(lines.iter().map(|l| format!("  {l}")));
    notes.extend(v.faults.iter().map(|f| format!("fault: {f}")));
    notes.push(format!(
        "acknowledged {}, unacknowledged {}, read {} ({} duplicates), producer sessions {}",
        v.acked, v.unacked, v.received, v.duplicates, v.producer_sessions
    ));
    notes.push(format!("lag after healing: {:?}", v.lag_after_heal));
    if v.consumer_stall_restarts > 0 {
        notes.push(format!("consumer client rebuilt after a stall: {} time(s)", v.consumer_stall_restarts));
    }
    notes.extend(v.failures.iter().map(|f| format!("problem: {f}")));
    ScenarioRecord {
        backend: kind.to_string(),
        feature: "chaos".into(),
        feature_file: String::new(),
        line: 0,
        steps: Vec::new(),
        scenario: format!("{:?} of traffic at {}/s with {} faults", args.duration, args.rate, plan.len()),
        status: if v.verdict == "pass" { "passed" } else { "failed" }.into(),
        error: (v.verdict != "pass").then(|| failure_message(v)),
        seconds: v.duration_s,
        serial: false,
        evidence: Evidence {
            broker: v.broker.clone(),
            pipeline: "reference".into(),
            sent: v.acked + v.unacked,
            acked: v.acked,
            received: v.received,
            decoded: v.received,
            lost: v.lost,
            lost_ranges: v.lost_ranges.iter().map(ToString::to_string).collect(),
            duplicates: v.duplicates,
            notes,
            timeline: Some(v.timeline.clone()),
            ..Default::default()
        },
    }
}

fn failure_message(v: &Verdict) -> String {
    let ranges: Vec<String> = v.lost_ranges.iter().map(ToString::to_string).collect();
    format!("lost {}: {}; {}", v.lost, ranges.join("; "), v.failures.join("; "))
}

/// One JUnit test case, "no acknowledged message lost", through the junit-report crate.
fn write_junit(path: &Path, v: &Verdict, seed: u64) -> anyhow::Result<()> {
    let time = junit_report::Duration::seconds_f64(v.duration_s);
    let mut case = if v.verdict == "pass" {
        junit_report::TestCase::success("no acknowledged message lost", time)
    } else {
        junit_report::TestCase::failure("no acknowledged message lost", time, "verdict", &failure_message(v))
    };
    case.set_classname("chaos");
    let mut suite = junit_report::TestSuite::new(&format!("chaos seed {seed}"));
    suite.add_testcase(case);
    let mut report = junit_report::Report::new();
    report.add_testsuite(suite);
    report.write_xml(std::fs::File::create(path)?)?;
    Ok(())
}
