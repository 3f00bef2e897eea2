//! Steps that move messages: topics, producers (current and legacy), other clients, the consumer.

use std::time::Duration;

use cucumber::{given, when};
use crate::codec::CompressionPolicy;
use crate::sample;
use prost::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::conformance::pipeline::ProducePlan;
use crate::conformance::world::DashWorld;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

#[given("a fresh topic with a consumer reading it")]
async fn fresh_topic(w: &mut DashWorld) -> anyhow::Result<()> {
    w.topic = unique("scenario");
    w.group = unique("group");
    let broker = w.broker();
    let dlq = format!("{}.dlq", w.topic);
    tokio::try_join!(broker.create_topic(&w.topic, 3), broker.create_topic(&dlq, 1))?;
    let pipeline = w.env().pipeline.clone();
    w.consumer = Some(pipeline.start_consumer(broker, &w.topic, &w.group, w.metrics.clone()).await?);
    Ok(())
}

#[given(expr = "the producer's clock is off by {word} {word}")]
async fn clock_off(w: &mut DashWorld, amount: String, unit: String) -> anyhow::Result<()> {
    let n: i64 = amount.trim_start_matches('+').parse()?;
    w.clock_offset_ms = match unit.as_str() {
        "ms" => n,
        "s" => n * 1000,
        other => anyhow::bail!("unknown unit {other}"),
    };
    w.notes.push(format!("producer clock offset: {} ms", w.clock_offset_ms));
    Ok(())
}

async fn produce(w: &mut DashWorld, plan: ProducePlan) -> anyhow::Result<()> {
    let mut plan = plan;
    plan.clock_offset_ms = w.clock_offset_ms;
    let pipeline = w.env().pipeline.clone();
    let out = pipeline.produce(w.broker(), &w.topic, &plan, w.metrics.clone()).await?;
    w.planned.push(plan);
    w.produced.push(out);
    Ok(())
}

fn policy(s: &str) -> anyhow::Result<CompressionPolicy> {
    s.parse().map_err(anyhow::Error::msg)
}

#[when(expr = "a producer sends {int} messages of {int} bytes with compression {string}")]
async fn sends(w: &mut DashWorld, n: u64, size: usize, compression: String) -> anyhow::Result<()> {
    produce(w, ProducePlan { size, policy: policy(&compression)?, ..ProducePlan::new(n) }).await
}

#[when(expr = "a producer sends {int} incompressible messages of {int} bytes with compression {string}")]
async fn sends_noise(w: &mut DashWorld, n: u64, size: usize, compression: String) -> anyhow::Result<()> {
    produce(w, ProducePlan { size, policy: policy(&compression)?, incompressible: true, ..ProducePlan::new(n) }).await
}

#[when(expr = "a producer sends {int} messages of {int} bytes at {int} per second")]
async fn sends_paced(w: &mut DashWorld, n: u64, size: usize, rate: u64) -> anyhow::Result<()> {
    produce(w, ProducePlan { size, rate: rate as f64, ..ProducePlan::new(n) }).await
}

#[when(expr = "a producer with the latency profile sends {int} messages of {int} bytes at {int} per second")]
async fn sends_paced_for_latency(w: &mut DashWorld, n: u64, size: usize, rate: u64) -> anyhow::Result<()> {
    let profile = crate::broker::profile::Profile::Latency;
    w.notes.push(format!("producer profile: latency ({:?})", profile.settings()));
    produce(w, ProducePlan { size, rate: rate as f64, profile, ..ProducePlan::new(n) }).await
}

/// A benchmark's warm-up, as the OpenMessaging Benchmark runs one before it
/// measures: the first produce requests a just-started broker serves are slow
/// (3.9.1, 2026-12-07, 500 messages at 250/s: the first 50 at 24 to 103 ms,
/// p99 42 to 108 ms, against p50 2 ms; after 200 warm-up messages p99 7 to
/// 12 ms; at 500/s after 200, p99 18.6 to 72.6 ms, after 500, 19.7 to 28.2 ms). Every
/// warm-up message must be acknowledged, on a topic the scenario's consumer
/// does not read.
#[given(expr = "the broker has stored {int} warm-up messages on a topic of their own")]
async fn warm_up(w: &mut DashWorld, n: u64) -> anyhow::Result<()> {
    let topic = unique("warm-up");
    let broker = w.broker();
    broker.create_topic(&topic, 3).await?;
    let producer = plain_producer(w)?;
    let payload = vec![b'w'; 600];
    let stored = futures::future::try_join_all((0..n).map(|_| write(&producer, &topic, &payload))).await?;
    w.notes.push(format!("warm-up: {} messages stored on {topic}", stored.len()));
    Ok(())
}

#[when(expr = "a producer sends {int} messages but messages {int} to {int} and {int} are removed on the way")]
async fn sends_with_gaps(w: &mut DashWorld, n: u64, from: u64, to: u64, single: u64) -> anyhow::Result<()> {
    let mut plan = ProducePlan::new(n);
    plan.removed.insert_range(from, to);
    plan.removed.insert(single);
    produce(w, plan).await
}

#[when(expr = "a producer sends {int} messages but messages {int} to {int} are removed on the way")]
async fn sends_with_gap(w: &mut DashWorld, n: u64, from: u64, to: u64) -> anyhow::Result<()> {
    let mut plan = ProducePlan::new(n);
    plan.removed.insert_range(from, to);
    produce(w, plan).await
}

#[when(expr = "a producer sends {int} messages and messages {int} to {int} are delivered twice")]
async fn sends_twice(w: &mut DashWorld, n: u64, from: u64, to: u64) -> anyhow::Result<()> {
    let mut plan = ProducePlan::new(n);
    plan.twice.insert_range(from, to);
    produce(w, plan).await
}

fn plain_producer(w: &DashWorld) -> anyhow::Result<FutureProducer> {
    Ok(crate::broker::roles::for_producer(&w.broker().client_config()).create()?)
}

async fn write(p: &FutureProducer, topic: &str, bytes: &[u8]) -> anyhow::Result<(i32, i64)> {
    let d = p.send(FutureRecord::<(), _>::to(topic).payload(bytes), Duration::from_secs(30)).await.map_err(|(e, _)| e)?;
    Ok((d.partition, d.offset))
}

#[when(expr = "an old producer sends {int} legacy {word} messages")]
async fn legacy(w: &mut DashWorld, n: u64, kind: String) -> anyhow::Result<()> {
    let p = plain_producer(w)?;
    let session = uuid::Uuid::new_v4().to_string();
    for seq in 1..=n {
        let msg = sample::chunk(sample::header("legacy-producer", &session, seq, now_us()), 700);
        let bytes = match kind.as_str() {
            "compressed" => zstd::bulk::compress(&msg.encode_to_vec(), 3)?,
            "plain" => msg.encode_to_vec(),
            other => anyhow::bail!("legacy kind {other}: compressed or plain"),
        };
        write(&p, &w.topic, &bytes).await?;
    }
    w.legacy_sent += n;
    Ok(())
}

fn now_us() -> i64 {
    crate::pipeline::latency::WallClock::default().now_us()
}

/// Records other clients might write: text, a broken zstd frame, an unknown format byte.
pub const POISON: [(&[u8], &str); 3] = [
    (b"bad record typed into kcat", "bad-protobuf"),
    (&[0x01, 0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00], "bad-zstd"),
    (&[0x05, 0x01, 0x02, 0x03], "unknown-format"),
];

#[when(expr = "another client writes {int} records that are not DashStream messages")]
async fn poison(w: &mut DashWorld, n: usize) -> anyhow::Result<()> {
    let p = plain_producer(w)?;
    for (bytes, _) in POISON.iter().cycle().take(n) {
        let (partition, offset) = write(&p, &w.topic, bytes).await?;
        w.poison.push((bytes.to_vec(), partition, offset));
    }
    Ok(())
}

#[when("the consumer has caught up")]
async fn caught_up(w: &mut DashWorld) -> anyhow::Result<()> {
    let consumer = w.consumer.take().ok_or_else(|| anyhow::anyhow!("no consumer: a 'fresh topic' step comes first"))?;
    let out = consumer.finish(w.expectation(Duration::from_secs(15))).await?;
    w.consumed = Some(out);
    Ok(())
}
