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
