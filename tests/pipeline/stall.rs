//! A consumer whose librdkafka client stops fetching while records wait is
//! rebuilt by the stall watch and reads on: nothing lost, the rebuild counted.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashstream::broker::mock::MockBroker;
use dashstream::broker::Broker;
use dashstream::pipeline::consumer::{ConsumerSettings, DashConsumer, Event};
use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::producer::{DashProducer, ProducerSettings};
use dashstream::sample;

use crate::support::{logs, unique};

async fn send(producer: &DashProducer, n: u64) -> anyhow::Result<()> {
    for i in 0..n {
        let env = producer.stamp(sample::chunk(sample::header("", "", i + 1, 0), 200).payload.expect("a payload"), "stall", "t");
        producer.send(&env).await.map_err(|e| anyhow::anyhow!("send {i}: {e:?}"))?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_stops_fetching_with_records_waiting_is_rebuilt_and_reads_on() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(1)?;
    let topic = unique("stall");
    broker.create_topic(&topic, 2).await?;
    let metrics = Metrics::new();
    let producer = Arc::new(DashProducer::new(&broker.client_config(), ProducerSettings::new(&topic), metrics.clone())?);
    let mut settings = ConsumerSettings::new(&topic, unique("stall-group"));
    settings.restart_when_stalled = Some(Duration::from_secs(1));
    let mut consumer = DashConsumer::new(&broker.client_config(), settings, metrics.clone())?;
    let mut seen = BTreeSet::new();
    let note = |seen: &mut BTreeSet<u64>, ev: Event| {
        if let Event::Message { envelope, .. } = ev {
            seen.insert(envelope.header.expect("a header").sequence);
        }
    };
    for ev in consumer.wait_for_assignment(Duration::from_secs(30)).await? {
        note(&mut seen, ev);
    }
    consumer.freeze_fetchers()?;
    send(&producer, 100).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < 100 {
        anyhow::ensure!(Instant::now() < deadline, "{} of 100 read; {}", seen.len(), consumer.describe_position());
        if let Some(ev) = consumer.next(Duration::from_millis(100)).await? {
            note(&mut seen, ev);
        }
    }
    let report = consumer.finish().await?;
    assert_eq!(report.stall_restarts, 1, "one rebuild for one stall");
    assert_eq!(metrics.stall_restarts.get(), 1);
    assert_eq!((report.lost, seen.len()), (0, 100));
    DashProducer::close_shared(producer).await;
    Ok(())
}

/// A consumer of `topic` on `broker` whose stall watch looks after 1 s quiet.
fn watched_consumer(broker: &MockBroker, topic: &str, metrics: &Metrics) -> anyhow::Result<DashConsumer> {
    let mut settings = ConsumerSettings::new(topic, unique("stall-group"));
    settings.restart_when_stalled = Some(Duration::from_secs(1));
    Ok(DashConsumer::new(&broker.client_config(), settings, metrics.clone())?)
}

/// Polls `consumer` until the stall watch has rebuilt its client once.
async fn until_rebuilt(consumer: &mut DashConsumer, metrics: &Metrics, deadline: Instant) -> anyhow::Result<()> {
    while metrics.stall_restarts.get() == 0 {
        anyhow::ensure!(Instant::now() < deadline, "never rebuilt; {}", consumer.describe_position());
        consumer.next(Duration::from_millis(100)).await?;
    }
    Ok(())
}

/// Polls `consumer` until it has read `count` distinct sequences.
async fn until_read(consumer: &mut DashConsumer, count: usize, deadline: Instant) -> anyhow::Result<()> {
    let mut seen = BTreeSet::new();
    while seen.len() < count {
        anyhow::ensure!(Instant::now() < deadline, "{} of {count} read after the broker came back", seen.len());
        if let Some(Event::Message { envelope, .. }) = consumer.next(Duration::from_millis(100)).await? {
            seen.insert(envelope.header.expect("a header").sequence);
        }
    }
    Ok(())
}

/// A client that cannot reach the broker for two checks in a row is rebuilt
/// too (here the broker really is down, so the new client simply waits), and
/// once the broker is back the records are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_cannot_reach_the_broker_is_rebuilt_and_reads_once_it_is_back() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(1)?;
    let topic = unique("stall-unreachable");
    broker.create_topic(&topic, 1).await?;
    let metrics = Metrics::new();
    let producer = Arc::new(DashProducer::new(&broker.client_config(), ProducerSettings::new(&topic), metrics.clone())?);
    let mut consumer = watched_consumer(&broker, &topic, &metrics)?;
    consumer.wait_for_assignment(Duration::from_secs(30)).await?;
    broker.apply(&dashstream::broker::BrokerAction::Down { broker: 1 }).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    until_rebuilt(&mut consumer, &metrics, deadline).await?;
    broker.apply(&dashstream::broker::BrokerAction::Up { broker: 1 }).await?;
    send(&producer, 20).await?;
    until_read(&mut consumer, 20, deadline).await?;
    assert_eq!(consumer.finish().await?.stall_restarts, 1);
    DashProducer::close_shared(producer).await;
    Ok(())
}

/// A client that holds no partition and cannot reach the broker is rebuilt
/// too: with the broker down before the consumer starts, it never joins its
/// group, and the watch asks for metadata, not positions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_holding_no_partition_that_cannot_reach_the_broker_is_rebuilt() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(1)?;
    let topic = unique("stall-unassigned");
    broker.create_topic(&topic, 1).await?;
    let metrics = Metrics::new();
    let producer = Arc::new(DashProducer::new(&broker.client_config(), ProducerSettings::new(&topic), metrics.clone())?);
    send(&producer, 20).await?;
    broker.apply(&dashstream::broker::BrokerAction::Down { broker: 1 }).await?;
    let mut consumer = watched_consumer(&broker, &topic, &metrics)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    until_rebuilt(&mut consumer, &metrics, deadline).await?;
    broker.apply(&dashstream::broker::BrokerAction::Up { broker: 1 }).await?;
    until_read(&mut consumer, 20, deadline).await?;
    assert_eq!(consumer.finish().await?.stall_restarts, 1);
    DashProducer::close_shared(producer).await;
    Ok(())
}
