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

/// `--metrics-addr`, for the commands that talk to Kafka.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics at HOST:PORT/metrics, or "off".
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub metrics_addr: String,
}

/// A metrics registry, served while it lives (unless `off`).
pub struct ServedMetrics {
    pub metrics: Metrics,
    _server: Option<tokio::task::JoinHandle<()>>,
}

impl MetricsArgs {
    pub async fn serve(&self) -> anyhow::Result<ServedMetrics> {
        let metrics = Metrics::new();
        if self.metrics_addr == "off" {
            return Ok(ServedMetrics { metrics, _server: None });
        }
        let addr: SocketAddr = self.metrics_addr.parse().with_context(|| format!("--metrics-addr {:?}", self.metrics_addr))?;
        let (bound, task) = metrics
            .serve(addr)
            .await
            .with_context(|| format!("cannot serve metrics on {addr} (use --metrics-addr HOST:PORT or off)"))?;
        eprintln!("metrics: http://{bound}/metrics");
        Ok(ServedMetrics { metrics, _server: Some(task) })
    }
}

/// The topic a reading command reads, as which group, until when.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    #[arg(long)]
    pub topic: String,
    /// Consumer group (default: a new group, so the whole topic is read from the start).
    #[arg(long)]
    pub group: Option<String>,
    /// Stop after this long without a record (e.g. 500ms, 10s).
    #[arg(long, default_value = "10s", value_parser = factory::parse_duration)]
    pub idle_timeout: Duration,
}

impl ReadArgs {
    /// The group to join: the one given, or a new one named after `command`.
    pub fn group_or_fresh(&self, command: &str) -> String {
        self.group.clone().unwrap_or_else(|| format!("dashstream-{command}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]))
    }
}

/// What a sending command sends.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    /// Messages per second (0: as fast as the broker acknowledges).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Size of each streamed-chunk message in protobuf bytes.
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
