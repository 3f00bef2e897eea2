//! Finding a Docker host the way a developer's machine has one.
//!
//! Laptops run Docker Desktop, Colima, rootless Docker or Podman; CI runs a
//! plain `dockerd`. [`discover`] uses a host set explicitly (`DOCKER_HOST`,
//! else the `~/.testcontainers.properties` keys `docker.host`, `tc.host`)
//! alone, as Docker's CLI does: it answers or discovery fails naming it. With
//! nothing set it tries the usual sockets, keeping the first one that answers
//! a `/_ping`. When nothing answers, the error lists every place tried and
//! why, and how to fix it.
//! [`ensure_docker_host`] runs it once per process, logs the result once and
//! points testcontainers at the same host.

mod discovery;
mod probe;

pub use discovery::{candidates, discover, Candidate, DiscoveryEnv, DockerHostError, FoundHost, Tried};
pub use probe::{HttpPing, Probe};

use std::sync::OnceLock;

static FOUND: OnceLock<Result<FoundHost, DockerHostError>> = OnceLock::new();

/// Discovers the Docker host once per process (from the real environment),
/// logs it once, and exports it as `DOCKER_HOST` so testcontainers uses the
/// same one. Later calls return the cached answer.
pub fn ensure_docker_host() -> Result<FoundHost, DockerHostError> {
    FOUND
        .get_or_init(|| {
            let result = discover(&DiscoveryEnv::from_process(), &HttpPing::default());
            match &result {
                Ok(found) => {
                    tracing::info!(host = %found.host, source = %found.source, version = %found.version, "docker host found");
                    if std::env::var("DOCKER_HOST").ok().as_deref() != Some(found.host.as_str()) {
                        // Done once, before any container starts: testcontainers reads it on first use.
                        std::env::set_var("DOCKER_HOST", &found.host);
                    }
                }
                // The caller decides: an error for a container, a notice when it falls back to the mock.
                Err(e) => tracing::debug!("{e}"),
            }
            result
        })
        .clone()
}

