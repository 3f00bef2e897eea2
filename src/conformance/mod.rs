//! The conformance engine: the World, the step definitions, the suite runner
//! and the evidence reports. `dashstream check` and `cargo test --test
//! conformance` both run it, on the `.feature` files in `features/`.
//!
//! It sits on top of the library: it drives [`crate::pipeline`] through the
//! [`pipeline::Pipeline`] trait (the reference implementation, or a bug replica
//! in `features/replicas/`), on brokers from [`crate::broker`], and breaks them
//! with [`crate::faults`].

pub mod console;
pub mod evidence;
pub mod fake_docker;
pub mod hygiene;
pub mod live;
pub mod outcomes;
pub mod pipeline;
pub mod reference;
pub mod report;
pub mod steps;
pub mod suite;
pub mod world;
