//! Argument groups the commands share through clap's `flatten`: where the
//! metrics are served, which topic is read, what traffic is sent.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use dashstream::broker::factory;
use dashstream::codec::{CodecConfig, CompressionPolicy};
use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::producer::BatchCompression;
use dashstream::pipeline::start::StartAt;

/// Where metrics are served when `--metrics-addr` is not given.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9090";

/// `--metrics-addr`, for the commands that talk to Kafka.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics at HOST:PORT/metrics, or "off". Default
    /// 127.0.0.1:9090, or a free port when another command holds it (the
    /// address served is printed on stderr). An address given here must be free.
    #[arg(long, value_parser = parse_metrics_addr)]
    pub metrics_addr: Option<MetricsAddr>,
}

/// A parsed `--metrics-addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAddr {
    Off,
    At(SocketAddr),
}

fn parse_metrics_addr(s: &str) -> Result<MetricsAddr, String> {
    if s == "off" {
        return Ok(MetricsAddr::Off);
    }
    s.parse().map(MetricsAddr::At).map_err(|_| format!("{s:?} is neither HOST:PORT (e.g. 127.0.0.1:9091) nor \"off\""))
}

/// A metrics registry, served while it lives (unless `off`).
pub struct ServedMetrics {
    pub metrics: Metrics,
    _server: Option<tokio::task::JoinHandle<()>>,
}

impl MetricsArgs {
    pub async fn serve(&self) -> anyhow::Result<ServedMetrics> {
        let metrics = Metrics::new();
        let (bound, task) = match self.metrics_addr {
            Some(MetricsAddr::Off) => return Ok(ServedMetrics { metrics, _server: None }),
            Some(MetricsAddr::At(addr)) => {
                metrics.serve(addr).await.with_context(|| format!("cannot serve metrics on {addr} (use --metrics-addr HOST:PORT or off)"))?
            }
            None => {
                let default: SocketAddr = DEFAULT_METRICS_ADDR.parse().expect("a valid address");
                match metrics.serve(default).await {
                    Ok(served) => served,
                    // Another command holds the default: side by side on a free port.
                    Err(_) => metrics.serve(SocketAddr::new(default.ip(), 0)).await.context("cannot serve metrics on a free port")?,
                }
            }
        };
        eprintln!("metrics: http://{bound}/metrics");
        Ok(ServedMetrics { metrics, _server: Some(task) })
    }
}

/// The topic a reading command reads, as which group, until when.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// The topic to read (the defaults are the original system's topics).
    #[arg(long, default_value = EVENTS_TOPIC)]
    pub topic: String,
    /// Consumer group (default: a new group, so the whole topic is read from the start).
    #[arg(long)]
    pub group: Option<String>,
    /// Stop after this long without a record (e.g. 500ms, 10s).
    #[arg(long, default_value = "10s", value_parser = factory::parse_duration)]
    pub idle_timeout: Duration,
    /// Start every partition at its first record, whatever the group committed.
    #[arg(long, conflicts_with = "from_end")]
    pub from_beginning: bool,
    /// Start every partition at its end: only records written from now on.
    #[arg(long)]
    pub from_end: bool,
    /// Stop after this many records.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_records: Option<u64>,
    /// If the topic does not exist, wait up to this long for it (e.g. 30s)
    /// instead of failing at once with the broker's answer.
    #[arg(long, value_parser = factory::parse_duration)]
    pub wait_for_topic: Option<Duration>,
}

impl ReadArgs {
    /// Where each partition starts.
    pub fn start(&self) -> StartAt {
        match (self.from_beginning, self.from_end) {
            (true, _) => StartAt::Beginning,
            (_, true) => StartAt::End,
            _ => StartAt::Committed,
        }
    }

    /// The group to join: the one given, or a new one named after `command`.
    pub fn group_or_fresh(&self, command: &str) -> String {
        self.group.clone().unwrap_or_else(|| format!("dashstream-{command}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]))
    }
}

/// The original system's topic of agent-graph events: the default of the
/// commands that send, read or forward the stream.
pub const EVENTS_TOPIC: &str = "dashstream-events";
/// The original system's topic of quality reports: `aggregate`'s default.
pub const QUALITY_TOPIC: &str = "dashstream-quality";

/// What a sending command sends.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    /// Messages per second (0: as fast as the broker acknowledges).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Size of each streamed-chunk message: the whole Envelope's protobuf
    /// bytes, its header included (the frame adds its 1 format byte; smaller
    /// than the header alone gives the smallest chunk).
    #[arg(long, default_value_t = 600)]
    pub size: usize,
    #[arg(long, value_enum, default_value_t = CompressionPolicy::Auto)]
    pub compress: CompressionPolicy,
    /// Shift this producer's clock (created_at) by this many milliseconds.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub clock_offset_ms: i64,
    /// Kafka's batch compression (compression.type), on top of or instead of --compress.
    #[arg(long, value_enum, default_value_t = BatchCompression::None)]
    pub batch_compress: BatchCompression,
    /// Sends awaiting the broker's answer at once, at most (the producer's send window).
    #[arg(long, default_value_t = dashstream::pipeline::traffic::DEFAULT_IN_FLIGHT, value_parser = in_flight_window)]
    pub in_flight: usize,
}

impl SendArgs {
    pub fn codec(&self) -> CodecConfig {
        CodecConfig::default().with_policy(self.compress)
    }
}

/// `--in-flight`: 1 to 100,000 (librdkafka queues at most 100,000 messages by default).
fn in_flight_window(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a number from 1 to 100000")),
    }
}
