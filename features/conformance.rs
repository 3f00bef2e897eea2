//! `cargo test --test conformance`: the Gherkin suite on both backends (the
//! embedded mock cluster and a real Kafka container), then the bug replicas,
//! each of which must turn the scenario it names red, at the step it names,
//! with the error it names.
//!
//! Which backends: `DASHSTREAM_TEST_BROKER` (a comma-separated list, default
//! `mock,container`); an existing cluster with `DASHSTREAM_TEST_BOOTSTRAP` (and
//! `DASHSTREAM_TEST_SETTINGS=k=v,...`), see `dashstream::broker::factory`.
//! Reports go to `target/dashstream-report/` (JUnit XML, Cucumber JSON,
//! Markdown, HTML). Without a Docker host the container half fails with the
//! discovery error; it is never skipped. The last line is `conformance: N passed, M failed`.
#![allow(clippy::print_stdout)]

#[path = "../tests/forward/cdp.rs"]
mod cdp;
mod replicas;
mod report_check;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use dashstream::broker::{factory, BrokerArgs, BrokerKind};
use dashstream::conformance::reference::Reference;
use dashstream::faults::inject::Direct;
use dashstream::conformance::outcomes;
use dashstream::conformance::console;
use dashstream::conformance::report::{self, matrix::ReplicaOutcome, ReportInput};
use dashstream::conformance::suite::{self, SuiteOptions, SuiteResult};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn report_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| crate_dir().join("target"));
    target.join("dashstream-report")
}

fn scan_roots() -> Vec<PathBuf> {
    ["src", "tests", "features", "benches"].iter().map(|d| crate_dir().join(d)).collect()
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    // Colour only on a terminal, never with NO_COLOR set: CI logs are files.
    let ansi = console::colour_wanted(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("runtime");
    // A hung broker must not hang CI: the whole suite has a deadline.
    rt.block_on(async {
        match tokio::time::timeout(std::time::Duration::from_secs(900), main_async()).await {
            Ok(code) => code,
            Err(_) => {
                println!("conformance: the suite did not finish within 15 minutes");
                println!("conformance: 0 passed, 1 failed");
                ExitCode::FAILURE
            }
        }
    })
}

/// The backends to run and how to reach them, from the test environment.
fn options() -> Result<SuiteOptions, String> {
    if std::env::var_os("DASHSTREAM_BACKENDS").is_some() {
        return Err(format!("DASHSTREAM_BACKENDS is now {} (same values: mock,container,...)", factory::ENV_BROKER));
    }
    let env = BrokerArgs::from_env(BrokerKind::Mock).map_err(|e| e.to_string())?;
    let names = std::env::var(factory::ENV_BROKER).unwrap_or_else(|_| if env.connection.bootstrap.is_some() { "external".into() } else { "mock,container".into() });
    let backends = names.split(',').filter(|s| !s.trim().is_empty()).map(|n| factory::parse_kind(n).map(|k| factory::resolve(k, &env.connection)));
    Ok(SuiteOptions {
        backends: backends.collect::<Result<_, _>>().map_err(|e| e.to_string())?,
        connection: env.connection,
        tags: std::env::var("DASHSTREAM_TAGS").ok(),
        scenarios: None,
        report_dir: report_dir(),
        features: crate_dir().join("features"),
        pipeline: Arc::new(Reference),
        injector: Arc::new(Direct),
        scan_roots: scan_roots(),
        cli: Some(PathBuf::from(env!("CARGO_BIN_EXE_dashstream"))),
        concurrency: suite::DEFAULT_CONCURRENCY,
        label: "reference".into(),
        on_scenario: Some(Arc::new(|r| println!("{}", console::scenario_lines(r, false)))),
        record_history: true,
    })
}

fn print_result(result: &SuiteResult) {
    for b in &result.backends {
        if let Some(e) = &b.error {
            println!("the {} backend could not start:\n{e}", b.backend);
        }
    }
    println!();
    for line in result.report_summary() {
        println!("{line}");
    }
    println!("reports: {}", report_dir().display());
}

async fn main_async() -> ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            println!("conformance: bad test environment: {e}\nconformance: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let result = suite::run(&opts).await;
    print_result(&result);
    let outcomes = quietly_failing(run_replicas()).await;
    let (caught, missed) = (outcomes.iter().filter(|o| o.caught).count(), outcomes.iter().filter(|o| !o.caught).count());
    // The report again, now with the replicas' column of the verdict matrix.
    let summary = result.report_summary();
    let input = ReportInput { label: &opts.label, records: &result.records, summary: &summary, replicas: Some(&outcomes), history: &result.history, original_bugs: true };
    if let Err(e) = report::write(&opts.report_dir, &input) {
        println!("conformance: cannot write the report: {e}");
    }
    let (pass, headline) = input.headline();
    println!("\n{headline}");
    let expected = report_check::Expected::from_run(pass, &result.records);
    let html = opts.report_dir.join("report-reference.html");
    let browser = report_check::check(&html, &opts.report_dir.join("report-reference.png"), &expected).await;
    match &browser {
        Ok(seen) => println!("report in Chromium: {seen}"),
        Err(e) => println!("report in Chromium: FAILED: {e:#}"),
    }
    let passed: usize = result.backends.iter().map(|b| b.passed).sum::<usize>() + caught + usize::from(browser.is_ok());
    let failed: usize = result.backends.iter().map(|b| b.failed + b.skipped + usize::from(b.error.is_some())).sum::<usize>() + missed + usize::from(browser.is_err());
    println!("\nconformance: {passed} passed, {failed} failed");
    if result.passed() && missed == 0 && browser.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs `replicas` with a panic hook that prints one line per panic instead
/// of the default report. Every replica is meant to fail its steps (a failed
/// step is a panic in cucumber). Cucumber silences panics during a run and
/// then puts back the hook it found; with the replicas running at once, one
/// run put the default hook back while others still ran, and with
/// `RUST_BACKTRACE` set each of their planned failures printed some 80 lines
/// of backtrace into the CI log. The default hook is back once they are done.
async fn quietly_failing<T>(replicas: impl std::future::Future<Output = T>) -> T {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(ToString::to_string).unwrap_or_default();
        println!("  (a replica's step panicked at {at}; what it said is in the lines below)");
    }));
    let out = replicas.await;
    std::panic::set_hook(default_hook);
    out
}

/// Runs each replica's feature with the replica as the pipeline, all at once
/// (each has its own topics, groups and brokers; the slowest, a container
/// fault scenario, sets the pace) except those that need the machine to
/// themselves, which run after, one by one; then checks in each run's Cucumber JSON
/// that every declared catch happened: the named scenario failed at the
/// named step with the named error. Returns one outcome per declared catch.
async fn run_replicas() -> Vec<ReplicaOutcome> {
    println!("\nbug replicas (each must fail where it says, for the reason it says):");
    let started = std::time::Instant::now();
    let dir = report_dir().join("replicas");
    let (alone, together): (Vec<_>, Vec<_>) = replicas::all(&dir).into_iter().partition(|r| r.alone);
    let mut results = futures::future::join_all(together.into_iter().map(|r| run_replica(r, dir.clone()))).await;
    for r in alone {
        results.push(run_replica(r, dir.clone()).await);
    }
    let mut outcomes = Vec::new();
    for (lines, found) in results {
        lines.iter().for_each(|line| println!("{line}"));
        outcomes.extend(found);
    }
    println!("  (the replicas ran in {:.1} s)", started.elapsed().as_secs_f64());
    outcomes
}

/// One replica's run and its catches: the console lines and the outcomes.
async fn run_replica(r: replicas::Replica, dir: PathBuf) -> (Vec<String>, Vec<ReplicaOutcome>) {
    let features = tempfile::tempdir().expect("tempdir");
    std::fs::copy(crate_dir().join("features").join(r.feature), features.path().join(r.feature)).expect("copy feature");
    let ropts = SuiteOptions {
        backends: vec![r.backend],
        connection: Default::default(),
        tags: None,
        scenarios: Some(r.catches.iter().map(|c| c.scenario.to_string()).collect()),
        report_dir: dir.clone(),
        features: features.path().to_path_buf(),
        pipeline: r.pipeline.clone(),
        injector: r.injector.clone(),
        scan_roots: r.scan_roots.clone().unwrap_or_else(scan_roots),
        cli: Some(PathBuf::from(env!("CARGO_BIN_EXE_dashstream"))),
        concurrency: suite::DEFAULT_CONCURRENCY,
        label: r.name.into(),
        on_scenario: None,
        record_history: false,
    };
    let res = suite::run(&ropts).await;
    let failed = match (res.backends.iter().find_map(|b| b.error.clone()), outcomes::failed_steps(&dir.join(format!("cucumber-{}-{}.json", r.name, r.backend)))) {
        (None, Ok(failed)) => failed,
        (Some(e), _) | (None, Err(e)) => {
            let line = format!("  DEFECT: {} ({}): the run did not happen: {e}", r.name, r.bug);
            return (vec![line], r.catches.iter().map(|c| outcome(&r, c, false, format!("the run did not happen: {e}"))).collect());
        }
    };
    let (mut lines, mut found) = (Vec::new(), Vec::new());
    for c in &r.catches {
        let place = format!("\"{}\"{} at \"{}\"", c.scenario, c.example.map(|x| format!(" ({x})")).unwrap_or_default(), c.step);
        match failed.iter().find(|f| c.matches(f)) {
            Some(f) => {
                lines.push(format!("  caught {}: {place}: {}", r.name, first_line(&f.error)));
                found.push(outcome(&r, c, true, first_line(&f.error)));
            }
            None => {
                let instead: Vec<String> = failed.iter().map(|f| format!("\"{}\" at \"{}\": {}", f.scenario, f.step, first_line(&f.error))).collect();
                let why = if instead.is_empty() { "nothing failed".to_string() } else { format!("caught for the wrong reason: {}", instead.join("; ")) };
                lines.push(format!("  DEFECT: {} ({}): must fail {place} with \"{}\"; {why}", r.name, r.bug, c.error));
                found.push(outcome(&r, c, false, why));
            }
        }
    }
    (lines, found)
}

/// One catch's outcome, for the report's verdict matrix.
fn outcome(r: &replicas::Replica, c: &replicas::Catch, caught: bool, detail: String) -> ReplicaOutcome {
    ReplicaOutcome {
        replica: r.name.into(),
        bug: r.bug.into(),
        feature_file: r.feature.into(),
        backend: r.backend.to_string(),
        place: format!("\"{}\"{} at \"{}\"", c.scenario, c.example.map(|x| format!(" ({x})")).unwrap_or_default(), c.step),
        caught,
        detail,
    }
}

/// The first line of an error that says something (cucumber prefixes "Matched: <step location>").
fn first_line(error: &str) -> String {
    error.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("Matched:")).unwrap_or_default().to_string()
}
