//! `dashstream check`: the conformance suite from the binary, the same engine
//! and features that `cargo test --test conformance` runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use dashstream::broker::factory::{self, Resolution};
use dashstream::broker::{image, BrokerKind, ConnectionArgs};
use dashstream::conformance::console;
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
    #[arg(long, default_value_t = dashstream::conformance::suite::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Library and librdkafka log lines on the console too (they always go to
    /// dashstream.log in the report folder); RUST_LOG does the same with its filter.
    #[arg(short, long)]
    pub verbose: bool,
}

impl CheckArgs {
    /// Where the run's log lines go.
    pub fn log_path(&self) -> PathBuf {
        self.report.join("dashstream.log")
    }
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

/// What a backend is, in words.
fn backend_words(kind: BrokerKind, connection: &ConnectionArgs) -> String {
    match kind {
        BrokerKind::Mock => "embedded mock (librdkafka's mock cluster)".into(),
        BrokerKind::Container => format!("Apache Kafka {} in a container", image::version()),
        BrokerKind::Cluster => format!("a 3-broker Apache Kafka {} cluster in containers", image::version()),
        BrokerKind::External => format!("the cluster at {}", connection.bootstrap.as_deref().unwrap_or("?")),
        BrokerKind::Auto => "auto".into(),
    }
}

/// The console's first line: which broker or brokers will run, and why. A
/// fallback to the mock writes what discovery tried to docker.txt.
fn first_line(resolutions: &[Resolution], args: &CheckArgs) -> String {
    let parts: Vec<String> = resolutions
        .iter()
        .map(|r| {
            let mut why = r.why.clone();
            if let Some(e) = &r.docker_error {
                let path = args.report.join("docker.txt");
                match std::fs::write(&path, e.to_string()) {
                    Ok(()) => why.push_str(&format!("; details in {}", path.display())),
                    Err(err) => why.push_str(&format!("; {err} writing {}: {}", path.display(), super::one_line(&e.to_string()))),
                }
            }
            format!("{} ({why})", backend_words(r.kind, &args.connection))
        })
        .collect();
    format!("{}: {}", if parts.len() > 1 { "brokers, one after the other" } else { "broker" }, parts.join(", then "))
}

pub async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if !args.features.is_dir() {
        anyhow::bail!("no features directory at {} (pass --features DIR)", args.features.display());
    }
    std::fs::create_dir_all(&args.report)?;
    if let Some(v) = &args.connection.kafka_version {
        image::use_version(v);
    }
    let resolutions: Vec<Resolution> = args.broker.0.iter().map(|k| factory::resolve_explained(*k, &args.connection)).collect();
    println!("{}", first_line(&resolutions, &args));
    let colour = console::colour_wanted(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let opts = SuiteOptions {
        backends: resolutions.iter().map(|r| r.kind).collect(),
        connection: args.connection.clone(),
        tags: args.tags.clone(),
        scenarios: None,
        report_dir: args.report.clone(),
        features: args.features.clone(),
        pipeline: Arc::new(Reference),
        injector: Arc::new(Direct),
        scan_roots: ["src", "tests", "features", "benches"].iter().map(|d| PathBuf::from(CRATE_DIR).join(d)).collect(),
        cli: std::env::current_exe().ok(),
        concurrency: args.concurrency.max(1),
        label: "reference".into(),
        on_scenario: Some(Arc::new(move |r| println!("{}", console::scenario_lines(r, colour)))),
        record_history: true,
    };
    let result = suite::run(&opts).await;
    for b in &result.backends {
        if let Some(e) = &b.error {
            println!("the {} backend could not start:\n{e}", b.backend);
        }
    }
    println!();
    for line in result.report_summary() {
        println!("{line}");
    }
    let ok = result.passed();
    println!("log: {}", args.log_path().display());
    println!("report: {}", args.report.join("report-reference.html").display());
    println!("check: {}", if ok { "pass" } else { "fail" });
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
