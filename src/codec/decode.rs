//! Decoder: frame to `Envelope`, reporting which of the four formats it saw.
//!
//! The format byte decides; nothing is guessed. Legacy frames (no format byte)
//! are recognised only while legacy mode is on: the zstd magic means a bare zstd
//! frame, anything else that could start a protobuf message is tried as one.

use prost::Message;
use zstd::zstd_safe::DCtx;

use super::bounded_zstd;
use super::config::CodecConfig;
use super::error::DecodeError;
use super::format::{FrameFormat, HEADER_RAW, HEADER_ZSTD, ZSTD_MAGIC};
use crate::proto::Envelope;

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub message: Envelope,
    pub format: FrameFormat,
}

/// Reusable decoder. Holds one zstd context, so keep one per consumer thread.
pub struct Decoder {
    config: CodecConfig,
    dctx: DCtx<'static>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder with the given settings.
    pub fn new(config: CodecConfig) -> Self {
        Self { config, dctx: DCtx::create() }
    }

    /// The settings in use.
    pub fn config(&self) -> &CodecConfig {
        &self.config
    }

    /// Decodes one frame. Never panics and never allocates more than the cap.
    pub fn decode(&mut self, frame: &[u8]) -> Result<Decoded, DecodeError> {
        let Some(&first) = frame.first() else {
            return Err(DecodeError::Empty);
        };
        let cap = self.config.max_decoded_bytes;
        match first {
            HEADER_RAW => {
                let body = &frame[1..];
                check_raw_size(body.len(), cap)?;
                let message = decode_protobuf(body)?;
                Ok(Decoded { message, format: FrameFormat::Raw })
            }
            HEADER_ZSTD => {
                let plain = bounded_zstd::decompress(&mut self.dctx, &frame[1..], cap)?;
                let message = decode_protobuf(&plain)?;
                Ok(Decoded { message, format: FrameFormat::Zstd })
            }
            _ if !self.config.legacy => Err(DecodeError::UnknownFormat { byte: first, hint: " (legacy decoding is off)" }),
            _ if frame.starts_with(&ZSTD_MAGIC) => {
                let plain = bounded_zstd::decompress(&mut self.dctx, frame, cap)?;
                let message = decode_protobuf(&plain)?;
                Ok(Decoded { message, format: FrameFormat::LegacyZstd })
            }
            _ if could_start_protobuf(first) => {
                check_raw_size(frame.len(), cap)?;
                let message = decode_legacy_raw(frame)?;
                Ok(Decoded { message, format: FrameFormat::LegacyRaw })
            }
            _ => Err(DecodeError::UnknownFormat {
                byte: first,
                hint: ", and it cannot start a legacy protobuf message either",
            }),
        }
    }
}

fn check_raw_size(len: usize, cap: usize) -> Result<(), DecodeError> {
    if len > cap {
        return Err(DecodeError::TooLarge(format!("size cap: the protobuf body is {len} bytes, over the cap of {cap} bytes")));
    }
    Ok(())
}

/// Could `byte` be the first byte of a protobuf field key of an `Envelope`?
/// The key is `(field_number << 3) | wire_type`; field number 0 is invalid, and
/// only wire types 0 (varint), 1 (64-bit), 2 (length-delimited) and 5 (32-bit)
/// exist in proto3. So 0x00..=0x07 (field 0, which includes both format bytes)
/// can never start a message.
fn could_start_protobuf(byte: u8) -> bool {
    let wire_type = byte & 0x07;
    let field_low_bits = (byte & 0x7f) >> 3;
    let has_more_key_bytes = byte & 0x80 != 0;
    matches!(wire_type, 0 | 1 | 2 | 5) && (field_low_bits != 0 || has_more_key_bytes)
}

fn decode_protobuf(body: &[u8]) -> Result<Envelope, DecodeError> {
    let message = Envelope::decode(body).map_err(|e| DecodeError::BadProtobuf(one_line(&e.to_string())))?;
    if message.header.is_none() {
        return Err(DecodeError::BadProtobuf("the message has no header".into()));
    }
    Ok(message)
}

/// A legacy raw frame is a guess by nature, so it must be exactly an
/// `Envelope`: every field declared in the schema with its declared wire type
/// (any valid proto3 encoding, whichever library wrote it); unknown fields or
/// trailing junk mean it is not one of ours.
fn decode_legacy_raw(frame: &[u8]) -> Result<Envelope, DecodeError> {
    let message = decode_protobuf(frame)
        .map_err(|e| DecodeError::BadProtobuf(format!("{} (tried as a legacy frame without format byte)", detail(&e))))?;
    super::wire_check::only_declared_fields(frame)
        .map_err(|why| DecodeError::BadProtobuf(format!("tried as a legacy frame without format byte: {why}; not an Envelope")))?;
    Ok(message)
}

fn detail(e: &DecodeError) -> String {
    match e {
        DecodeError::BadProtobuf(s) => s.clone(),
        other => other.to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
