//! The producer's compression summary: the log line that would have shown the
//! "compression switched on but did nothing" bug in the first hour.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashstream::broker::mock::MockBroker;
use dashstream::broker::Broker;
use dashstream::codec::{CodecConfig, CompressionPolicy};
use dashstream::pipeline::metrics::Metrics;
use dashstream::pipeline::producer::{DashProducer, ProducerSettings};
use dashstream::sample;

use crate::support::unique;

/// Log lines written on this thread while the guard lives.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Sends `count` messages of `size` bytes with `policy` on the mock and returns
/// the summary line the producer logged at flush.
async fn summary_after(policy: CompressionPolicy, count: u64, size: usize) -> anyhow::Result<String> {
    let broker = MockBroker::start(1)?;
    let topic = unique("compression-log");
    broker.create_topic(&topic, 1).await?;
    let mut settings = ProducerSettings::new(&topic);
    settings.codec = CodecConfig { policy, ..CodecConfig::default() };
    let producer = DashProducer::new(&broker.client_config(), settings, Metrics::new())?;
    for i in 1..=count {
        let payload = sample::chunk(sample::header("", "", i, 0), size).payload.expect("payload");
        producer.send(&producer.stamp(payload, "run", "thread")).await?;
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    tracing::instrument::WithSubscriber::with_subscriber(producer.flush(Duration::from_secs(10)), subscriber).await?;
    let text = captured.text();
    Ok(text.lines().find(|l| l.contains("compressed ")).map(str::to_string).unwrap_or_else(|| panic!("no compression summary in:\n{text}")))
}

/// The "X bytes to Y bytes" figures of a summary line: protobuf bytes, then bytes on the wire.
fn bytes(line: &str) -> (u64, u64) {
    let figures: Vec<u64> = line.split("messages: ").nth(1).unwrap_or("").split(' ').filter_map(|w| w.parse().ok()).collect();
    match figures[..] {
        [raw, wire, ..] => (raw, wire),
        _ => panic!("no byte counts in {line}"),
    }
}

#[tokio::test]
async fn the_summary_says_how_much_compression_saved() -> anyhow::Result<()> {
    let line = summary_after(CompressionPolicy::Auto, 20, 4000).await?;
    assert!(line.contains("compressed 20 messages"), "{line}");
    assert!(line.contains("compressed=20"), "every 4000-byte message is compressed: {line}");
    let (raw, wire) = bytes(&line);
    assert!(wire * 5 < raw * 4, "sample text compresses by more than 20%: {line}");
    Ok(())
}

#[tokio::test]
async fn the_summary_shows_when_nothing_was_compressed() -> anyhow::Result<()> {
    let line = summary_after(CompressionPolicy::Never, 20, 4000).await?;
    assert!(line.contains("compressed=0"), "{line}");
    assert!(line.contains("compressed 20 messages"), "{line}");
    let (raw, wire) = bytes(&line);
    assert_eq!(wire, raw + 20, "the format byte makes each of the 20 frames one byte bigger: {line}");
    Ok(())
}
