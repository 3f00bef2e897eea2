//! dashstream: the reference Rust client for the DashStream protocol and the
//! conformance suite that proves it.
//!
//! DashStream streams agent-graph events and quality reports through Kafka.
//! Each Kafka record value is one *frame*: a format byte and a protobuf
//! `Envelope`, optionally zstd-compressed (see `proto/PROTOCOL.md`).
//!
//! # Layout
//! - [`proto`]: the generated `Envelope` types (from `proto/dashstream.proto`).
//! - [`codec`]: frames to messages and back, bounded against hostile input.
//! - [`docker`]: finds a Docker host the way testcontainers users expect.
//! - [`broker`]: the Kafka backends tests and runs use (container, mock, external).
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod broker;
pub mod codec;
pub mod docker;
pub mod faults;
pub mod pipeline;
pub mod sample;

/// Generated from `proto/dashstream.proto` by `build.rs` (protox + prost, no system protoc).
#[allow(clippy::all, missing_docs)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/dashstream.v1.rs"));
}
