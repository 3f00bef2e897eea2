// Strict, hand-written protobuf decoder for dashstream.v1.Envelope
// (proto/dashstream.proto) with the semantics of prost 0.14, which the Rust
// decoder uses: varints of at most 10 bytes, keys up to u32::MAX, wire types
// 0..5 (groups are skipped in unknown fields), a wrong wire type for a known
// field is an error, strings must be UTF-8, the last scalar wins, a repeated
// embedded message merges, a oneof switches to the last variant seen, unknown
// fields are skipped, recursion limit 100. Every failure is `bad-protobuf`.
// The result has the serde JSON shape of the Rust `Envelope`. 64-bit integers
// are numbers while they are safe integers, otherwise exact decimal strings.

import { DecodeError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();
const RECURSION_LIMIT = 100;
const [VARINT, I64, LEN, SGROUP, EGROUP] = [0, 1, 2, 3, 4];
const WIRE_NAMES = ['Varint', 'SixtyFourBit', 'LengthDelimited', 'StartGroup', 'EndGroup', 'ThirtyTwoBit'];

const SCHEMAS = {
  header: { 1: ['producer_id', 'string'], 2: ['producer_session', 'string'], 3: ['sequence', 'uint64'], 4: ['created_at_us', 'int64'], 5: ['run_id', 'string'], 6: ['thread_id', 'string'] },
  node_started: { 1: ['node', 'string'], 2: ['attempt', 'uint32'] },
  node_finished: { 1: ['node', 'string'], 2: ['attempt', 'uint32'], 3: ['duration_us', 'uint64'], 4: ['success', 'bool'] },
  quality_report: { 1: ['score', 'double'], 2: ['metrics', 'map'], 3: ['evaluator', 'string'] },
  chunk: { 1: ['node', 'string'], 2: ['index', 'uint32'], 3: ['content', 'string'], 4: ['last', 'bool'] },
  error: { 1: ['node', 'string'], 2: ['code', 'string'], 3: ['message', 'string'], 4: ['retriable', 'bool'] },
};
const PAYLOAD_TAGS = { 10: 'node_started', 11: 'node_finished', 12: 'quality_report', 13: 'chunk', 14: 'error' };
const DEFAULTS = { string: '', uint64: 0, int64: 0, uint32: 0, bool: false, double: 0 };
const WIRE_OF = { string: LEN, uint64: VARINT, int64: VARINT, uint32: VARINT, bool: VARINT, double: I64, map: LEN };

const fail = (detail) => new DecodeError('bad-protobuf', detail);

function defaults(schema) {
  const o = {};
  for (const [name, type] of Object.values(schema)) o[name] = type === 'map' ? {} : DEFAULTS[type];
  return o;
}

/** A varint as [low 32 bits, high 32 bits], both unsigned. */
function readVarint(r) {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.end) break;
    const b = r.b[r.pos++];
    if (i < 4) lo |= (b & 0x7f) << (7 * i);
    else if (i === 4) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >> 4;
    } else hi |= (b & 0x7f) << (7 * i - 32);
    if (b < 0x80) {
      if (i === 9 && b >= 0x02) break;
      return [lo >>> 0, hi >>> 0];
    }
  }
  throw fail('invalid varint');
}

function decodeKey(r) {
  const [lo, hi] = readVarint(r);
  if (hi !== 0) throw fail(`invalid key value: ${(BigInt(hi) << 32n) | BigInt(lo)}`);
  const wire = lo & 7;
  if (wire > 5) throw fail(`invalid wire type value: ${wire}`);
  const tag = lo >>> 3;
  if (tag === 0) throw fail('invalid tag value: 0');
  return [tag, wire];
}

function expectWire(expected, actual) {
  if (expected !== actual) throw fail(`invalid wire type: ${WIRE_NAMES[actual]} (expected ${WIRE_NAMES[expected]})`);
}

/** A length prefix that must fit in what is left. */
function readLength(r) {
  const [lo, hi] = readVarint(r);
  if (hi !== 0 || lo > r.end - r.pos) throw fail('buffer underflow');
  return lo;
}

function u64(lo, hi) {
  if (hi < 0x200000) return hi * 0x100000000 + lo;
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

function i64(lo, hi) {
  if (!(hi & 0x80000000)) return u64(lo, hi);
  const v = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function readScalar(type, wire, r) {
  expectWire(WIRE_OF[type], wire);
  if (type === 'string') {
    const len = readLength(r);
    const bytes = r.b.subarray(r.pos, r.pos + len);
    r.pos += len;
    try {
      return utf8.decode(bytes);
    } catch {
      throw fail('invalid string value: data is not UTF-8 encoded');
    }
  }
  if (type === 'double') {
    if (r.end - r.pos < 8) throw fail('buffer underflow');
    const v = new DataView(r.b.buffer, r.b.byteOffset + r.pos, 8).getFloat64(0, true);
    r.pos += 8;
    return v;
  }
  const [lo, hi] = readVarint(r);
  if (type === 'uint32') return lo;
  if (type === 'bool') return (lo | hi) !== 0;
  return type === 'int64' ? i64(lo, hi) : u64(lo, hi);
}

/** prost's skip_field, groups included. */
function skipField(wire, tag, r, depth) {
  if (depth === 0) throw fail('recursion limit reached');
  let len = 0;
  if (wire === VARINT) readVarint(r);
  else if (wire === I64) len = 8;
  else if (wire === 5) len = 4;
  else if (wire === LEN) {
    const [lo, hi] = readVarint(r);
    len = hi === 0 ? lo : Infinity;
  } else if (wire === SGROUP) {
    for (;;) {
      const [innerTag, innerWire] = decodeKey(r);
      if (innerWire === EGROUP) {
        if (innerTag !== tag) throw fail('unexpected end group tag');
        break;
      }
      skipField(innerWire, innerTag, r, depth - 1);
    }
  } else throw fail('unexpected end group tag');
  if (len > r.end - r.pos) throw fail('buffer underflow');
  r.pos += len;
}

/** Reads a length-delimited body, calling `field(tag, wire, sub, depth)` for each field. */
function mergeDelimited(wire, r, depth, field) {
  expectWire(LEN, wire);
  if (depth === 0) throw fail('recursion limit reached');
  const len = readLength(r);
  const sub = { b: r.b, pos: r.pos, end: r.pos + len };
  r.pos += len;
  while (sub.pos < sub.end) {
    const [tag, w] = decodeKey(sub);
    field(tag, w, sub, depth - 1);
  }
}

function mergeMessage(wire, target, schema, r, depth) {
  mergeDelimited(wire, r, depth, (tag, w, sub, d) => {
    const def = schema[tag];
    if (!def) return skipField(w, tag, sub, d);
    const [name, type] = def;
    if (type === 'map') return mergeMapEntry(w, target[name], sub, d);
    target[name] = readScalar(type, w, sub);
  });
}

/** One map<string, double> entry; a repeated key keeps the last value. */
function mergeMapEntry(wire, map, r, depth) {
  let key = '';
  let value = 0;
  mergeDelimited(wire, r, depth, (tag, w, sub, d) => {
    if (tag === 1) key = readScalar('string', w, sub);
    else if (tag === 2) value = readScalar('double', w, sub);
    else skipField(w, tag, sub, d);
  });
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Decodes an Envelope; throws DecodeError `bad-protobuf`, also when there is no header. */
export function decodeEnvelope(bytes) {
  const r = { b: bytes, pos: 0, end: bytes.length };
  const msg = { header: null, payload: null };
  while (r.pos < r.end) {
    const [tag, wire] = decodeKey(r);
    const kind = PAYLOAD_TAGS[tag];
    if (tag === 1) {
      msg.header ??= defaults(SCHEMAS.header);
      mergeMessage(wire, msg.header, SCHEMAS.header, r, RECURSION_LIMIT);
    } else if (kind) {
      if (msg.payload && kind in msg.payload) {
        mergeMessage(wire, msg.payload[kind], SCHEMAS[kind], r, RECURSION_LIMIT);
      } else {
        const value = defaults(SCHEMAS[kind]);
        mergeMessage(wire, value, SCHEMAS[kind], r, RECURSION_LIMIT);
        msg.payload = { [kind]: value };
      }
    } else {
      skipField(wire, tag, r, RECURSION_LIMIT);
    }
  }
  if (!msg.header) throw fail('the message has no header');
  return msg;
}

function varintLen(v) {
  if (typeof v !== 'number') {
    // An exact decimal string (beyond 2^53) or a BigInt.
    let x = BigInt(v);
    if (x < 0n) return 10;
    let n = 1;
    for (; x >= 128n; n++) x >>= 7n;
    return n;
  }
  if (v < 0) return 10; // negative int64: ten bytes, as two's complement
  let n = 1;
  for (; v >= 128; n++) v = Math.floor(v / 128);
  return n;
}
const delimited = (n) => varintLen(n) + n;
const bytesOf = (s) => utf8Encoder.encode(s).length;

function messageLen(msg, schema) {
  let n = 0;
  for (const [name, type] of Object.values(schema)) {
    const v = msg[name];
    if (type === 'map') {
      for (const [k, x] of Object.entries(v)) n += 1 + delimited((k === '' ? 0 : 1 + delimited(bytesOf(k))) + (x !== 0 ? 9 : 0));
    } else if (type === 'string') n += v === '' ? 0 : 1 + delimited(bytesOf(v));
    else if (type === 'double') n += v !== 0 ? 9 : 0;
    else if (type === 'bool') n += v ? 2 : 0;
    else n += v !== 0 ? 1 + varintLen(v) : 0;
  }
  return n;
}

/** The length prost's `encoded_len` gives for a decoded Envelope (canonical proto3 encoding). */
export function envelopeEncodedLen(msg) {
  let n = msg.header ? 1 + delimited(messageLen(msg.header, SCHEMAS.header)) : 0;
  if (msg.payload) {
    const [kind, value] = Object.entries(msg.payload)[0];
    n += 1 + delimited(messageLen(value, SCHEMAS[kind]));
  }
  return n;
}
