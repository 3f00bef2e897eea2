//! A single real Kafka broker in Docker.

use std::time::Duration;

use dashstream::broker::container::ContainerBroker;
use dashstream::broker::{Broker, BrokerAction};

use crate::traffic::{self, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_round_trips_1000_records() -> anyhow::Result<()> {
    traffic::logs();
    let broker = ContainerBroker::single().await?;
    assert!(broker.describe().contains("Apache Kafka"));
    for f in ["broker-restart", "broker-kill", "broker-pause", "network-cut", "packet-loss"] {
        assert!(dashstream::faults::Fault::parse(f).unwrap().runs_on(broker.kind()), "{f}");
    }
    traffic::round_trip(&broker, "container-roundtrip", 1000).await?;
    traffic::verify_on_an_existing_one_partition_topic(&broker, "container-existing-topic").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_broker_restarted_mid_stream_keeps_producer_and_consumer_working() -> anyhow::Result<()> {
    traffic::logs();
    let broker = ContainerBroker::single().await?;
    let bootstrap = broker.bootstrap_servers();
    let topic = unique("container-restart");
    broker.create_topic(&topic, 3).await?;
    let p = traffic::producer(&broker);
    let c = traffic::consumer(&broker, &topic);
    let mut acked = traffic::produce(&p, &topic, 0, 500).await?;
    let mut seen = traffic::consume_until(&c, &acked, Duration::from_secs(60)).await?;

    broker.apply(&BrokerAction::Stop { broker: 1 }).await?;
    // Sends issued while the broker is down are retried by the producer until it is back.
    let during = tokio::spawn({
        let p = p.clone();
        let topic = topic.clone();
        async move { traffic::produce(&p, &topic, 500, 750).await }
    });
    broker.apply(&BrokerAction::Start { broker: 1 }).await?;
    assert_eq!(broker.bootstrap_servers(), bootstrap, "the advertised address must survive a restart");
    acked.extend(during.await??);
    acked.extend(traffic::produce(&p, &topic, 750, 1000).await?);
    assert_eq!(acked.len(), 1000);
    // The consumer goes on from where it was (it may read some records again).
    let rest = acked.difference(&seen).copied().collect();
    seen.extend(traffic::consume_until(&c, &rest, Duration::from_secs(90)).await?);
    assert!(acked.is_subset(&seen));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_pause_freezes_the_broker_and_unpause_thaws_it() -> anyhow::Result<()> {
    traffic::logs();
    let broker = ContainerBroker::single().await?;
    let topic = unique("container-pause");
    broker.create_topic(&topic, 1).await?;
    broker.apply(&BrokerAction::Pause { broker: 1 }).await?;
    let p = traffic::producer(&broker);
    let mut pending = tokio::spawn({
        let topic = topic.clone();
        async move { traffic::produce(&p, &topic, 0, 10).await }
    });
    // While frozen nothing can be acknowledged: the sends are still pending 3 s later.
    let early = tokio::time::timeout(Duration::from_secs(3), &mut pending).await;
    assert!(early.is_err(), "records were acknowledged by a paused broker");
    broker.apply(&BrokerAction::Unpause { broker: 1 }).await?;
    assert_eq!(pending.await??.len(), 10);
    Ok(())
}

/// The image contract: testcontainers-modules' apache Kafka module, unchanged,
/// starts the image in use (the official one, or the local build from ci/kafka-image).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testcontainers_modules_apache_kafka_starts_the_image_unchanged() -> anyhow::Result<()> {
    traffic::logs();
    use dashstream::broker::external::ExternalBroker;
    use testcontainers::runners::AsyncRunner;
    use testcontainers::ImageExt;
    use testcontainers_modules::kafka::apache;

    dashstream::docker::ensure_docker_host()?;
    let image = dashstream::broker::image::resolve().await;
    let kafka = apache::Kafka::default().with_name(image.name.clone()).with_tag(image.tag.clone()).start().await?;
    let port = kafka.get_host_port_ipv4(apache::KAFKA_PORT).await?;
    let broker = ExternalBroker::new(format!("127.0.0.1:{port}"), Default::default()).with_replication(1);
    traffic::round_trip(&broker, "module-contract", 100).await
}
