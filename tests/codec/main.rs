//! Codec tests: every wire rule, property round-trips, golden fixtures and the CLI.
//! One test binary (one link of librdkafka), one module per concern.

mod alloc_meter;
mod cli;
mod fixtures;
mod props;
mod rules;

#[global_allocator]
static METER: alloc_meter::Meter = alloc_meter::Meter;
