//! Control notices: the forwarder's text WebSocket messages (JSON).
//!
//! Records travel as binary messages, byte for byte; everything the forwarder
//! itself says travels as text, so a client tells them apart by message type.
//! Every notice has a `type`: `hello`, `gap`, `keepalive` or `closing`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pipeline::loss::StreamKey;
use crate::pipeline::rangeset::RangeSet;

/// Why a client missed records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapReason {
    /// Its queue was full: the oldest records were dropped for it.
    SlowClient,
    /// It reconnected from a position older than the replay buffer.
    Reconnect,
}

/// Sequences one producer session's records that a client missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissedStream {
    pub producer_id: String,
    pub producer_session: String,
    /// `5-9,12`
    pub sequences: String,
}

/// A text message from the forwarder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Notice {
    /// First message on every connection.
    Hello {
        topic: String,
        forwarder: String,
        /// Forwarder index of the first record this client receives next; each
        /// binary message is the next index, a gap notice skips `missed`.
        next: u64,
        /// Records replayed from the buffer before live ones.
        replayed: u64,
        /// The most a client may ask for with `?last=N`.
        max_replay: u64,
    },
    /// Records this client will never receive, just before the next one it does.
    Gap {
        reason: GapReason,
        missed: u64,
        /// Forwarder indices missed (`from=` positions).
        indices: String,
        streams: Vec<MissedStream>,
        /// Missed records whose sequences the forwarder no longer knows.
        unknown: u64,
    },
    #[serde(rename = "keepalive")]
    KeepAlive { at_us: i64 },
    /// The forwarder is closing this connection, and why.
    Closing { reason: String },
}

impl Notice {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("notices serialize")
    }
}

/// Records missed, collected until the notice is sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Missed {
    pub count: u64,
    pub indices: RangeSet,
    pub streams: BTreeMap<StreamKey, RangeSet>,
    pub unknown: u64,
}

impl Missed {
    pub fn add(&mut self, index: u64, stream: &StreamKey, sequence: u64) {
        self.count += 1;
        self.indices.insert(index);
        self.streams.entry(stream.clone()).or_default().insert(sequence);
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn into_notice(self, reason: GapReason) -> Notice {
        let streams = self
            .streams
            .into_iter()
            .map(|(k, seqs)| MissedStream { producer_id: k.producer_id, producer_session: k.session, sequences: seqs.to_string() })
            .collect();
        Notice::Gap { reason, missed: self.count, indices: self.indices.to_string(), streams, unknown: self.unknown }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_tagged_json() {
        let mut m = Missed::default();
        let k = StreamKey { producer_id: "p".into(), session: "s".into() };
        for (i, seq) in [(10, 5), (11, 6), (12, 7), (14, 9)] {
            m.add(i, &k, seq);
        }
        let json = m.into_notice(GapReason::SlowClient).to_json();
        assert_eq!(
            json,
            r#"{"type":"gap","reason":"slow-client","missed":4,"indices":"10-12,14","streams":[{"producer_id":"p","producer_session":"s","sequences":"5-7,9"}],"unknown":0}"#
        );
        let back: Notice = serde_json::from_str(&json).unwrap();
        assert!(matches!(back, Notice::Gap { missed: 4, .. }));
        assert_eq!(Notice::KeepAlive { at_us: 1 }.to_json(), r#"{"type":"keepalive","at_us":1}"#);
    }
}
