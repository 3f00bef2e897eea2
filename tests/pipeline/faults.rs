//! Fault runs judge honestly: a pipeline configured to lose data gets a failing
//! verdict with the exact lost ranges; the reference configuration passes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dashstream::broker::mock::MockBroker;
use dashstream::faults::inject::Direct;
use dashstream::faults::{self, Fault, RunOptions, Scheduled};

use crate::support::logs;

fn opts(overrides: &[(&str, &str)]) -> RunOptions {
    RunOptions {
        rate: 200.0,
        size: 200,
        duration: Duration::from_secs(6),
        schedule: vec![Scheduled { at: Duration::from_secs(2), fault: Fault::MockRetriableErrors, hold: Duration::ZERO }],
        drain_timeout: Duration::from_secs(10),
        producer_overrides: overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
        injector: Arc::new(Direct),
    }
}

/// Idempotence off: see `mock_workarounds` in src/conformance/steps/faults.rs
/// (librdkafka's mock loses some idempotent retries after injected errors).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_all_survives_request_errors() -> anyhow::Result<()> {
    logs();
    let v = faults::run(Arc::new(MockBroker::start(3)?), &opts(&[("enable.idempotence", "false")]), &|_| {}).await?;
    assert_eq!(v.verdict, "pass", "{v:#?}");
    assert_eq!((v.lost, v.unacked), (0, 0));
    assert!(v.producer_retries > 0, "the injected errors were answered: librdkafka retransmitted: {v:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_0_loses_data_under_request_errors_and_the_verdict_says_which() -> anyhow::Result<()> {
    logs();
    // With acks=0 the broker's refusals never reach the producer: "sent" is all it knows.
    let v = faults::run(Arc::new(MockBroker::start(3)?), &opts(&[("acks", "0")]), &|_| {}).await?;
    // The verdict `chaos` prints, losses included, as schemas/chaos.schema.json describes it.
    crate::schemas::conforms_value("chaos", &serde_json::to_value(&v)?);
    assert_eq!(v.verdict, "fail", "{v:#?}");
    assert!(v.lost > 0 && !v.lost_ranges.is_empty(), "{v:#?}");
    assert_eq!(v.unacked, 0, "every send looked acknowledged");
    assert_eq!(v.unconfirmed, v.acked, "and not one of them was confirmed by the broker");
    Ok(())
}
