//! A single real Kafka broker in Docker.

use dashstream::broker::container::ContainerBroker;
use dashstream::broker::Broker;

use crate::traffic;

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
