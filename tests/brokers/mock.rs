//! The embedded mock cluster.

use std::time::{Duration, Instant};

use dashstream::broker::mock::MockBroker;
use dashstream::broker::{Broker, Fault, FaultKind};
use rdkafka::types::RDKafkaApiKey;
use rdkafka::types::RDKafkaRespErr;

use crate::traffic::{self, unique};

#[tokio::test]
async fn mock_round_trips_1000_records() -> anyhow::Result<()> {
    traffic::logs();
    let broker = MockBroker::start(3)?;
    traffic::round_trip(&broker, "mock-roundtrip", 1000).await
}

#[tokio::test]
async fn mock_lists_its_faults() {
    traffic::logs();
    let broker = MockBroker::start(1).unwrap();
    let f = broker.supported_faults();
    for k in [FaultKind::Down, FaultKind::Up, FaultKind::RequestErrors, FaultKind::RoundTripDelay, FaultKind::LeaderMove] {
        assert!(f.contains(&k), "{k:?}");
    }
    assert!(broker.inject(&Fault::Pause { broker: 1 }).await.is_err());
}

#[tokio::test]
async fn mock_round_trip_delay_really_delays() -> anyhow::Result<()> {
    traffic::logs();
    let broker = MockBroker::start(1)?;
    let topic = unique("mock-rtt");
    broker.create_topic(&topic, 1).await?;
    let p = traffic::producer(&broker);
    traffic::produce(&p, &topic, 0, 1).await?; // connected and warm
    broker.inject(&Fault::RoundTripDelay { broker: 1, delay: Duration::from_millis(400) }).await?;
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
    broker.inject(&Fault::RequestErrors { api: RDKafkaApiKey::Produce, errors }).await?;
    let p = traffic::producer(&broker);
    let acked = traffic::produce(&p, &topic, 0, 50).await?;
    assert_eq!(acked.len(), 50);
    Ok(())
}
