//! The forwarder's promises to WebSocket clients, checked with plain
//! tokio-tungstenite clients: replay of the last N, keep-alives, the queue
//! policy for a stalled client, the client limit, undecodable records.

use std::time::Duration;

use dashstream::conformance::live::WsClient;
use dashstream::conformance::pipeline::{Pipeline, ProducePlan};
use dashstream::conformance::reference::Reference;
use dashstream::forward::queue::Limits;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::support::Rig;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_asking_for_the_last_n_gets_them_first_then_live_ones() -> anyhow::Result<()> {
    let rig = Rig::start("forward-last-n", |_| {}).await?;
    let live = WsClient::connect(&rig.ws_url(""), false).await?;
    rig.produce(50, 0).await?;
    live.wait_until(WAIT, "50 frames", |r| r.frames.len() == 50).await?;
    let late = WsClient::connect(&rig.ws_url("?last=10"), false).await?;
    late.wait_until(WAIT, "10 replayed frames", |r| r.frames.len() == 10).await?;
    let hello = late.snapshot().notices[0].clone();
    assert_eq!((hello["type"].as_str(), hello["replayed"].as_u64(), hello["next"].as_u64()), (Some("hello"), Some(10), Some(40)), "{hello}");
    assert_eq!(late.snapshot().frames, live.snapshot().frames[40..], "the replay is the newest 10 records, in order");
    rig.produce(5, 0).await?;
    late.wait_until(WAIT, "5 live frames after the replay", |r| r.frames.len() == 15).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_gets_keepalive_notices() -> anyhow::Result<()> {
    let rig = Rig::start("forward-keepalive", |s| s.keepalive = Duration::from_millis(200)).await?;
    let c = WsClient::connect(&rig.ws_url(""), false).await?;
    c.wait_until(WAIT, "two keepalive notices", |r| r.notices.iter().filter(|n| n["type"] == "keepalive").count() >= 2).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_beyond_the_limit_are_refused_with_a_reason() -> anyhow::Result<()> {
    let rig = Rig::start("forward-max-clients", |s| s.max_clients = 1).await?;
    let _first = WsClient::connect(&rig.ws_url(""), false).await?;
    let refused = WsClient::connect(&rig.ws_url(""), false).await;
    let err = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("too many clients (the limit is 1)"), "second client: {err}");
    assert_eq!(rig.forwarder.clients_connected(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_disconnected_with_a_reason_while_others_get_everything() -> anyhow::Result<()> {
    let rig = Rig::start("forward-stall", |s| {
        s.queue = Limits { items: 500, bytes: 4 << 20 };
        s.stall = Duration::from_millis(500);
    })
    .await?;
    let fast = WsClient::connect(&rig.ws_url(""), false).await?;
    let stalled = WsClient::connect(&rig.ws_url(""), true).await?;
    stalled.set_reading(false);
    let plan = ProducePlan { size: 2000, incompressible: true, rate: 2000.0, ..ProducePlan::new(3000) };
    Reference.produce(rig.broker.clone(), &rig.topic, &plan, rig.metrics.clone()).await?;
    fast.wait_until(WAIT, "all 3000 frames", |r| r.frames.len() == 3000).await?;
    assert!(fast.snapshot().gaps().next().is_none(), "the fast client missed nothing");
    // The forwarder gives up on a client once it has been dropping its records
    // for the stall time without its queue emptying once. It reads again only
    // after that: reading earlier could empty the queue and restart the clock
    // (dropping began late when the socket buffers took most of the 6 MB; CI
    // saw no close within 30 s).
    rig.forwarder.wait_until(WAIT, |t| t.evicted == 1).await.map_err(|t| anyhow::anyhow!("no client evicted: {t:?}"))?;
    stalled.set_reading(true);
    stalled.wait_until(WAIT, "the close", |r| r.closed.is_some()).await?;
    let r = stalled.snapshot();
    assert!(r.closed.as_deref().is_some_and(|c| c.contains("too slow")), "close reason: {:?}", r.closed);
    assert!(r.gaps().next().is_some(), "it was told what it missed before being closed");
    assert!(r.frames.len() < 3000);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_records_are_counted_and_not_forwarded() -> anyhow::Result<()> {
    let rig = Rig::start("forward-undecodable", |_| {}).await?;
    let c = WsClient::connect(&rig.ws_url(""), false).await?;
    let p: FutureProducer = rig.broker.client_config().create()?;
    for bad in [&b"typed into kcat"[..], &[0x05, 1, 2], &[]] {
        p.send(FutureRecord::<(), _>::to(&rig.topic).payload(bad), Duration::from_secs(10)).await.map_err(|(e, _)| e)?;
    }
    rig.produce(20, 0).await?;
    c.wait_until(WAIT, "20 frames", |r| r.frames.len() == 20).await?;
    let t = rig.forwarder.wait_until(WAIT, |t| t.undecodable >= 3).await.map_err(|t| anyhow::anyhow!("undecodable: {t:?}"))?;
    assert_eq!((t.records, t.forwarded, t.undecodable), (23, 20, 3));
    assert!(rig.metrics.render().contains("dashstream_forward_dropped_total{reason=\"undecodable\"} 3"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_topic_is_a_clear_error_or_is_waited_for() -> anyhow::Result<()> {
    use dashstream::broker::mock::MockBroker;
    use dashstream::broker::Broker;
    use dashstream::forward::latency::HonestMeter;
    use dashstream::forward::{ForwardSettings, Forwarder};
    use dashstream::pipeline::metrics::Metrics;
    use std::sync::Arc;

    crate::support::logs();
    let broker: Arc<dyn Broker> = Arc::new(MockBroker::start(1)?);
    let topic = crate::support::unique("forward-late-topic");
    let settings = ForwardSettings::new(&topic, "127.0.0.1:0".parse()?);
    let err = Forwarder::start(&broker.client_config(), settings.clone(), &Metrics::new(), Arc::new(HonestMeter)).await.err().map(|e| e.to_string());
    assert_eq!(err, Some(format!("topic {topic:?} does not exist (or has no partitions); create it first")));

    let waiting = ForwardSettings { topic_wait: Duration::from_secs(30), ..settings };
    let client = broker.client_config();
    let start = tokio::spawn(async move { Forwarder::start(&client, waiting, &Metrics::new(), Arc::new(HonestMeter)).await });
    broker.create_topic(&topic, 3).await?;
    let forwarder = start.await??;
    let c = WsClient::connect(&format!("ws://{}/ws", forwarder.local_addr()), false).await?;
    Reference.produce(broker.clone(), &topic, &ProducePlan::new(10), Metrics::new()).await?;
    c.wait_until(WAIT, "10 records", |r| r.frames.len() == 10).await?;
    forwarder.shutdown().await;
    Ok(())
}
