//! dashstream: the reference Rust client for the DashStream protocol and the
//! conformance suite that proves it.
//!
//! DashStream streams agent-graph events and quality reports through Kafka.
//! Each Kafka record value is one *frame*: a format byte and a protobuf
//! `Envelope`, optionally zstd-compressed (see `proto/PROTOCOL.md`).
//!
//! # Layout
//! Layers, bottom up; each imports only the ones below it.
//! - [`proto`]: the generated `Envelope` types (from `proto/dashstream.proto`).
//! - [`sample`]: deterministic sample messages (fixtures, benches, traffic).
//! - [`codec`]: frames to messages and back, bounded against hostile input.
//! - [`docker`]: finds a Docker host the way testcontainers users expect.
//! - [`proxy`]: a TCP fault proxy (latency, bandwidth, black hole, resets,
//!   sliced writes, slow closes) that the container backends put in front of
//!   every broker.
//! - [`broker`]: the Kafka backends (container, cluster, mock, external), named
//!   by one enum, opened by one factory, with the actions faults are made of.
//! - [`pipeline`]: the reference producer and consumer, the traffic generator,
//!   loss detection, latency, metrics, `verify`.
//! - [`faults`]: the fault catalogue, injection, fault runs and their verdicts.
//! - [`forward`]: the live path, Kafka to WebSocket to browser (`dashstream forward`).
//! - [`conformance`]: the conformance engine (World, steps, suite runner,
//!   reports) that `dashstream check` and `cargo test` run on `features/`.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod bench;
pub mod broker;
pub mod codec;
pub mod conformance;
pub mod docker;
pub mod faults;
pub mod forward;
pub mod pipeline;
pub mod proxy;
pub mod sample;

/// Generated from `proto/dashstream.proto` by `build.rs` (protox + prost, no system protoc).
#[allow(clippy::all, missing_docs)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/dashstream.v1.rs"));

    /// `proto/dashstream.proto` as an encoded `FileDescriptorSet`: the schema
    /// legacy frames are checked against, and what other protobuf libraries load in tests.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dashstream.fds"));
}
