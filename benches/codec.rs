//! Codec throughput against its peers, measured in the same run on the same bytes.
//!
//! For each message size (100 B, 600 B as in the real pipeline, 4 KiB, 64 KiB):
//! - encode: `Encoder` (policy always, level 3) vs bare `prost` encode + bare zstd compress (level 3);
//! - decode: `Decoder` on that frame vs bare zstd decompress + bare `prost` decode.
//!
//! After criterion's own report, the ratios codec/peer are printed as a table
//! (goal: at least 0.8 at every size). Run: `cargo bench --bench codec`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use dashstream::codec::{CodecConfig, CompressionPolicy, Decoder, Encoder};
use dashstream::proto::Envelope;
use dashstream::sample;
use prost::Message;

const SIZES: [usize; 4] = [100, 600, 4096, 65536];
const LEVEL: i32 = 3;

fn message(size: usize) -> Envelope {
    sample::chunk(sample::header("bench", "session", 42, 1_764_000_000_000_000), size)
}

fn benches(c: &mut Criterion) {
    let cfg = CodecConfig::default().with_policy(CompressionPolicy::Always).with_level(LEVEL);
    for size in SIZES {
        let msg = message(size);
        let plain = msg.encode_to_vec();
        let mut encoder = Encoder::new(cfg.clone());
        let frame = encoder.encode(&msg).unwrap().bytes;

        let mut g = c.benchmark_group("encode");
        g.throughput(Throughput::Bytes(plain.len() as u64));
        g.bench_with_input(BenchmarkId::new("codec", size), &msg, |b, m| b.iter(|| encoder.encode(black_box(m)).unwrap()));
        let mut compressor = zstd::bulk::Compressor::new(LEVEL).unwrap();
        g.bench_with_input(BenchmarkId::new("prost+zstd", size), &msg, |b, m| {
            b.iter(|| compressor.compress(&black_box(m).encode_to_vec()).unwrap())
        });
        g.finish();

        let mut g = c.benchmark_group("decode");
        g.throughput(Throughput::Bytes(plain.len() as u64));
        let mut decoder = Decoder::new(cfg.clone());
        g.bench_with_input(BenchmarkId::new("codec", size), &frame, |b, f| b.iter(|| decoder.decode(black_box(f)).unwrap()));
        let mut decompressor = zstd::bulk::Decompressor::new().unwrap();
        let body = frame[1..].to_vec();
        g.bench_with_input(BenchmarkId::new("zstd+prost", size), &body, |b, f| {
            b.iter(|| Envelope::decode(decompressor.decompress(black_box(f), 1 << 22).unwrap().as_slice()).unwrap())
        });
        g.finish();
    }
}

fn mean_ns(group: &str, bench: &str, size: usize) -> Option<f64> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")));
    let path = format!("{target}/criterion/{group}/{bench}/{size}/new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

#[allow(clippy::print_stdout)]
fn print_ratios() {
    println!("\n| size | encode codec MB/s | encode prost+zstd MB/s | ratio | decode codec MB/s | decode zstd+prost MB/s | ratio |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for size in SIZES {
        let bytes = message(size).encoded_len() as f64;
        let mbs = |ns: f64| bytes / ns * 1e9 / 1e6;
        let (Some(ec), Some(eb), Some(dc), Some(db)) = (
            mean_ns("encode", "codec", size),
            mean_ns("encode", "prost+zstd", size),
            mean_ns("decode", "codec", size),
            mean_ns("decode", "zstd+prost", size),
        ) else {
            println!("| {size} | (not measured in this run) |");
            continue;
        };
        println!(
            "| {size} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.2} |",
            mbs(ec), mbs(eb), eb / ec, mbs(dc), mbs(db), db / dc
        );
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
    print_ratios();
}
