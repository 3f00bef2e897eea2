//! `dashstream consume`: read a topic (decode, dead-letter, detect loss,
//! measure latency) until it is idle; the counts as JSON.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use dashstream::broker::{factory, BrokerArgs};
use dashstream::codec::CodecConfig;
use dashstream::pipeline::consumer::{ConsumerSettings, DashConsumer, Event};

use super::args::{MetricsArgs, ReadArgs};
use super::output::{print_json, Progress};

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    read: ReadArgs,
    /// Dead-letter topic (default <topic>.dlq).
    #[arg(long)]
    dlq_topic: Option<String>,
    /// A hole in a producer's sequences is reported lost after this long.
    #[arg(long, default_value = "10s", value_parser = factory::parse_duration)]
    grace: Duration,
    #[arg(long)]
    no_legacy: bool,
    #[command(flatten)]
    broker: BrokerArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

/// Reads until nothing arrived for `idle` (counted from the assignment) or Ctrl-C,
/// handing each event to `on` and calling `progress` after each poll.
pub async fn consume_loop(
    c: &mut DashConsumer,
    idle: Duration,
    mut on: impl FnMut(&Event),
    mut progress: impl FnMut(&DashConsumer),
) -> anyhow::Result<()> {
    for ev in c.wait_for_assignment(Duration::from_secs(60)).await? {
        on(&ev);
    }
    let mut last = Instant::now();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            ev = c.next(Duration::from_millis(250)) => {
                if let Some(ev) = ev? {
                    last = Instant::now();
                    on(&ev);
                } else if last.elapsed() >= idle {
                    break;
                }
            }
        }
        progress(c);
    }
    Ok(())
}

pub async fn consume(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let broker = args.broker.open().await?;
    let served = args.metrics.serve().await?;
    let mut settings = ConsumerSettings::new(&args.read.topic, args.read.group_or_fresh("consume"));
    if let Some(d) = args.dlq_topic {
        settings.dlq_topic = d;
    }
    // The topic read is never created here; the dead-letter topic is, if missing.
    let dlq_status = broker.create_topic(&settings.dlq_topic, 1).await?;
    eprintln!("dead-letter topic {}: {dlq_status}", settings.dlq_topic);
    settings.grace = args.grace;
    settings.codec = CodecConfig::default().with_legacy(!args.no_legacy);
    let mut c = DashConsumer::new(&broker.client_config(), settings, served.metrics.clone())?;
    let mut progress = Progress::new();
    consume_loop(&mut c, args.read.idle_timeout, |_| {}, |c| {
        progress.tick(|secs| {
            let r = c.report();
            format!("consumed {} records ({:.0}/s), {} dead-lettered, {} lost", r.received, r.received as f64 / secs, r.dlq, r.lost)
        })
    })
    .await?;
    let report = c.finish().await?;
    print_json(&report)?;
    Ok(ExitCode::SUCCESS)
}
