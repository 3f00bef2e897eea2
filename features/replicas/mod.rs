//! The five bugs the original pipeline shipped with, kept alive as deliberately
//! broken pipelines. Test-only: compiled into the `conformance` test runner,
//! never into the library or the binary. The runner proves that each one turns
//! its scenario red; a scenario that cannot fail is a defect.

mod dropping_consumer;
mod guessing_consumer;
mod noop_compression;
mod plain_consumer;
mod skew_blind_latency;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashstream::conformance::pipeline::Pipeline;
use dashstream::conformance::reference::Reference;

/// A broken variant and the feature that must catch it.
pub struct Replica {
    pub name: &'static str,
    pub bug: &'static str,
    pub feature: &'static str,
    pub pipeline: Arc<dyn Pipeline>,
    /// Where the hygiene scenarios look (the ignored-test replica points them at itself).
    pub scan_roots: Option<Vec<PathBuf>>,
}

/// Writes, under `dir`, the kind of test file the original suite had: a Kafka
/// test switched off with the ignore attribute. Generated at run time so that
/// no source file of this crate carries that attribute; returns the folder to scan.
fn ignored_test_tree(dir: &Path) -> PathBuf {
    const SOURCE: &str = r#"// Bug replica: what the original suite looked like. Only parsed, never compiled.

#[tokio::test]
IGNORE_ATTR = "needs Kafka"]
async fn kafka_round_trip() {
    let broker = start_kafka().await;
    broker.produce_and_consume(1000).await;
}

#[test]
fn codec_round_trip() {}
"#;
    let root = dir.join("ignored-test-replica");
    let _ = std::fs::create_dir_all(&root);
    let attr = format!("#[{}", "ignore");
    let _ = std::fs::write(root.join("kafka_roundtrip.rs"), SOURCE.replace("IGNORE_ATTR", &attr));
    root
}

/// Every replica; `scratch` is where generated replica sources go.
pub fn all(scratch: &Path) -> Vec<Replica> {
    vec![
        Replica {
            name: "guessing-consumer",
            bug: "the consumer always tries zstd first and falls back, with a warning per message",
            feature: "decompression.feature",
            pipeline: Arc::new(guessing_consumer::GuessingConsumer),
            scan_roots: None,
        },
        Replica {
            name: "skew-blind-latency",
            bug: "latency computed from the producer's and consumer's clocks as if they agreed",
            feature: "latency.feature",
            pipeline: Arc::new(skew_blind_latency::SkewBlindLatency),
            scan_roots: None,
        },
        Replica {
            name: "ignored-test",
            bug: "a Kafka test switched off with the ignore attribute",
            feature: "test_hygiene.feature",
            pipeline: Arc::new(Reference),
            scan_roots: Some(vec![ignored_test_tree(scratch)]),
        },
        Replica {
            name: "dropping-consumer",
            bug: "the consumer drops undecodable messages without counting them",
            feature: "dead_letters.feature",
            pipeline: Arc::new(dropping_consumer::DroppingConsumer),
            scan_roots: None,
        },
        Replica {
            name: "noop-compression",
            bug: "the producer's compression flag does nothing",
            feature: "compression.feature",
            pipeline: Arc::new(noop_compression::NoopCompression),
            scan_roots: None,
        },
    ]
}
