//! The 3-broker KRaft cluster: RF 3, min.insync.replicas 2.

use std::time::Duration;

use dashstream::broker::container::ContainerBroker;
use dashstream::broker::{Broker, BrokerAction};

use crate::traffic::{self, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_survives_losing_a_broker_without_losing_acknowledged_records() -> anyhow::Result<()> {
    traffic::logs();
    let broker = ContainerBroker::cluster(3).await?;
    assert_eq!(broker.broker_ids(), vec![1, 2, 3]);
    assert_eq!(broker.replication_factor(), 3);
    every_broker_is_advertised_at_its_fault_proxy(&broker).await?;
    let topic = unique("cluster-loss");
    broker.create_topic(&topic, 3).await?;
    let p = traffic::producer(&broker);
    let mut acked = traffic::produce(&p, &topic, 0, 400).await?;
    let during = tokio::spawn({
        let (p, topic) = (p.clone(), topic.clone());
        async move { traffic::produce(&p, &topic, 400, 700).await }
    });
    broker.apply(&BrokerAction::Kill { broker: 2 }).await?;
    acked.extend(during.await??);
    acked.extend(traffic::produce(&p, &topic, 700, 1000).await?);
    assert_eq!(acked.len(), 1000, "with 2 of 3 in sync, acks=all must still succeed");
    let c = traffic::consumer(&broker, &topic);
    let seen = traffic::consume_until(&c, &acked, Duration::from_secs(90)).await?;
    assert!(acked.is_subset(&seen), "acknowledged records lost");
    Ok(())
}

/// Metadata, asked straight of broker 1 (past its proxy), sends clients to
/// each broker's fault proxy, never to the address behind it: no client
/// connection can bypass a toxic.
async fn every_broker_is_advertised_at_its_fault_proxy(broker: &ContainerBroker) -> anyhow::Result<()> {
    let mut config = broker.client_config();
    config.set("bootstrap.servers", broker.upstream_address(1).expect("a proxy in front of broker 1"));
    let advertised = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(i32, String)>> {
        let c: rdkafka::consumer::BaseConsumer = config.create()?;
        let md = rdkafka::consumer::Consumer::fetch_metadata(&c, None, Duration::from_secs(10))?;
        Ok(md.brokers().iter().map(|b| (b.id(), format!("{}:{}", b.host(), b.port()))).collect())
    })
    .await??;
    assert_eq!(advertised.len(), 3, "{advertised:?}");
    for (id, address) in advertised {
        assert_eq!(Some(address.clone()), broker.broker_address(id), "broker {id} advertised at {address}");
        assert_ne!(Some(address), broker.upstream_address(id), "broker {id} advertised past its proxy");
    }
    Ok(())
}
