//! Format bytes and the names the decoder reports for what it saw.

use std::fmt;

/// Format byte: the body is the protobuf-encoded `Envelope`.
pub const HEADER_RAW: u8 = 0x00;
/// Format byte: the body is exactly one zstd frame holding the protobuf-encoded `Envelope`.
pub const HEADER_ZSTD: u8 = 0x01;
/// The zstd frame magic number as it appears on the wire (little-endian 0xFD2FB528).
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The format a frame was decoded from. Consumers count these to see legacy traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameFormat {
    /// `0x00` + protobuf.
    Raw,
    /// `0x01` + one zstd frame.
    Zstd,
    /// No format byte: a bare zstd frame (starts with the zstd magic).
    LegacyZstd,
    /// No format byte: a bare protobuf message.
    LegacyRaw,
}

impl FrameFormat {
    /// Every format, in wire order.
    pub const ALL: [FrameFormat; 4] = [Self::Raw, Self::Zstd, Self::LegacyZstd, Self::LegacyRaw];

    /// The stable name used in the CLI, in metrics labels and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Zstd => "zstd",
            Self::LegacyZstd => "legacy-zstd",
            Self::LegacyRaw => "legacy-raw",
        }
    }

    /// True for the two formats written before the header byte existed.
    pub fn is_legacy(self) -> bool {
        matches!(self, Self::LegacyZstd | Self::LegacyRaw)
    }

    /// Whether the body travelled zstd-compressed (with a header or legacy).
    pub fn is_compressed(self) -> bool {
        matches!(self, Self::Zstd | Self::LegacyZstd)
    }
}

impl fmt::Display for FrameFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::FrameFormat;

    #[test]
    fn only_the_two_formats_without_a_header_byte_are_legacy() {
        let legacy: Vec<bool> = FrameFormat::ALL.iter().map(|f| f.is_legacy()).collect();
        assert_eq!(legacy, vec![false, false, true, true]);
    }
}
