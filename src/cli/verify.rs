//! `dashstream verify`: produce N messages and consume them back; the verdict
//! as JSON (exit 0 only on pass).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use dashstream::broker::BrokerArgs;
use dashstream::pipeline::verify::{self, VerifyOptions};

use super::args::{MetricsArgs, SendArgs};
use super::output::print_json;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long)]
    count: u64,
    /// Topic to use (default: a new unique topic).
    #[arg(long)]
    topic: Option<String>,
    #[command(flatten)]
    send: SendArgs,
    #[command(flatten)]
    pub(crate) broker: BrokerArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let broker = args.broker.open().await?;
    let served = args.metrics.serve().await?;
    let opts = VerifyOptions {
        count: args.count,
        topic: args.topic,
        size: args.send.size,
        clock_offset_ms: args.send.clock_offset_ms,
        codec: args.send.codec(),
        batch_compression: args.send.batch_compress,
        rate: args.send.rate,
        in_flight: args.send.in_flight,
        connect_timeout: args.broker.connection.connect_timeout,
        ..VerifyOptions::default()
    };
    let start = Instant::now();
    let count = args.count;
    let progress = move |acked: u64, received: u64| {
        if start.elapsed() >= Duration::from_secs(2) {
            eprintln!("[{:6.1}s] acknowledged {acked}/{count}, received {received}", start.elapsed().as_secs_f64());
        }
    };
    let report = verify::verify(broker.as_ref(), &opts, &served.metrics, &progress).await?;
    print_json(&report)?;
    Ok(if report.verdict == "pass" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
