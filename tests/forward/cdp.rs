//! A headless Chromium driven through the DevTools protocol: just enough of it
//! (open a page, evaluate an expression, take a screenshot) to read the browser
//! view's counters as a user's browser would compute them.
//!
//! Chromium is Debian's (`/usr/bin/chromium`, installed by `ci/chromium`);
//! `DASHSTREAM_CHROMIUM` names another binary. Missing, the test fails and says so.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Browser {
    _child: tokio::process::Child,
    _profile: tempfile::TempDir,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

/// One page (tab) of the browser, by its DevTools session.
pub struct Page {
    session: String,
}

fn chromium_path() -> PathBuf {
    std::env::var_os("DASHSTREAM_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

impl Browser {
    /// Starts headless Chromium and connects to its DevTools endpoint.
    pub async fn launch() -> anyhow::Result<Self> {
        let path = chromium_path();
        anyhow::ensure!(path.exists(), "{} not found: install it with ci/chromium (apt-get install chromium)", path.display());
        let profile = tempfile::tempdir()?;
        let mut child = tokio::process::Command::new(&path)
            .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--remote-debugging-port=0"])
            .arg("--remote-debugging-address=127.0.0.1")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--window-size=1280,900")
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", path.display()))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let url = tokio::time::timeout(Duration::from_secs(30), devtools_url(stderr))
            .await
            .map_err(|_| anyhow!("chromium did not print its DevTools address within 30 s"))??;
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
        Ok(Self { _child: child, _profile: profile, ws, next_id: 0 })
    }

    /// Sends one command and waits for its answer (events in between are skipped).
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::Text(msg.to_string().into())).await?;
        let answer = async {
            while let Some(m) = self.ws.next().await {
                if let Message::Text(t) = m? {
                    let v: Value = serde_json::from_str(t.as_str())?;
                    if v["id"] == json!(id) {
                        return Ok(v);
                    }
                }
            }
            bail!("the DevTools connection closed")
        };
        let v: Value = tokio::time::timeout(Duration::from_secs(30), answer).await.map_err(|_| anyhow!("{method}: no answer in 30 s"))??;
        if let Some(e) = v.get("error") {
            bail!("{method}: {e}");
        }
        Ok(v["result"].clone())
    }

    /// Opens `url` in a new tab.
    pub async fn open(&mut self, url: &str) -> anyhow::Result<Page> {
        let target = self.call(None, "Target.createTarget", json!({"url": url})).await?;
        let attached = self.call(None, "Target.attachToTarget", json!({"targetId": target["targetId"], "flatten": true})).await?;
        let session = attached["sessionId"].as_str().ok_or_else(|| anyhow!("no session id"))?.to_string();
        Ok(Page { session })
    }

    /// Evaluates `expr` in the page and returns its value (JSON).
    pub async fn eval(&mut self, page: &Page, expr: &str) -> anyhow::Result<Value> {
        let r = self.call(Some(&page.session), "Runtime.evaluate", json!({"expression": expr, "returnByValue": true})).await?;
        if let Some(e) = r.get("exceptionDetails") {
            bail!("{expr}: {e}");
        }
        Ok(r["result"]["value"].clone())
    }

    /// A PNG of the page as it is rendered now.
    pub async fn screenshot(&mut self, page: &Page) -> anyhow::Result<Vec<u8>> {
        use base64::Engine as _;
        let r = self.call(Some(&page.session), "Page.captureScreenshot", json!({"format": "png"})).await?;
        let data = r["data"].as_str().ok_or_else(|| anyhow!("no screenshot data"))?;
        Ok(base64::engine::general_purpose::STANDARD.decode(data)?)
    }

    /// Polls `expr` until `cond` holds on its value, or fails after `deadline` with the last value.
    /// The page is another process that sends no events for its counters, so
    /// this is a poll (every 100 ms) of a condition under a deadline.
    pub async fn wait_for(&mut self, page: &Page, expr: &str, deadline: Duration, cond: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            let v = self.eval(page, expr).await.unwrap_or(Value::Null);
            if cond(&v) {
                return Ok(v);
            }
            if tokio::time::Instant::now() >= end {
                bail!("waited {deadline:?} for {expr}; last value {v}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Reads chromium's stderr until `DevTools listening on ws://...`, then keeps
/// draining it in the background (a closed pipe must not break the browser).
async fn devtools_url(stderr: tokio::process::ChildStderr) -> anyhow::Result<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut tx = Some(tx);
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        }
    });
    rx.await.map_err(|_| anyhow!("chromium exited before printing its DevTools address"))
}
