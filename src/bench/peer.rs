//! Kafka's own tools as the peer of `bench`: the command lines that run them
//! inside the broker's container and the parsers of what they print.
//!
//! The tools are the yardstick, so they run as shipped, with the settings a
//! dashstream run uses (acks=all, idempotence on, the same record size and
//! topic). Their output formats are Kafka 3.9 to 4.x's; a line that does not
//! parse is a typed error naming the tool, never a zero.

use serde::Serialize;

use crate::broker::container_exec::IN_CONTAINER_BOOTSTRAP;

const BIN: &str = "/opt/kafka/bin";

/// A tool's output did not say what it should have.
#[derive(Debug, thiserror::Error)]
#[error("{tool}: {what} not found in its output: {excerpt}")]
pub struct PeerParseError {
    pub tool: &'static str,
    pub what: &'static str,
    pub excerpt: String,
}

fn missing(tool: &'static str, what: &'static str, output: &str) -> PeerParseError {
    let excerpt: String = output.chars().rev().take(300).collect::<Vec<_>>().into_iter().rev().collect();
    PeerParseError { tool, what, excerpt }
}

/// `kafka-producer-perf-test`: `records` of `size` bytes as fast as it can.
pub fn producer_perf(topic: &str, records: u64, size: usize, extra_props: &[&str]) -> Vec<String> {
    let mut cmd: Vec<String> = [
        format!("{BIN}/kafka-producer-perf-test.sh"),
        "--topic".into(),
        topic.into(),
        "--num-records".into(),
        records.to_string(),
        "--record-size".into(),
        size.to_string(),
        "--throughput".into(),
        "-1".into(),
        "--producer-props".into(),
        format!("bootstrap.servers={IN_CONTAINER_BOOTSTRAP}"),
        "acks=all".into(),
        "enable.idempotence=true".into(),
    ]
    .into();
    cmd.extend(extra_props.iter().map(|p| p.to_string()));
    cmd
}

/// ProducerPerformance's final line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PeerProduce {
    pub records: u64,
    pub records_per_s: f64,
    pub avg_latency_ms: f64,
}

/// Parses "300000 records sent, 67750.7 records/sec (38.77 MB/sec), 655.70 ms avg latency, ...".
pub fn parse_producer_perf(stdout: &str) -> Result<PeerProduce, PeerParseError> {
    const TOOL: &str = "kafka-producer-perf-test";
    let line = stdout.lines().rev().find(|l| l.contains("records sent,")).ok_or_else(|| missing(TOOL, "the summary line", stdout))?;
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let number_before = |suffix: &str| fields.iter().find_map(|f| f.strip_suffix(suffix).and_then(|n| n.split_whitespace().last()?.parse::<f64>().ok()));
    let records = fields.first().and_then(|f| f.split_whitespace().next()?.parse().ok()).ok_or_else(|| missing(TOOL, "records sent", line))?;
    let records_per_s = fields.get(1).and_then(|f| f.split_whitespace().next()?.parse().ok()).ok_or_else(|| missing(TOOL, "records/sec", line))?;
    let avg_latency_ms = number_before("ms avg latency").ok_or_else(|| missing(TOOL, "avg latency", line))?;
    Ok(PeerProduce { records, records_per_s, avg_latency_ms })
}

/// `kafka-consumer-perf-test`: `records` from the start of `topic` as group `group`.
pub fn consumer_perf(topic: &str, records: u64, group: &str) -> Vec<String> {
    [
        format!("{BIN}/kafka-consumer-perf-test.sh"),
        "--bootstrap-server".into(),
        IN_CONTAINER_BOOTSTRAP.into(),
        "--topic".into(),
        topic.into(),
        "--messages".into(),
        records.to_string(),
        "--group".into(),
        group.into(),
        "--timeout".into(),
        "60000".into(),
    ]
    .into()
}

/// ConsumerPerformance's CSV line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PeerConsume {
    pub records: u64,
    /// Including the group join.
    pub records_per_s: f64,
    /// The group join (rebalance.time.ms).
    pub join_ms: f64,
    /// After the join: fetch.nMsg.sec.
    pub fetch_records_per_s: f64,
}

/// Parses the header and value lines ("..., data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec").
pub fn parse_consumer_perf(stdout: &str) -> Result<PeerConsume, PeerParseError> {
    const TOOL: &str = "kafka-consumer-perf-test";
    let mut lines = stdout.lines().skip_while(|l| !l.contains("nMsg.sec"));
    let header: Vec<&str> = lines.next().ok_or_else(|| missing(TOOL, "the header line", stdout))?.split(',').map(str::trim).collect();
    let values: Vec<&str> = lines.next().ok_or_else(|| missing(TOOL, "the value line", stdout))?.split(',').map(str::trim).collect();
    let field = |name: &'static str| -> Result<f64, PeerParseError> {
        header.iter().position(|h| *h == name).and_then(|i| values.get(i)?.parse().ok()).ok_or_else(|| missing(TOOL, name, stdout))
    };
    Ok(PeerConsume {
        records: field("data.consumed.in.nMsg")? as u64,
        records_per_s: field("nMsg.sec")?,
        join_ms: field("rebalance.time.ms")?,
        fetch_records_per_s: field("fetch.nMsg.sec")?,
    })
}

/// `kafka-e2e-latency`: `messages` of `size` bytes, one at a time, acks=all.
pub fn end_to_end_latency(topic: &str, messages: u64, size: usize) -> Vec<String> {
    [format!("{BIN}/kafka-e2e-latency.sh"), IN_CONTAINER_BOOTSTRAP.into(), topic.into(), messages.to_string(), "all".into(), size.to_string()].into()
}

/// EndToEndLatency's summary (its percentiles are whole milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PeerLatency {
    pub avg_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

/// Parses "Avg latency: 1.9013 ms" and "Percentiles: 50th = 1, 99th = 9, 99.9th = 17".
pub fn parse_end_to_end_latency(stdout: &str) -> Result<PeerLatency, PeerParseError> {
    const TOOL: &str = "kafka-e2e-latency";
    let avg = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Avg latency:")?.trim().strip_suffix("ms")?.trim().parse().ok())
        .ok_or_else(|| missing(TOOL, "Avg latency", stdout))?;
    let percentiles = stdout.lines().find_map(|l| l.trim().strip_prefix("Percentiles:")).ok_or_else(|| missing(TOOL, "Percentiles", stdout))?;
    let quantile = |name: &'static str| -> Result<f64, PeerParseError> {
        percentiles
            .split(',')
            .find_map(|part| {
                let (k, v) = part.split_once('=')?;
                (k.trim() == name).then(|| v.trim().parse().ok())?
            })
            .ok_or_else(|| missing(TOOL, name, stdout))
    };
    Ok(PeerLatency { avg_ms: avg, p50_ms: quantile("50th")?, p99_ms: quantile("99th")?, p999_ms: quantile("99.9th")? })
}

/// `kafka-log-dirs --describe` for topics (comma-separated).
pub fn log_dirs(topics: &str) -> Vec<String> {
    [format!("{BIN}/kafka-log-dirs.sh"), "--describe".into(), "--bootstrap-server".into(), IN_CONTAINER_BOOTSTRAP.into(), "--topic-list".into(), topics.into()].into()
}

/// Bytes the broker holds for `topic`, summed over its partitions and log directories.
pub fn parse_log_dirs(stdout: &str, topic: &str) -> Result<u64, PeerParseError> {
    const TOOL: &str = "kafka-log-dirs";
    let json = stdout.lines().find(|l| l.trim_start().starts_with('{')).ok_or_else(|| missing(TOOL, "the JSON line", stdout))?;
    let value: serde_json::Value = serde_json::from_str(json).map_err(|_| missing(TOOL, "valid JSON", stdout))?;
    let prefix = format!("{topic}-");
    let mut total = 0;
    let mut found = false;
    for broker in value["brokers"].as_array().into_iter().flatten() {
        for dir in broker["logDirs"].as_array().into_iter().flatten() {
            for p in dir["partitions"].as_array().into_iter().flatten() {
                let name = p["partition"].as_str().unwrap_or_default();
                if name.strip_prefix(&prefix).is_some_and(|n| n.parse::<u32>().is_ok()) {
                    found = true;
                    total += p["size"].as_u64().unwrap_or(0);
                }
            }
        }
    }
    if !found {
        return Err(missing(TOOL, "a partition of the topic", stdout));
    }
    Ok(total)
}

#[cfg(test)]
#[path = "peer_tests.rs"]
mod tests;
