//! The DashStream conformance suite: World, step definitions, the suite runner
//! and its reports. Compiled into the `conformance` test (`cargo test`) and into
//! the binary (`dashstream check`), so both run exactly the same suite.

pub mod check_steps;
pub mod docker_steps;
pub mod evidence;
pub mod fault_steps;
pub mod hygiene;
pub mod pipeline;
pub mod reference;
pub mod suite;
pub mod traffic_steps;
pub mod world;
