//! `dashstream forward` as an operator runs it: its own process, `--log-each`,
//! a producer clock 5 s ahead. The directive's check on the original server,
//! `grep "E2E latency: -" | wc -l` → 0, on this forwarder's log; then SIGTERM
//! and the totals as JSON on stdout.

use std::process::Stdio;
use std::time::Duration;

use dashstream::conformance::live::WsClient;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::Rig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forwarder_log_never_shows_a_negative_latency() -> anyhow::Result<()> {
    // The rig's own forwarder is not used: only its broker and topic.
    let rig = Rig::start("forward-cli", |_| {}).await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dashstream"))
        .args(["forward", "--broker", "external", "--bootstrap", &rig.broker.bootstrap_servers(), "--topic", &rig.topic])
        .args(["--listen", &listen, "--log-each", "--metrics-addr", "off"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let ready = format!("ws://{listen}/ws");
    while let Some(line) = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await?? {
        if line.contains(&ready) {
            break;
        }
    }
    // Read the log while it is written: a full pipe would block the forwarder.
    let log = tokio::spawn(async move {
        let (mut each, mut negative) = (0u64, 0u64);
        while let Ok(Some(line)) = lines.next_line().await {
            each += u64::from(line.contains("E2E latency:") && line.contains("(produce:"));
            negative += u64::from(line.contains("E2E latency: -"));
        }
        (each, negative)
    });
    let client = WsClient::connect(&ready, false).await?;
    rig.produce(300, 5000).await?;
    client.wait_until(Duration::from_secs(30), "300 frames", |r| r.frames.len() == 300).await?;
    // SAFETY: a plain signal to our own child process.
    unsafe { libc::kill(child.id().expect("pid") as i32, libc::SIGTERM) };
    let out = child.wait_with_output().await?;
    let (each, negative) = log.await?;
    assert_eq!(each, 300, "one line per message");
    assert_eq!(negative, 0, "grep \"E2E latency: -\" | wc -l");
    assert!(out.status.success(), "{:?}", out.status);
    let totals: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!((totals["forwarded"].as_u64(), totals["skewed"].as_u64(), totals["negative_latency"].as_u64()), (Some(300), Some(300), Some(0)), "{totals}");
    Ok(())
}
