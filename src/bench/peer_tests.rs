//! The parsers against output captured from Kafka 4.1.1's tools.

use super::*;

const PRODUCER: &str = "150000 records sent, 30000.0 records/sec (17.17 MB/sec), 400.10 ms avg latency, 900.00 ms max latency.\n\
300000 records sent, 67750.7 records/sec (38.77 MB/sec), 655.70 ms avg latency, 1240.00 ms max latency, 589 ms 50th, 1208 ms 95th, 1233 ms 99th, 1238 ms 99.9th.\n";

const CONSUMER: &str = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n\
2026-11-28 21:08:07:559, 2026-11-28 21:08:08:913, 171.6614, 126.7809, 300000, 221565.7312, 798, 556, 308.7435, 539568.3453\n";

const E2E: &str = "0\t49.204595999999995\n1000\t0.875854\nAvg latency: 1.9013 ms\nPercentiles: 50th = 1, 99th = 9, 99.9th = 17\n";

const LOG_DIRS: &str = "Querying brokers for log directories information\nReceived log directory information from brokers 1\n\
{\"brokers\":[{\"broker\":1,\"logDirs\":[{\"partitions\":[{\"partition\":\"t-2\",\"size\":100,\"offsetLag\":0,\"isFuture\":false},\
{\"partition\":\"t.dlq-0\",\"size\":7,\"offsetLag\":0,\"isFuture\":false},{\"partition\":\"t-0\",\"size\":23,\"offsetLag\":0,\"isFuture\":false}],\"error\":null,\"logDir\":\"/tmp/kafka-logs\"}]}],\"version\":1}\n";

#[test]
fn the_producer_summary_is_the_last_line() {
    let p = parse_producer_perf(PRODUCER).unwrap();
    assert_eq!(p, PeerProduce { records: 300_000, records_per_s: 67750.7, avg_latency_ms: 655.70 });
}

#[test]
fn the_consumer_fields_are_found_by_their_header() {
    let c = parse_consumer_perf(CONSUMER).unwrap();
    assert_eq!(c, PeerConsume { records: 300_000, records_per_s: 221565.7312, join_ms: 798.0, fetch_records_per_s: 539568.3453 });
}

#[test]
fn the_end_to_end_summary_has_the_average_and_three_quantiles() {
    let l = parse_end_to_end_latency(E2E).unwrap();
    assert_eq!(l, PeerLatency { avg_ms: 1.9013, p50_ms: 1.0, p99_ms: 9.0, p999_ms: 17.0 });
}

#[test]
fn log_dirs_sums_the_topics_partitions_only() {
    assert_eq!(parse_log_dirs(LOG_DIRS, "t").unwrap(), 123);
    assert!(parse_log_dirs(LOG_DIRS, "other").is_err());
}

#[test]
fn output_without_a_summary_is_an_error_naming_the_tool() {
    let err = parse_producer_perf("Exception in thread main: TimeoutException\n").unwrap_err();
    assert!(err.to_string().starts_with("kafka-producer-perf-test: the summary line not found"), "{err}");
    assert!(parse_consumer_perf("WARN nothing\n").is_err());
    assert!(parse_end_to_end_latency("Avg latency: 1.0 ms\n").is_err());
}

#[test]
fn the_commands_use_the_in_container_listener_and_full_acknowledgement() {
    let cmd = producer_perf("t", 10, 600, &["linger.ms=5"]).join(" ");
    assert!(cmd.contains("bootstrap.servers=localhost:9093 acks=all enable.idempotence=true linger.ms=5"), "{cmd}");
    assert!(end_to_end_latency("t", 5, 600).join(" ").ends_with("localhost:9093 t 5 all 600"));
}
