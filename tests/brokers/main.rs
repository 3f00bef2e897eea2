//! Broker backends, each proven with real traffic: 1,000 records produced with
//! rdkafka and all consumed back; a container broker restarted mid-stream; a
//! 3-broker cluster losing a broker without losing an acknowledged record; the
//! local image started unchanged by testcontainers-modules.
//!
//! Container tests need a Docker host. Without one they fail with the
//! discovery error (what was tried, how to fix it); they are never skipped.

mod cluster;
mod container;
mod discovery;
mod mock;
mod traffic;
