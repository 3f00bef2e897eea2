//! Prometheus for real: Debian's Prometheus server (installed by ci/ops-test),
//! started here on a loopback port with ops/alerts.yml loaded, scrapes a live
//! run (`dashstream consume` and `dashstream forward` on a mock cluster, and
//! `dashstream produce` while it sends). Ten messages are removed on purpose:
//! the loss alert must be seen firing through Prometheus's HTTP API, and every
//! query of ops/grafana-dashboard.json must return data from the same server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::producer::{DashProducer, ProducerSettings};
use dashstream::sample;
use dashstream::broker::mock::MockBroker;
use dashstream::broker::Broker;
use serde_json::Value;

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// Kills the process when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(program: &str, args: &[&str]) -> Running {
    let child = Command::new(program).args(args).env_remove("RUST_LOG").stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    Running(child.unwrap_or_else(|e| panic!("{program}: {e} (ci/ops-test installs Debian's prometheus package)")))
}

/// GET `path` from the Prometheus API on `port`, as JSON.
fn api(port: u16, path: &str) -> Value {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return Value::Null };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split_once("\r\n\r\n").and_then(|(_, body)| serde_json::from_str(body).ok()).unwrap_or(Value::Null)
}

/// A PromQL expression as a query string.
fn encoded(expr: &str) -> String {
    expr.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Polls the API until `cond` holds, or fails with the last answer after `deadline`.
fn wait_for(port: u16, path: &str, deadline: Duration, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let end = Instant::now() + deadline;
    loop {
        let v = api(port, path);
        if cond(&v) {
            return v;
        }
        assert!(Instant::now() < end, "{what}: not within {deadline:?}; last answer {v}");
        std::thread::sleep(Duration::from_millis(200)); // a poll of another process's state, under a deadline
    }
}

fn config(dir: &Path, targets: &[u16]) -> PathBuf {
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ops/alerts.yml");
    let targets: Vec<String> = targets.iter().map(|p| format!("'127.0.0.1:{p}'")).collect();
    let yml = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - '{}'\nscrape_configs:\n  - job_name: dashstream\n    static_configs:\n      - targets: [{}]\n",
        rules.display(),
        targets.join(", ")
    );
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, yml).unwrap();
    path
}

/// Sends 100 messages of one session with sequences 41 to 50 left out: the 10 the alert must see.
async fn send_with_a_gap(bootstrap: &str, topic: &str) -> anyhow::Result<()> {
    let mut client = rdkafka::ClientConfig::new();
    client.set("bootstrap.servers", bootstrap);
    let producer = DashProducer::new(&client, ProducerSettings::new(topic), Metrics::new())?;
    for i in 1..=100u64 {
        let env = producer.stamp(sample::chunk(sample::header("", "", i, 0), 300).payload.expect("payload"), "run", "thread-1");
        if !(41..=50).contains(&i) {
            producer.send(&env).await?;
        }
    }
    producer.flush(Duration::from_secs(10)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_a_live_run_fires_the_loss_alert_and_answers_every_dashboard_query() -> anyhow::Result<()> {
    let mock = MockBroker::start(1)?;
    let bootstrap = mock.bootstrap_servers();
    let topic = format!("prom-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    mock.create_topic_now(&topic, 3)?; // the mock has no CreateTopics API
    mock.create_topic_now(&format!("{topic}.dlq"), 1)?;
    let (consume_port, forward_port, produce_port, prom_port) = (free_port(), free_port(), free_port(), free_port());
    let bin = env!("CARGO_BIN_EXE_dashstream");
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let _consume = spawn(bin, &["consume", "--topic", &topic, "--bootstrap", &bootstrap, "--grace", "2s", "--idle-timeout", "5m", "--metrics-addr", &addr(consume_port)]);
    let _forward = spawn(bin, &["forward", "--topic", &topic, "--bootstrap", &bootstrap, "--listen", &addr(free_port()), "--metrics-addr", &addr(forward_port)]);
    let dir = tempfile::tempdir()?;
    let cfg = config(dir.path(), &[consume_port, forward_port, produce_port]);
    let data = dir.path().join("data");
    let _prometheus = spawn(PROMETHEUS, &[&format!("--config.file={}", cfg.display()), &format!("--storage.tsdb.path={}", data.display()), &format!("--web.listen-address={}", addr(prom_port))]);
    // Both long-lived processes scraped at least once before the loss: increase() needs a sample before it.
    let up = format!("/api/v1/query?query={}", encoded("sum(up)"));
    wait_for(prom_port, &up, Duration::from_secs(60), "consume and forward scraped", |v| v["data"]["result"][0]["value"][1].as_str().is_some_and(|n| n.parse::<f64>().unwrap_or(0.0) >= 2.0));
    let producer = spawn(bin, &["produce", "--topic", &topic, "--count", "3000", "--rate", "200", "--bootstrap", &bootstrap, "--metrics-addr", &addr(produce_port)]);
    send_with_a_gap(&bootstrap, &topic).await?;
    send_poison(&bootstrap, &topic).await?;
    let alerts = wait_for(prom_port, "/api/v1/alerts", Duration::from_secs(60), "DashStreamMessagesLost firing", |v| {
        v["data"]["alerts"].as_array().is_some_and(|a| a.iter().any(|x| x["labels"]["alertname"] == "DashStreamMessagesLost" && x["state"] == "firing"))
    });
    let lost = api(prom_port, &format!("/api/v1/query?query={}", encoded("sum(dashstream_messages_lost_total)")));
    assert_eq!(lost["data"]["result"][0]["value"][1], "10", "the 10 removed on purpose, as Prometheus scraped them; alerts {alerts}");
    // Every dashboard query, while the producer still sends.
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ops/grafana-dashboard.json"))?)?;
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 20, "the dashboard's queries: {exprs:?}");
    let empty: Vec<&String> = exprs.iter().filter(|e| api(prom_port, &format!("/api/v1/query?query={}", encoded(e)))["data"]["result"].as_array().is_none_or(|r| r.is_empty())).collect();
    assert!(empty.is_empty(), "dashboard queries without data: {empty:?}");
    drop(producer);
    Ok(())
}

/// Three records that are not DashStream frames: decode failures and dead letters.
async fn send_poison(bootstrap: &str, topic: &str) -> anyhow::Result<()> {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let p: FutureProducer = rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap).create()?;
    for body in [&b"\x07garbage"[..], b"", b"\x01not zstd"] {
        p.send(FutureRecord::<str, [u8]>::to(topic).payload(body), Duration::from_secs(10)).await.map_err(|(e, _)| e)?;
    }
    Ok(())
}

fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(e)) = m.get("expr") {
                out.push(e.clone());
            }
            m.values().for_each(|x| collect_exprs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_exprs(x, out)),
        _ => {}
    }
}
