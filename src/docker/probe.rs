//! Asking a Docker host whether it answers: `GET /_ping` then `GET /version`,
//! over a unix socket or TCP, with short timeouts (blocking std I/O, no runtime).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Something that can tell whether a Docker host answers.
pub trait Probe {
    /// `Ok(version)` when the host answers, `Err(reason)` otherwise.
    fn probe(&self, host: &str) -> Result<String, String>;
}

/// The real probe: an HTTP ping with a timeout.
#[derive(Debug, Clone)]
pub struct HttpPing {
    pub timeout: Duration,
}

impl Default for HttpPing {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(3) }
    }
}

impl Probe for HttpPing {
    fn probe(&self, host: &str) -> Result<String, String> {
        let ping = self.request(host, "/_ping")?;
        if !ping.starts_with("HTTP/1.1 200") && !ping.starts_with("HTTP/1.0 200") {
            let status = ping.lines().next().unwrap_or("").to_string();
            return Err(format!("answered /_ping with {status:?}"));
        }
        let version = self.request(host, "/version").ok().and_then(|r| json_field(&r, "Version")).unwrap_or_else(|| "unknown".into());
        Ok(version)
    }
}

impl HttpPing {
    fn request(&self, host: &str, path: &str) -> Result<String, String> {
        let req = format!("GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n");
        if let Some(path_on_disk) = host.strip_prefix("unix://") {
            let mut s = UnixStream::connect(path_on_disk).map_err(|e| format!("cannot connect: {e}"))?;
            s.set_read_timeout(Some(self.timeout)).ok();
            s.set_write_timeout(Some(self.timeout)).ok();
            exchange(&mut s, &req)
        } else if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
            let addr = addr.trim_end_matches('/');
            let sock = addr
                .to_socket_addrs()
                .map_err(|e| format!("bad address: {e}"))?
                .next()
                .ok_or_else(|| "address resolves to nothing".to_string())?;
            let mut s = TcpStream::connect_timeout(&sock, self.timeout).map_err(|e| format!("cannot connect: {e}"))?;
            s.set_read_timeout(Some(self.timeout)).ok();
            s.set_write_timeout(Some(self.timeout)).ok();
            exchange(&mut s, &req)
        } else {
            Err("unsupported scheme (expected unix:// or tcp://)".into())
        }
    }
}

fn exchange<S: Read + Write>(s: &mut S, req: &str) -> Result<String, String> {
    s.write_all(req.as_bytes()).map_err(|e| format!("cannot send: {e}"))?;
    let mut buf = Vec::new();
    s.take(64 * 1024).read_to_end(&mut buf).map_err(|e| format!("no answer: {e}"))?;
    if buf.is_empty() {
        return Err("closed the connection without answering".into());
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn json_field(response: &str, key: &str) -> Option<String> {
    let body = response.split("\r\n\r\n").nth(1)?;
    let v: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    v.get(key)?.as_str().map(str::to_owned)
}
