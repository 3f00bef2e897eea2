//! `dashstream schema COMMAND`: the JSON Schema (draft 2020-12) of what a
//! command prints on stdout. The same schemas are published in `schemas/`,
//! and the CLI tests check both that they are current and that the commands'
//! output validates against them.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use dashstream::pipeline::aggregate::QualityAggregator;
use dashstream::pipeline::consumer::ConsumeReport;
use dashstream::pipeline::verify::VerifyReport;
use schemars::schema_for;

use dashstream::bench::report::BenchReport;

use super::chaos::ChaosOutput;
use super::decode::DecodeOutput;
use super::output::print_json;
use super::produce::ProduceReport;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The command whose output is described.
    #[arg(value_enum)]
    command: Printing,
}

/// The commands that print JSON on stdout.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Printing {
    Produce,
    Consume,
    Verify,
    Aggregate,
    Decode,
    Chaos,
    Bench,
}

pub fn schema(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let schema = match args.command {
        Printing::Produce => schema_for!(ProduceReport),
        Printing::Consume => schema_for!(ConsumeReport),
        Printing::Verify => schema_for!(VerifyReport),
        Printing::Aggregate => schema_for!(QualityAggregator),
        Printing::Decode => schema_for!(DecodeOutput),
        Printing::Chaos => schema_for!(ChaosOutput),
        Printing::Bench => schema_for!(BenchReport),
    };
    print_json(&schema)?;
    Ok(ExitCode::SUCCESS)
}
