//! `dashstream check`: the conformance suite from the binary, the same features
//! and step definitions that `cargo test --test conformance` runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use crate::steps::reference::Reference;
use crate::steps::suite::{self, SuiteOptions};

const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// auto: a Kafka container if a Docker host answers, else the embedded mock. "both" runs mock, then container.
    #[arg(long, default_value = "auto", value_parser = ["auto", "container", "mock", "cluster", "external", "both"])]
    broker: String,
    /// Bootstrap servers for --broker external.
    #[arg(long)]
    bootstrap: Option<String>,
    /// librdkafka setting for --broker external, e.g. -X security.protocol=SSL (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    settings: Vec<String>,
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

pub async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let backends: Vec<String> = match args.broker.as_str() {
        "auto" if args.bootstrap.is_some() => vec!["external".into()],
        "auto" => match dashstream::docker::ensure_docker_host() {
            Ok(_) => vec!["container".into()],
            Err(_) => vec!["mock".into()],
        },
        "both" => vec!["mock".into(), "container".into()],
        other => vec![other.to_string()],
    };
    let settings: BTreeMap<String, String> =
        dashstream::broker::external::ExternalBroker::parse_settings(args.settings.iter().map(String::as_str))?;
    if !args.features.is_dir() {
        anyhow::bail!("no features directory at {} (pass --features DIR)", args.features.display());
    }
    let opts = SuiteOptions {
        backends,
        external: args.bootstrap.clone().map(|b| (b, settings)),
        tags: args.tags.clone(),
        report_dir: args.report.clone(),
        features: args.features.clone(),
        pipeline: Arc::new(Reference),
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
    println!(
        "reports: {} (report-reference.md, report-reference.html, junit-*.xml, cucumber-*.json)",
        args.report.display()
    );
    let ok = result.passed();
    println!("check: {}", if ok { "pass" } else { "fail" });
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
