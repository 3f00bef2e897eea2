//! The bugs the original pipeline shipped with, kept alive as deliberately
//! broken pipelines. Test-only: compiled into the `conformance` test runner,
//! never into the library or the binary. Each replica names the scenario, the
//! step and the error it must be caught by; the runner checks exactly that,
//! so a replica caught by a Given that broke, a timeout or another step counts
//! as not caught. The list can grow; there is no way to skip it.

mod counting_consumer;
mod fire_and_forget;
mod guessing_consumer;
mod idle_injector;
mod noop_compression;
mod original_forwarder;
mod plain_consumer;
mod wall_clock_latency;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashstream::broker::BrokerKind;
use dashstream::conformance::outcomes::FailedStep;
use dashstream::conformance::pipeline::Pipeline;
use dashstream::conformance::reference::Reference;
use dashstream::faults::inject::{Direct, Injector};

/// Where and why a replica must fail.
#[derive(Debug, Clone)]
pub struct Catch {
    pub scenario: &'static str,
    /// For a Scenario Outline: text that one of the example's steps contains (e.g. "+5 ms").
    pub example: Option<&'static str>,
    /// The step that must fail, without its keyword.
    pub step: &'static str,
    /// Text the step's error must contain.
    pub error: &'static str,
}

impl Catch {
    /// Whether `failed` is this catch.
    pub fn matches(&self, failed: &FailedStep) -> bool {
        failed.scenario == self.scenario
            && self.example.is_none_or(|x| failed.steps.iter().any(|s| s.contains(x)))
            && failed.step == self.step
            && failed.error.contains(self.error)
    }
}

/// A broken variant and where it must be caught.
pub struct Replica {
    pub name: &'static str,
    pub bug: &'static str,
    pub feature: &'static str,
    pub backend: BrokerKind,
    pub pipeline: Arc<dyn Pipeline>,
    /// Who performs the fault scenarios' broker actions.
    pub injector: Arc<dyn Injector>,
    /// Where the hygiene scenarios look (the ignored-test replica points them at itself).
    pub scan_roots: Option<Vec<PathBuf>>,
    /// Every one of these must happen.
    pub catches: Vec<Catch>,
    /// Runs after the others, on a quiet machine: its catch depends on latencies
    /// that load would hide (the +5 ms clock offset is caught only while true
    /// latencies stay under 5 ms; run beside the other replicas, it was not).
    pub alone: bool,
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

impl Replica {
    fn with_injector(self, injector: Arc<dyn Injector>) -> Self {
        Self { injector, ..self }
    }

    /// The same replica, run on a Kafka container instead of the mock.
    fn on_container(self) -> Self {
        Self { backend: BrokerKind::Container, ..self }
    }
}

fn consumer_replica(name: &'static str, handler: fn() -> plain_consumer::Handler) -> Arc<dyn Pipeline> {
    Arc::new(plain_consumer::ConsumerReplica { name, handler })
}

fn catch(scenario: &'static str, step: &'static str, error: &'static str) -> Catch {
    Catch { scenario, example: None, step, error }
}

fn on_mock(name: &'static str, bug: &'static str, feature: &'static str, pipeline: Arc<dyn Pipeline>, catches: Vec<Catch>) -> Replica {
    Replica { name, bug, feature, backend: BrokerKind::Mock, pipeline, injector: Arc::new(Direct), scan_roots: None, catches, alone: false }
}

const CLOCK_OUTLINE: &str = "A producer clock that is off never gives a negative latency";

/// The replicas of the fault scenarios: a broken injector, a losing producer.
fn fault_replicas() -> Vec<Replica> {
    vec![
        on_mock(
            "idle-injector",
            "a fault injector that does nothing and says it worked",
            "faults.feature",
            Arc::new(Reference),
            vec![catch("A broker goes down and comes back", "the fault really happened", "had no effect")],
        )
        .with_injector(Arc::new(idle_injector::IdleInjector)),
        on_mock(
            "idle-injector-network",
            "a fault injector that never adds the fault proxy's toxic and says it did",
            "faults.feature",
            Arc::new(Reference),
            vec![catch("Every round trip to the broker gains 200 ms, with jitter", "the fault really happened", "had no effect")],
        )
        .with_injector(Arc::new(idle_injector::IdleInjector))
        .on_container(),
        on_mock(
            "fire-and-forget",
            "a producer with acks=0 and no idempotence: its acknowledgements are its own, not the broker's",
            "faults.feature",
            Arc::new(fire_and_forget::FireAndForget),
            vec![catch("A broker is cut off the network and reconnected", "no acknowledged message is lost", "without the broker confirming them")],
        )
        .on_container(),
    ]
}

/// The replicas of the latency bug: a skew taken as a latency, or clamped to zero.
fn latency_replicas() -> Vec<Replica> {
    let clock = |example, error| Catch { scenario: CLOCK_OUTLINE, example: Some(example), step: "no latency is negative", error };
    vec![
        on_mock(
            "skew-blind-latency",
            "latency computed from the producer's and consumer's clocks as if they agreed",
            "latency.feature",
            consumer_replica("replica: skew-blind latency", wall_clock_latency::skew_blind),
            vec![clock("+5 s", "negative latencies")],
        ),
        Replica {
            alone: true,
            ..on_mock(
                "clamping-latency",
                "a negative latency clamped to zero instead of counted as clock skew",
                "latency.feature",
                consumer_replica("replica: negative latency clamped to zero", wall_clock_latency::clamping),
                vec![clock("+5 ms", "exactly 0 ms"), clock("+5 s", "exactly 0 ms")],
            )
        },
    ]
}

/// Every replica; `scratch` is where generated replica sources go.
pub fn all(scratch: &Path) -> Vec<Replica> {
    vec![
        on_mock(
            "guessing-consumer",
            "the consumer always tries zstd first and falls back, with a warning per message",
            "decompression.feature",
            consumer_replica("replica: guessing consumer", guessing_consumer::handler),
            vec![catch("Compressed, plain and legacy messages all decode, with no warnings", "every message is decoded", "decoded 200 of 600")],
        ),
        Replica {
            scan_roots: Some(vec![ignored_test_tree(scratch)]),
            ..on_mock(
                "ignored-test",
                "a Kafka test switched off with the ignore attribute",
                "test_hygiene.feature",
                Arc::new(Reference),
                vec![catch("No test in the crate is marked ignored", "no test is marked ignored", "ignored tests: ")],
            )
        },
        on_mock(
            "counting-consumer",
            "the consumer counts messages and tracks no sequence numbers, so loss goes unseen",
            "loss_detection.feature",
            consumer_replica("replica: a consumer that only counts", counting_consumer::handler),
            vec![
                catch("Messages removed on purpose are reported lost with their exact numbers", "11 messages are reported lost", "0 reported lost"),
                catch("The last messages of a session are lost", "10 messages are reported lost", "0 reported lost"),
            ],
        ),
        on_mock(
            "dropping-consumer",
            "the consumer drops undecodable messages without counting them",
            "dead_letters.feature",
            consumer_replica("replica: dropping consumer (the counting consumer, on poison)", counting_consumer::handler),
            vec![catch(
                "Poison records land in the dead-letter topic with their origin",
                "3 records are in the dead-letter topic, unchanged, with their original topic, partition, offset and error",
                "dead-lettered 0 records",
            )],
        ),
        on_mock(
            "noop-compression",
            "the producer's compression flag does nothing",
            "compression.feature",
            Arc::new(noop_compression::NoopCompression),
            vec![catch("Large messages travel compressed and smaller", "every message travelled compressed", "0 of 300 planned messages were compressed")],
        ),
        on_mock(
            "original-forwarder",
            "the WebSocket forwarder's latency: its clock minus the producer's, reported as is",
            "forwarding.feature",
            Arc::new(original_forwarder::OriginalForwarder),
            vec![catch(
                "A producer clock 5 s ahead never gives a negative latency at the forwarder",
                "the forwarder reported no negative latency",
                "the forwarder reported 200 negative latencies",
            )],
        ),
    ]
    .into_iter()
    .chain(latency_replicas())
    .chain(fault_replicas())
    .collect()
}
