//! The live path under test: a forwarder on the scenario's topic and named
//! WebSocket clients that are *not* the forwarder's code: plain
//! tokio-tungstenite clients that keep every binary message as bytes and every
//! text message as untyped JSON. A client can stop reading (its socket buffer
//! is small, so the forwarder feels it), disconnect, and reconnect.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::forward::Forwarder;

/// Receive buffer of a client that stops reading: small, so that the
/// forwarder's writes block soon and its queue policy takes over.
const SLOW_CLIENT_RCVBUF: u32 = 4096;

/// What one client has received so far.
#[derive(Debug, Default, Clone)]
pub struct Received {
    pub frames: Vec<Vec<u8>>,
    pub notices: Vec<serde_json::Value>,
    /// The forwarder index of the next record (from hello, each frame and gap notices).
    pub position: u64,
    /// Set when the connection ended, with the close reason if any.
    pub closed: Option<String>,
}

impl Received {
    /// Gap notices received.
    pub fn gaps(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.notices.iter().filter(|n| n["type"] == "gap")
    }

    /// Frames plus records announced as missed.
    pub fn accounted(&self) -> u64 {
        self.frames.len() as u64 + self.gaps().map(|g| g["missed"].as_u64().unwrap_or(0)).sum::<u64>()
    }

    fn take(&mut self, msg: Message) {
        match msg {
            Message::Binary(b) => {
                self.frames.push(b.to_vec());
                self.position += 1;
            }
            Message::Text(t) => {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_else(|e| serde_json::json!({"type": "unparsable", "error": e.to_string()}));
                match v["type"].as_str() {
                    Some("hello") => self.position = v["next"].as_u64().unwrap_or(0),
                    Some("gap") => self.position += v["missed"].as_u64().unwrap_or(0),
                    _ => {}
                }
                self.notices.push(v);
            }
            Message::Close(frame) => self.closed = Some(frame.map(|f| f.reason.to_string()).unwrap_or_default()),
            _ => {}
        }
    }
}

/// A WebSocket client reading in the background.
pub struct WsClient {
    pub received: Arc<Mutex<Received>>,
    /// Bumped on every message, to wait on.
    changed: watch::Receiver<u64>,
    reading: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WsClient {
    /// Connects to `url`; a client that will stop reading gets a small receive buffer.
    pub async fn connect(url: &str, slow: bool) -> anyhow::Result<Self> {
        let addr: std::net::SocketAddr = url.trim_start_matches("ws://").split('/').next().unwrap_or_default().parse()?;
        let socket = tokio::net::TcpSocket::new_v4()?;
        if slow {
            socket.set_recv_buffer_size(SLOW_CLIENT_RCVBUF)?;
        }
        let stream = socket.connect(addr).await?;
        let (ws, _) = tokio_tungstenite::client_async(url, stream).await?;
        let received = Arc::new(Mutex::new(Received::default()));
        let (bump, changed) = watch::channel(0u64);
        let (reading, mut may_read) = watch::channel(true);
        let sink = received.clone();
        let task = tokio::spawn(async move {
            let (_write, mut read) = ws.split();
            loop {
                if may_read.wait_for(|r| *r).await.is_err() {
                    break;
                }
                let Some(msg) = read.next().await else { break };
                let mut r = sink.lock().unwrap_or_else(|p| p.into_inner());
                match msg {
                    Ok(m) => r.take(m),
                    Err(e) => r.closed = Some(format!("error: {e}")),
                }
                let done = r.closed.is_some();
                drop(r);
                bump.send_modify(|n| *n += 1);
                if done {
                    break;
                }
            }
            let mut r = sink.lock().unwrap_or_else(|p| p.into_inner());
            r.closed.get_or_insert_with(|| "connection ended".into());
            bump.send_modify(|n| *n += 1);
        });
        let client = Self { received, changed, reading, task };
        client.wait_until(Duration::from_secs(10), "the hello notice", |r| r.notices.iter().any(|n| n["type"] == "hello")).await?;
        Ok(client)
    }

    pub fn set_reading(&self, reading: bool) {
        let _ = self.reading.send(reading);
    }

    pub fn snapshot(&self) -> Received {
        self.received.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until `cond` holds on what was received, or fails after `deadline` saying what it waited for.
    pub async fn wait_until(&self, deadline: Duration, what: &str, cond: impl Fn(&Received) -> bool) -> anyhow::Result<()> {
        let mut changed = self.changed.clone();
        let wait = async {
            loop {
                if cond(&self.received.lock().unwrap_or_else(|p| p.into_inner())) {
                    return;
                }
                if changed.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(deadline, wait).await.is_err() || !cond(&self.snapshot()) {
            let r = self.snapshot();
            anyhow::bail!(
                "waited {deadline:?} for {what}: {} frames, {} notices, closed: {:?}",
                r.frames.len(),
                r.notices.len(),
                r.closed
            );
        }
        Ok(())
    }

    /// Drops the connection (as a browser tab closing would) and returns what it had received.
    pub async fn disconnect(mut self) -> Received {
        self.task.abort();
        let _ = (&mut self.task).await;
        self.snapshot()
    }
}

impl Drop for WsClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The scenario's forwarder and clients.
#[derive(Default)]
pub struct Live {
    pub forwarder: Option<Forwarder>,
    pub clients: BTreeMap<String, WsClient>,
    /// What clients that disconnected had received, by name.
    pub departed: BTreeMap<String, Received>,
}

impl Live {
    pub fn forwarder(&self) -> anyhow::Result<&Forwarder> {
        self.forwarder.as_ref().ok_or_else(|| anyhow::anyhow!("no forwarder: a step 'a forwarder on the topic' comes first"))
    }

    pub fn client(&self, name: &str) -> anyhow::Result<&WsClient> {
        self.clients.get(name).ok_or_else(|| anyhow::anyhow!("no client named {name:?}"))
    }

    pub fn url(&self, query: &str) -> anyhow::Result<String> {
        Ok(format!("ws://{}/ws{query}", self.forwarder()?.local_addr()))
    }
}
