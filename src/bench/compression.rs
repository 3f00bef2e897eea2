//! Per-message against batch compression, measured where it counts: bytes on
//! the broker's disk (kafka-log-dirs) and records per second, for small,
//! medium and large messages.

use rdkafka::ClientConfig;
use serde::Serialize;

use super::ours;
use crate::codec::{CodecConfig, CompressionPolicy};
use crate::pipeline::metrics::Metrics;
use crate::pipeline::producer::{BatchCompression, ProducerSettings};
use crate::pipeline::PipelineError;

/// Message sizes measured (protobuf bytes).
pub const SIZES: [usize; 3] = [100, 600, 5_000];

/// Who compresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Neither.
    None,
    /// The DashStream codec, per message (`--compress auto`).
    PerMessage,
    /// Kafka's batch compression (`--batch-compress zstd`), the codec off.
    Batch,
    /// Both.
    Both,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::None, Mode::PerMessage, Mode::Batch, Mode::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::PerMessage => "per-message",
            Mode::Batch => "batch",
            Mode::Both => "both",
        }
    }

    /// The producer settings of this mode.
    pub fn settings(self, topic: &str) -> ProducerSettings {
        let per_message = matches!(self, Mode::PerMessage | Mode::Both);
        let mut s = ProducerSettings::new(topic);
        s.codec = CodecConfig::default().with_policy(if per_message { CompressionPolicy::Auto } else { CompressionPolicy::Never });
        s.batch_compression = if matches!(self, Mode::Batch | Mode::Both) { BatchCompression::Zstd } else { BatchCompression::None };
        s
    }
}

/// One cell of the table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CompressionCell {
    pub size: usize,
    pub mode: Mode,
    pub records: u64,
    pub records_per_s: f64,
    /// What the broker holds for the topic (kafka-log-dirs).
    pub broker_bytes: u64,
    pub broker_bytes_per_record: f64,
}

/// Records per cell: enough to fill batches, bounded to about 30 MB per cell.
pub fn records_for(size: usize, most: u64) -> u64 {
    most.min(30_000_000 / size as u64).max(1)
}

/// Produces one cell's records to `topic` (which must exist); the broker
/// bytes are filled in by the caller, who can ask the broker.
pub async fn produce_cell(client: &ClientConfig, topic: &str, size: usize, mode: Mode, records: u64, metrics: &Metrics) -> Result<CompressionCell, PipelineError> {
    let pool = ours::payloads(size, records);
    let figures = ours::produce(client, mode.settings(topic), records, &pool, metrics).await?;
    Ok(CompressionCell { size, mode, records: figures.acked, records_per_s: figures.records_per_s, broker_bytes: 0, broker_bytes_per_record: 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_sets_who_compresses() {
        let s = Mode::Batch.settings("t");
        assert_eq!((s.codec.policy, s.batch_compression), (CompressionPolicy::Never, BatchCompression::Zstd));
        let s = Mode::PerMessage.settings("t");
        assert_eq!((s.codec.policy, s.batch_compression), (CompressionPolicy::Auto, BatchCompression::None));
        let s = Mode::Both.settings("t");
        assert_eq!((s.codec.policy, s.batch_compression), (CompressionPolicy::Auto, BatchCompression::Zstd));
        let s = Mode::None.settings("t");
        assert_eq!((s.codec.policy, s.batch_compression), (CompressionPolicy::Never, BatchCompression::None));
    }

    #[test]
    fn cells_stay_near_thirty_megabytes() {
        assert_eq!(records_for(5_000, 100_000), 6_000);
        assert_eq!(records_for(100, 100_000), 100_000);
    }
}
