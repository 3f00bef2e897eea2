//! The `dashstream` command line: codec tools, and (with a broker) the pipeline.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
