//! `dashstream check`: the conformance suite from the binary, the same engine
//! and features that `cargo test --test conformance` runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use dashstream::broker::{factory, BrokerKind, ConnectionArgs};
use dashstream::conformance::reference::Reference;
use dashstream::conformance::suite::{self, SuiteOptions};
use dashstream::faults::inject::Direct;

const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Backends to run, one after the other: auto, container, cluster, mock,
    /// external, a comma-separated list, or "both" (mock, then container).
    /// auto: external with --bootstrap, else a container if a Docker host answers, else the mock.
    #[arg(long, default_value = "auto", value_parser = parse_backends)]
    broker: Backends,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Cucumber tag expression selecting scenarios, e.g. "not @fault" or "@fault and @container-only".
    #[arg(long)]
    tags: Option<String>,
    /// Where to write the reports (JUnit XML, Cucumber JSON, Markdown, HTML).
    #[arg(long, default_value = "target/dashstream-report")]
    report: PathBuf,
    /// The .feature files to run.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/features"))]
    features: PathBuf,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

/// The backends `--broker` names, in order.
#[derive(Debug, Clone)]
struct Backends(Vec<BrokerKind>);

/// `both`, or backend names separated by commas.
fn parse_backends(s: &str) -> Result<Backends, String> {
    if s == "both" {
        return Ok(Backends(vec![BrokerKind::Mock, BrokerKind::Container]));
    }
    s.split(',').map(|name| factory::parse_kind(name).map_err(|e| e.to_string())).collect::<Result<_, _>>().map(Backends)
}

pub async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if !args.features.is_dir() {
        anyhow::bail!("no features directory at {} (pass --features DIR)", args.features.display());
    }
    let backends = args.broker.0.iter().map(|k| factory::resolve(*k, &args.connection)).collect();
    let opts = SuiteOptions {
        backends,
        connection: args.connection.clone(),
        tags: args.tags.clone(),
        scenarios: None,
        report_dir: args.report.clone(),
        features: args.features.clone(),
        pipeline: Arc::new(Reference),
        injector: Arc::new(Direct),
        scan_roots: ["src", "tests", "features", "benches"].iter().map(|d| PathBuf::from(CRATE_DIR).join(d)).collect(),
        concurrency: args.concurrency.max(1),
        label: "reference".into(),
    };
    let result = suite::run(&opts).await;
    for b in &result.backends {
        if let Some(e) = &b.error {
            eprintln!("the {} backend could not start:\n{e}", b.backend);
        } else {
            print!("{}", b.console);
        }
    }
    println!();
    for line in result.summary() {
        println!("{line}");
    }
    println!("reports: {} (report-reference.md, report-reference.html, junit-*.xml, cucumber-*.json)", args.report.display());
    let ok = result.passed();
    println!("check: {}", if ok { "pass" } else { "fail" });
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
