//! Produce numbered records and read them back, with deadlines instead of sleeps.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dashstream::broker::Broker;
use futures::StreamExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;

/// Routes `tracing` output (RUST_LOG, default warn) to the test's captured output.
pub fn logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().with_ansi(false).try_init();
}

/// A topic (and group) name unique to this test and run.
pub fn unique(test: &str) -> String {
    format!("{test}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

pub fn producer(broker: &dyn Broker) -> FutureProducer {
    broker
        .client_config()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "120000")
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

pub fn consumer(broker: &dyn Broker, topic: &str) -> StreamConsumer {
    let c: StreamConsumer = broker
        .client_config()
        .set("group.id", unique("group"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "10000")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    c
}

/// Sends records `from..to` (payload = the number), returns the numbers acknowledged.
pub async fn produce(p: &FutureProducer, topic: &str, from: u32, to: u32) -> anyhow::Result<BTreeSet<u32>> {
    let sends = (from..to).map(|i| {
        let payload = i.to_string();
        async move {
            let key = (i % 8).to_string();
            let rec = FutureRecord::to(topic).payload(&payload).key(&key);
            p.send(rec, Duration::from_secs(120)).await.map(|_| i).map_err(|(e, _)| e)
        }
    });
    let mut acked = BTreeSet::new();
    for r in futures::future::join_all(sends).await {
        acked.insert(r.context("send failed")?);
    }
    Ok(acked)
}

/// Reads until every number in `want` has been seen, or fails at the deadline naming what is missing.
pub async fn consume_until(c: &StreamConsumer, want: &BTreeSet<u32>, deadline: Duration) -> anyhow::Result<BTreeSet<u32>> {
    let start = Instant::now();
    let mut seen = BTreeSet::new();
    let mut stream = c.stream();
    while !want.is_subset(&seen) {
        let left = deadline.checked_sub(start.elapsed()).unwrap_or_default();
        match tokio::time::timeout(left, stream.next()).await {
            Ok(Some(Ok(m))) => {
                let n: u32 = std::str::from_utf8(m.payload().unwrap_or_default())?.parse()?;
                seen.insert(n);
            }
            Ok(Some(Err(e))) => tracing::debug!("consumer: {e}"),
            Ok(None) => bail!("consumer stream ended"),
            Err(_) => {
                let missing: Vec<_> = want.difference(&seen).take(20).collect();
                bail!("after {deadline:?}: {} of {} records consumed; first missing {missing:?}", want.intersection(&seen).count(), want.len());
            }
        }
    }
    Ok(seen)
}

/// The full check: create a topic, produce `n`, consume all `n` back.
pub async fn round_trip(broker: &dyn Broker, test: &str, n: u32) -> anyhow::Result<()> {
    let topic = unique(test);
    broker.create_topic(&topic, 3).await?;
    let p = producer(broker);
    let acked = produce(&p, &topic, 0, n).await?;
    assert_eq!(acked.len(), n as usize);
    let c = consumer(broker, &topic);
    let seen = consume_until(&c, &acked, Duration::from_secs(60)).await?;
    assert_eq!(seen, acked);
    Ok(())
}

/// A topic created beforehand by someone else (as `kafka-topics.sh --create
/// --partitions 1` would), through the admin API directly, not through
/// `Broker::create_topic`; then `verify` runs on it as it is.
pub async fn verify_on_an_existing_one_partition_topic(broker: &dyn Broker, test: &str) -> anyhow::Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let topic = unique(test);
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = broker.client_config().create()?;
    let made = admin.create_topics([&NewTopic::new(&topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new()).await?;
    anyhow::ensure!(made.iter().all(|r| r.is_ok()), "creating {topic} beforehand: {made:?}");
    let status = broker.create_topic(&topic, 3).await?;
    anyhow::ensure!(status == dashstream::broker::TopicStatus { partitions: 1, created: false }, "{topic}: {status:?}");
    let opts = dashstream::pipeline::verify::VerifyOptions { count: 200, topic: Some(topic.clone()), ..Default::default() };
    let report = dashstream::pipeline::verify::verify(broker, &opts, &dashstream::pipeline::metrics::Metrics::new(), &|_, _| {}).await?;
    anyhow::ensure!(report.verdict == "pass" && report.received == 200, "verify on {topic}: {report:?}");
    anyhow::ensure!(report.topic_status == "exists with 1 partition, used as it is", "{}", report.topic_status);
    Ok(())
}
