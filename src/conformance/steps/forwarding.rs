//! Steps of the live path: a forwarder on the scenario's topic, WebSocket
//! clients, and checks against what Kafka holds and what the scenario planned.

use std::time::Duration;

use cucumber::{given, then, when};
use futures::StreamExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;

use crate::codec::{CodecConfig, Decoder};
use crate::conformance::live::{Received, WsClient};
use crate::conformance::world::DashWorld;
use super::ensure;
use crate::forward::queue::Limits;
use crate::forward::{ForwardSettings, Forwarder};
use crate::pipeline::rangeset::RangeSet;

/// How long a client may take to receive what a scenario sent.
const DELIVERY: Duration = Duration::from_secs(60);

#[given(expr = "a fresh topic with a forwarder keeping {int} records per client and {int} for replay")]
async fn forwarder(w: &mut DashWorld, queue: usize, replay: usize) -> anyhow::Result<()> {
    w.topic = format!("forward-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let broker = w.broker();
    broker.create_topic(&w.topic, 3).await?;
    let mut settings = ForwardSettings::new(&w.topic, "127.0.0.1:0".parse()?);
    settings.queue = Limits { items: queue, bytes: 64 << 20 };
    settings.replay = Limits { items: replay, bytes: 64 << 20 };
    // Slow clients in these scenarios are told what they missed, never disconnected.
    settings.stall = Duration::from_secs(3600);
    let meter = w.env().pipeline.forward_meter();
    let f = Forwarder::start(&broker.client_config(), settings, &w.metrics, meter).await?;
    w.notes.push(format!("forwarder at ws://{}/ws, queue {queue}, replay {replay}", f.local_addr()));
    w.live.forwarder = Some(f);
    Ok(())
}

#[given(expr = "a WebSocket client {string} connected")]
async fn client(w: &mut DashWorld, name: String) -> anyhow::Result<()> {
    let c = WsClient::connect(&w.live.url("")?, false).await?;
    w.live.clients.insert(name, c);
    Ok(())
}

#[given(expr = "a WebSocket client {string} that stops reading")]
async fn slow_client(w: &mut DashWorld, name: String) -> anyhow::Result<()> {
    let c = WsClient::connect(&w.live.url("")?, true).await?;
    c.set_reading(false);
    w.live.clients.insert(name, c);
    Ok(())
}

#[when(expr = "client {string} reads again")]
async fn reads_again(w: &mut DashWorld, name: String) -> anyhow::Result<()> {
    w.live.client(&name)?.set_reading(true);
    Ok(())
}

#[when(expr = "client {string} has received {int} messages")]
async fn has_received(w: &mut DashWorld, name: String, n: usize) -> anyhow::Result<()> {
    w.live.client(&name)?.wait_until(DELIVERY, &format!("{n} messages"), |r| r.frames.len() >= n).await
}

#[when(expr = "client {string} disconnects")]
async fn disconnects(w: &mut DashWorld, name: String) -> anyhow::Result<()> {
    let c = w.live.clients.remove(&name).ok_or_else(|| anyhow::anyhow!("no client {name:?}"))?;
    // Keep what it received: the reconnected client continues its account.
    let before = c.disconnect().await;
    w.live.departed.insert(name, before);
    Ok(())
}

#[when(expr = "client {string} reconnects where it left off")]
async fn reconnects(w: &mut DashWorld, name: String) -> anyhow::Result<()> {
    let before = w.live.departed.get(&name).ok_or_else(|| anyhow::anyhow!("client {name:?} never disconnected"))?;
    let c = WsClient::connect(&w.live.url(&format!("?from={}", before.position))?, false).await?;
    w.live.clients.insert(name, c);
    Ok(())
}

/// Every record value on the topic, read by a plain consumer (the witness):
/// every partition from its start to its end as the broker reports it.
async fn topic_records(w: &DashWorld) -> anyhow::Result<Vec<Vec<u8>>> {
    let c: StreamConsumer = crate::broker::roles::for_consumer(&w.broker().client_config())
        .set("group.id", format!("witness-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]))
        .set("enable.auto.commit", "false")
        .create()?;
    let topic = w.topic.clone();
    let (c, ends) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let md = c.fetch_metadata(Some(&topic), Duration::from_secs(15))?;
        let mut tpl = rdkafka::TopicPartitionList::new();
        let mut ends = std::collections::BTreeMap::new();
        for p in md.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = c.fetch_watermarks(&topic, p.id(), Duration::from_secs(15))?;
            tpl.add_partition_offset(&topic, p.id(), rdkafka::Offset::Offset(low))?;
            if high > low {
                ends.insert(p.id(), high);
            }
        }
        c.assign(&tpl)?;
        Ok((c, ends))
    })
    .await??;
    let total: i64 = ends.values().sum::<i64>();
    let mut remaining = ends.clone();
    let mut stream = c.stream();
    let mut out = Vec::new();
    while !remaining.is_empty() {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .map_err(|_| anyhow::anyhow!("the witness read {} records; the partition ends say {total} (waiting on {remaining:?})", out.len()))?
            .ok_or_else(|| anyhow::anyhow!("witness stream ended"))??;
        out.push(m.payload().unwrap_or_default().to_vec());
        if remaining.get(&m.partition()).is_some_and(|end| m.offset() + 1 >= *end) {
            remaining.remove(&m.partition());
        }
    }
    drop(stream);
    crate::pipeline::close_off_runtime(c).await;
    Ok(out)
}

#[then(expr = "client {string} receives every record on the topic, byte for byte")]
async fn every_record(w: &mut DashWorld, name: String) -> anyhow::Result<()> {
    let planned = w.planned_records();
    ensure(planned > 0, || "the scenario planned no records".into())?;
    let client = w.live.client(&name)?;
    client.wait_until(DELIVERY, &format!("{planned} planned records"), |r| r.frames.len() as u64 >= planned).await?;
    let mut got = client.snapshot().frames;
    let mut kafka = topic_records(w).await?;
    ensure(kafka.len() as u64 == planned, || format!("the topic holds {} records, {planned} were planned", kafka.len()))?;
    ensure(got.len() as u64 == planned, || format!("client {name:?} got {} messages, {planned} were planned", got.len()))?;
    got.sort();
    kafka.sort();
    ensure(got == kafka, || {
        let differ = got.iter().zip(&kafka).filter(|(a, b)| a != b).count();
        format!("client {name:?}: {differ} of {planned} messages differ from the records in Kafka")
    })?;
    w.notes.push(format!("client {name:?}: {planned} messages, byte-identical to the {planned} records in Kafka"));
    Ok(())
}

#[then("the forwarder reported no negative latency")]
async fn no_negative(w: &mut DashWorld) -> anyhow::Result<()> {
    let planned = w.planned_records();
    let f = w.live.forwarder()?;
    let t = f.totals();
    ensure(t.forwarded == planned, || format!("the forwarder forwarded {} of {planned} planned records", t.forwarded))?;
    ensure(t.latencies + t.skewed == t.forwarded, || {
        format!("{} forwarded, but {} latencies and {} skew observations", t.forwarded, t.latencies, t.skewed)
    })?;
    let exported = w.metrics.render();
    let counter = exported.lines().find_map(|l| l.strip_prefix("dashstream_forward_latency_negative_total ")).unwrap_or("missing").to_string();
    ensure(t.negative_latency == 0 && counter == "0", || {
        format!("the forwarder reported {} negative latencies (dashstream_forward_latency_negative_total {counter})", t.negative_latency)
    })?;
    w.notes.push(format!("forwarder: {} latencies, {} skewed, 0 negative", t.latencies, t.skewed));
    Ok(())
}

#[then("the forwarder counted every message as clock skew")]
async fn all_skew(w: &mut DashWorld) -> anyhow::Result<()> {
    let planned = w.planned_records();
    let t = w.live.forwarder()?.totals();
    let offset = w.clock_offset_ms as f64;
    ensure(t.skewed == planned && t.max_skew_ms > 0.0 && t.max_skew_ms <= offset, || {
        format!("skew on {} of {planned} planned messages, largest {} ms (offset {offset} ms)", t.skewed, t.max_skew_ms)
    })
}

/// One producer session's sequences, keyed by `(producer id, session)`.
type BySession = std::collections::BTreeMap<(String, String), RangeSet>;

/// The sequences of every frame a client received; a sequence received twice is an error.
fn received_sequences(r: &Received) -> anyhow::Result<BySession> {
    let mut decoder = Decoder::new(CodecConfig::default());
    let mut out = BySession::new();
    for f in &r.frames {
        let h = decoder.decode(f)?.message.header.unwrap_or_default();
        let seq = h.sequence;
        let fresh = out.entry((h.producer_id, h.producer_session)).or_default().insert(seq);
        ensure(fresh, || format!("sequence {seq} was received twice"))?;
    }
    Ok(out)
}

/// Every sequence in the gap notices, checked against the count each notice gives.
fn missed_sequences(r: &Received) -> anyhow::Result<BySession> {
    let mut missed = BySession::new();
    for gap in r.gaps() {
        let mut in_notice = 0;
        for s in gap["streams"].as_array().into_iter().flatten() {
            let key = (s["producer_id"].as_str().unwrap_or_default().to_string(), s["producer_session"].as_str().unwrap_or_default().to_string());
            for part in s["sequences"].as_str().unwrap_or_default().split(',').filter(|p| !p.is_empty()) {
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                let (a, b): (u64, u64) = (a.parse()?, b.parse()?);
                missed.entry(key.clone()).or_default().insert_range(a, b);
                in_notice += b - a + 1;
            }
        }
        ensure(gap["missed"].as_u64() == Some(in_notice) && gap["unknown"].as_u64() == Some(0), || format!("gap notice {gap} lists {in_notice} sequences"))?;
    }
    Ok(missed)
}

/// What the scenario planned: sequences 1..=count of each producer session.
fn planned_sequences(w: &DashWorld) -> BySession {
    w.planned
        .iter()
        .zip(&w.produced)
        .map(|(plan, out)| {
            let mut r = RangeSet::new();
            r.insert_range(1, plan.count);
            ((out.producer_id.clone(), out.session.clone()), r)
        })
        .collect()
}

#[when("the forwarder has forwarded every planned record")]
async fn forwarded_all(w: &mut DashWorld) -> anyhow::Result<()> {
    let planned = w.planned_records();
    let f = w.live.forwarder()?;
    f.wait_until(DELIVERY, |t| t.forwarded >= planned)
        .await
        .map_err(|t| anyhow::anyhow!("the forwarder forwarded {} of {planned} records in {DELIVERY:?}", t.forwarded))?;
    Ok(())
}

#[then(expr = "client {string} is told exactly which sequences it missed")]
async fn told_exactly(w: &mut DashWorld, name: String) -> anyhow::Result<()> {
    let planned = planned_sequences(w);
    let total: u64 = planned.values().map(RangeSet::len).sum();
    let mut account = w.live.departed.get(&name).cloned().unwrap_or_default();
    let client = w.live.client(&name)?;
    let before = account.accounted();
    client.wait_until(DELIVERY, "every planned record received or announced missed", |r| before + r.accounted() >= total).await?;
    let now = client.snapshot();
    account.frames.extend(now.frames);
    account.notices.extend(now.notices);
    let (received, missed) = (received_sequences(&account)?, missed_sequences(&account)?);
    let missed_total: u64 = missed.values().map(RangeSet::len).sum();
    ensure(missed_total > 0, || format!("client {name:?} missed nothing: the scenario did not make it miss records"))?;
    for (key, want) in &planned {
        let got = received.get(key).cloned().unwrap_or_default();
        let lost = missed.get(key).cloned().unwrap_or_default();
        let both = got.len() - got.difference(&lost).len();
        ensure(both == 0, || format!("{}: sequences both received and announced missed", key.0))?;
        let mut all = got.clone();
        lost.ranges().for_each(|(a, b)| all.insert_range(a, b));
        ensure(&all == want, || format!("{}: received {got} and told it missed {lost}, but {want} were sent", key.0))?;
    }
    ensure(received.keys().chain(missed.keys()).all(|k| planned.contains_key(k)), || "a session the scenario never planned".into())?;
    w.notes.push(format!("client {name:?}: received {} messages, told it missed {missed_total}", account.frames.len()));
    Ok(())
}
