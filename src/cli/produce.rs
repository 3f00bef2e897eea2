//! `dashstream produce`: N stamped, encoded messages to a topic; the counts as JSON.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dashstream::broker::BrokerArgs;
use dashstream::pipeline::latency::WallClock;
use dashstream::pipeline::producer::{DashProducer, ProducerSettings};
use dashstream::pipeline::traffic::{Sent, Traffic};
use dashstream::proto::envelope::Payload;
use dashstream::sample;

use super::args::{MetricsArgs, SendArgs};
use super::output::{print_json, Progress};

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// The topic (the default is the original system's events topic).
    #[arg(long, default_value = super::args::EVENTS_TOPIC)]
    topic: String,
    #[arg(long)]
    count: u64,
    /// Rate, size (every 10th message is a quality report instead), compression, clock.
    #[command(flatten)]
    send: SendArgs,
    /// Producer id stamped in every header.
    #[arg(long)]
    producer_id: Option<String>,
    #[command(flatten)]
    pub(crate) broker: BrokerArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

/// What the sends came to.
#[derive(Default)]
struct Tally {
    acked: u64,
    failed: u64,
    raw: u64,
    wire: u64,
    failures: Vec<String>,
}

impl Tally {
    fn add(&mut self, sent: Sent) {
        match sent.result {
            Ok(a) => {
                self.acked += 1;
                self.raw += a.raw_len as u64;
                self.wire += a.wire_len as u64;
            }
            Err(e) => {
                self.failed += 1;
                if self.failures.len() < 10 {
                    self.failures.push(e.to_string());
                }
            }
        }
    }
}

/// What `produce` prints on stdout (schema: `dashstream schema produce`).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProduceReport {
    pub topic: String,
    /// e.g. "created with 3 partitions", "exists with 1 partition, used as it is".
    pub topic_status: String,
    pub producer_id: String,
    /// This run's producer session: its sequences start at 1.
    pub session: String,
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    /// The first failures, as the client reported them.
    pub failures: Vec<String>,
    /// Protobuf bytes of the messages acknowledged.
    pub raw_bytes: u64,
    /// Frame bytes of the messages acknowledged (after the codec's compression).
    pub wire_bytes: u64,
    /// wire_bytes / raw_bytes.
    pub compression_ratio: f64,
}

/// Message `i` of the run: every 10th a quality report, the others chunks
/// (sized to `--size` once stamped).
fn payload(i: u64) -> Payload {
    let probe = sample::header("", "", i + 1, 0);
    if i % 10 == 9 {
        sample::quality_report(probe, 0.5 + (i % 50) as f64 / 100.0).payload.expect("a sample has a payload")
    } else {
        sample::empty_chunk(i + 1) // sized once stamped
    }
}

pub async fn produce(args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let broker = args.broker.open().await?;
    let served = args.metrics.serve().await?;
    let topic_status = broker.create_topic(&args.topic, 3).await?;
    eprintln!("topic {}: {topic_status}", args.topic);
    let mut settings = ProducerSettings::new(&args.topic);
    settings.codec = args.send.codec();
    settings.batch_compression = args.send.batch_compress;
    settings.clock = WallClock::with_offset_ms(args.send.clock_offset_ms);
    if let Some(id) = args.producer_id {
        settings.producer_id = id;
    }
    let producer = Arc::new(DashProducer::new(&broker.client_config(), settings, served.metrics.clone())?);
    let mut progress = Progress::new();
    let mut tally = Tally::default();
    let mut traffic = Traffic::new(args.send.rate, args.send.in_flight);
    for i in 0..args.count {
        let intended = traffic.next_slot(&mut |s| tally.add(s)).await;
        let mut env = producer.stamp(payload(i), &format!("run-{}", i / 100), &format!("thread-{}", i % 7));
        // --size is the whole message's protobuf size, its stamped header included.
        sample::resize_chunk(&mut env, args.send.size);
        traffic.send(&producer, env, intended);
        progress.tick(|secs| format!("produced {}/{} acknowledged ({:.0}/s), {} failed", tally.acked, args.count, tally.acked as f64 / secs, tally.failed));
    }
    traffic.drain(&mut |s| tally.add(s)).await;
    producer.flush(Duration::from_secs(30)).await?;
    print_json(&ProduceReport {
        topic: args.topic.clone(),
        topic_status: topic_status.to_string(),
        producer_id: producer.producer_id().to_string(),
        session: producer.session().to_string(),
        sent: args.count,
        acked: tally.acked,
        failed: tally.failed,
        failures: tally.failures.clone(),
        raw_bytes: tally.raw,
        wire_bytes: tally.wire,
        compression_ratio: if tally.raw == 0 { 1.0 } else { tally.wire as f64 / tally.raw as f64 },
    })?;
    DashProducer::close_shared(producer).await;
    Ok(if tally.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
