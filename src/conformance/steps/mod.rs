//! Step definitions, one file per concern. cucumber collects them through
//! `inventory` when the World builds its runner.

pub mod checks;
pub mod docker_host;
pub mod faults;
pub mod forwarding;
pub mod hygiene;
pub mod traffic;
