//! The embedded mock cluster.

use std::time::{Duration, Instant};

use dashstream::broker::mock::MockBroker;
use dashstream::broker::{Broker, BrokerAction, TopicStatus};
use dashstream::pipeline::verify::{self, VerifyOptions};
use rdkafka::types::RDKafkaApiKey;
use rdkafka::types::RDKafkaRespErr;

use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::producer::{DashProducer, ProducerSettings};

use crate::traffic::{self, unique};

#[tokio::test]
async fn mock_round_trips_1000_records() -> anyhow::Result<()> {
    traffic::logs();
    let broker = MockBroker::start(3)?;
    traffic::round_trip(&broker, "mock-roundtrip", 1000).await
}

/// The mock has no CreateTopics API: the 1-partition topic is made through the mock itself.
#[tokio::test]
async fn mock_uses_an_existing_topic_as_it_is() -> anyhow::Result<()> {
    let broker = MockBroker::start(3)?;
    let topic = traffic::unique("mock-existing");
    assert_eq!(broker.create_topic(&topic, 1).await?, TopicStatus { partitions: 1, created: true });
    assert_eq!(broker.create_topic(&topic, 3).await?, TopicStatus { partitions: 1, created: false });
    let opts = VerifyOptions { count: 100, topic: Some(topic), ..Default::default() };
    let report = verify::verify(&broker, &opts, &Metrics::new(), &|_, _| {}).await?;
    assert_eq!((report.verdict.as_str(), report.received), ("pass", 100), "{report:?}");
    assert_eq!(report.topic_status, "exists with 1 partition, used as it is");
    Ok(())
}

#[tokio::test]
async fn mock_runs_its_faults_and_refuses_container_actions() {
    traffic::logs();
    let broker = MockBroker::start(1).unwrap();
    for f in dashstream::faults::Fault::all() {
        assert_eq!(f.runs_on(broker.kind()), f.name().starts_with("mock-") || f.name().ends_with("-crash"), "{f}");
    }
    assert!(broker.apply(&BrokerAction::Pause { broker: 1 }).await.is_err());
}

#[tokio::test]
async fn mock_round_trip_delay_really_delays() -> anyhow::Result<()> {
    traffic::logs();
    let broker = MockBroker::start(1)?;
    let topic = unique("mock-rtt");
    broker.create_topic(&topic, 1).await?;
    let p = traffic::producer(&broker);
    traffic::produce(&p, &topic, 0, 1).await?; // connected and warm
    broker.apply(&BrokerAction::RoundTripDelay { broker: 1, delay: Duration::from_millis(400) }).await?;
    let t = Instant::now();
    traffic::produce(&p, &topic, 1, 2).await?;
    assert!(t.elapsed() >= Duration::from_millis(400), "ack came after {:?}", t.elapsed());
    Ok(())
}

#[tokio::test]
async fn mock_retriable_request_errors_are_survived_by_the_producer() -> anyhow::Result<()> {
    traffic::logs();
    let broker = MockBroker::start(1)?;
    let topic = unique("mock-errors");
    broker.create_topic(&topic, 1).await?;
    let errors = vec![RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION; 3];
    broker.apply(&BrokerAction::RequestErrors { api: RDKafkaApiKey::Produce, errors }).await?;
    let producer = DashProducer::new(&broker.client_config(), ProducerSettings::new(&topic), Metrics::new())?;
    producer.connect(Duration::from_secs(10)).await?;
    for i in 1..=50 {
        let payload = dashstream::sample::chunk(dashstream::sample::header("", "", i, 0), 100).payload.expect("payload");
        producer.send(&producer.stamp(payload, "run", "t")).await?;
    }
    // The errors were really answered: librdkafka retried requests (its statistics, every 100 ms).
    let deadline = Instant::now() + Duration::from_secs(5);
    while producer.request_retries() == 0 && Instant::now() < deadline {
        tokio::time::timeout(Duration::from_millis(100), std::future::pending::<()>()).await.ok();
    }
    assert!(producer.request_retries() > 0, "no request was retried: the errors were never answered");
    producer.close().await;
    Ok(())
}
