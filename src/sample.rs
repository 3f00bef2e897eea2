//! Deterministic sample messages, shaped like the real pipeline's traffic.
//!
//! Used by the CLI (`produce --size`), the benches, the fixtures and the tests,
//! so they all talk about the same bytes.

use std::collections::BTreeMap;

use crate::proto::{envelope::Payload, Envelope, Header, NodeFinished, QualityReport, StreamChunk};

const WORDS: &[&str] = &[
    "the", "agent", "graph", "calls", "tool", "search", "result", "answer", "node", "plan", "reflect",
    "retrieve", "document", "score", "quality", "stream", "token", "user", "asked", "about", "kafka",
    "latency", "because", "therefore", "summary", "context", "window", "step", "final", "draft",
];

/// A header for `producer_id`/`session` at `sequence`.
pub fn header(producer_id: &str, session: &str, sequence: u64, created_at_us: i64) -> Header {
    Header {
        producer_id: producer_id.to_string(),
        producer_session: session.to_string(),
        sequence,
        created_at_us,
        run_id: format!("run-{}", sequence / 100),
        thread_id: format!("thread-{}", sequence % 7),
    }
}

/// Text of exactly `len` bytes made of words, deterministic in `seed`
/// (compresses like natural-language LLM output, roughly 3x).
pub fn text(len: usize, seed: u64) -> String {
    let mut s = String::with_capacity(len + 16);
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    while s.len() < len {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        s.push_str(WORDS[(x >> 33) as usize % WORDS.len()]);
        s.push(if (x >> 20).is_multiple_of(11) { '\n' } else { ' ' });
    }
    s.truncate(len);
    s
}

/// A streamed chunk whose encoded envelope is `size` bytes (or the smallest
/// possible chunk when `size` is below that).
pub fn chunk(header: Header, size: usize) -> Envelope {
    let seed = header.sequence;
    let mut env = Envelope {
        payload: Some(Payload::Chunk(StreamChunk { node: "llm".into(), index: seed as u32, content: String::new(), last: false })),
        header: Some(header),
    };
    resize_chunk(&mut env, size);
    env
}

/// An empty streamed chunk, to be stamped and then sized with [`resize_chunk`].
pub fn empty_chunk(index: u64) -> Payload {
    Payload::Chunk(StreamChunk { node: "llm".into(), index: index as u32, content: String::new(), last: false })
}

/// Sets the content of `env`'s chunk so that the whole envelope, its header as
/// it is, encodes to exactly `size` bytes (or as few as possible when `size`
/// is below that). Stamp first, then resize: the header counts.
pub fn resize_chunk(env: &mut Envelope, size: usize) {
    let seed = env.header.as_ref().map_or(0, |h| h.sequence);
    let content_len = content_len_for(env, size);
    if let Some(Payload::Chunk(c)) = &mut env.payload {
        c.content = if content_len == 0 { String::new() } else { text(content_len, seed) };
    }
}

/// The content length that makes `env` (a chunk) encode to `size` bytes. The
/// encoded length depends only on the content's length, so placeholder bytes
/// stand in for the text, which is then generated once.
fn content_len_for(env: &mut Envelope, size: usize) -> usize {
    // Length prefixes are varints, so converge in a few steps rather than compute.
    if let Some(Payload::Chunk(c)) = &mut env.payload {
        c.content.clear();
    }
    let mut content_len = 0usize;
    for _ in 0..4 {
        let len = prost::Message::encoded_len(&*env);
        if len == size {
            break;
        }
        content_len = (content_len + size).saturating_sub(len);
        if let Some(Payload::Chunk(c)) = &mut env.payload {
            c.content = " ".repeat(content_len);
        }
    }
    content_len
}

/// A quality report with a few named metrics.
pub fn quality_report(header: Header, score: f64) -> Envelope {
    let metrics = BTreeMap::from([
        ("relevance".to_string(), score),
        ("faithfulness".to_string(), (score * 0.9).min(1.0)),
        ("latency_s".to_string(), 1.5),
    ]);
    Envelope {
        header: Some(header),
        payload: Some(Payload::QualityReport(QualityReport { score, metrics, evaluator: "judge-v1".into() })),
    }
}

/// A node-finished event.
pub fn node_finished(header: Header, node: &str, duration_us: u64) -> Envelope {
    Envelope {
        header: Some(header),
        payload: Some(Payload::NodeFinished(NodeFinished { node: node.into(), attempt: 1, duration_us, success: true })),
    }
}
