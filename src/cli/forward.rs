//! `dashstream forward`: Kafka to WebSocket, with the browser view at `/`.
//! Runs until Ctrl-C or SIGTERM, then tells clients it is closing and prints
//! its totals as JSON.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dashstream::broker::{factory, BrokerArgs};
use dashstream::codec::CodecConfig;
use dashstream::forward::latency::HonestMeter;
use dashstream::forward::queue::Limits;
use dashstream::forward::{ForwardSettings, Forwarder};

use super::args::MetricsArgs;
use super::output::print_json;

#[derive(Debug, Args)]
pub struct ForwardArgs {
    /// The topic (the default is the original system's events topic).
    #[arg(long, default_value = super::args::EVENTS_TOPIC)]
    topic: String,
    /// Where clients connect: ws://HOST:PORT/ws, and the page at http://HOST:PORT/.
    #[arg(long, default_value = "127.0.0.1:3002")]
    listen: SocketAddr,
    /// Log one line per message: `E2E latency: 2.3 ms (produce: … µs, forward: … µs)`.
    #[arg(long)]
    log_each: bool,
    /// How often the `E2E latency: p50 …` summary is logged.
    #[arg(long, default_value = "10s", value_parser = factory::parse_duration)]
    summary_every: Duration,
    /// Records queued per client before the oldest are dropped (the client gets a gap notice).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    queue: u64,
    /// Frame bytes queued per client before the oldest are dropped.
    #[arg(long, default_value_t = 8 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    queue_bytes: u64,
    /// Records kept for clients that ask for `?last=N` or reconnect with `?from=INDEX`.
    #[arg(long, default_value_t = 1000)]
    replay: u64,
    /// Disconnect a client that has been dropping records this long without catching up.
    #[arg(long, default_value = "10s", value_parser = factory::parse_duration)]
    stall_timeout: Duration,
    /// Send a ping and a keep-alive notice after this long without traffic.
    #[arg(long, default_value = "15s", value_parser = factory::parse_duration)]
    keepalive: Duration,
    /// Clients beyond this are refused (close code 1013, with the reason).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    max_clients: u64,
    /// Wait this long for a topic that does not exist yet (0: fail at once).
    #[arg(long, default_value = "0s", value_parser = factory::parse_duration)]
    wait_for_topic: Duration,
    #[arg(long)]
    no_legacy: bool,
    #[command(flatten)]
    pub(crate) broker: BrokerArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

impl ForwardArgs {
    fn settings(&self) -> ForwardSettings {
        let mut s = ForwardSettings::new(&self.topic, self.listen);
        s.queue = Limits { items: self.queue as usize, bytes: self.queue_bytes as usize };
        s.replay = Limits { items: self.replay as usize, bytes: (self.queue_bytes as usize).max(1) };
        s.stall = self.stall_timeout;
        s.keepalive = self.keepalive;
        s.max_clients = self.max_clients as usize;
        s.summary_every = self.summary_every;
        s.log_each = self.log_each;
        s.codec = CodecConfig::default().with_legacy(!self.no_legacy);
        s.topic_wait = self.wait_for_topic;
        s
    }
}

pub async fn forward(args: ForwardArgs) -> anyhow::Result<ExitCode> {
    let broker = args.broker.open().await?;
    let served = args.metrics.serve().await?;
    let forwarder = Forwarder::start(&broker.client_config(), args.settings(), &served.metrics, Arc::new(HonestMeter)).await?;
    let addr = forwarder.local_addr();
    eprintln!("forward: {} -> ws://{addr}/ws (view: http://{addr}/); Ctrl-C to stop", args.topic);
    wait_for_stop_signal().await?;
    let totals = forwarder.totals();
    forwarder.shutdown().await;
    print_json(&totals)?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
