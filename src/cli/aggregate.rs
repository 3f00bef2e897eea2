//! `dashstream aggregate`: quality reports read from a topic, per-thread aggregates as JSON.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use dashstream::broker::BrokerArgs;
use dashstream::pipeline::aggregate::QualityAggregator;
use dashstream::pipeline::consumer::{ConsumerSettings, DashConsumer, Event};

use super::consume::consume_loop;
use super::args::{MetricsArgs, ReadArgs};
use super::output::print_json;

#[derive(Debug, Args)]
pub struct AggregateArgs {
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    broker: BrokerArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

pub async fn aggregate(args: AggregateArgs) -> anyhow::Result<ExitCode> {
    let broker = args.broker.open().await?;
    let served = args.metrics.serve().await?;
    let settings = ConsumerSettings::new(&args.read.topic, args.read.group_or_fresh("aggregate"));
    let mut c = DashConsumer::new(&broker.client_config(), settings, served.metrics.clone())?;
    let mut agg = QualityAggregator::default();
    let add = |ev: &Event| {
        if let Event::Message { envelope, .. } = ev {
            agg.add(envelope);
        }
    };
    consume_loop(&mut c, args.read.idle_timeout, add, |_| {}).await?;
    let report = c.finish().await?;
    if report.received == 0 {
        bail!("no records on {} within {:?}", args.read.topic, args.read.idle_timeout);
    }
    print_json(&agg)?;
    Ok(ExitCode::SUCCESS)
}
