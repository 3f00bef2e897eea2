//! The ordered list of places a Docker host may be, and the search through them.

use std::fmt;
use std::path::{Path, PathBuf};

use super::probe::Probe;

/// What discovery reads from the environment. Tests build one with fake paths.
#[derive(Debug, Clone, Default)]
pub struct DiscoveryEnv {
    /// `DOCKER_HOST`.
    pub docker_host: Option<String>,
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// `XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<PathBuf>,
    /// Prefix for absolute system paths such as `/var/run/docker.sock` (`/` for real).
    pub root: PathBuf,
}

impl DiscoveryEnv {
    /// The real process environment.
    pub fn from_process() -> Self {
        Self {
            docker_host: std::env::var("DOCKER_HOST").ok().filter(|s| !s.trim().is_empty()),
            home: std::env::var_os("HOME").map(PathBuf::from),
            xdg_runtime_dir: std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
            root: PathBuf::from("/"),
        }
    }
}

/// One place a Docker host may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Where the address came from, for the log and the error.
    pub source: String,
    /// The address, e.g. `unix:///var/run/docker.sock`.
    pub host: String,
    /// For sockets: the file, which must exist to be probed.
    pub socket: Option<PathBuf>,
    /// Configured by the user (`DOCKER_HOST`, the properties file): used
    /// alone, never replaced by a socket found elsewhere.
    pub explicit: bool,
}

/// One place tried and why it was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub source: String,
    pub host: Option<String>,
    pub reason: String,
}

/// The Docker host that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundHost {
    pub host: String,
    pub source: String,
    pub version: String,
    /// Places tried before this one, with their reasons.
    pub skipped: Vec<Tried>,
}

/// No Docker host answered. Display lists every place tried and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DockerHostError {
    pub tried: Vec<Tried>,
    /// Set when the host was configured explicitly (its source, e.g.
    /// `DOCKER_HOST`): then it was the only place tried.
    pub explicit: Option<String>,
}

impl fmt::Display for DockerHostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(source), Some(t)) = (&self.explicit, self.tried.last()) {
            let host = t.host.as_deref().unwrap_or("?");
            writeln!(f, "the Docker host set in {source} ({host}) does not answer: {}", t.reason)?;
            writeln!(f, "a Docker host set explicitly is used alone: the usual sockets are not searched")?;
            return write!(
                f,
                "fix: start the engine behind it (e.g. `colima start`), point {source} at one that runs \
                 (DOCKER_HOST=unix:///path/to/docker.sock), unset it to search the usual sockets, \
                 or use the embedded broker (`--broker mock`, or DASHSTREAM_BROKER=mock)"
            );
        }
        writeln!(f, "no Docker host answers; tried, in order:")?;
        for t in &self.tried {
            match &t.host {
                Some(h) => writeln!(f, "  - {} ({h}): {}", t.source, t.reason)?,
                None => writeln!(f, "  - {}: {}", t.source, t.reason)?,
            }
        }
        write!(
            f,
            "fix: start Docker (`colima start`, Docker Desktop, or `bash ci/docker-up` on Linux), \
             or set DOCKER_HOST=unix:///path/to/docker.sock, \
             or use the embedded broker (`--broker mock`, or DASHSTREAM_BROKER=mock)"
        )
    }
}

/// The ordered candidates for `env`: `DOCKER_HOST`, the properties file, then sockets.
/// A place that yields no address at all (unset variable, missing file) is an `Err`.
pub fn candidates(env: &DiscoveryEnv) -> Vec<Result<Candidate, Tried>> {
    let mut list = Vec::new();
    match &env.docker_host {
        Some(h) => list.push(Ok(Candidate { source: "DOCKER_HOST".into(), host: h.clone(), socket: socket_of(h), explicit: true })),
        None => list.push(Err(Tried { source: "DOCKER_HOST".into(), host: None, reason: "not set".into() })),
    }
    let props_path = env.home.as_ref().map(|h| h.join(".testcontainers.properties"));
    match props_path.as_ref().map(|p| (p, std::fs::read_to_string(p))) {
        Some((_, Ok(text))) => {
            for key in ["docker.host", "tc.host"] {
                match property(&text, key) {
                    Some(h) => list.push(Ok(Candidate {
                        source: format!("~/.testcontainers.properties {key}"),
                        socket: socket_of(&h),
                        host: h,
                        explicit: true,
                    })),
                    None => list.push(Err(Tried {
                        source: format!("~/.testcontainers.properties {key}"),
                        host: None,
                        reason: "not set".into(),
                    })),
                }
            }
        }
        Some((p, Err(e))) => list.push(Err(Tried {
            source: "~/.testcontainers.properties".into(),
            host: None,
            reason: format!("{}: {}", p.display(), e),
        })),
        None => list.push(Err(Tried { source: "~/.testcontainers.properties".into(), host: None, reason: "HOME not set".into() })),
    }
    for (label, path) in socket_paths(env) {
        let host = format!("unix://{}", path.display());
        list.push(Ok(Candidate { source: label, host, socket: Some(path), explicit: false }));
    }
    list
}

fn socket_paths(env: &DiscoveryEnv) -> Vec<(String, PathBuf)> {
    let mut v = vec![("default socket".to_string(), env.root.join("var/run/docker.sock"))];
    if let Some(home) = &env.home {
        v.push(("Colima socket".into(), home.join(".colima/default/docker.sock")));
        v.push(("Colima socket (old layout)".into(), home.join(".colima/docker.sock")));
        v.push(("Colima socket (XDG layout)".into(), home.join(".config/colima/default/docker.sock")));
    }
    if let Some(xdg) = &env.xdg_runtime_dir {
        v.push(("rootless Docker socket".into(), xdg.join("docker.sock")));
    }
    if let Some(home) = &env.home {
        v.push(("Docker Desktop socket".into(), home.join(".docker/run/docker.sock")));
    }
    if let Some(xdg) = &env.xdg_runtime_dir {
        v.push(("Podman socket".into(), xdg.join("podman/podman.sock")));
    }
    v
}

fn socket_of(host: &str) -> Option<PathBuf> {
    host.strip_prefix("unix://").map(PathBuf::from)
}

/// Reads `key=value` (or `key: value`) from a Java properties text.
fn property(text: &str, key: &str) -> Option<String> {
    text.lines().map(str::trim).filter(|l| !l.starts_with('#') && !l.starts_with('!')).find_map(|l| {
        let (k, v) = l.split_once(['=', ':'])?;
        (k.trim() == key).then(|| v.trim().to_string()).filter(|v| !v.is_empty())
    })
}

/// The first explicitly configured candidate (`DOCKER_HOST`, then the
/// properties file) is used alone, as Docker's CLI and testcontainers do: it
/// answers or discovery fails naming it. With nothing configured, each usual
/// socket is tried in order and the first that answers is used.
pub fn discover(env: &DiscoveryEnv, probe: &dyn Probe) -> Result<FoundHost, DockerHostError> {
    let all = candidates(env);
    if let Some(c) = all.iter().flatten().find(|c| c.explicit) {
        return match try_candidate(c, probe) {
            Ok(version) => Ok(FoundHost { host: c.host.clone(), source: c.source.clone(), version, skipped: Vec::new() }),
            Err(t) => Err(DockerHostError { tried: vec![t], explicit: Some(c.source.clone()) }),
        };
    }
    let mut tried = Vec::new();
    for c in all {
        match c.and_then(|c| try_candidate(&c, probe).map(|version| (c, version))) {
            Ok((c, version)) => return Ok(FoundHost { host: c.host, source: c.source, version, skipped: tried }),
            Err(t) => tried.push(t),
        }
    }
    Err(DockerHostError { tried, explicit: None })
}

/// The engine's version if `c` answers, else why not.
fn try_candidate(c: &Candidate, probe: &dyn Probe) -> Result<String, Tried> {
    let not_used = |reason: String| Tried { source: c.source.clone(), host: Some(c.host.clone()), reason };
    if c.socket.as_deref().is_some_and(|sock| !exists(sock)) {
        return Err(not_used("no such socket".into()));
    }
    probe.probe(&c.host).map_err(|reason| {
        tracing::debug!(host = %c.host, %reason, "docker host skipped");
        not_used(format!("exists but does not answer: {reason}"))
    })
}

fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}
