//! The reference pipeline end to end, mostly on librdkafka's embedded mock
//! cluster (one verify on the test broker: a Kafka container unless
//! `DASHSTREAM_TEST_BROKER` says otherwise): verify, clock skew, dead letters,
//! loss ranges, metrics endpoint, unreachable brokers, fault runs, the CLI.

mod aggregate_cli;
mod cli;
mod compression_log;
mod consume_cli;
mod dlq;
mod faults;
#[path = "../common/json_schema.rs"]
mod json_schema;
mod loss;
mod stall;
mod metrics;
mod prometheus;
mod schemas;
mod support;
mod verify;
