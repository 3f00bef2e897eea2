//! `dashstream consume` in scripts: exit statuses, signals, where it starts
//! and when it stops. The broker is a mock cluster started in this process
//! and addressed as an external broker (`--bootstrap`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dashstream::broker::mock::MockBroker;
use dashstream::broker::Broker;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;

fn dashstream(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dashstream")).args(args).env_remove("RUST_LOG").output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: stdout {:?}, stderr {}", out.stdout, String::from_utf8_lossy(&out.stderr)))
}

/// A mock broker with `topic` holding `count` DashStream messages (sent by
/// `dashstream produce`), and its dead-letter topic.
fn broker_with(topic: &str, count: u64) -> MockBroker {
    let mock = MockBroker::start(1).unwrap();
    mock.create_topic_now(topic, 3).unwrap();
    mock.create_topic_now(&format!("{topic}.dlq"), 1).unwrap(); // the mock has no CreateTopics API
    let out = dashstream(&["produce", "--topic", topic, "--count", &count.to_string(), "--bootstrap", &mock.bootstrap_servers(), "--metrics-addr", "off"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    mock
}

fn consume(bootstrap: &str, topic: &str, extra: &[&str]) -> Output {
    let mut args = vec!["consume", "--topic", topic, "--bootstrap", bootstrap, "--idle-timeout", "2s", "--metrics-addr", "off"];
    args.extend_from_slice(extra);
    dashstream(&args)
}

#[test]
fn a_topic_that_does_not_exist_fails_at_once_with_the_brokers_words_and_exit_2() {
    let mock = MockBroker::start(1).unwrap();
    let started = Instant::now();
    let out = consume(&mock.bootstrap_servers(), "no-such-topic", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("topic no-such-topic does not exist") && err.contains("Unknown topic or partition"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[test]
fn max_records_stops_after_exactly_that_many() {
    let topic = "consume-max";
    let mock = broker_with(topic, 200);
    let out = consume(&mock.bootstrap_servers(), topic, &["--max-records", "10"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["received"], 10);
}

#[test]
fn a_named_group_reads_again_from_the_beginning_only_when_asked() {
    let topic = "consume-group";
    let mock = broker_with(topic, 100);
    let bootstrap = mock.bootstrap_servers();
    // The mock holds a group that its last member left in a rebalance for
    // the member's session timeout less 1 s before a new member may join
    // (Kafka does not): a short session keeps each rejoin at about 1 s, not 9.
    let group = ["--group", "scripted", "-X", "session.timeout.ms=2000"];
    assert_eq!(json(&consume(&bootstrap, topic, &group))["received"], 100);
    assert_eq!(json(&consume(&bootstrap, topic, &group))["received"], 0, "the group committed everything");
    let again = consume(&bootstrap, topic, &[&group[..], &["--from-beginning"]].concat());
    assert_eq!(json(&again)["received"], 100);
    let end = consume(&bootstrap, topic, &["--from-end"]);
    assert_eq!(json(&end)["received"], 0, "a fresh group from the end reads nothing already written");
}

#[test]
fn dead_lettered_records_make_exit_1_unless_fail_on_none() {
    let topic = "consume-poison";
    let mock = broker_with(topic, 20);
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", mock.bootstrap_servers()).create().unwrap();
    let sent = futures::executor::block_on(producer.send(FutureRecord::<(), _>::to(topic).payload(&[0xffu8, 1, 2][..]), Duration::from_secs(10)));
    assert!(sent.is_ok(), "{sent:?}");
    producer.flush(Duration::from_secs(10)).unwrap();
    let out = consume(&mock.bootstrap_servers(), topic, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("1 dead-lettered"), "{err}");
    assert_eq!(json(&out)["dlq"], 1, "the report is printed all the same");
    let tolerant = consume(&mock.bootstrap_servers(), topic, &["--fail-on", "none"]);
    assert_eq!(tolerant.status.code(), Some(0), "{}", String::from_utf8_lossy(&tolerant.stderr));
}

#[test]
fn sigterm_prints_the_report_like_sigint() {
    let topic = "consume-term";
    let mock = broker_with(topic, 50);
    let mut child = Command::new(env!("CARGO_BIN_EXE_dashstream"))
        .args(["consume", "--topic", topic, "--bootstrap", &mock.bootstrap_servers(), "--idle-timeout", "10m", "--metrics-addr", "off"])
        .args(["--max-records", "1000"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ready once it names the dead-letter topic: the consumer is created right after.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines();
    let ready = lines.by_ref().map_while(Result::ok).any(|l| l.starts_with("dead-letter topic"));
    assert!(ready, "consume never got going");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "a signal is a normal end");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["received"].as_u64().unwrap() <= 50, "{report}");
}

#[test]
fn with_the_default_metrics_port_taken_a_second_command_serves_on_another() {
    let topic = "consume-metrics";
    let mock = broker_with(topic, 10);
    // Another command holds 127.0.0.1:9090 (or something else on this machine does).
    let _first = std::net::TcpListener::bind("127.0.0.1:9090");
    let out = Command::new(env!("CARGO_BIN_EXE_dashstream"))
        .args(["consume", "--topic", topic, "--bootstrap", &mock.bootstrap_servers(), "--idle-timeout", "2s"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let served = err.lines().find_map(|l| l.strip_prefix("metrics: http://127.0.0.1:")).expect("the address served is printed");
    assert_ne!(served, "9090/metrics", "{err}");
    assert_eq!(json(&out)["received"], 10);
}

#[test]
fn produce_size_is_the_whole_messages_protobuf_size() {
    let topic = "produce-size";
    let mock = MockBroker::start(1).unwrap();
    mock.create_topic_now(topic, 1).unwrap();
    let args = ["produce", "--topic", topic, "--count", "9", "--size", "100", "--compress", "never", "--bootstrap", &mock.bootstrap_servers(), "--metrics-addr", "off"];
    let out = dashstream(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let p = json(&out);
    // Nine chunks (the tenth message would be a quality report): 100 protobuf bytes each, 101 on the wire.
    assert_eq!((p["raw_bytes"].as_u64(), p["wire_bytes"].as_u64()), (Some(900), Some(909)), "{p}");
}

