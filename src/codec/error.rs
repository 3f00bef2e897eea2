//! Typed codec errors. Every bad frame maps to exactly one [`DecodeErrorKind`].

use std::fmt;

/// The five kinds of decode failure, with the stable names used by the CLI and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodeErrorKind {
    Empty,
    UnknownFormat,
    TooLarge,
    BadZstd,
    BadProtobuf,
}

impl DecodeErrorKind {
    /// Every kind, in a fixed order.
    pub const ALL: [DecodeErrorKind; 5] =
        [Self::Empty, Self::UnknownFormat, Self::TooLarge, Self::BadZstd, Self::BadProtobuf];

    /// `empty`, `unknown-format`, `too-large`, `bad-zstd` or `bad-protobuf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::UnknownFormat => "unknown-format",
            Self::TooLarge => "too-large",
            Self::BadZstd => "bad-zstd",
            Self::BadProtobuf => "bad-protobuf",
        }
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a frame could not be decoded. Display is one line: `<kind>: <detail>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("empty: the frame has no bytes")]
    Empty,
    #[error("unknown-format: format byte 0x{byte:02x} is neither 0x00 (protobuf) nor 0x01 (zstd){hint}")]
    UnknownFormat { byte: u8, hint: &'static str },
    #[error("too-large: {0}")]
    TooLarge(String),
    #[error("bad-zstd: {0}")]
    BadZstd(String),
    #[error("bad-protobuf: {0}")]
    BadProtobuf(String),
}

impl DecodeError {
    /// The kind of failure, for counting and for the CLI's `error: <kind>:` line.
    pub fn kind(&self) -> DecodeErrorKind {
        match self {
            Self::Empty => DecodeErrorKind::Empty,
            Self::UnknownFormat { .. } => DecodeErrorKind::UnknownFormat,
            Self::TooLarge(_) => DecodeErrorKind::TooLarge,
            Self::BadZstd(_) => DecodeErrorKind::BadZstd,
            Self::BadProtobuf(_) => DecodeErrorKind::BadProtobuf,
        }
    }
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    #[error("the message has no header: every DashStream message needs one")]
    MissingHeader,
    #[error("the message is {size} bytes, over the cap of {cap} bytes that decoders accept")]
    TooLarge { size: usize, cap: usize },
    #[error("zstd compression failed: {0}")]
    Zstd(&'static str),
}
