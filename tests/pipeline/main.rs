//! The reference pipeline against real brokers: verify, clock skew, dead letters,
//! loss ranges, metrics endpoint, unreachable brokers, the CLI.

mod cli;
mod compression_log;
mod dlq;
mod faults;
mod loss;
mod metrics;
mod support;
mod verify;
