//! Encoder: `Envelope` to frame, following the compression policy.
//!
//! Invariant: under `auto` and `never` a frame is at most one byte longer than
//! the plain protobuf encoding (`auto` keeps the zstd body only when it is smaller).

use prost::Message;
use zstd::zstd_safe::{self, CCtx, CParameter};

use super::config::{CodecConfig, CompressionPolicy};
use super::error::EncodeError;
use super::format::{FrameFormat, HEADER_RAW, HEADER_ZSTD};
use crate::proto::Envelope;

/// One encoded frame and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// Format byte plus body, ready to be the Kafka record value.
    pub bytes: Vec<u8>,
    /// `Raw` or `Zstd`.
    pub format: FrameFormat,
    /// Length of the plain protobuf encoding (before compression).
    pub raw_len: usize,
}

impl EncodedFrame {
    /// Length on the wire, format byte included.
    pub fn wire_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Reusable encoder. Holds one zstd context, so keep one per producer thread.
pub struct Encoder {
    config: CodecConfig,
    cctx: CCtx<'static>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder with the given settings.
    pub fn new(config: CodecConfig) -> Self {
        let mut cctx = CCtx::create();
        // Level and flags are fixed for the encoder's life; a bad level is clamped by zstd.
        let _ = cctx.set_parameter(CParameter::CompressionLevel(config.zstd_level));
        let _ = cctx.set_parameter(CParameter::ContentSizeFlag(true));
        let _ = cctx.set_parameter(CParameter::ChecksumFlag(false));
        Self { config, cctx, scratch: Vec::new() }
    }

    /// The settings in use.
    pub fn config(&self) -> &CodecConfig {
        &self.config
    }

    /// Encodes one message into a frame.
    pub fn encode(&mut self, msg: &Envelope) -> Result<EncodedFrame, EncodeError> {
        if msg.header.is_none() {
            return Err(EncodeError::MissingHeader);
        }
        let raw_len = msg.encoded_len();
        if raw_len > self.config.max_decoded_bytes {
            return Err(EncodeError::TooLarge { size: raw_len, cap: self.config.max_decoded_bytes });
        }
        let compress = match self.config.policy {
            CompressionPolicy::Never => false,
            CompressionPolicy::Always => true,
            CompressionPolicy::Auto => raw_len >= self.config.compress_threshold,
        };
        if !compress {
            return Ok(self.raw_frame(msg, raw_len));
        }
        self.scratch.clear();
        self.scratch.reserve(raw_len);
        msg.encode(&mut self.scratch).expect("Vec has capacity for the message");
        let bound = zstd_safe::compress_bound(raw_len);
        let mut bytes = Vec::with_capacity(1 + bound);
        bytes.push(HEADER_ZSTD);
        bytes.resize(1 + bound, 0);
        let written = self
            .cctx
            .compress2(&mut bytes[1..], &self.scratch)
            .map_err(|code| EncodeError::Zstd(zstd_safe::get_error_name(code)))?;
        if self.config.policy == CompressionPolicy::Auto && written >= raw_len {
            // Incompressible: the plain frame is smaller, so that is what travels.
            bytes.clear();
            bytes.push(HEADER_RAW);
            bytes.extend_from_slice(&self.scratch);
            return Ok(EncodedFrame { bytes, format: FrameFormat::Raw, raw_len });
        }
        bytes.truncate(1 + written);
        Ok(EncodedFrame { bytes, format: FrameFormat::Zstd, raw_len })
    }

    fn raw_frame(&mut self, msg: &Envelope, raw_len: usize) -> EncodedFrame {
        let mut bytes = Vec::with_capacity(1 + raw_len);
        bytes.push(HEADER_RAW);
        msg.encode(&mut bytes).expect("Vec has capacity for the message");
        EncodedFrame { bytes, format: FrameFormat::Raw, raw_len }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn the_wire_length_is_the_frame_and_the_cap_is_inclusive() {
        let m = sample::chunk(sample::header("p", "s", 1, 0), 2000);
        let len = m.encoded_len();
        let mut enc = Encoder::new(CodecConfig::default().with_max_decoded_bytes(len));
        assert_eq!(enc.config().max_decoded_bytes, len);
        let frame = enc.encode(&m).expect("exactly at the cap");
        assert_eq!(frame.wire_len(), frame.bytes.len());
        assert!(frame.wire_len() > 1 && frame.raw_len == len);
        let mut tight = Encoder::new(CodecConfig::default().with_max_decoded_bytes(len - 1));
        assert!(matches!(tight.encode(&m), Err(EncodeError::TooLarge { .. })));
    }
}
