// The live view's bookkeeping (src/stats.js) without a browser: duplicates,
// loss and gap notices, clock skew never recorded as latency, percentiles,
// bounded tail and samples; plus the RangeSet it rests on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LiveStats, SAMPLE_LIMIT, TAIL_LIMIT } from '../src/stats.js';
import { RangeSet, parseRanges } from '../src/rangeset.js';

const NOW_US = 1_764_000_000_000_000;
const enc = new TextEncoder();
const varint = (v) => { const o = []; for (v = BigInt.asUintN(64, BigInt(v)); v >= 128n; v >>= 7n) o.push(Number(v & 127n) | 128); return [...o, Number(v)]; };
const str = (tag, s) => { const b = [...enc.encode(s)]; return [(tag << 3) | 2, ...varint(b.length), ...b]; };

/** A 0x00 frame: header {producer, session, sequence, created_at_us} + a node_started payload. */
function frame(sequence, { producer = 'p', session = 's1', createdUs = NOW_US - 5000 } = {}) {
  const header = [...str(1, producer), ...str(2, session), 0x18, ...varint(sequence), 0x20, ...varint(createdUs)];
  const payload = [...str(1, 'node')];
  return Uint8Array.from([0, 0x0a, ...varint(header.length), ...header, 0x52, payload.length, ...payload]);
}

const fresh = () => new LiveStats({ nowUs: () => NOW_US });
const feed = (live, seqs, opts) => seqs.forEach((s) => live.frame(frame(s, opts)));

test('counts received, decoded and undecodable frames', () => {
  const live = fresh();
  feed(live, [1, 2]);
  live.frame(new Uint8Array([]));
  live.frame(new Uint8Array([0x02, 0x0a]));
  const { received, decoded, undecodable } = live.stats;
  assert.deepStrictEqual({ received, decoded, undecodable }, { received: 4, decoded: 2, undecodable: 2 });
  assert.deepStrictEqual(live.errorsByKind, { empty: 1, 'unknown-format': 1 });
  assert.deepStrictEqual(live.formats, { raw: 2 });
  assert.equal(live.tail[0].error, 'unknown-format');
});

test('the golden fixtures count as decoded or undecodable', () => {
  const live = fresh();
  const dir = new URL('../../fixtures/', import.meta.url);
  for (const f of ['raw.bin', 'zstd.bin', 'legacy-raw.bin', 'bomb-undeclared.bin', 'no-header.bin']) live.frame(new Uint8Array(readFileSync(new URL(f, dir))));
  assert.equal(live.stats.decoded, 3);
  assert.equal(live.stats.undecodable, 2);
});

test('a sequence seen again is a duplicate, not a new message', () => {
  const live = fresh();
  feed(live, [1, 2, 2, 3, 1]);
  assert.equal(live.stats.duplicates, 2);
  assert.equal(live.stats.lost, 0);
  assert.equal(live.tail[0].duplicate, true);
});

test('holes below the highest sequence are lost until filled', () => {
  const live = fresh();
  feed(live, [1, 2, 5]);
  assert.equal(live.stats.lost, 2);
  assert.equal(live.producers()[0].lostRanges, '3-4');
  feed(live, [4]);
  assert.equal(live.stats.lost, 1);
  feed(live, [3]);
  assert.equal(live.stats.lost, 0);
  assert.equal(live.stats.duplicates, 0);
});

test('tracking starts at the first sequence seen, per producer session', () => {
  const live = fresh();
  feed(live, [100, 101, 103]); // joined mid-stream: 1..99 are not lost
  feed(live, [1, 3], { session: 's2' }); // a new session restarts at 1
  feed(live, [7], { producer: 'q' });
  assert.equal(live.stats.lost, 2); // 102 of s1, 2 of s2
  assert.equal(live.producers().length, 3);
  feed(live, [50]); // before the first seen: counted as seen, opens no hole
  assert.equal(live.stats.lost, 2);
  feed(live, [50]);
  assert.equal(live.stats.duplicates, 1);
});

test('sequences a gap notice announced count as missed by the forwarder, not lost', () => {
  const live = fresh();
  feed(live, [1, 2]);
  live.notice(JSON.stringify({ type: 'gap', missed: 6, reason: 'slow-client', streams: [{ producer_id: 'p', producer_session: 's1', sequences: '3-7,9' }] }));
  feed(live, [10]);
  assert.equal(live.stats.missedByForwarder, 6);
  assert.equal(live.stats.lost, 1); // 8 only
  assert.equal(live.producers()[0].lostRanges, '8');
  // A notice arriving after the hole was seen takes it out of `lost` as well.
  live.notice(JSON.stringify({ type: 'gap', missed: 1, reason: 'reconnect', streams: [{ producer_id: 'p', producer_session: 's1', sequences: '8' }] }));
  assert.equal(live.stats.lost, 0);
  assert.equal(live.stats.missedByForwarder, 7);
  assert.equal(live.stats.notices, 2);
});

test('notices: hello, keepalive, closing, unknown and invalid ones', () => {
  const live = fresh();
  live.notice('{"type":"hello","topic":"dashstream","forwarder":"f-1","replayed":3}');
  live.notice('{"type":"keepalive","at_us":1764000000000000}');
  live.notice('{"type":"mystery","x":1}');
  live.notice('not json');
  live.notice('{"type":"closing","reason":"shutdown"}');
  assert.equal(live.hello.topic, 'dashstream');
  assert.equal(live.lastKeepaliveUs, 1764000000000000);
  assert.equal(live.closing.reason, 'shutdown');
  assert.equal(live.stats.notices, 5);
  assert.equal(live.noticeLog[1].notice.type, 'invalid'); // newest first
  assert.equal(live.stats.received, 0);
});

test('clock skew is counted apart and never recorded as a latency', () => {
  const live = fresh();
  feed(live, [1], { createdUs: NOW_US - 2000 });
  feed(live, [2], { createdUs: NOW_US + 7000 }); // producer clock 7 ms ahead
  feed(live, [3], { createdUs: NOW_US + 3000 });
  feed(live, [4], { createdUs: NOW_US });
  assert.equal(live.stats.skewed, 2);
  assert.equal(live.maxSkewUs, 7000);
  assert.equal(live.stats.negativeLatency, 0);
  assert.deepStrictEqual(live.latency(), { count: 2, p50: 0, p99: 2, max: 2 });
  assert.equal(live.tail[1].skewUs, 3000); // newest first
  assert.equal(live.tail[1].latencyUs, undefined);
});

test('latency percentiles are nearest rank over the last 10,000 samples', () => {
  let now = NOW_US;
  const live = new LiveStats({ nowUs: () => now });
  for (let i = 1; i <= 100; i++) {
    now = NOW_US + i * 1000; // message i takes i ms
    live.frame(frame(i, { createdUs: NOW_US }));
  }
  assert.deepStrictEqual(live.latency(), { count: 100, p50: 50, p99: 99, max: 100 });
  for (let i = 101; i <= SAMPLE_LIMIT + 500; i++) live.frame(frame(i, { createdUs: now }));
  assert.equal(live.latency().count, SAMPLE_LIMIT);
  assert.equal(live.latency().max, 0); // the slow first 100 have rotated out
});

test('the tail is newest first and bounded', () => {
  const live = fresh();
  feed(live, Array.from({ length: TAIL_LIMIT + 20 }, (_, i) => i + 1));
  assert.equal(live.tail.length, TAIL_LIMIT);
  assert.equal(live.tail[0].sequence, TAIL_LIMIT + 20);
  assert.deepStrictEqual(
    { producer: live.tail[0].producer, payload: live.tail[0].payload, format: live.tail[0].format, latencyUs: live.tail[0].latencyUs },
    { producer: 'p', payload: 'node_started', format: 'raw', latencyUs: 5000 },
  );
});

test('RangeSet merges ranges and counts gaps', () => {
  const r = new RangeSet();
  assert.equal(r.insert(5), true);
  assert.equal(r.insert(5), false);
  r.insert(7);
  r.insert(6);
  assert.deepStrictEqual(r.ranges, [[5, 7]]);
  assert.equal(r.insertRange(1, 10), 7);
  assert.deepStrictEqual(r.ranges, [[1, 10]]);
  r.insertRange(20, 30);
  assert.deepStrictEqual(r.gaps(1, 35), [[11, 19], [31, 35]]);
  assert.equal(r.count(8, 25), 9);
  assert.equal(r.size, 21);
  assert.equal(r.toString(), '1-10,20-30');
  assert.deepStrictEqual(parseRanges('5-9, 12,x,9-3,'), [[5, 9], [12, 12]]);
});
