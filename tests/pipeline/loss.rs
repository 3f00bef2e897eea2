//! Messages removed on purpose are reported lost with their exact ranges;
//! duplicates are counted.

use std::time::{Duration, Instant};

use dashstream::broker::mock::MockBroker;
use dashstream::broker::Broker;
use dashstream::pipeline::consumer::{ConsumerSettings, DashConsumer};
use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::producer::{DashProducer, ProducerSettings};
use dashstream::sample;

use crate::support::{logs, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_messages_are_reported_lost_with_exact_ranges_and_duplicates_counted() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(3)?;
    let topic = unique("loss");
    broker.create_topic(&topic, 3).await?;
    let metrics = Metrics::new();
    let p = DashProducer::new(&broker.client_config(), ProducerSettings::new(&topic), metrics.clone())?;
    let mut sent = 0;
    for i in 1..=40u64 {
        let payload = sample::node_finished(sample::header("", "", i, 0), "n", i).payload.unwrap();
        let env = p.stamp(payload, "run", &format!("thread-{}", i % 3));
        if [5, 6, 7, 15, 40].contains(&i) {
            continue; // stamped, never sent
        }
        p.send(&env).await?;
        sent += 1;
        if i == 10 {
            p.send(&env).await?; // a duplicate
        }
    }
    let mut settings = ConsumerSettings::new(&topic, unique("g"));
    settings.grace = Duration::from_secs(60);
    let mut c = DashConsumer::new(&broker.client_config(), settings, metrics.clone())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.report().received < sent + 1 && Instant::now() < deadline {
        c.next(Duration::from_millis(200)).await?;
    }
    // Within the grace period a hole is not (yet) loss.
    assert_eq!(c.report().lost, 0);
    let r = c.finish().await?;
    // 40 was never sent and nothing came after it: no consumer can know of it.
    let want = dashstream::pipeline::loss::LostRange { producer: p.producer_id().to_string(), session: p.session().to_string(), ranges: vec![[5, 7], [15, 15]] };
    assert_eq!(r.lost_ranges, vec![want]);
    assert_eq!(r.lost, 4);
    assert_eq!(r.duplicates, 1);
    assert_eq!(metrics.lost.get(), 4);
    assert_eq!(metrics.duplicates.get(), 1);
    assert!(!r.lag.is_empty() && r.lag.values().all(|l| *l == 0), "lag back to zero once drained and committed: {:?}", r.lag);
    Ok(())
}
