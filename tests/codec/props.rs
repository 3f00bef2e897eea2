//! Property tests: every message round-trips under every policy and size, and
//! arbitrary bytes never panic the decoder nor make it allocate past the cap.

use std::collections::BTreeMap;

use dashstream::codec::{CodecConfig, CompressionPolicy, Decoder, Encoder, FrameFormat};
use dashstream::proto::{envelope::Payload, *};
use proptest::prelude::*;
use prost::Message;

use crate::alloc_meter::peak_during;

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan())
}

/// Text that is sometimes repetitive (compressible), sometimes not, from empty to ~40 KB.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[a-d ]{0,3000}",
        (1usize..40_000, any::<u64>()).prop_map(|(n, seed)| dashstream::sample::text(n, seed)),
        proptest::collection::vec(any::<char>(), 0..2000).prop_map(|v| v.into_iter().collect()),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    (".{0,20}", ".{0,40}", any::<u64>(), any::<i64>(), ".{0,20}", ".{0,20}").prop_map(
        |(producer_id, producer_session, sequence, created_at_us, run_id, thread_id)| Header {
            producer_id,
            producer_session,
            sequence,
            created_at_us,
            run_id,
            thread_id,
        },
    )
}

fn payload() -> impl Strategy<Value = Option<Payload>> {
    prop_oneof![
        Just(None),
        (".{0,20}", any::<u32>()).prop_map(|(node, attempt)| Some(Payload::NodeStarted(NodeStarted { node, attempt }))),
        (".{0,20}", any::<u32>(), any::<u64>(), any::<bool>()).prop_map(|(node, attempt, duration_us, success)| {
            Some(Payload::NodeFinished(NodeFinished { node, attempt, duration_us, success }))
        }),
        (finite(), proptest::collection::btree_map(".{0,12}", finite(), 0..20), ".{0,12}").prop_map(
            |(score, metrics, evaluator): (f64, BTreeMap<String, f64>, String)| {
                Some(Payload::QualityReport(QualityReport { score, metrics, evaluator }))
            }
        ),
        (".{0,12}", any::<u32>(), text(), any::<bool>())
            .prop_map(|(node, index, content, last)| Some(Payload::Chunk(StreamChunk { node, index, content, last }))),
        (".{0,12}", ".{0,12}", text(), any::<bool>()).prop_map(|(node, code, message, retriable)| {
            Some(Payload::Error(ErrorEvent { node, code, message, retriable }))
        }),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (header(), payload()).prop_map(|(h, payload)| Envelope { header: Some(h), payload })
}

fn policy() -> impl Strategy<Value = CompressionPolicy> {
    prop_oneof![Just(CompressionPolicy::Auto), Just(CompressionPolicy::Always), Just(CompressionPolicy::Never)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_gives_the_same_message(m in envelope(), policy in policy(), level in 1i32..6, threshold in 0usize..2000) {
        let cfg = CodecConfig::default().with_policy(policy).with_level(level).with_threshold(threshold);
        let frame = Encoder::new(cfg.clone()).encode(&m).unwrap();
        let plain = m.encoded_len();
        match policy {
            CompressionPolicy::Never => prop_assert_eq!(frame.format, FrameFormat::Raw),
            CompressionPolicy::Always => prop_assert_eq!(frame.format, FrameFormat::Zstd),
            CompressionPolicy::Auto => {
                prop_assert!(frame.wire_len() <= plain + 1, "auto frame grew: {} > {} + 1", frame.wire_len(), plain);
                if frame.format == FrameFormat::Zstd {
                    prop_assert!(plain >= threshold);
                }
            }
        }
        let d = Decoder::new(cfg).decode(&frame.bytes).unwrap();
        prop_assert_eq!(d.format, frame.format);
        prop_assert_eq!(d.message, m);
    }

    #[test]
    fn legacy_frames_round_trip_too(m in envelope()) {
        let plain = m.encode_to_vec();
        let mut dec = Decoder::new(CodecConfig::default());
        let d = dec.decode(&zstd::bulk::compress(&plain, 3).unwrap()).unwrap();
        prop_assert_eq!((d.format, &d.message), (FrameFormat::LegacyZstd, &m));
        let d = dec.decode(&plain).unwrap();
        prop_assert_eq!((d.format, &d.message), (FrameFormat::LegacyRaw, &m));
    }

    #[test]
    fn arbitrary_bytes_never_panic_nor_allocate_past_the_cap(bytes in proptest::collection::vec(any::<u8>(), 0..4096), legacy in any::<bool>()) {
        let cap = 16 * 1024;
        let mut dec = Decoder::new(CodecConfig::default().with_max_decoded_bytes(cap).with_legacy(legacy));
        let (_result, peak) = peak_during(|| { let _ = dec.decode(&bytes); });
        prop_assert!(peak <= cap + 64 * 1024, "peak {} bytes", peak);
    }

    #[test]
    fn mutated_frames_never_panic_nor_allocate_past_the_cap(m in envelope(), policy in policy(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let cap = 16 * 1024;
        let cfg = CodecConfig::default().with_policy(policy).with_max_decoded_bytes(1 << 30);
        let mut frame = Encoder::new(cfg).encode(&m).unwrap().bytes;
        for (i, b) in flips {
            let i = i.index(frame.len());
            frame[i] ^= b;
        }
        frame.truncate(cut.index(frame.len() + 1));
        let mut dec = Decoder::new(CodecConfig::default().with_max_decoded_bytes(cap));
        let (_result, peak) = peak_during(|| { let _ = dec.decode(&frame); });
        prop_assert!(peak <= cap + 64 * 1024, "peak {} bytes", peak);
    }
}
