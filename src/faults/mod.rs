//! Fault injection: a catalogue of broker, network and client faults, and
//! runs that drive steady traffic through them and end with a verdict: every
//! acknowledged message read back, duplicates counted, unacknowledged sends
//! counted apart, no negative latency, consumer lag back to zero.

pub mod catalogue;
pub mod run;
pub mod schedule;

pub use catalogue::FaultPlan;
pub use run::{run, RunOptions, Scheduled, Verdict};
