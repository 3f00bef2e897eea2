//! Fake Docker hosts for tests and the conformance suite: a socket that
//! answers `/_ping` and `/version` like a daemon, and one that exists but where
//! nobody listens (a stopped Colima). No real Docker is involved.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::docker::DiscoveryEnv;

/// Serves a fake daemon on the unix socket `path` from a background thread.
pub fn daemon(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))?;
    let listener = UnixListener::bind(path)?;
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut line = String::new();
            let _ = BufReader::new(&s).read_line(&mut line);
            let body = if line.contains("/version") { r#"{"Version":"99.0-fake"}"# } else { "OK" };
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        }
    });
    Ok(())
}

/// Leaves a socket file at `path` that refuses connections.
pub fn dead_socket(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))?;
    drop(UnixListener::bind(path)?);
    Ok(())
}

/// A fake machine: a temporary root, home and runtime dir, with nothing in them.
#[derive(Debug)]
pub struct FakeMachine {
    pub dir: tempfile::TempDir,
    pub env: DiscoveryEnv,
}

impl FakeMachine {
    pub fn new() -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("root");
        let home = dir.path().join("home");
        let xdg = dir.path().join("run-user");
        for d in [&root, &home, &xdg] {
            std::fs::create_dir_all(d)?;
        }
        let env = DiscoveryEnv { docker_host: None, home: Some(home), xdg_runtime_dir: Some(xdg), root };
        Ok(Self { dir, env })
    }

    /// Maps `~/x` to the fake home and `/x` to the fake root.
    pub fn path(&self, p: &str) -> PathBuf {
        if let Some(rest) = p.strip_prefix("~/") {
            self.env.home.clone().unwrap_or_default().join(rest)
        } else {
            self.env.root.join(p.trim_start_matches('/'))
        }
    }
}
