//! `dashstream aggregate`: quality reports read from a topic, per-thread aggregates as JSON.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use dashstream::broker::BrokerArgs;
use dashstream::pipeline::aggregate::QualityAggregator;
use dashstream::pipeline::consumer::{ConsumerSettings, DashConsumer, Event};

use super::consume::{consume_loop, topic_present, Ended, Signals, Stop};
use super::args::{MetricsArgs, ReadArgs};
use super::output::print_json;

#[derive(Debug, Args)]
pub struct AggregateArgs {
    #[command(flatten)]
    read: ReadArgs,
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
    let ended = consume_loop(&mut c, Stop::from(&args.read), &mut signals, add, |_| {}).await?;
    let report = if ended == Ended::Idle { c.finish().await? } else { c.finish_early().await? };
    if report.received == 0 {
        bail!("no records on {} within {:?}", args.read.topic, args.read.idle_timeout);
    }
    print_json(&agg)?;
    Ok(ExitCode::SUCCESS)
}
