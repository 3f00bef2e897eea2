//! The reference pipeline: producer, consumer, loss detection, latency, metrics.
//!
//! Four of the five original bugs lived here (negative latency, invisible loss,
//! compression configured but never applied, a log line per message); each
//! module below makes one of them visible and countable.

pub mod latency;
pub mod loss;
pub mod metrics;
pub mod rangeset;
pub mod ratelimit;
