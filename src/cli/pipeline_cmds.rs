//! `produce`, `consume`, `verify`, `aggregate`: the pipeline from the command line.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use dashstream::broker::select::{self, BrokerChoice};
use dashstream::broker::{admin, Broker};
use dashstream::codec::{CodecConfig, CompressionPolicy};
use dashstream::pipeline::aggregate::QualityAggregator;
use dashstream::pipeline::consumer::{ConsumerSettings, DashConsumer, Event};
use dashstream::pipeline::latency::WallClock;
use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::producer::{DashProducer, ProducerSettings};
use dashstream::pipeline::verify::{self, VerifyOptions};
use dashstream::sample;

/// Where Kafka is.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// auto: --bootstrap if given, else a Kafka container if a Docker host answers, else the embedded mock.
    #[arg(long, default_value = "auto", value_parser = ["auto", "mock", "container", "cluster", "external"])]
    broker: String,
    /// Bootstrap servers of an external cluster (HOST:PORT[,HOST:PORT]).
    #[arg(long)]
    bootstrap: Option<String>,
    /// librdkafka setting passed through, e.g. -X security.protocol=SASL_SSL (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// How long the broker may take to answer before the command fails.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    connect_timeout: Duration,
    /// Serve Prometheus metrics at HOST:PORT/metrics, or "off".
    #[arg(long, default_value = "127.0.0.1:9090")]
    metrics_addr: String,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit() && c != '.').map(|i| s.split_at(i)).unwrap_or((s, "s"));
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration (e.g. 500ms, 10s, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

struct Session {
    broker: Box<dyn Broker>,
    metrics: Metrics,
    _server: Option<tokio::task::JoinHandle<()>>,
}

impl BrokerArgs {
    async fn open(&self) -> anyhow::Result<Session> {
        let choice: BrokerChoice = self.broker.parse().map_err(anyhow::Error::msg)?;
        let settings: BTreeMap<String, String> =
            dashstream::broker::external::ExternalBroker::parse_settings(self.settings.iter().map(String::as_str))?;
        let broker = select::start(choice, self.bootstrap.as_deref(), settings).await?;
        admin::wait_for_brokers(&broker.client_config(), 1, self.connect_timeout)
            .await
            .with_context(|| format!("broker at {} is unreachable", broker.bootstrap_servers()))?;
        tracing::info!("broker: {}", broker.describe());
        let metrics = Metrics::new();
        let server = if self.metrics_addr == "off" {
            None
        } else {
            let addr: SocketAddr = self.metrics_addr.parse().with_context(|| format!("--metrics-addr {:?}", self.metrics_addr))?;
            let (bound, task) = metrics
                .serve(addr)
                .await
                .with_context(|| format!("cannot serve metrics on {addr} (use --metrics-addr HOST:PORT or off)"))?;
            eprintln!("metrics: http://{bound}/metrics");
            Some(task)
        };
        Ok(Session { broker, metrics, _server: server })
    }
}

/// A new consumer group, so the whole topic is read from the start.
fn fresh_group(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

fn policy(s: &str) -> anyhow::Result<CompressionPolicy> {
    s.parse().map_err(anyhow::Error::msg)
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// A progress line on stderr at most every 2 s, only once a run has lasted 2 s.
struct Progress {
    start: Instant,
    last: Instant,
}

impl Progress {
    fn new() -> Self {
        Self { start: Instant::now(), last: Instant::now() }
    }
    fn tick(&mut self, line: impl FnOnce(f64) -> String) {
        if self.last.elapsed() >= Duration::from_secs(2) {
            self.last = Instant::now();
            let secs = self.start.elapsed().as_secs_f64();
            eprintln!("[{secs:6.1}s] {}", line(secs));
        }
    }
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[arg(long)]
    topic: String,
    #[arg(long)]
    count: u64,
    /// Messages per second (0: as fast as the broker acknowledges).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Size of each streamed-chunk message in protobuf bytes (every 10th message is a quality report).
    #[arg(long, default_value_t = 600)]
    size: usize,
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    compress: String,
    /// Shift this producer's clock (created_at) by this many milliseconds.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    clock_offset_ms: i64,
    /// Producer id stamped in every header.
    #[arg(long)]
    producer_id: Option<String>,
    #[command(flatten)]
    broker: BrokerArgs,
}

pub async fn produce(args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let s = args.broker.open().await?;
    s.broker.create_topic(&args.topic, 3).await?;
    let mut settings = ProducerSettings::new(&args.topic);
    settings.codec = CodecConfig::default().with_policy(policy(&args.compress)?);
    settings.clock = WallClock::with_offset_ms(args.clock_offset_ms);
    if let Some(id) = args.producer_id {
        settings.producer_id = id;
    }
    let producer = std::sync::Arc::new(DashProducer::new(&s.broker.client_config(), settings, s.metrics.clone())?);
    let mut progress = Progress::new();
    let (mut acked, mut failed, mut raw, mut wire) = (0u64, 0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    let start = Instant::now();
    let mut pending = futures::stream::FuturesOrdered::new();
    for i in 0..args.count {
        if args.rate > 0.0 {
            tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / args.rate)).into()).await;
        }
        let thread = format!("thread-{}", i % 7);
        let probe = sample::header("", "", i + 1, 0);
        let payload = if i % 10 == 9 {
            sample::quality_report(probe, 0.5 + (i % 50) as f64 / 100.0).payload
        } else {
            sample::chunk(probe, args.size).payload
        };
        let env = producer.stamp(payload.expect("sample has a payload"), &format!("run-{}", i / 100), &thread);
        let p = producer.clone();
        // Spawned, so the record is handed to librdkafka now, not when the queue is next polled.
        pending.push_back(tokio::spawn(async move { p.send(&env).await }));
        while pending.len() >= 256 || (i + 1 == args.count && !pending.is_empty()) {
            use futures::StreamExt;
            match pending.next().await.expect("non-empty").expect("send task panicked") {
                Ok(a) => {
                    acked += 1;
                    raw += a.raw_len as u64;
                    wire += a.wire_len as u64;
                }
                Err(e) => {
                    failed += 1;
                    if failures.len() < 10 {
                        failures.push(e.to_string());
                    }
                }
            }
        }
        progress.tick(|secs| format!("produced {acked}/{} acknowledged ({:.0}/s), {failed} failed", args.count, acked as f64 / secs));
    }
    producer.flush(Duration::from_secs(30))?;
    print_json(&serde_json::json!({
        "topic": args.topic,
        "producer_id": producer.producer_id(),
        "session": producer.session(),
        "sent": args.count,
        "acked": acked,
        "failed": failed,
        "failures": failures,
        "raw_bytes": raw,
        "wire_bytes": wire,
        "compression_ratio": if raw == 0 { 1.0 } else { wire as f64 / raw as f64 },
    }))?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[arg(long)]
    topic: String,
    /// Consumer group (default: a new group, so the whole topic is read from the start).
    #[arg(long)]
    group: Option<String>,
    /// Stop after this long without a record.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Dead-letter topic (default <topic>.dlq).
    #[arg(long)]
    dlq_topic: Option<String>,
    /// A hole in a producer's sequences is reported lost after this long.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    grace: Duration,
    #[arg(long)]
    no_legacy: bool,
    #[command(flatten)]
    broker: BrokerArgs,
}

async fn consume_loop(
    c: &mut DashConsumer,
    idle: Duration,
    mut on: impl FnMut(&Event),
    mut progress: impl FnMut(&DashConsumer),
) -> anyhow::Result<()> {
    // The idle clock starts once the group has assigned partitions, not before.
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
    let s = args.broker.open().await?;
    let group = args.group.clone().unwrap_or_else(|| fresh_group("dashstream-consume"));
    let mut settings = ConsumerSettings::new(&args.topic, group);
    if let Some(d) = args.dlq_topic {
        settings.dlq_topic = d;
    }
    settings.grace = args.grace;
    settings.codec = CodecConfig::default().with_legacy(!args.no_legacy);
    let mut c = DashConsumer::new(&s.broker.client_config(), settings, s.metrics.clone())?;
    let mut progress = Progress::new();
    consume_loop(&mut c, args.idle_timeout, |_| {}, |c| {
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

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long)]
    count: u64,
    /// Topic to use (default: a new unique topic).
    #[arg(long)]
    topic: Option<String>,
    #[arg(long, default_value_t = 600)]
    size: usize,
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    compress: String,
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    clock_offset_ms: i64,
    /// Messages per second (0: as fast as the broker acknowledges).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    #[command(flatten)]
    broker: BrokerArgs,
}

pub async fn verify_cmd(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let s = args.broker.open().await?;
    let opts = VerifyOptions {
        count: args.count,
        topic: args.topic,
        size: args.size,
        clock_offset_ms: args.clock_offset_ms,
        codec: CodecConfig::default().with_policy(policy(&args.compress)?),
        rate: args.rate,
        connect_timeout: args.broker.connect_timeout,
        ..VerifyOptions::default()
    };
    let start = Instant::now();
    let count = args.count;
    let progress = move |acked: u64, received: u64| {
        if start.elapsed() >= Duration::from_secs(2) {
            eprintln!("[{:6.1}s] acknowledged {acked}/{count}, received {received}", start.elapsed().as_secs_f64());
        }
    };
    let report = verify::verify(s.broker.as_ref(), &opts, &s.metrics, &progress).await?;
    print_json(&report)?;
    Ok(if report.verdict == "pass" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[derive(Debug, Args)]
pub struct AggregateArgs {
    #[arg(long)]
    topic: String,
    #[arg(long)]
    group: Option<String>,
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    idle_timeout: Duration,
    #[command(flatten)]
    broker: BrokerArgs,
}

pub async fn aggregate(args: AggregateArgs) -> anyhow::Result<ExitCode> {
    let s = args.broker.open().await?;
    let group = args.group.clone().unwrap_or_else(|| fresh_group("dashstream-aggregate"));
    let mut c = DashConsumer::new(&s.broker.client_config(), ConsumerSettings::new(&args.topic, group), s.metrics.clone())?;
    let mut agg = QualityAggregator::default();
    consume_loop(
        &mut c,
        args.idle_timeout,
        |ev| {
            if let Event::Message { envelope, .. } = ev {
                agg.add(envelope);
            }
        },
        |_| {},
    )
    .await?;
    let report = c.finish().await?;
    if report.received == 0 {
        bail!("no records on {} within {:?}", args.topic, args.idle_timeout);
    }
    print_json(&agg)?;
    Ok(ExitCode::SUCCESS)
}
