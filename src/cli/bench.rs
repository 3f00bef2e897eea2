//! `dashstream bench`: dashstream beside Kafka's own tools on one container
//! broker; prints the table (or JSON) and writes bench.json and
//! bench-latency.svg to the report folder.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dashstream::bench::{svg, Bench, BenchOptions};
use dashstream::broker::container::{ContainerBroker, Jvm};
use dashstream::broker::direct_route::Route;
use dashstream::broker::factory::parse_setting;

use super::output::print_json;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Records per producer and consumer run (each producer also gets a warm-up of a fifth of this, left out).
    #[arg(long, default_value_t = 300_000)]
    records: u64,
    /// Producer and consumer runs per side, taking turns (the medians are compared).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Record size in bytes.
    #[arg(long, default_value_t = 600)]
    size: usize,
    /// Messages per latency run (the first tenth is warm-up, left out).
    #[arg(long, default_value_t = 1_000)]
    latency_messages: u64,
    /// Messages per second in the latency runs.
    #[arg(long, default_value_t = 100.0)]
    latency_rate: f64,
    /// Good records, then as many poison ones, in the dead-letter run.
    #[arg(long, default_value_t = 5_000)]
    dead_letter_records: u64,
    /// Records per compression cell, at most (cells stay near 30 MB).
    #[arg(long, default_value_t = 50_000)]
    compression_records: u64,
    /// librdkafka setting for dashstream's clients (repeatable); the peers run as shipped.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_setting)]
    settings: Vec<(String, String)>,
    /// Where bench.json and bench-latency.svg go.
    #[arg(long, default_value = "target/dashstream-report")]
    report: PathBuf,
    /// Print the report as JSON instead of the table.
    #[arg(long)]
    json: bool,
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let opts = BenchOptions {
        records: args.records,
        rounds: args.rounds,
        size: args.size,
        latency_messages: args.latency_messages,
        latency_rate: args.latency_rate,
        dead_letter_records: args.dead_letter_records,
        compression_records: args.compression_records,
        settings: args.settings,
    };
    eprintln!("bench: starting a Kafka container (the peers run inside it)");
    let broker = ContainerBroker::single_via(Route::Direct, Jvm::AsShipped).await.context("bench runs on the container backend")?;
    eprintln!("bench: dashstream reaches the broker {}", broker.route());
    let progress = |line: &str| eprintln!("bench: {line}");
    let report = Bench::new(&broker, opts, &progress).run().await?;
    std::fs::create_dir_all(&args.report).with_context(|| format!("creating {}", args.report.display()))?;
    let json_path = args.report.join("bench.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?).with_context(|| format!("writing {}", json_path.display()))?;
    let svg_path = args.report.join("bench-latency.svg");
    std::fs::write(&svg_path, svg::latency_chart(&report.latency)).with_context(|| format!("writing {}", svg_path.display()))?;
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", report.table());
    }
    eprintln!("bench: wrote {} and {}", json_path.display(), svg_path.display());
    Ok(if report.meets_all() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
