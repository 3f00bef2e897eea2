//! Step definitions, one file per concern. cucumber collects them through
//! `inventory` when the World builds its runner.

pub mod aggregator;
pub mod checks;
pub mod docker_host;
pub mod faults;
pub mod forwarding;
pub mod hygiene;
pub mod interop;
pub mod traffic;

/// `Ok` when `cond` holds, else the error `msg` builds: how every check fails.
pub(crate) fn ensure(cond: bool, msg: impl FnOnce() -> String) -> anyhow::Result<()> {
    if cond {
        Ok(())
    } else {
        Err(anyhow::anyhow!(msg()))
    }
}
