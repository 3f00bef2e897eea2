//! `cargo test --test conformance`: the Gherkin suite on both backends (the
//! embedded mock cluster and a real Kafka container), then the five bug
//! replicas, each of which must turn its scenario red.
//!
//! Reports go to `target/dashstream-report/` (JUnit XML, Cucumber JSON,
//! Markdown, HTML). Without a Docker host the container half fails with the
//! discovery error; it is never skipped. The last line is `conformance: N passed, M failed`.
#![allow(clippy::print_stdout)]

mod replicas;
mod steps;

use std::path::PathBuf;
use std::sync::Arc;

use steps::reference::Reference;
use steps::suite::{self, SuiteOptions};

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

fn main() -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("runtime");
    // A hung broker must not hang CI: the whole suite has a deadline.
    rt.block_on(async {
        match tokio::time::timeout(std::time::Duration::from_secs(900), main_async()).await {
            Ok(code) => code,
            Err(_) => {
                println!("conformance: the suite did not finish within 15 minutes");
                println!("conformance: 0 passed, 1 failed");
                std::process::ExitCode::FAILURE
            }
        }
    })
}

async fn main_async() -> std::process::ExitCode {
    let backends: Vec<String> = std::env::var("DASHSTREAM_BACKENDS")
        .unwrap_or_else(|_| "mock,container".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let opts = SuiteOptions {
        backends,
        external: None,
        tags: std::env::var("DASHSTREAM_TAGS").ok(),
        report_dir: report_dir(),
        features: crate_dir().join("features"),
        pipeline: Arc::new(Reference),
        scan_roots: scan_roots(),
        concurrency: 8,
        label: "reference".into(),
    };
    let result = suite::run(&opts).await;
    for b in &result.backends {
        println!("\n===== {} =====", b.backend);
        match &b.error {
            Some(e) => println!("the {} backend could not start:\n{e}", b.backend),
            None => print!("{}", b.console),
        }
    }
    println!();
    for line in result.summary() {
        println!("{line}");
    }
    println!("reports: {}", report_dir().display());

    // The replicas: each must make its feature fail.
    let mut replica_failures = 0;
    let mut replicas_caught = 0;
    if std::env::var_os("DASHSTREAM_SKIP_REPLICAS").is_none() {
        println!("\nbug replicas (each must fail its scenario):");
        for r in replicas::all(&report_dir().join("replicas")) {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::copy(crate_dir().join("features").join(r.feature), dir.path().join(r.feature)).expect("copy feature");
            let ropts = SuiteOptions {
                backends: vec!["mock".into()],
                external: None,
                tags: None,
                report_dir: report_dir().join("replicas"),
                features: dir.path().to_path_buf(),
                pipeline: r.pipeline.clone(),
                scan_roots: r.scan_roots.clone().unwrap_or_else(scan_roots),
                concurrency: 8,
                label: r.name.into(),
            };
            let res = suite::run(&ropts).await;
            let failed: Vec<_> = res.records.iter().filter(|x| x.status == "failed").collect();
            if res.backends.iter().any(|b| b.error.is_some()) || failed.is_empty() {
                replica_failures += 1;
                println!("  DEFECT: {} ({}): {} did not fail", r.name, r.bug, r.feature);
            } else {
                replicas_caught += 1;
                let first = failed[0];
                let why = first.error.clone().unwrap_or_default();
                println!(
                    "  caught {}: \"{}\" failed: {}",
                    r.name,
                    first.scenario,
                    why.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim()
                );
            }
        }
    }

    let passed: usize = result.backends.iter().map(|b| b.passed).sum::<usize>() + replicas_caught;
    let failed: usize = result.backends.iter().map(|b| b.failed + b.skipped + usize::from(b.error.is_some())).sum::<usize>() + replica_failures;
    let ok = result.passed() && replica_failures == 0;
    println!("\nconformance: {passed} passed, {failed} failed");
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
