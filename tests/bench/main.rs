//! `dashstream bench` end to end on a Kafka container, with small counts:
//! every peer ran and parsed, every planned record is accounted for on both
//! sides, the compression cells really differ on the broker's disk. The
//! figures themselves are not asserted (no timed assertions): they come from
//! full bench runs (README, "Measured figures").

#[path = "../common/json_schema.rs"]
mod json_schema;

use dashstream::bench::compression::{Mode, SIZES};
use dashstream::bench::{svg, Bench, BenchOptions};
use dashstream::broker::container::{ContainerBroker, Jvm};
use dashstream::broker::direct_route::Route;
use dashstream::broker::Broker;

const RECORDS: u64 = 3_000;
const LATENCY_MESSAGES: u64 = 100;
const DEAD_LETTERS: u64 = 300;
const CELL_RECORDS: u64 = 400;

fn options() -> BenchOptions {
    BenchOptions {
        records: RECORDS,
        rounds: 2,
        size: 600,
        latency_messages: LATENCY_MESSAGES,
        latency_rate: 200.0,
        dead_letter_records: DEAD_LETTERS,
        compression_records: CELL_RECORDS,
        settings: Vec::new(),
    }
}

/// What `bench --json` prints validates against `schemas/bench.schema.json`.
fn conforms_to_published_schema(report: &serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/bench.schema.json");
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let errors = json_schema::violations(&schema, report);
    assert!(errors.is_empty(), "bench output does not match schemas/bench.schema.json:\n{}", errors.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_bench_run_accounts_for_every_planned_record() -> anyhow::Result<()> {
    // As `dashstream bench` does: straight to the container where the host can route to it.
    let broker = ContainerBroker::single_via(Route::Direct, Jvm::AsShipped).await?;
    let direct = !broker.bootstrap_servers().starts_with("127.0.0.1:");
    assert_eq!(broker.route().starts_with("direct to"), direct, "{} vs {}", broker.route(), broker.bootstrap_servers());
    let report = Bench::new(&broker, options(), &|_| {}).run().await?;
    assert_eq!(report.machine.route, broker.route());
    conforms_to_published_schema(&serde_json::to_value(&report)?);

    let p = &report.producer;
    assert_eq!((p.peer.records, p.never.acked, p.auto.acked), (RECORDS, RECORDS, RECORDS), "{p:?}");
    assert!(p.auto.wire_bytes < p.never.wire_bytes, "auto compressed nothing: {p:?}");
    assert_eq!(p.rounds.len(), 2);
    let c = &report.consumer;
    assert_eq!(c.rounds.len(), 2);
    for r in &c.rounds {
        assert_eq!((r.peer.records, r.ours.records, r.ours.lost), (RECORDS, RECORDS, 0), "{r:?}");
    }
    let warmup = LATENCY_MESSAGES / 10;
    for l in [&report.latency.latency_profile, &report.latency.throughput_profile] {
        assert_eq!((l.latency.count, l.publish_delay.count, l.skew), (LATENCY_MESSAGES - warmup, LATENCY_MESSAGES - warmup, 0), "{l:?}");
    }
    assert!(report.latency.peer.avg_ms > 0.0 && report.latency.peer.p99_ms >= report.latency.peer.p50_ms);
    assert_eq!(report.dead_letter.dead_lettered, DEAD_LETTERS, "{:?}", report.dead_letter);

    assert_eq!(report.compression.len(), SIZES.len() * Mode::ALL.len());
    let bytes = |size, mode| report.compression.iter().find(|c| c.size == size && c.mode == mode).map(|c| c.broker_bytes).unwrap_or(0);
    for cell in &report.compression {
        assert_eq!(cell.records, dashstream::bench::compression::records_for(cell.size, CELL_RECORDS), "{cell:?}");
        assert!(cell.broker_bytes as f64 >= cell.records as f64 * 10.0, "the broker holds too little: {cell:?}");
    }
    assert!(bytes(600, Mode::Batch) < bytes(600, Mode::None), "batch zstd did not reach the broker's disk");
    assert!(bytes(5_000, Mode::PerMessage) < bytes(5_000, Mode::None), "per-message zstd did not reach the broker's disk");

    for comparison in &report.comparisons {
        assert!(comparison.peer > 0.0 && comparison.ours > 0.0, "{comparison:?}");
        assert!(report.table().contains(&comparison.what));
    }
    assert!(svg::latency_chart(&report.latency).contains("dashstream, latency profile"));
    Ok(())
}
