//! `dashstream consume`: read a topic (decode, dead-letter, detect loss,
//! measure latency) until it is idle, N records were read, or a signal comes;
//! the counts as JSON on stdout in every case, and an exit status a script can
//! test (see [`FailOn`] and `cli::exit_status_for`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use dashstream::broker::{admin, factory, BrokerArgs};
use dashstream::codec::CodecConfig;
use dashstream::pipeline::consumer::{ConsumeReport, ConsumerSettings, DashConsumer, Event};
use rdkafka::ClientConfig;
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::args::{MetricsArgs, ReadArgs};
use super::output::{print_json, Progress};
use super::{UsageError, EXIT_FINDINGS};

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
    /// What makes the exit status 1 (comma-separated); "none" for never.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "lost,dead-lettered")]
    fail_on: Vec<FailOn>,
    #[command(flatten)]
    pub(crate) broker: BrokerArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

/// Findings that turn the exit status to 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Sequences that never arrived.
    Lost,
    /// Sequences read more than once.
    Duplicated,
    /// Records that could not be decoded (copied to the dead-letter topic).
    DeadLettered,
    /// Nothing: exit 0 whatever was found.
    None,
}

impl ConsumeArgs {
    /// `none` with anything else in `--fail-on` contradicts itself.
    pub(crate) fn fail_on_conflict(&self) -> Option<String> {
        (self.fail_on.contains(&FailOn::None) && self.fail_on.len() > 1).then(|| "--fail-on none cannot be combined with other findings".to_string())
    }
}

impl FailOn {
    /// What was found, if `report` has it.
    fn found(self, r: &ConsumeReport) -> Option<String> {
        match self {
            Self::Lost if r.lost > 0 => Some(format!("{} lost", r.lost)),
            Self::Duplicated if r.duplicates > 0 => Some(format!("{} duplicated", r.duplicates)),
            Self::DeadLettered if r.dlq > 0 => Some(format!("{} dead-lettered", r.dlq)),
            _ => None,
        }
    }
}

/// When a reading command stops.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    /// Nothing arrived for this long (counted from the assignment).
    pub idle: Duration,
    /// This many records were read.
    pub max_records: Option<u64>,
    /// This moment passed (`aggregate --duration`).
    pub until: Option<Instant>,
}

impl From<&ReadArgs> for Stop {
    fn from(read: &ReadArgs) -> Self {
        Self { idle: read.idle_timeout, max_records: read.max_records, until: None }
    }
}

/// Fails at once with the broker's words when the topic does not exist,
/// unless `--wait-for-topic` gives it time to appear.
pub async fn topic_present(client: &ClientConfig, read: &ReadArgs) -> anyhow::Result<()> {
    let deadline = Instant::now() + read.wait_for_topic.unwrap_or_default();
    loop {
        match admin::topic_missing(client, &read.topic, Duration::from_secs(10)).await? {
            None => return Ok(()),
            Some(why) if Instant::now() >= deadline => {
                let waited = read.wait_for_topic.map_or(String::new(), |d| format!(" after waiting {d:?}"));
                return Err(UsageError(format!(
                    "topic {} does not exist{waited}: the broker answered \"{why}\" (--wait-for-topic DURATION waits for it)",
                    read.topic
                ))
                .into());
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// SIGINT (Ctrl-C) and SIGTERM (`timeout`, `kill`, a container stop), caught
/// from the moment this is installed: either ends a reading command normally.
pub struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    /// Installs the handlers: do it first, before anything a signal should not cut short.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self { int: signal(SignalKind::interrupt())?, term: signal(SignalKind::terminate())? })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {},
            _ = self.term.recv() => {},
        }
    }
}

/// Why a reading loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Nothing arrived for the idle timeout: the topic was read to its end.
    Idle,
    /// The record limit, or a signal: stopped before the end on purpose.
    Early,
}

/// Reads until `stop` or a signal, handing each event to `on` and calling
/// `progress` after each poll. A signal ends the loop normally, so the caller
/// still prints its report.
pub async fn consume_loop(
    c: &mut DashConsumer,
    stop: Stop,
    signals: &mut Signals,
    mut on: impl FnMut(&Event),
    mut progress: impl FnMut(&DashConsumer),
) -> anyhow::Result<Ended> {
    let mut read = 0u64;
    let done = |read: u64| stop.max_records.is_some_and(|max| read >= max) || stop.until.is_some_and(|u| Instant::now() >= u);
    tokio::select! {
        _ = signals.recv() => return Ok(Ended::Early),
        early = c.wait_for_assignment(Duration::from_secs(60)) => for ev in early? {
            read += 1;
            on(&ev);
        },
    }
    let mut last = Instant::now();
    while !done(read) {
        tokio::select! {
            _ = signals.recv() => return Ok(Ended::Early),
            ev = c.next(Duration::from_millis(250)) => {
                if let Some(ev) = ev? {
                    last = Instant::now();
                    read += 1;
                    on(&ev);
                } else if last.elapsed() >= stop.idle {
                    return Ok(Ended::Idle);
                }
            }
        }
        progress(c);
    }
    Ok(Ended::Early)
}

pub async fn consume(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let mut signals = Signals::install()?;
    let broker = args.broker.open().await?;
    topic_present(&broker.client_config(), &args.read).await?;
    let served = args.metrics.serve().await?;
    let mut settings = ConsumerSettings::new(&args.read.topic, args.read.group_or_fresh("consume"));
    if let Some(d) = args.dlq_topic {
        settings.dlq_topic = d;
    }
    settings.grace = args.grace;
    settings.start = args.read.start();
    settings.codec = CodecConfig::default().with_legacy(!args.no_legacy);
    // The topic read is never created here; the dead-letter topic is, if missing.
    let dlq_status = broker.create_topic(&settings.dlq_topic, 1).await?;
    eprintln!("dead-letter topic {}: {dlq_status}", settings.dlq_topic);
    let mut c = DashConsumer::new(&broker.client_config(), settings, served.metrics.clone())?;
    let mut progress = Progress::new();
    let ended = consume_loop(&mut c, Stop::from(&args.read), &mut signals, |_| {}, |c| {
        progress.tick(|secs| {
            let r = c.report();
            format!("consumed {} records ({:.0}/s), {} dead-lettered, {} lost", r.received, r.received as f64 / secs, r.dlq, r.lost)
        })
    })
    .await?;
    let report = if ended == Ended::Idle { c.finish().await? } else { c.finish_early().await? };
    print_json(&report)?;
    let found: Vec<String> = args.fail_on.iter().filter_map(|f| f.found(&report)).collect();
    if found.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("consume: {} (--fail-on {})", found.join(", "), args.fail_on.iter().filter_map(|f| f.to_possible_value()).map(|v| v.get_name().to_string()).collect::<Vec<_>>().join(","));
    Ok(ExitCode::from(EXIT_FINDINGS))
}
