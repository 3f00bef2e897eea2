//! The DashStream frame codec: one format byte, then the body.
//!
//! The first of the five bugs this project exists to prevent was a consumer that
//! *guessed* whether a payload was compressed and failed on every message. Here
//! the format is explicit (`0x00` plain protobuf, `0x01` one zstd frame), legacy
//! frames written before the header existed stay readable, and hostile input is
//! bounded: no frame can make the decoder allocate more than
//! [`CodecConfig::max_decoded_bytes`]. The wire format is specified in
//! `proto/PROTOCOL.md`.
//!
//! ```
//! use dashstream::codec::{CodecConfig, Decoder, Encoder, FrameFormat};
//! use dashstream::proto::{Envelope, Header};
//!
//! let msg = Envelope {
//!     header: Some(Header { producer_id: "p".into(), sequence: 1, ..Default::default() }),
//!     payload: None,
//! };
//! let mut enc = Encoder::new(CodecConfig::default());
//! let frame = enc.encode(&msg).unwrap();
//! let mut dec = Decoder::new(CodecConfig::default());
//! let decoded = dec.decode(&frame.bytes).unwrap();
//! assert_eq!(decoded.format, FrameFormat::Raw); // small messages travel uncompressed
//! assert_eq!(decoded.message, msg);
//! ```

mod bounded_zstd;
mod config;
mod decode;
mod encode;
mod error;
mod format;
mod wire_check;

pub use config::{CodecConfig, CompressionPolicy};
pub use decode::{Decoded, Decoder};
pub use encode::{EncodedFrame, Encoder};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use format::{FrameFormat, HEADER_RAW, HEADER_ZSTD, ZSTD_MAGIC};
