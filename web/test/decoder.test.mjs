// The browser decoder against the golden frames: every fixtures/*.bin must
// decode to exactly what the Rust CLI wrote in fixtures/decoded.json, the zstd
// bombs must fail fast with bounded memory, plus the legacy rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeFrame, couldStartProtobuf, DecodeError, KINDS } from '../src/decoder.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const expected = JSON.parse(readFileSync(`${FIXTURES}decoded.json`, 'utf8'));
const bins = readdirSync(FIXTURES).filter((f) => f.endsWith('.bin')).sort();
const read = (name) => new Uint8Array(readFileSync(FIXTURES + name));

function outcome(bytes, options) {
  try {
    return decodeFrame(bytes, options);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    assert.ok(KINDS.includes(e.kind), `unknown kind ${e.kind}`);
    assert.ok(e.message.startsWith(`${e.kind}: `));
    return { error: e.kind };
  }
}

test('there are golden frames', () => assert.ok(bins.length >= 17, `only ${bins.length} .bin files`));

for (const name of bins) {
  test(`fixture ${name} decodes as the Rust CLI does`, () => {
    assert.ok(name in expected, `${name} has no entry in fixtures/decoded.json`);
    assert.deepStrictEqual(outcome(read(name)), expected[name]);
  });
}

test('every decoded.json entry has its .bin', () => {
  assert.deepStrictEqual(Object.keys(expected).sort(), bins);
});

test('the 1 GiB bombs fail fast with bounded memory', () => {
  const before = process.resourceUsage().maxRSS; // KiB
  const start = performance.now();
  for (const name of ['bomb-declared.bin', 'bomb-undeclared.bin', 'bomb-legacy.bin']) {
    for (let i = 0; i < 3; i++) assert.deepStrictEqual(outcome(read(name)), { error: 'too-large' });
  }
  const ms = performance.now() - start;
  const grewMiB = (process.resourceUsage().maxRSS - before) / 1024;
  assert.ok(ms < 5000, `bombs took ${ms.toFixed(0)} ms`);
  assert.ok(grewMiB < 128, `peak memory grew by ${grewMiB.toFixed(0)} MiB`);
});

test('a smaller cap stops the undeclared bomb sooner', () => {
  assert.deepStrictEqual(outcome(read('bomb-undeclared.bin'), { cap: 64 * 1024 }), { error: 'too-large' });
});

test('could_start_protobuf: wire types 0, 1, 2, 5 and a field number, or more key bytes', () => {
  for (let b = 0; b <= 7; b++) assert.equal(couldStartProtobuf(b), false, `0x0${b} is field 0`);
  const yes = [0x08, 0x09, 0x0a, 0x0d, 0x28, 0x7a, 0x7d, 0x80, 0x81, 0x82, 0x85, 0xfa];
  const no = [0x0b, 0x0c, 0x0e, 0x0f, 0x7b, 0x7c, 0x7e, 0x7f, 0x83, 0x84, 0x86, 0x87, 0xff];
  for (const b of yes) assert.equal(couldStartProtobuf(b), true, `0x${b.toString(16)}`);
  for (const b of no) assert.equal(couldStartProtobuf(b), false, `0x${b.toString(16)}`);
  const count = Array.from({ length: 256 }, (_, b) => couldStartProtobuf(b)).filter(Boolean).length;
  assert.equal(count, 124); // 128 bytes with wire type 0/1/2/5, less 0x00, 0x01, 0x02, 0x05
});

test('legacy off: only 0x00 and 0x01 frames decode', () => {
  const off = { legacy: false };
  assert.deepStrictEqual(outcome(read('legacy-raw.bin'), off), { error: 'unknown-format' });
  assert.deepStrictEqual(outcome(read('legacy-zstd.bin'), off), { error: 'unknown-format' });
  assert.deepStrictEqual(outcome(read('raw.bin'), off), expected['raw.bin']);
  assert.deepStrictEqual(outcome(read('zstd.bin'), off), expected['zstd.bin']);
  assert.deepStrictEqual(outcome(read('empty.bin'), off), { error: 'empty' });
});

test('legacy raw must be canonical: an unknown field or junk makes it bad-protobuf', () => {
  const frame = read('legacy-raw.bin');
  assert.equal(outcome(frame).format, 'legacy-raw');
  assert.deepStrictEqual(outcome(Uint8Array.from([...frame, 0x78, 0x01])), { error: 'bad-protobuf' });
  // The same unknown field is fine behind a format byte: prost skips it.
  assert.equal(outcome(Uint8Array.from([0, ...frame, 0x78, 0x01])).format, 'raw');
});

test('an ArrayBuffer is accepted as well as a Uint8Array', () => {
  const bytes = read('raw.bin');
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  assert.deepStrictEqual(decodeFrame(buffer), expected['raw.bin']);
});

test('64-bit values beyond 2^53 stay exact, as decimal strings', () => {
  const varint = (v) => { const o = []; for (v = BigInt.asUintN(64, v); v >= 128n; v >>= 7n) o.push(Number(v & 127n) | 128); return [...o, Number(v)]; };
  const header = [0x0a, 0x01, 0x70, 0x18, ...varint(2n ** 64n - 1n), 0x20, ...varint(-(2n ** 63n))];
  const { message } = decodeFrame(Uint8Array.from([0, 0x0a, header.length, ...header]));
  assert.equal(message.header.sequence, '18446744073709551615');
  assert.equal(message.header.created_at_us, '-9223372036854775808');
  const small = [0x0a, 0x01, 0x70, 0x18, ...varint(2n ** 53n - 1n), 0x20, ...varint(-5n)];
  const m2 = decodeFrame(Uint8Array.from([0, 0x0a, small.length, ...small])).message;
  assert.equal(m2.header.sequence, Number.MAX_SAFE_INTEGER);
  assert.equal(m2.header.created_at_us, -5);
});

test('a cap outside 0..1 GiB is a RangeError', () => {
  assert.throws(() => decodeFrame(read('raw.bin'), { cap: -1 }), RangeError);
  assert.throws(() => decodeFrame(read('raw.bin'), { cap: 2 ** 31 }), RangeError);
});
