//! `verify` end to end: everything decoded, nothing lost; clock offsets never
//! produce a negative latency and are counted as skew.

use dashstream::broker::{BrokerArgs, BrokerKind};
use dashstream::broker::mock::MockBroker;
use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::verify::{verify, VerifyOptions};

use crate::support::{logs, quiet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_on_the_mock_broker() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(3)?;
    let r = verify(&broker, &VerifyOptions { count: 2000, ..Default::default() }, &Metrics::new(), &quiet).await?;
    assert_eq!((r.sent, r.acked, r.received, r.decoded, r.lost, r.dlq), (2000, 2000, 2000, 2000, 0, 0), "{r:#?}");
    assert_eq!(r.verdict, "pass");
    assert!(r.compression.wire_bytes < r.compression.raw_bytes, "600-byte messages travel compressed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_on_the_test_broker() -> anyhow::Result<()> {
    logs();
    // A Kafka container unless DASHSTREAM_TEST_BROKER / DASHSTREAM_TEST_BOOTSTRAP say otherwise.
    let broker = BrokerArgs::from_env(BrokerKind::Container)?.open().await?;
    let broker = broker.as_ref();
    let r = verify(broker, &VerifyOptions { count: 2000, ..Default::default() }, &Metrics::new(), &quiet).await?;
    assert_eq!((r.acked, r.received, r.decoded, r.lost), (2000, 2000, 2000, 0), "{r:#?}");
    assert_eq!(r.verdict, "pass");
    if broker.kind() == BrokerKind::Container {
        assert!(r.broker.contains("Apache Kafka"), "{}", r.broker);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_clock_offsets_never_give_negative_latency_and_skew_is_counted() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(1)?;
    for offset_ms in [5, -5, 5000, -5000] {
        let opts = VerifyOptions { count: 300, clock_offset_ms: offset_ms, ..Default::default() };
        let r = verify(&broker, &opts, &Metrics::new(), &quiet).await?;
        assert_eq!(r.verdict, "pass", "offset {offset_ms}: {r:#?}");
        assert_eq!(r.latency_ms.count + r.clock_skew.count, 300, "one sample or skew observation per message: {r:#?}");
        assert!(r.latency_ms.count == 0 || r.latency_ms.min > 0.0, "no latency below or at zero: {:?}", r.latency_ms);
        if offset_ms == 5000 {
            assert_eq!(r.clock_skew.count, 300, "every message is from the future");
            assert!(r.clock_skew.max_ms > 4000.0 && r.clock_skew.max_ms <= 5000.0, "{:?}", r.clock_skew);
            assert_eq!(r.latency_ms.count, 0, "no skewed value may become a latency");
        }
        if offset_ms < 0 {
            assert_eq!(r.clock_skew.count, 0);
        }
        // The monotonic round trip does not care about wall clocks.
        assert!(r.rtt_ms.max < 60_000.0 && r.rtt_ms.count == 300);
    }
    Ok(())
}

#[tokio::test]
async fn an_unreachable_broker_fails_within_the_connect_timeout() {
    logs();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let broker = dashstream::broker::external::ExternalBroker::new(format!("127.0.0.1:{port}"), Default::default());
    let opts = VerifyOptions { count: 10, connect_timeout: std::time::Duration::from_secs(2), ..Default::default() };
    let err = verify(&broker, &opts, &Metrics::new(), &quiet).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("did not answer within 2s") && text.contains(&port.to_string()), "{text}");
}
