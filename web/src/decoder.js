// decodeFrame: one DashStream frame (a Kafka record value) to {format, message},
// exactly as the Rust decoder does (src/codec/decode.rs, proto/PROTOCOL.md):
// 0x00 + protobuf is "raw", 0x01 + one zstd frame is "zstd"; with legacy on, a
// bare zstd frame is "legacy-zstd" and a bare canonical protobuf "legacy-raw".
// Failures throw DecodeError with one of the five kinds. Nothing is guessed and
// no frame can make it hold more than about `cap` decoded bytes.

import { DecodeError } from './errors.js';
import { decompressBounded, startsWithZstdMagic } from './zstd.js';
import { decodeEnvelope, envelopeEncodedLen } from './protobuf.js';

export { DecodeError, KINDS } from './errors.js';

export const DEFAULT_CAP = 4 * 1024 * 1024;
/** The largest cap accepted here (the Rust side takes any usize; a page never needs more). */
export const MAX_CAP = 1024 * 1024 * 1024;

const hex = (b) => b.toString(16).padStart(2, '0');

/**
 * Could `byte` be the first byte of a protobuf field key? Wire type 0, 1, 2 or 5
 * and a field number other than 0 (or more key bytes to come).
 */
export function couldStartProtobuf(byte) {
  const wireType = byte & 0x07;
  const fieldLowBits = (byte & 0x7f) >> 3;
  const hasMoreKeyBytes = (byte & 0x80) !== 0;
  return [0, 1, 2, 5].includes(wireType) && (fieldLowBits !== 0 || hasMoreKeyBytes);
}

function checkRawSize(len, cap) {
  if (len > cap) throw new DecodeError('too-large', `the protobuf body is ${len} bytes, over the cap of ${cap} bytes`);
}

/**
 * Decodes one frame.
 * @param {Uint8Array|ArrayBuffer} bytes
 * @param {{cap?: number, legacy?: boolean}} [options]
 * @returns {{format: 'raw'|'zstd'|'legacy-zstd'|'legacy-raw', message: object}}
 */
export function decodeFrame(bytes, { cap = DEFAULT_CAP, legacy = true } = {}) {
  if (!Number.isSafeInteger(cap) || cap < 0 || cap > MAX_CAP) throw new RangeError(`cap must be an integer from 0 to ${MAX_CAP}`);
  const frame = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (frame.length === 0) throw new DecodeError('empty', 'the frame has no bytes');
  const first = frame[0];
  if (first === 0x00) {
    const body = frame.subarray(1);
    checkRawSize(body.length, cap);
    return { format: 'raw', message: decodeEnvelope(body) };
  }
  if (first === 0x01) {
    return { format: 'zstd', message: decodeEnvelope(decompressBounded(frame.subarray(1), cap)) };
  }
  const unknown = `format byte 0x${hex(first)} is neither 0x00 (protobuf) nor 0x01 (zstd)`;
  if (!legacy) throw new DecodeError('unknown-format', `${unknown} (legacy decoding is off)`);
  if (startsWithZstdMagic(frame)) {
    return { format: 'legacy-zstd', message: decodeEnvelope(decompressBounded(frame, cap)) };
  }
  if (couldStartProtobuf(first)) {
    checkRawSize(frame.length, cap);
    return { format: 'legacy-raw', message: decodeLegacyRaw(frame) };
  }
  throw new DecodeError('unknown-format', `${unknown}, and it cannot start a legacy protobuf message either`);
}

/** A bare protobuf is a guess, so it must be exactly a canonical Envelope. */
function decodeLegacyRaw(frame) {
  let message;
  try {
    message = decodeEnvelope(frame);
  } catch (e) {
    if (e instanceof DecodeError) throw new DecodeError('bad-protobuf', `${e.detail} (tried as a legacy frame without format byte)`);
    throw e;
  }
  const canonical = envelopeEncodedLen(message);
  if (canonical !== frame.length) {
    throw new DecodeError(
      'bad-protobuf',
      `tried as a legacy frame without format byte: ${frame.length} bytes do not re-encode to the same length (${canonical}); unknown fields or junk`,
    );
  }
  return message;
}
