// Hand-made edge cases (test/cases.mjs): zstd frame headers and blocks, and
// protobuf corners, each with the result the Rust decoder gives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, DecodeError } from '../src/decoder.js';
import { xxh64 } from '../src/xxh64.js';
import { zstdCases, protobufCases, BODY, BODY_XXH64_LOW32 } from './cases.mjs';

function outcome(bytes, options, pick) {
  try {
    return pick(decodeFrame(Uint8Array.from(bytes), options));
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { error: e.kind };
  }
}

for (const [name, bytes, options, expected] of zstdCases) {
  test(`zstd: ${name}`, () => assert.deepStrictEqual(outcome(bytes, options, (d) => ({ format: d.format })), expected));
}

for (const [name, bytes, expected] of protobufCases) {
  test(`protobuf: ${name}`, () => assert.deepStrictEqual(outcome(bytes, {}, (d) => d.message.payload), expected));
}

test('xxh64 known values', () => {
  const h = (s) => xxh64(new TextEncoder().encode(s)).toString(16);
  assert.equal(h(''), 'ef46db3751d8e999');
  assert.equal(h('a'), 'd24ec4f1a98c6e5b');
  assert.equal(h('abc'), '44bc2cf5ad770999');
  assert.equal(h('Nobody inspects the spammish repetition'), 'fbcea83c8a378bf1');
  assert.equal(Number(xxh64(Uint8Array.from(BODY)) & 0xffffffffn), BODY_XXH64_LOW32);
});
