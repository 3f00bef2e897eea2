//! Command-line parsing and dispatch, one file per command. Output to the
//! terminal happens only here, never in the library.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod aggregate;
mod args;
mod bench;
mod chaos;
mod check;
mod consume;
mod decode;
mod encode;
mod forward;
mod output;
mod produce;
mod schema;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Reference client and conformance suite for the DashStream protocol.
#[derive(Debug, Parser)]
#[command(name = "dashstream", version, about, long_about = None)]
struct Cli {
    /// Log lines on stderr as text (coloured only on a terminal, never with
    /// NO_COLOR) or as one JSON object per line, for machines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Encode a message given as JSON into a frame (bytes on stdout).
    Encode(encode::EncodeArgs),
    /// Decode a frame into JSON: {"format": ..., "message": ...}.
    Decode(decode::DecodeArgs),
    /// Produce N stamped, encoded messages to a topic.
    Produce(produce::ProduceArgs),
    /// Consume a topic: decode, dead-letter, detect loss, measure latency; print the counts as JSON.
    Consume(consume::ConsumeArgs),
    /// Produce N messages and consume them back; print the verdict as JSON (exit 0 only on pass).
    Verify(verify::VerifyArgs),
    /// The quality aggregator: read quality reports (for --duration, or until the topic is idle), print per-thread aggregates as JSON.
    Aggregate(aggregate::AggregateArgs),
    /// Run the conformance suite (the Gherkin features) and write the reports.
    Check(check::CheckArgs),
    /// A long run of traffic under a seeded schedule of faults, with a loss verdict (exit 1 on any loss).
    Chaos(chaos::ChaosArgs),
    /// Forward a topic to WebSocket clients (binary frames, byte for byte) and serve the browser view.
    Forward(forward::ForwardArgs),
    /// Measure dashstream beside Kafka's own tools on one Kafka container (exit 1 if a bar is missed).
    Bench(bench::BenchArgs),
    /// Print the JSON Schema of a command's output (as published in schemas/).
    Schema(schema::SchemaArgs),
}

/// Exit status when the command ran and found what `--fail-on` names (lost,
/// duplicated or dead-lettered records), or failed otherwise.
pub(crate) const EXIT_FINDINGS: u8 = 1;
/// Exit status for bad input or usage: an undecodable frame, a topic that does
/// not exist, flags clap refuses (clap's own status is 2 as well).
pub(crate) const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when the broker (or the Docker host for one) did not answer in time.
pub(crate) const EXIT_UNREACHABLE: u8 = 3;

/// An error in what the user asked for, not in the broker or the pipeline: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub String);

/// The documented exit status for an error that ended a command.
fn exit_status_for(err: &anyhow::Error) -> u8 {
    use dashstream::broker::BrokerError;
    use dashstream::pipeline::PipelineError;
    let unreachable = |b: &BrokerError| matches!(b, BrokerError::Unreachable { .. } | BrokerError::NoDocker(_));
    for cause in err.chain() {
        if cause.is::<UsageError>() || matches!(cause.downcast_ref::<BrokerError>(), Some(BrokerError::Config(_))) {
            return EXIT_BAD_INPUT;
        }
        if cause.downcast_ref::<BrokerError>().is_some_and(unreachable) {
            return EXIT_UNREACHABLE;
        }
        match cause.downcast_ref::<PipelineError>() {
            Some(PipelineError::Unreachable(_)) => return EXIT_UNREACHABLE,
            Some(PipelineError::Broker(b)) if unreachable(b) => return EXIT_UNREACHABLE,
            _ => {}
        }
    }
    EXIT_FINDINGS
}

/// Flag combinations clap's attributes cannot express, refused as clap errors
/// (exit 2) before any broker is contacted.
fn refuse_impossible_flags(cli: &Cli) {
    use clap::CommandFactory;
    use dashstream::broker::BrokerKind;
    let broker = match &cli.command {
        Command::Produce(a) => Some(&a.broker),
        Command::Consume(a) => Some(&a.broker),
        Command::Verify(a) => Some(&a.broker),
        Command::Aggregate(a) => Some(&a.broker),
        Command::Forward(a) => Some(&a.broker),
        _ => None,
    };
    let conflict = match broker {
        Some(b) if b.connection.bootstrap.is_some() && matches!(b.broker, BrokerKind::Mock | BrokerKind::Container | BrokerKind::Cluster) => Some(format!(
            "--bootstrap names an existing cluster, but --broker {} starts its own: use --broker external (or auto) with --bootstrap",
            b.broker
        )),
        Some(b) if b.connection.bootstrap.is_none() && b.broker == BrokerKind::External => {
            Some("--broker external needs --bootstrap HOST:PORT".to_string())
        }
        _ => None,
    };
    let conflict = conflict.or_else(|| match &cli.command {
        Command::Consume(a) => a.fail_on_conflict(),
        _ => None,
    });
    if let Some(msg) = conflict {
        Cli::command().error(clap::error::ErrorKind::ArgumentConflict, msg).exit();
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    refuse_impossible_flags(&cli);
    match &cli.command {
        // A conformance run's console is one line per scenario: logs go to a file.
        Command::Check(args) => init_tracing_to_file(&args.log_path(), args.verbose, cli.log_format),
        // The forwarder's latency lines are what operators read: info by default.
        Command::Forward(_) => init_tracing("warn,dashstream::forward=info", cli.log_format),
        // The directive's compression and decompression summaries, every 10 s at most.
        Command::Produce(_) | Command::Consume(_) | Command::Aggregate(_) => init_tracing("warn,dashstream::summary=info", cli.log_format),
        _ => init_tracing("warn", cli.log_format),
    }
    let result = match cli.command {
        Command::Encode(args) => encode::encode(args),
        Command::Decode(args) => decode::decode(args),
        Command::Produce(args) => block_on(produce::produce(args)),
        Command::Consume(args) => block_on(consume::consume(args)),
        Command::Verify(args) => block_on(verify::verify(args)),
        Command::Aggregate(args) => block_on(aggregate::aggregate(args)),
        Command::Check(args) => block_on(check::check(args)),
        Command::Chaos(args) => block_on(chaos::chaos(args)),
        Command::Forward(args) => block_on(forward::forward(args)),
        Command::Bench(args) => block_on(bench::bench(args)),
        Command::Schema(args) => schema::schema(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", one_line(&format!("{err:#}")));
            ExitCode::from(exit_status_for(&err))
        }
    }
}

fn block_on(f: impl std::future::Future<Output = anyhow::Result<ExitCode>>) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?.block_on(f)
}

fn init_tracing(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => {
            // Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
            let ansi = dashstream::conformance::console::colour_wanted(std::io::IsTerminal::is_terminal(&std::io::stderr()));
            builder.with_ansi(ansi).try_init()
        }
    };
}

/// Log lines to `path` (info, or RUST_LOG's filter), and to stderr only when
/// `verbose` or RUST_LOG asks for them.
fn init_tracing_to_file(path: &std::path::Path, verbose: bool, format: LogFormat) {
    use tracing_subscriber::{fmt, layer::SubscriberExt as _, util::SubscriberInitExt as _, EnvFilter, Layer as _};
    let file = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::File::create(path));
    let file = match file {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot write the log file {}: {e}; logging to stderr", path.display());
            return init_tracing("warn", format);
        }
    };
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let to_file = fmt::layer().with_writer(std::sync::Mutex::new(file)).with_ansi(false).with_filter(filter());
    let ansi = dashstream::conformance::console::colour_wanted(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let to_console = (verbose || std::env::var_os("RUST_LOG").is_some()).then(|| match format {
        LogFormat::Json => fmt::layer().json().with_writer(std::io::stderr).with_filter(filter()).boxed(),
        LogFormat::Text => fmt::layer().with_writer(std::io::stderr).with_ansi(ansi).with_filter(filter()).boxed(),
    });
    let _ = tracing_subscriber::registry().with(to_file).with(to_console).try_init();
}

pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
