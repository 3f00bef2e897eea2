//! Fault injection: a catalogue of broker, network and client faults, and
//! runs that drive steady traffic through them and end with a verdict: every
//! acknowledged message read back, duplicates counted, unacknowledged sends
//! counted apart, no negative latency, consumer lag back to zero.
//!
//! - [`catalogue`]: the fault vocabulary and where each fault can run.
//! - [`inject`]: each fault as broker actions, with its effect checked.
//! - [`network`]: the network faults, toxics of the fault proxy in front of
//!   every broker, proven with [`wire_probe`] (a raw Kafka request, through
//!   the proxy and straight to the broker).
//! - [`schedule`]: seeded schedules.
//! - [`run`]: the run itself; its clients live in `workload`, its books in
//!   `ledger`, and [`verdict`] judges the books; [`timeline`] keeps the run
//!   second by second for the report's chart.

pub mod catalogue;
pub mod inject;
pub mod network;
mod proof;
mod ledger;
pub mod run;
pub mod schedule;
pub mod timeline;
pub mod verdict;
mod workload;
pub mod wire_probe;

pub use catalogue::Fault;
pub use run::{run, RunOptions};
pub use verdict::Verdict;
pub use schedule::Scheduled;
