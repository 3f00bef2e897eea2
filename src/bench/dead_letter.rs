//! Dead-lettering measured against good records on the same topic: N good
//! records, then N poison ones, on one partition so their order is known. The
//! good rate runs from the first record to the last good one; the poison rate
//! from there until the last dead-letter copy is acknowledged.

use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;
use serde::Serialize;

use super::ours;
use crate::pipeline::producer::ProducerSettings;
use crate::pipeline::consumer::{ConsumerSettings, DashConsumer, Event};
use crate::pipeline::metrics::Metrics;
use crate::pipeline::PipelineError;

/// A frame whose format byte no codec knows: the consumer must dead-letter it.
pub const POISON: &[u8] = &[0x7f, 0xde, 0xad, 0xbe, 0xef];

const PATIENCE: Duration = Duration::from_secs(30);

/// Good and poison rates on one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DeadLetterFigures {
    pub records: u64,
    pub good_per_s: f64,
    pub poison_per_s: f64,
    /// poison / good (the bar: at least 0.5).
    pub ratio: f64,
    /// Copies the dead-letter topic acknowledged (must equal `records`).
    pub dead_lettered: u64,
}

/// Writes `records` poison records to `topic` with a plain client.
async fn send_poison(client: &ClientConfig, topic: &str, records: u64) -> Result<(), PipelineError> {
    let producer: FutureProducer = crate::broker::roles::for_producer(client).create().map_err(|e| PipelineError::kafka("creating poison producer", e))?;
    let mut pending = Vec::with_capacity(records as usize);
    for _ in 0..records {
        let record: FutureRecord<'_, (), [u8]> = FutureRecord::to(topic).payload(POISON);
        pending.push(producer.send_result(record).map_err(|(e, _)| PipelineError::kafka("queueing a poison record", e))?);
    }
    for delivery in pending {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => return Err(PipelineError::kafka("sending a poison record", e)),
            Err(_) => return Err(PipelineError::Unreachable("poison producer closed".into())),
        }
    }
    producer.flush(PATIENCE).map_err(|e| PipelineError::kafka("flushing poison records", e))
}

/// `topic` must exist with one partition, and `<topic>.dlq` too.
pub async fn measure(client: &ClientConfig, topic: &str, records: u64, metrics: &Metrics) -> Result<DeadLetterFigures, PipelineError> {
    ours::produce(client, ProducerSettings::new(topic), records, &ours::payloads(600, 64), metrics).await?;
    send_poison(client, topic, records).await?;
    let group = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut consumer = DashConsumer::new(client, ConsumerSettings::new(topic, group), metrics.clone())?;
    let early = consumer.wait_for_assignment(PATIENCE).await?;
    let (mut good, mut poison) = (0u64, 0u64);
    let count = |e: &Event, good: &mut u64, poison: &mut u64| match e {
        Event::Message { .. } => *good += 1,
        Event::DeadLettered { .. } => *poison += 1,
    };
    early.iter().for_each(|e| count(e, &mut good, &mut poison));
    let first = Instant::now();
    let mut last_good = first;
    while good + poison < 2 * records {
        let event = consumer.next(PATIENCE).await?.ok_or_else(|| PipelineError::Unreachable(format!("{topic}: nothing for {PATIENCE:?}")))?;
        count(&event, &mut good, &mut poison);
        if good < records {
            last_good = Instant::now();
        }
    }
    consumer.settle_dead_letters().await?;
    let settled = Instant::now();
    let report = consumer.finish().await?;
    let good_per_s = good as f64 / last_good.duration_since(first).as_secs_f64().max(1e-6);
    let poison_per_s = poison as f64 / settled.duration_since(last_good).as_secs_f64().max(1e-6);
    Ok(DeadLetterFigures { records, good_per_s, poison_per_s, ratio: poison_per_s / good_per_s, dead_lettered: report.dlq })
}
