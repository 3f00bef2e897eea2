//! One test per wire-format rule in proto/PROTOCOL.md.

use dashstream::codec::{
    CodecConfig, CompressionPolicy, DecodeError, DecodeErrorKind, Decoder, Encoder, FrameFormat, ZSTD_MAGIC,
};
use dashstream::proto::Envelope;
use dashstream::sample;
use prost::Message;

use crate::alloc_meter::peak_during;

fn msg(size: usize) -> Envelope {
    sample::chunk(sample::header("rules", "s1", 7, 1_700_000_000_000_000), size)
}

fn encode(policy: CompressionPolicy, m: &Envelope) -> Vec<u8> {
    Encoder::new(CodecConfig::default().with_policy(policy)).encode(m).unwrap().bytes
}

fn decode(frame: &[u8]) -> Result<dashstream::codec::Decoded, DecodeError> {
    Decoder::new(CodecConfig::default()).decode(frame)
}

fn kind(frame: &[u8]) -> DecodeErrorKind {
    decode(frame).unwrap_err().kind()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(bytes, 3).unwrap()
}

#[test]
fn format_byte_0x00_means_plain_protobuf() {
    let m = msg(100);
    let frame = encode(CompressionPolicy::Never, &m);
    assert_eq!(frame[0], 0x00);
    assert_eq!(&frame[1..], m.encode_to_vec().as_slice());
    let d = decode(&frame).unwrap();
    assert_eq!((d.format, d.message), (FrameFormat::Raw, m));
}

#[test]
fn format_byte_0x01_means_one_zstd_frame() {
    let m = msg(2000);
    let frame = encode(CompressionPolicy::Always, &m);
    assert_eq!(frame[0], 0x01);
    assert_eq!(&frame[1..5], &ZSTD_MAGIC);
    assert_eq!(zstd::bulk::decompress(&frame[1..], 1 << 20).unwrap(), m.encode_to_vec());
    let d = decode(&frame).unwrap();
    assert_eq!((d.format, d.message), (FrameFormat::Zstd, m));
}

#[test]
fn every_other_format_byte_is_unknown_when_legacy_is_off() {
    let mut dec = Decoder::new(CodecConfig::default().with_legacy(false));
    let body = msg(100).encode_to_vec();
    for b in 0x02..=0xffu8 {
        let mut frame = vec![b];
        frame.extend_from_slice(&body);
        assert_eq!(dec.decode(&frame).unwrap_err().kind(), DecodeErrorKind::UnknownFormat, "byte {b:#04x}");
    }
}

#[test]
fn bytes_that_cannot_start_a_protobuf_message_are_unknown_even_with_legacy_on() {
    for b in [0x02u8, 0x03, 0x07, 0x0b, 0x0c, 0x0e, 0x0f, 0xff] {
        assert_eq!(kind(&[b, 0x0a, 0x00]), DecodeErrorKind::UnknownFormat, "byte {b:#04x}");
    }
}

#[test]
fn auto_leaves_small_messages_plain() {
    let m = msg(200);
    assert!(m.encoded_len() < CodecConfig::DEFAULT_THRESHOLD);
    assert_eq!(encode(CompressionPolicy::Auto, &m)[0], 0x00);
}

#[test]
fn auto_compresses_messages_at_the_threshold_when_smaller() {
    let m = msg(CodecConfig::DEFAULT_THRESHOLD);
    assert!(m.encoded_len() >= CodecConfig::DEFAULT_THRESHOLD);
    let frame = encode(CompressionPolicy::Auto, &m);
    assert_eq!(frame[0], 0x01);
    assert!(frame.len() < m.encoded_len());
}

#[test]
fn auto_keeps_incompressible_messages_plain_so_frames_grow_by_at_most_one_byte() {
    // Random-looking bytes do not compress: zstd would add its frame overhead.
    let mut m = msg(100);
    let noise: String = (0..4000u32).map(|i| char::from_u32(0x4e00 + (i.wrapping_mul(2654435761) >> 16) % 20000).unwrap()).collect();
    if let Some(dashstream::proto::envelope::Payload::Chunk(c)) = &mut m.payload {
        c.content = noise;
    }
    let frame = encode(CompressionPolicy::Auto, &m);
    assert!(frame.len() <= m.encoded_len() + 1);
    assert_eq!(decode(&frame).unwrap().message, m);
}

#[test]
fn level_and_threshold_are_configurable() {
    let m = msg(300);
    let cfg = CodecConfig::default().with_threshold(100).with_level(19);
    let frame = Encoder::new(cfg).encode(&m).unwrap();
    assert_eq!(frame.format, FrameFormat::Zstd);
    let frame_hi = Encoder::new(CodecConfig::default().with_threshold(10_000)).encode(&m).unwrap();
    assert_eq!(frame_hi.format, FrameFormat::Raw);
}

#[test]
fn always_compresses_even_tiny_messages_and_never_never_does() {
    let m = msg(30);
    assert_eq!(encode(CompressionPolicy::Always, &m)[0], 0x01);
    assert_eq!(encode(CompressionPolicy::Never, &msg(100_000))[0], 0x00);
}

#[test]
fn legacy_bare_zstd_frame_decodes_as_legacy_zstd() {
    let m = msg(2000);
    let d = decode(&zstd(&m.encode_to_vec())).unwrap();
    assert_eq!((d.format, d.message), (FrameFormat::LegacyZstd, m));
}

#[test]
fn legacy_bare_protobuf_decodes_as_legacy_raw() {
    let m = msg(300);
    let d = decode(&m.encode_to_vec()).unwrap();
    assert_eq!((d.format, d.message), (FrameFormat::LegacyRaw, m));
}

#[test]
fn legacy_frames_are_refused_when_legacy_mode_is_off() {
    let mut dec = Decoder::new(CodecConfig::default().with_legacy(false));
    let m = msg(2000);
    assert_eq!(dec.decode(&zstd(&m.encode_to_vec())).unwrap_err().kind(), DecodeErrorKind::UnknownFormat);
    assert_eq!(dec.decode(&m.encode_to_vec()).unwrap_err().kind(), DecodeErrorKind::UnknownFormat);
}

#[test]
fn a_raw_protobuf_envelope_never_starts_with_0x00_or_0x01() {
    // Field number 0 does not exist, so the first key byte is >= 0x08.
    for size in [0, 10, 600, 5000] {
        let bytes = msg(size).encode_to_vec();
        assert!(bytes[0] >= 0x08, "first byte {:#04x}", bytes[0]);
    }
}

#[test]
fn empty_frame_is_empty() {
    assert_eq!(kind(&[]), DecodeErrorKind::Empty);
}

#[test]
fn header_byte_alone_is_bad_protobuf_or_bad_zstd() {
    assert_eq!(kind(&[0x00]), DecodeErrorKind::BadProtobuf); // an empty message has no header
    assert_eq!(kind(&[0x01]), DecodeErrorKind::BadZstd);
}

#[test]
fn truncated_zstd_is_bad_zstd() {
    let frame = encode(CompressionPolicy::Always, &msg(3000));
    for cut in [2, 5, 8, frame.len() / 2, frame.len() - 1] {
        assert_eq!(kind(&frame[..cut]), DecodeErrorKind::BadZstd, "cut at {cut}");
    }
}

#[test]
fn corrupt_zstd_is_bad_zstd() {
    let mut frame = encode(CompressionPolicy::Always, &msg(3000));
    frame[1] ^= 0xff; // breaks the magic
    assert_eq!(kind(&frame), DecodeErrorKind::BadZstd);
    let mut frame = encode(CompressionPolicy::Always, &msg(3000));
    frame[5] = 0xff; // frame header descriptor with reserved bit set
    assert_eq!(kind(&frame), DecodeErrorKind::BadZstd);
}

#[test]
fn bytes_after_the_zstd_frame_are_bad_zstd() {
    let mut frame = encode(CompressionPolicy::Always, &msg(3000));
    frame.extend_from_slice(&[0, 1, 2]);
    assert_eq!(kind(&frame), DecodeErrorKind::BadZstd);
}

#[test]
fn truncated_protobuf_is_bad_protobuf() {
    let frame = encode(CompressionPolicy::Never, &msg(300));
    assert_eq!(kind(&frame[..frame.len() - 5]), DecodeErrorKind::BadProtobuf);
    let legacy = msg(300).encode_to_vec();
    assert_eq!(kind(&legacy[..legacy.len() - 5]), DecodeErrorKind::BadProtobuf);
}

#[test]
fn corrupt_protobuf_inside_zstd_is_bad_protobuf() {
    let mut frame = vec![0x01];
    frame.extend(zstd(&[0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    assert_eq!(kind(&frame), DecodeErrorKind::BadProtobuf);
}

#[test]
fn legacy_raw_with_unknown_fields_is_not_taken_for_a_message() {
    let mut bytes = msg(100).encode_to_vec();
    bytes.extend_from_slice(&[0xf8, 0x07, 0x01]); // field 127, varint 1
    assert_eq!(kind(&bytes), DecodeErrorKind::BadProtobuf);
    // ...while the same unknown field after an explicit 0x00 is accepted (forward compatibility).
    let mut framed = vec![0x00];
    framed.extend_from_slice(&bytes);
    assert!(decode(&framed).is_ok());
}

#[test]
fn declared_content_size_over_the_cap_is_too_large_before_any_allocation() {
    let cap = 64 * 1024;
    let big = vec![b'a'; cap + 1];
    let mut frame = vec![0x01];
    frame.extend(zstd(&big));
    let mut dec = Decoder::new(CodecConfig::default().with_max_decoded_bytes(cap));
    let (err, peak) = peak_during(|| dec.decode(&frame).unwrap_err());
    assert_eq!(err.kind(), DecodeErrorKind::TooLarge);
    assert!(peak < 4096, "allocated {peak} bytes");
}

fn undeclared_zeros(len: usize) -> Vec<u8> {
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_contentsize(false).unwrap();
    let block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len());
        std::io::Write::write_all(&mut enc, &block[..n]).unwrap();
        left -= n;
    }
    enc.finish().unwrap()
}

#[test]
fn undeclared_bomb_stops_at_the_cap_with_bounded_memory() {
    let cap = CodecConfig::DEFAULT_MAX_DECODED;
    let mut frame = vec![0x01];
    frame.extend(undeclared_zeros(256 << 20));
    assert_eq!(zstd::zstd_safe::get_frame_content_size(&frame[1..]).unwrap(), None);
    let mut dec = Decoder::new(CodecConfig::default());
    let (err, peak) = peak_during(|| dec.decode(&frame).unwrap_err());
    assert_eq!(err.kind(), DecodeErrorKind::TooLarge);
    assert!(peak <= cap + 64 * 1024, "Rust heap peak {peak} bytes for a cap of {cap}");
}

#[test]
fn a_message_exactly_at_the_cap_decodes() {
    let cap = 64 * 1024;
    let m = msg(cap - 100);
    let plain_len = m.encoded_len();
    assert!(plain_len <= cap);
    let cfg = CodecConfig::default().with_max_decoded_bytes(cap);
    for policy in [CompressionPolicy::Always, CompressionPolicy::Never] {
        let frame = Encoder::new(cfg.clone().with_policy(policy)).encode(&m).unwrap();
        assert_eq!(Decoder::new(cfg.clone()).decode(&frame.bytes).unwrap().message, m);
    }
    let mut big = vec![0x00];
    big.extend(msg(cap + 100).encode_to_vec());
    assert_eq!(Decoder::new(cfg).decode(&big).unwrap_err().kind(), DecodeErrorKind::TooLarge);
    // The cap is inclusive, to the byte, for plain and compressed frames alike.
    for policy in [CompressionPolicy::Always, CompressionPolicy::Never] {
        let frame = Encoder::new(CodecConfig::default().with_policy(policy)).encode(&m).unwrap();
        let exact = CodecConfig::default().with_max_decoded_bytes(plain_len);
        assert_eq!(Decoder::new(exact).decode(&frame.bytes).unwrap().message, m, "{policy:?} at exactly the cap");
        let one_less = CodecConfig::default().with_max_decoded_bytes(plain_len - 1);
        assert_eq!(Decoder::new(one_less).decode(&frame.bytes).unwrap_err().kind(), DecodeErrorKind::TooLarge, "{policy:?} one byte over");
    }
}

#[test]
fn the_encoder_refuses_messages_without_header_or_over_the_cap() {
    let mut enc = Encoder::new(CodecConfig::default().with_max_decoded_bytes(1000));
    assert!(enc.encode(&Envelope::default()).is_err());
    assert!(enc.encode(&msg(5000)).is_err());
}

#[test]
fn error_display_is_one_line_starting_with_the_kind() {
    let frames: Vec<Vec<u8>> = vec![vec![], vec![0x05, 1], vec![0x01, 1, 2], vec![0x00, 0x0a, 0x05]];
    for f in frames {
        let e = decode(&f).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with(&format!("{}: ", e.kind())), "{s}");
        assert!(!s.contains('\n'));
    }
}

/// A frame without a declared size, holding `message`, with zstd's window set to `2^window_log`.
fn undeclared_frame(message: &Envelope, window_log: u32) -> Vec<u8> {
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.window_log(window_log).unwrap();
    std::io::Write::write_all(&mut enc, &message.encode_to_vec()).unwrap();
    let mut frame = vec![0x01];
    frame.extend(enc.finish().unwrap());
    frame
}

#[test]
fn undeclared_frames_decode_up_to_the_cap_to_the_byte() {
    let m = msg(300 * 1024); // several 64 KiB output chunks
    let frame = undeclared_frame(&m, 18); // a 256 KiB window: within the cap
    assert_eq!(zstd::zstd_safe::get_frame_content_size(&frame[1..]).unwrap(), None);
    let len = m.encoded_len();
    let exact = CodecConfig::default().with_max_decoded_bytes(len);
    assert_eq!(Decoder::new(exact).decode(&frame).unwrap().message, m, "exactly at the cap");
    let one_less = CodecConfig::default().with_max_decoded_bytes(len - 1);
    assert_eq!(Decoder::new(one_less).decode(&frame).unwrap_err().kind(), DecodeErrorKind::TooLarge, "one byte over");
}

#[test]
fn a_truncated_undeclared_frame_is_bad_zstd() {
    let frame = undeclared_frame(&msg(100 * 1024), 20);
    for cut in [1, 8, frame.len() / 2] {
        let err = Decoder::new(CodecConfig::default()).decode(&frame[..frame.len() - cut]).unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::BadZstd, "cut {cut}: {err}");
    }
}

/// A window bigger than the cap is refused before it is allocated, however small the content.
#[test]
fn a_stream_whose_window_exceeds_the_cap_is_too_large() {
    let frame = undeclared_frame(&msg(100), 23); // an 8 MiB window, as libzstd uses at level 17 and up
    let small = CodecConfig::default().with_max_decoded_bytes(1 << 20);
    let err = Decoder::new(small).decode(&frame).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::TooLarge, "{err}");
    let text = err.to_string();
    assert!(text.contains("window limit") && text.contains("a 8388608-byte window") && text.contains("limit of 1048576 bytes"), "{err}");
    assert!(Decoder::new(CodecConfig::default().with_max_decoded_bytes(16 << 20)).decode(&frame).is_ok());
}

/// What stock libzstd writes when streaming at level 19 without a pledged size:
/// an 8 MiB window, refused by the default 4 MiB cap even for 100 bytes (PROTOCOL.md, Bounds).
#[test]
fn stock_libzstd_streaming_at_level_19_names_the_window_limit() {
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 19).unwrap();
    enc.include_contentsize(false).unwrap();
    std::io::Write::write_all(&mut enc, &msg(100).encode_to_vec()).unwrap();
    let mut frame = vec![0x01];
    frame.extend(enc.finish().unwrap());
    let err = Decoder::new(CodecConfig::default()).decode(&frame).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::TooLarge, "{err}");
    assert!(err.to_string().contains("window limit") && err.to_string().contains("4194304 bytes"), "{err}");
}

#[test]
fn a_refused_legacy_frame_says_why_on_one_line() {
    assert_eq!(Decoder::new(CodecConfig::default().with_max_decoded_bytes(77)).config().max_decoded_bytes, 77);
    let mut dec = Decoder::new(CodecConfig::default());
    let err = dec.decode(b"\x0a\x05ab").unwrap_err(); // field 1, 5 bytes announced, 2 there
    let text = err.to_string();
    assert_eq!(err.kind(), DecodeErrorKind::BadProtobuf);
    assert!(text.contains("failed to decode Protobuf message") && text.contains("tried as a legacy frame"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}
