//! The reference pipeline: `dashstream`'s own producer and consumer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crate::broker::Broker;
use crate::codec::CodecConfig;
use crate::pipeline::consumer::{ConsumerSettings, DashConsumer};
use crate::pipeline::latency::WallClock;
use crate::pipeline::metrics::Metrics;
use crate::pipeline::producer::{DashProducer, ProducerSettings};
use crate::pipeline::traffic::{Sent, Traffic};
use crate::proto::envelope::Payload;
use crate::sample;

use super::pipeline::{target, Background, ConsumeOutcome, Pipeline, ProduceOutcome, ProducePlan, RunningConsumer};

/// The shipped implementation.
#[derive(Debug, Default)]
pub struct Reference;

/// Payload of `size` protobuf bytes: text (compressible) or noise (not).
pub fn payload(seq: u64, size: usize, incompressible: bool) -> Payload {
    let mut env = sample::chunk(sample::header("", "", seq, 0), size);
    if incompressible {
        if let Some(Payload::Chunk(c)) = &mut env.payload {
            let mut x = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            c.content = (0..c.content.chars().count())
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'!' + (x % 90) as u8)
                })
                .collect();
        }
    }
    env.payload.expect("chunk has a payload")
}

#[async_trait]
impl Pipeline for Reference {
    fn name(&self) -> &str {
        "reference"
    }

    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, metrics: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>> {
        let mut settings = ConsumerSettings::new(topic, group);
        settings.grace = Duration::from_secs(60);
        let mut consumer = DashConsumer::new(&broker.client_config(), settings, metrics)?;
        consumer.wait_for_assignment(Duration::from_secs(60)).await?;
        Ok(Background::spawn(|mut rx| async move {
            let mut last = Instant::now();
            loop {
                if consumer.next(Duration::from_millis(100)).await?.is_some() {
                    last = Instant::now();
                }
                if let Some(expect) = target(&mut rx)? {
                    if consumer.report().received >= expect.records || last.elapsed() >= expect.idle {
                        for (producer, session, last) in &expect.last_sequences {
                            consumer.expect_last(producer, session, *last);
                        }
                        break;
                    }
                }
            }
            let warnings: u64 = consumer.report().decode_failures.values().sum();
            let report = consumer.finish().await?;
            Ok(ConsumeOutcome { report, decode_warnings: warnings })
        }))
    }

    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome> {
        let mut settings = ProducerSettings::new(topic);
        settings.producer_id = format!("scenario-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        settings.codec = CodecConfig::default().with_policy(plan.policy);
        settings.clock = WallClock::with_offset_ms(plan.clock_offset_ms);
        let mut client = broker.client_config();
        for (key, value) in plan.profile.settings() {
            // -X settings (already in the broker's config) override the profile.
            if client.get(key).is_none() {
                client.set(*key, *value);
            }
        }
        let producer = Arc::new(DashProducer::new(&client, settings, metrics)?);
        producer.connect(Duration::from_secs(30)).await?;
        let mut out = ProduceOutcome { producer_id: producer.producer_id().into(), session: producer.session().into(), ..Default::default() };
        let mut traffic = Traffic::new(plan.rate, usize::MAX);
        let mut answers = Vec::new();
        let mut done = |sent: Sent| answers.push(sent.result);
        for i in 0..plan.count {
            let intended = traffic.next_slot(&mut done).await;
            let env = producer.stamp(payload(i + 1, plan.size, plan.incompressible), "run-1", &format!("thread-{}", i % 5));
            let seq = i + 1;
            let copies = if plan.removed.contains(seq) { 0 } else if plan.twice.contains(seq) { 2 } else { 1 };
            for _ in 0..copies {
                traffic.send(&producer, env.clone(), intended);
            }
        }
        traffic.drain(&mut done).await;
        out.sent = traffic.handed_over();
        producer.flush(Duration::from_secs(10)).await?;
        DashProducer::close_shared(producer).await;
        for answer in answers {
            let ack = answer?;
            out.acked += 1;
            out.raw_bytes += ack.raw_len as u64;
            out.wire_bytes += ack.wire_len as u64;
            out.compressed += u64::from(ack.format == crate::codec::FrameFormat::Zstd);
            out.max_growth = out.max_growth.max(ack.wire_len as i64 - ack.raw_len as i64);
        }
        Ok(out)
    }
}
