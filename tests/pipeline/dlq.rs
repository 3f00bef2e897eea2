//! Poison records go to the dead-letter topic byte for byte, with their origin;
//! legacy frames are decoded and counted as legacy; the consumer keeps going.

use std::time::{Duration, Instant};

use dashstream::broker::mock::MockBroker;
use dashstream::broker::Broker;
use dashstream::codec::{CodecConfig, CompressionPolicy, Encoder};
use dashstream::pipeline::consumer::{dlq_headers, ConsumerSettings, DashConsumer, Event};
use dashstream::pipeline::metrics::Metrics;
use dashstream::sample;
use futures::StreamExt;
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;

use crate::support::{logs, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_land_in_the_dlq_with_their_origin_and_the_consumer_keeps_going() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(1)?;
    let topic = unique("dlq");
    broker.create_topic(&topic, 1).await?;
    broker.create_topic(&format!("{topic}.dlq"), 1).await?;
    // Records as another client (kcat, the console producer) might write them.
    let plain: FutureProducer = broker.client_config().create()?;
    let good = |seq| sample::node_finished(sample::header("other-client", "s", seq, 1), "n", 5);
    let mut enc = Encoder::new(CodecConfig::default().with_policy(CompressionPolicy::Always));
    let records: Vec<(Vec<u8>, Option<&str>)> = vec![
        (enc.encode(&good(1))?.bytes, None),
        (b"hello from the console producer".to_vec(), Some("bad-protobuf")),
        (good(2).encode_to_vec(), None),                                   // legacy raw
        (zstd::bulk::compress(&good(3).encode_to_vec(), 3)?, None),        // legacy zstd
        (vec![0x01, 0x28, 0xb5, 0x2f, 0xfd, 0x00], Some("bad-zstd")),
        (vec![], Some("empty")),
        (vec![0x07, 0x09], Some("unknown-format")), // field 0: no protobuf starts so
        (enc.encode(&good(4))?.bytes, None),
    ];
    for (payload, _) in &records {
        plain.send(FutureRecord::<(), _>::to(&topic).payload(payload), Duration::from_secs(10)).await.map_err(|(e, _)| e)?;
    }
    let mut c = DashConsumer::new(&broker.client_config(), ConsumerSettings::new(&topic, unique("g")), Metrics::new())?;
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while events.len() < records.len() && Instant::now() < deadline {
        if let Some(e) = c.next(Duration::from_millis(200)).await? {
            events.push(e);
        }
    }
    assert_eq!(events.len(), records.len(), "the consumer kept going past every poison record");
    let report = c.finish().await?;
    assert_eq!(report.dlq, 4);
    assert_eq!(report.decoded, 4);
    assert_eq!(report.decoded_by_format.get("legacy-raw"), Some(&1));
    assert_eq!(report.decoded_by_format.get("legacy-zstd"), Some(&1));
    assert_eq!(report.decoded_by_format.get("zstd"), Some(&2));
    for kind in ["bad-protobuf", "bad-zstd", "empty", "unknown-format"] {
        assert_eq!(report.decode_failures.get(kind), Some(&1), "{kind}");
    }
    for (e, (_, kind)) in events.iter().zip(&records) {
        match (e, kind) {
            (Event::DeadLettered { kind: k, .. }, Some(want)) => assert_eq!(k.as_str(), *want),
            (Event::Message { .. }, None) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    // The DLQ holds the exact bytes, with origin headers.
    let dlq: StreamConsumer = broker.client_config().set("group.id", unique("dlq-reader")).set("auto.offset.reset", "earliest").create()?;
    dlq.subscribe(&[&format!("{topic}.dlq")])?;
    let poison: Vec<_> = records.iter().enumerate().filter(|(_, (_, k))| k.is_some()).collect();
    let mut stream = dlq.stream();
    for (offset, (payload, kind)) in poison {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next()).await?.expect("stream open")?;
        assert_eq!(m.payload().unwrap_or_default(), payload.as_slice(), "byte for byte");
        let headers = m.headers().expect("headers");
        let get = |k: &str| headers.iter().find(|h| h.key == k).and_then(|h| h.value).map(|v| String::from_utf8_lossy(v).to_string());
        assert_eq!(get(dlq_headers::TOPIC).as_deref(), Some(topic.as_str()));
        assert_eq!(get(dlq_headers::PARTITION).as_deref(), Some("0"));
        assert_eq!(get(dlq_headers::OFFSET), Some(offset.to_string()));
        assert_eq!(get(dlq_headers::ERROR_KIND).as_deref(), *kind);
        assert!(get(dlq_headers::ERROR).unwrap().starts_with(kind.unwrap()));
    }
    Ok(())
}

/// Dead-letter copies are sent without waiting for each acknowledgement, yet
/// the committed offset never passes one that is not stored: after `finish`
/// every copy is in the dead-letter topic and the offset is at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_poison_records_are_copied_in_flight_and_committed_only_when_stored() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(1)?;
    let topic = unique("dlq-many");
    broker.create_topic(&topic, 1).await?;
    broker.create_topic(&format!("{topic}.dlq"), 1).await?;
    let plain: FutureProducer = broker.client_config().set("linger.ms", "5").create()?;
    let mut enc = Encoder::new(CodecConfig::default());
    let n = 2000u64;
    let mut sends = Vec::new();
    for seq in 1..=n {
        let good = sample::node_finished(sample::header("p", "s", seq, 1), "n", 5);
        for payload in [enc.encode(&good)?.bytes, format!("poison {seq}").into_bytes()] {
            sends.push(plain.send_result(FutureRecord::<(), _>::to(&topic).payload(&payload)).map_err(|(e, _)| e)?);
        }
    }
    for s in sends {
        s.await?.map_err(|(e, _)| e)?;
    }
    let group = unique("g");
    let mut c = DashConsumer::new(&broker.client_config(), ConsumerSettings::new(&topic, &group), Metrics::new())?;
    let started = Instant::now();
    while c.report().received < 2 * n && started.elapsed() < Duration::from_secs(60) {
        c.next(Duration::from_millis(200)).await?;
    }
    let report = c.finish().await?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!("dlq-many: {} records ({} dead-lettered) in {secs:.2} s: {:.0} records/s", report.received, report.dlq, report.received as f64 / secs);
    assert_eq!((report.received, report.decoded, report.dlq), (2 * n, n, n));
    let reader: StreamConsumer = broker.client_config().set("group.id", &group).create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition(&topic, 0);
    let committed = reader.committed_offsets(tpl, Duration::from_secs(10))?;
    assert_eq!(committed.find_partition(&topic, 0).map(|p| p.offset()), Some(rdkafka::Offset::Offset(2 * n as i64)));
    let (_, dlq_end) = reader.fetch_watermarks(&format!("{topic}.dlq"), 0, Duration::from_secs(10))?;
    assert_eq!(dlq_end, n as i64, "every copy stored");
    Ok(())
}

/// A tombstone (null value) stays null in its dead-letter copy, and the
/// original record's key and headers travel with it, before the origin headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_copy_keeps_null_values_keys_and_headers() -> anyhow::Result<()> {
    logs();
    let broker = MockBroker::start(1)?;
    let topic = unique("dlq-null");
    broker.create_topic(&topic, 1).await?;
    broker.create_topic(&format!("{topic}.dlq"), 1).await?;
    let plain: FutureProducer = broker.client_config().create()?;
    let theirs = rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header { key: "trace-id", value: Some("abc") });
    let tombstone = FutureRecord::<str, [u8]>::to(&topic).key("user-7").headers(theirs);
    plain.send(tombstone, Duration::from_secs(10)).await.map_err(|(e, _)| e)?;
    let mut c = DashConsumer::new(&broker.client_config(), ConsumerSettings::new(&topic, unique("g")), Metrics::new())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let event = loop {
        anyhow::ensure!(Instant::now() < deadline, "the tombstone never arrived");
        if let Some(e) = c.next(Duration::from_millis(200)).await? {
            break e;
        }
    };
    assert!(matches!(event, Event::DeadLettered { .. }), "{event:?}");
    assert_eq!(c.finish().await?.dlq, 1);
    let dlq: StreamConsumer = broker.client_config().set("group.id", unique("dlq-reader")).set("auto.offset.reset", "earliest").create()?;
    dlq.subscribe(&[&format!("{topic}.dlq")])?;
    let m = tokio::time::timeout(Duration::from_secs(30), dlq.recv()).await??;
    assert_eq!(m.payload(), None, "null stays null");
    assert_eq!(m.key(), Some(&b"user-7"[..]));
    let headers = m.headers().expect("headers");
    let keys: Vec<&str> = headers.iter().map(|h| h.key).collect();
    assert_eq!(keys.first(), Some(&"trace-id"), "theirs first: {keys:?}");
    assert_eq!(headers.iter().find(|h| h.key == "trace-id").and_then(|h| h.value), Some(&b"abc"[..]));
    assert!(keys.contains(&dlq_headers::ERROR_KIND), "{keys:?}");
    Ok(())
}
