//! Bug 5: the compression setting is accepted and ignored: every message goes
//! out as plain protobuf.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashstream::broker::Broker;
use dashstream::codec::{CodecConfig, CompressionPolicy, Encoder};
use dashstream::pipeline::latency::WallClock;
use dashstream::pipeline::metrics::Metrics;
use dashstream::proto::{Envelope, Header};
use prost::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};

use dashstream::conformance::pipeline::{Pipeline, ProduceOutcome, ProducePlan, RunningConsumer};
use dashstream::conformance::reference::{payload, Reference};

pub struct NoopCompression;

#[async_trait]
impl Pipeline for NoopCompression {
    fn name(&self) -> &str {
        "replica: compression flag that does nothing"
    }

    async fn start_consumer(&self, broker: Arc<dyn Broker>, topic: &str, group: &str, metrics: Metrics) -> anyhow::Result<Box<dyn RunningConsumer>> {
        Reference.start_consumer(broker, topic, group, metrics).await
    }

    async fn produce(&self, broker: Arc<dyn Broker>, topic: &str, plan: &ProducePlan, metrics: Metrics) -> anyhow::Result<ProduceOutcome> {
        let _configured = plan.policy; // accepted...
        let mut encoder = Encoder::new(CodecConfig::default().with_policy(CompressionPolicy::Never)); // ...and ignored
        let p: FutureProducer = broker.client_config().create()?;
        let session = uuid::Uuid::new_v4().to_string();
        let mut out = ProduceOutcome { producer_id: "noop-compression".into(), session: session.clone(), ..Default::default() };
        let start = Instant::now();
        for i in 0..plan.count {
            if plan.rate > 0.0 {
                tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / plan.rate)).into()).await;
            }
            let header = Header {
                producer_id: out.producer_id.clone(),
                producer_session: session.clone(),
                sequence: i + 1,
                created_at_us: WallClock::with_offset_ms(plan.clock_offset_ms).now_us(),
                run_id: "run-1".into(),
                thread_id: format!("thread-{}", i % 5),
            };
            let env = Envelope { header: Some(header), payload: Some(payload(i + 1, plan.size, plan.incompressible)) };
            let frame = encoder.encode(&env)?;
            p.send(FutureRecord::<(), _>::to(topic).payload(&frame.bytes), Duration::from_secs(30)).await.map_err(|(e, _)| e)?;
            metrics.payload_bytes.with_label_values(&["raw"]).inc_by(env.encoded_len() as u64);
            metrics.payload_bytes.with_label_values(&["wire"]).inc_by(frame.bytes.len() as u64);
            out.sent += 1;
            out.acked += 1;
            out.raw_bytes += env.encoded_len() as u64;
            out.wire_bytes += frame.bytes.len() as u64;
            out.max_growth = out.max_growth.max(frame.bytes.len() as i64 - env.encoded_len() as i64);
        }
        Ok(out)
    }
}
