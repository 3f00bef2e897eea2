//! What the commands write and read: JSON on stdout, progress lines on
//! stderr, input files.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

/// Pretty JSON and a newline on stdout.
pub fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// A file's bytes, or standard input's for `-`.
pub fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut buf).context("reading standard input")?;
    } else {
        buf = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(buf)
}

/// A progress line on stderr at most every 2 s, only once a run has lasted 2 s.
pub struct Progress {
    start: Instant,
    last: Instant,
}

impl Progress {
    pub fn new() -> Self {
        Self { start: Instant::now(), last: Instant::now() }
    }

    pub fn tick(&mut self, line: impl FnOnce(f64) -> String) {
        if self.last.elapsed() >= Duration::from_secs(2) {
            self.last = Instant::now();
            let secs = self.start.elapsed().as_secs_f64();
            eprintln!("[{secs:6.1}s] {}", line(secs));
        }
    }
}
