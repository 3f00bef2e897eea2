//! Steps that check what the consumer and producer saw.

use std::io::{Read, Write};
use std::time::Duration;

use cucumber::then;
use futures::StreamExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::Message;

use crate::pipeline::consumer::dlq_headers;

use super::traffic::POISON;
use crate::conformance::world::DashWorld;
use super::ensure;

#[then(expr = "{int} messages are received")]
fn received(w: &mut DashWorld, n: u64) -> anyhow::Result<()> {
    let r = &w.consumed().report;
    ensure(n == w.expected_records(), || format!("the scenario says {n} but planned {} records", w.expected_records()))?;
    ensure(r.received == n, || format!("received {} records, expected {n}", r.received))
}

#[then(expr = "{int} messages are decoded")]
fn decoded_n(w: &mut DashWorld, n: u64) -> anyhow::Result<()> {
    ensure(n == w.planned_decodable(), || format!("the scenario says {n} but planned {} decodable messages", w.planned_decodable()))?;
    let r = &w.consumed().report;
    ensure(r.decoded == n, || format!("decoded {} messages, expected {n}", r.decoded))
}

#[then("every message is decoded")]
fn all_decoded(w: &mut DashWorld) -> anyhow::Result<()> {
    let r = &w.consumed().report;
    let expected = w.planned_decodable();
    ensure(expected > 0, || "the scenario planned no message: nothing to check".into())?;
    ensure(r.decoded == expected && r.decode_failures.is_empty(), || {
        format!("decoded {} of {expected} planned messages; failures {:?}", r.decoded, r.decode_failures)
    })
}

#[then("there are no decode warnings")]
fn no_warnings(w: &mut DashWorld) -> anyhow::Result<()> {
    let n = w.consumed().decode_warnings;
    ensure(n == 0, || format!("{n} decode warnings"))
}

#[then(expr = "the formats seen are {int} {string}, {int} {string}, {int} {string} and {int} {string}")]
#[allow(clippy::too_many_arguments)]
fn formats(w: &mut DashWorld, a: u64, fa: String, b: u64, fb: String, c: u64, fc: String, d: u64, fd: String) -> anyhow::Result<()> {
    let seen = &w.consumed().report.decoded_by_format;
    for (n, f) in [(a, fa), (b, fb), (c, fc), (d, fd)] {
        let got = seen.get(&f).copied().unwrap_or(0);
        ensure(got == n, || format!("{got} messages in format {f}, expected {n} (all: {seen:?})"))?;
    }
    Ok(())
}

#[then("every message travelled compressed")]
fn all_compressed(w: &mut DashWorld) -> anyhow::Result<()> {
    let (planned, compressed) = (w.planned_records(), w.total(|p| p.compressed));
    ensure(planned > 0 && compressed == planned, || format!("{compressed} of {planned} planned messages were compressed"))?;
    let seen = &w.consumed().report.decoded_by_format;
    let zstd = seen.get("zstd").copied().unwrap_or(0);
    ensure(zstd == planned, || format!("the consumer saw {zstd} compressed messages of {planned}: {seen:?}"))
}

#[then("no message travelled compressed")]
fn none_compressed(w: &mut DashWorld) -> anyhow::Result<()> {
    let (planned, compressed) = (w.planned_records(), w.total(|p| p.compressed));
    ensure(planned > 0, || "the scenario planned no message: nothing to check".into())?;
    ensure(compressed == 0, || format!("{compressed} messages were compressed"))?;
    let seen = &w.consumed().report.decoded_by_format;
    let raw = seen.get("raw").copied().unwrap_or(0);
    ensure(raw == planned, || format!("the consumer saw {raw} uncompressed messages of {planned}: {seen:?}"))
}

#[then(expr = "the bytes on the wire are at most {int}% of the original bytes")]
fn wire_ratio(w: &mut DashWorld, pct: u64) -> anyhow::Result<()> {
    let (raw, wire) = (w.total(|p| p.raw_bytes), w.total(|p| p.wire_bytes));
    let ratio = wire as f64 / raw.max(1) as f64;
    w.notes.push(format!("compression: {raw} bytes became {wire} on the wire ({:.1}%)", ratio * 100.0));
    ensure(ratio <= pct as f64 / 100.0, || format!("wire bytes are {:.1}% of the original {raw}", ratio * 100.0))
}

#[then("the bytes saved are reported in the metrics")]
fn saved_in_metrics(w: &mut DashWorld) -> anyhow::Result<()> {
    let raw = w.metrics.payload_bytes.with_label_values(&["raw"]).get();
    let wire = w.metrics.payload_bytes.with_label_values(&["wire"]).get();
    ensure(raw > 0 && wire < raw, || format!("metrics say raw {raw} bytes, wire {wire} bytes"))
}

#[then(expr = "no message grew by more than {int} byte")]
fn growth(w: &mut DashWorld, max: i64) -> anyhow::Result<()> {
    let (planned, acked) = (w.planned_records(), w.total(|p| p.acked));
    ensure(planned > 0 && acked == planned, || format!("{acked} of {planned} planned messages acknowledged"))?;
    let g = w.produced.iter().map(|p| p.max_growth).max().unwrap_or(i64::MAX);
    ensure(g <= max, || format!("a message grew by {g} bytes"))
}

/// Every decoded message gave exactly one latency sample or one skew
/// observation, and every planned message was decoded.
fn latency_accounted(w: &DashWorld) -> anyhow::Result<()> {
    let r = &w.consumed().report;
    let planned = w.planned_decodable();
    ensure(planned > 0 && r.decoded == planned, || format!("decoded {} of {planned} planned messages", r.decoded))?;
    let (samples, skewed) = (r.latency_ms.count, r.clock_skew.count);
    ensure(samples + skewed == r.decoded, || {
        format!("{} decoded messages, but {samples} latency samples and {skewed} skew observations", r.decoded)
    })
}

#[then("no latency is negative")]
fn no_negative(w: &mut DashWorld) -> anyhow::Result<()> {
    latency_accounted(w)?;
    let r = &w.consumed().report;
    ensure(r.negative_latency == 0 && r.latency_ms.min >= 0.0, || {
        format!("{} negative latencies; smallest latency {} ms", r.negative_latency, r.latency_ms.min)
    })?;
    // A transit through a broker takes time: latencies of exactly 0 are skew
    // clamped to zero. One in a hundred or more samples may be chance: with
    // the producer's clock 5 ms ahead, a 5.000 ms transit measures 0 µs (seen
    // once in about a dozen mock runs).
    let l = &r.latency_ms;
    ensure(l.zeros == 0 || (l.zeros == 1 && l.count >= 100), || {
        format!("{} of {} latencies of exactly 0 ms: negative differences clamped, not measurements", l.zeros, l.count)
    })
}

#[then(regex = r"^clock skew is (.+)$")]
fn skew(w: &mut DashWorld, expect: String) -> anyhow::Result<()> {
    latency_accounted(w)?;
    let r = &w.consumed().report;
    let s = r.clock_skew;
    let offset = w.clock_offset_ms as f64;
    match expect.as_str() {
        "not reported" => ensure(s.count == 0, || format!("{} messages reported as skewed", s.count)),
        "reported for every message" => ensure(s.count == w.planned_decodable() && s.max_ms > 0.0 && s.max_ms <= offset, || {
            format!("skew on {} of {} planned messages, largest {} ms (offset {offset} ms)", s.count, w.planned_decodable(), s.max_ms)
        }),
        // Which messages come out ahead depends on the transit time; the skew can never exceed the offset.
        "reported only if it occurs" => ensure(s.max_ms <= offset.abs(), || {
            format!("skew on {} messages, largest {} ms, more than the {offset} ms offset", s.count, s.max_ms)
        }),
        other => anyhow::bail!("unknown expectation {other:?}"),
    }
}

#[then(expr = "the 99th percentile latency is under {int} ms")]
fn p99(w: &mut DashWorld, ms: f64) -> anyhow::Result<()> {
    latency_accounted(w)?;
    let l = w.consumed().report.latency_ms;
    ensure(l.count > 0 && l.p99 < ms, || format!("p99 latency {} ms over {} messages", l.p99, l.count))
}

#[then("no message is lost")]
fn none_lost(w: &mut DashWorld) -> anyhow::Result<()> {
    let r = &w.consumed().report;
    ensure(r.lost == 0, || format!("{} lost: {:?}", r.lost, r.lost_ranges))?;
    let unique: u64 = w.planned.iter().map(|p| p.unique()).sum();
    let read_unique = r.decoded.saturating_sub(r.duplicates);
    ensure(unique > 0 && read_unique == unique, || format!("{read_unique} distinct messages read of {unique} planned"))
}

#[then("no message is duplicated")]
fn none_dup(w: &mut DashWorld) -> anyhow::Result<()> {
    let r = &w.consumed().report;
    ensure(r.duplicates == 0, || format!("{} duplicates", r.duplicates))
}

#[then(expr = "{int} messages are reported lost")]
fn n_lost(w: &mut DashWorld, n: u64) -> anyhow::Result<()> {
    let r = &w.consumed().report;
    ensure(r.lost == n, || format!("{} reported lost ({:?}), expected {n}", r.lost, r.lost_ranges))
}

#[then(expr = "the lost messages are exactly {string}")]
fn lost_exactly(w: &mut DashWorld, ranges: String) -> anyhow::Result<()> {
    let r = &w.consumed().report;
    let p = &w.produced[0];
    let want = vec![format!("{}/{}: {ranges}", p.producer_id, p.session)];
    let got: Vec<String> = r.lost_ranges.iter().map(ToString::to_string).collect();
    ensure(got == want, || format!("lost ranges {got:?}, expected {want:?}"))
}

#[then(expr = "{int} duplicates are reported")]
fn n_dup(w: &mut DashWorld, n: u64) -> anyhow::Result<()> {
    let r = &w.consumed().report;
    ensure(r.duplicates == n, || format!("{} duplicates reported, expected {n}", r.duplicates))
}

async fn scrape(w: &DashWorld) -> anyhow::Result<String> {
    let (addr, server) = w.metrics.serve("127.0.0.1:0".parse()?).await?;
    let text = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    })
    .await??;
    server.abort();
    Ok(text)
}

fn sum_of(text: &str, family: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(family) && (l[family.len()..].starts_with(' ') || l[family.len()..].starts_with('{')))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[then(expr = "the metrics page shows {int} lost messages")]
async fn metrics_lost(w: &mut DashWorld, n: u64) -> anyhow::Result<()> {
    let text = scrape(w).await?;
    let v = sum_of(&text, "dashstream_messages_lost_total");
    ensure(v == n as f64, || format!("/metrics shows dashstream_messages_lost_total {v}"))
}

#[then(expr = "the metrics page shows {int} received messages")]
async fn metrics_received(w: &mut DashWorld, n: u64) -> anyhow::Result<()> {
    let text = scrape(w).await?;
    let v = sum_of(&text, "dashstream_messages_received_total");
    ensure(v == n as f64, || format!("/metrics shows dashstream_messages_received_total {v}"))
}

#[then(expr = "{int} records are in the dead-letter topic, unchanged, with their original topic, partition, offset and error")]
async fn dlq_records(w: &mut DashWorld, n: usize) -> anyhow::Result<()> {
    let r = &w.consumed().report;
    ensure(r.dlq == n as u64, || format!("the consumer dead-lettered {} records, expected {n}", r.dlq))?;
    let c: StreamConsumer = crate::broker::roles::for_consumer(&w.broker().client_config())
        .set("group.id", format!("{}-dlq-reader", w.group))
        .set("auto.offset.reset", "earliest")
        .create()?;
    c.subscribe(&[&format!("{}.dlq", w.topic)])?;
    let mut stream = c.stream();
    let mut found = Vec::new();
    while found.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .map_err(|_| anyhow::anyhow!("only {} of {n} records in the dead-letter topic", found.len()))?
            .ok_or_else(|| anyhow::anyhow!("dead-letter stream ended"))??;
        let h = m.headers().ok_or_else(|| anyhow::anyhow!("dead-letter record without headers"))?;
        let get = |k: &str| h.iter().find(|x| x.key == k).and_then(|x| x.value).map(|v| String::from_utf8_lossy(v).to_string());
        found.push((m.payload().unwrap_or_default().to_vec(), get(dlq_headers::TOPIC), get(dlq_headers::PARTITION), get(dlq_headers::OFFSET), get(dlq_headers::ERROR)));
    }
    for (bytes, partition, offset) in &w.poison {
        let hit = found.iter().find(|f| &f.0 == bytes && f.2.as_deref() == Some(&partition.to_string()) && f.3.as_deref() == Some(&offset.to_string()));
        let hit = hit.ok_or_else(|| anyhow::anyhow!("poison record from partition {partition} offset {offset} not in the DLQ unchanged"))?;
        ensure(hit.1.as_deref() == Some(w.topic.as_str()), || format!("origin topic header {:?}", hit.1))?;
        ensure(hit.4.as_ref().is_some_and(|e| !e.is_empty()), || "no error header".into())?;
    }
    w.notes.push(format!("{n} dead-letter records checked byte for byte with origin headers"));
    Ok(())
}

#[then("the unreadable records are counted by kind")]
fn counted_by_kind(w: &mut DashWorld) -> anyhow::Result<()> {
    let failures = &w.consumed().report.decode_failures;
    for (_, kind) in POISON.iter().take(w.poison.len()) {
        ensure(failures.get(*kind).copied().unwrap_or(0) >= 1, || format!("no {kind} counted: {failures:?}"))?;
    }
    let total: u64 = failures.values().sum();
    ensure(total == w.poison.len() as u64, || format!("{total} failures counted for {} poison records", w.poison.len()))
}
