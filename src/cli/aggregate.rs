//! `dashstream aggregate`: the quality aggregator. Reads quality reports
//! (by default from `dashstream-quality`, the original system's topic), for
//! `--duration` as a long-lived service or until the topic goes idle, and
//! prints per-thread aggregates as JSON; the decompression summary is logged
//! every 10 s.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use dashstream::broker::BrokerArgs;
use dashstream::pipeline::aggregate::QualityAggregator;
use dashstream::pipeline::consumer::{ConsumerSettings, DashConsumer, Event};

use super::consume::{consume_loop, topic_present, Ended, Signals, Stop};
use super::args::{MetricsArgs, ReadArgs, QUALITY_TOPIC};
use super::output::print_json;

#[derive(Debug, Args)]
#[command(mut_arg("topic", |a| a.default_value(QUALITY_TOPIC)))]
pub struct AggregateArgs {
    #[command(flatten)]
    read: ReadArgs,
    /// Run this long (e.g. 60s, 1h), however quiet the topic, then print the
    /// aggregates; without it, stop after --idle-timeout without a record.
    #[arg(long, value_parser = dashstream::broker::factory::parse_duration)]
    duration: Option<std::time::Duration>,
    #[command(flatten)]
    pub(crate) broker: BrokerArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

pub async fn aggregate(args: AggregateArgs) -> anyhow::Result<ExitCode> {
    let mut signals = Signals::install()?;
    let broker = args.broker.open().await?;
    topic_present(&broker.client_config(), &args.read).await?;
    let served = args.metrics.serve().await?;
    let mut settings = ConsumerSettings::new(&args.read.topic, args.read.group_or_fresh("aggregate"));
    settings.start = args.read.start();
    let mut c = DashConsumer::new(&broker.client_config(), settings, served.metrics.clone())?;
    let mut agg = QualityAggregator::default();
    let add = |ev: &Event| {
        if let Event::Message { envelope, .. } = ev {
            agg.add(envelope);
        }
    };
    let mut stop = Stop::from(&args.read);
    if let Some(d) = args.duration {
        stop.idle = std::time::Duration::MAX;
        stop.until = Some(std::time::Instant::now() + d);
    }
    let ended = consume_loop(&mut c, stop, &mut signals, add, |_| {}).await?;
    let report = if ended == Ended::Idle { c.finish().await? } else { c.finish_early().await? };
    if report.received == 0 {
        bail!("no records on {} within {:?}", args.read.topic, args.read.idle_timeout);
    }
    print_json(&agg)?;
    Ok(ExitCode::SUCCESS)
}
