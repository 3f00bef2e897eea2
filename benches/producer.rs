//! Where a send's CPU goes before librdkafka takes over, per message of 600 B:
//! stamping the header, encoding (`--compress never` and `auto`), counting the
//! bytes, and the whole `prepare` step; beside bare prost encode (+ zstd) on
//! the same message, the least any producer of these frames must do.
//!
//! After criterion's report, a table gives each step in ns per message and
//! `prepare` against the bare peer as a ratio. Run: `cargo bench --bench producer`.
//! The producer is created against an address nothing listens on: nothing is
//! sent, so nothing but the client's own work is measured.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use dashstream::codec::{CodecConfig, CompressionPolicy};
use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::producer::{DashProducer, ProducerSettings};
use dashstream::proto::envelope::Payload;
use dashstream::sample;
use prost::Message;
use rdkafka::ClientConfig;

const SIZE: usize = 600;

fn producer(policy: CompressionPolicy) -> DashProducer {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", "127.0.0.1:9").set("log_level", "0");
    let mut settings = ProducerSettings::new("bench");
    settings.codec = CodecConfig::default().with_policy(policy);
    DashProducer::new(&client, settings, Metrics::new()).expect("a client needs no broker to be created")
}

fn payload() -> Payload {
    sample::chunk(sample::header("", "", 7, 0), SIZE).payload.expect("a chunk has a payload")
}

fn benches(c: &mut Criterion) {
    let never = producer(CompressionPolicy::Never);
    let auto = producer(CompressionPolicy::Auto);
    let envelope = never.stamp(payload(), "run-1", "thread-1");
    let p = payload();
    let mut g = c.benchmark_group("producer-600B");
    g.bench_function("stamp", |b| b.iter(|| never.stamp(black_box(p.clone()), "run-1", "thread-1")));
    g.bench_function("prepare-never", |b| b.iter(|| never.prepare(black_box(&envelope)).unwrap()));
    g.bench_function("prepare-auto", |b| b.iter(|| auto.prepare(black_box(&envelope)).unwrap()));
    g.bench_function("bare-prost", |b| b.iter(|| black_box(&envelope).encode_to_vec()));
    let mut zstd = zstd::bulk::Compressor::new(3).unwrap();
    g.bench_function("bare-prost+zstd", |b| b.iter(|| zstd.compress(&black_box(&envelope).encode_to_vec()).unwrap()));
    g.finish();
}

/// ns per call of `f`, over about half a second.
fn ns_per_call(mut f: impl FnMut()) -> f64 {
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        for _ in 0..1000 {
            f();
        }
        n += 1000;
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

#[allow(clippy::print_stdout)]
fn table() {
    let never = producer(CompressionPolicy::Never);
    let auto = producer(CompressionPolicy::Auto);
    let envelope = never.stamp(payload(), "run-1", "thread-1");
    let mut zstd = zstd::bulk::Compressor::new(3).unwrap();
    let p = payload();
    let rows = [
        ("stamp (header, sequence, clock)", ns_per_call(|| drop(black_box(never.stamp(p.clone(), "run-1", "thread-1"))))),
        ("prepare, --compress never", ns_per_call(|| drop(black_box(never.prepare(&envelope).unwrap())))),
        ("bare prost encode", ns_per_call(|| drop(black_box(envelope.encode_to_vec())))),
        ("prepare, --compress auto", ns_per_call(|| drop(black_box(auto.prepare(&envelope).unwrap())))),
        ("bare prost + zstd level 3", ns_per_call(|| drop(black_box(zstd.compress(&envelope.encode_to_vec()).unwrap())))),
    ];
    println!("\n| step (600 B message) | ns per message |\n|---|---|");
    for (name, ns) in rows {
        println!("| {name} | {ns:.0} |");
    }
    println!("\nprepare vs bare: never {:.2}x the bare time, auto {:.2}x", rows[1].1 / rows[2].1, rows[3].1 / rows[4].1);
}

fn main() {
    let mut c = Criterion::default().configure_from_args().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    benches(&mut c);
    c.final_summary();
    table();
}
