//! The `dashstream` command line: codec tools, and (with a broker) the pipeline.

mod cli;

/// The conformance suite's step definitions, shared with `cargo test --test conformance`.
#[path = "../features/steps/mod.rs"]
mod steps;

fn main() -> std::process::ExitCode {
    cli::run()
}
