// Optional differential check, not part of `npm test`: decodes random frames
// with src/decoder.js and with the Rust CLI (`dashstream decode`) and reports
// any difference. Needs a built dashstream binary and the `zstd` command.
//
//   node tools/diff-vs-rust.mjs --bin ../target/debug/dashstream [--cases 1000] [--seed 1] [--pb-only]
//
// Frames: random Envelopes (valid and broken: unknown fields, groups, wrong wire
// types, bad UTF-8, big integers, NaN and -0, maps), behind 0x00 or bare, zstd
// frames from the CLI (levels, checksum, streamed without size, 8 MiB window),
// zstd headers rebuilt with odd fields, and mutated golden fixtures; random
// caps and legacy off. Corrupt compressed data is reported apart ("tolerated"):
// libzstd and fzstd do not detect the same corruptions (see README).

import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { decodeFrame } from '../src/decoder.js';

const { values: opt } = parseArgs({ options: { bin: { type: 'string' }, cases: { type: 'string', default: '1000' }, seed: { type: 'string', default: '1' }, 'pb-only': { type: 'boolean', default: false } } });
if (!opt.bin) throw new Error('--bin <path to the dashstream binary> is required');
const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ds-diff-'));

let seed = Number(opt.seed);
const rnd = () => { // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];
const chance = (p, pPbOnly = p) => rnd() < (opt['pb-only'] ? pPbOnly : p);

// --- protobuf -------------------------------------------------------------
const enc = new TextEncoder();
const varint = (v) => { const o = []; for (v = BigInt.asUintN(64, BigInt(v)); v >= 128n; v >>= 7n) o.push(Number(v & 127n) | 128); return [...o, Number(v)]; };
const key = (tag, wire) => varint((tag << 3) | wire);
const delimited = (tag, body) => [...key(tag, 2), ...varint(body.length), ...body];
const GOOD_STRS = ['', 'p', 'héllo wörld', '\u{FEFF}A', '😀', '__proto__', 'x'.repeat(200)].map((s) => [...enc.encode(s)]);
const BAD_STRS = [[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf]];
const INTS = [0n, 1n, 127n, 128n, 300n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, -1n, -5n, -(2n ** 53n) - 3n];
const DOUBLES = [0, -0, 1.5, NaN, Infinity, -Infinity, 1e300, 5e-324, 0.875];
const f64 = (tag, d) => { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, d, true); return [...key(tag, 1), ...b]; };
function varintField(tag, v) {
  const r = rnd();
  if (r < 0.05) return [...key(tag, 0), 0x80, 0x00]; // overlong zero
  if (r < 0.08) return [...key(tag, 0), ...Array(9).fill(0xff), pick([1, 2, 0x81])]; // 10th byte edge
  return [...key(tag, 0), ...varint(v)];
}
function unknownField(depth = 0) {
  const tag = pick([7, 15, 16, 99, 536870911]);
  switch (ri(depth > 2 ? 4 : 6)) {
    case 0: return varintField(tag, pick(INTS));
    case 1: return [...key(tag, 1), 1, 2, 3, 4, 5, 6, 7, 8];
    case 2: return [...key(tag, 5), 1, 2, 3, 4];
    case 3: return delimited(tag, pick(GOOD_STRS));
    case 4: return [...key(tag, 3), ...unknownField(depth + 1), ...key(rnd() < 0.9 ? tag : tag + 1, 4)];
    default: return key(tag, 4);
  }
}
const wrongWire = (tag) => pick([[...key(tag, 0), 1], [...key(tag, 5), 0, 0, 0, 0], [...key(tag, 1), ...Array(8).fill(0)], delimited(tag, [1])]);
const SCHEMA = {
  1: [[1, 's'], [2, 's'], [3, 'v'], [4, 'v'], [5, 's'], [6, 's']],
  10: [[1, 's'], [2, 'v']], 11: [[1, 's'], [2, 'v'], [3, 'v'], [4, 'v']], 12: [[1, 'd'], [2, 'm'], [3, 's']],
  13: [[1, 's'], [2, 'v'], [3, 's'], [4, 'v']], 14: [[1, 's'], [2, 's'], [3, 's'], [4, 'v']],
};
function message(fields) {
  const out = [];
  for (let i = ri(6); i > 0; i--) {
    if (chance(0.08, 0.04)) { out.push(...unknownField()); continue; }
    if (chance(0.03, 0.005)) { out.push(...wrongWire(pick(fields)[0])); continue; }
    const [tag, type] = pick(fields);
    if (type === 's') out.push(...delimited(tag, chance(0.85, 0.97) ? pick(GOOD_STRS) : pick(BAD_STRS)));
    else if (type === 'v') out.push(...varintField(tag, pick(INTS)));
    else if (type === 'd') out.push(...f64(tag, pick(DOUBLES)));
    else {
      const entry = [];
      if (rnd() < 0.8) entry.push(...delimited(1, pick(GOOD_STRS.slice(0, 2).concat([[0x61], GOOD_STRS[5]]))));
      if (rnd() < 0.8) entry.push(...f64(2, pick(DOUBLES)));
      if (rnd() < 0.1) entry.push(...unknownField());
      out.push(...delimited(tag, entry));
    }
  }
  return out;
}
function envelope() {
  let out = [];
  if (rnd() < 0.95) out.push(...delimited(1, message(SCHEMA[1])));
  for (let i = ri(3); i > 0; i--) { const t = pick([10, 11, 12, 13, 14]); out.push(...delimited(t, message(SCHEMA[t]))); }
  if (rnd() < 0.3) out.push(...delimited(1, message(SCHEMA[1])));
  if (rnd() < 0.1) out.push(...unknownField());
  if (rnd() < 0.05) out = out.slice(0, ri(out.length + 1));
  if (chance(0.1, 0.02) && out.length) out[ri(out.length)] ^= 1 << ri(8);
  return out;
}
function bigEnvelope() {
  const content = Array.from({ length: ri(400000) }, () => pick(['a', 'b', 'tool ', 'kafka ', '\n'])).join('');
  return [...delimited(1, delimited(1, [0x70])), ...delimited(13, delimited(3, [...enc.encode(content)]))];
}

// --- zstd -----------------------------------------------------------------
function zstd(plain, args, fromFile) {
  if (!fromFile) return [...spawnSync('zstd', ['-q', '-c', ...args], { input: Uint8Array.from(plain) }).stdout];
  writeFileSync(join(dir, 'plain'), Uint8Array.from(plain)); // a file: the CLI writes the content size
  return [...spawnSync('zstd', ['-q', '-c', ...args, join(dir, 'plain')]).stdout];
}
/** Rewrites a frame header with odd content sizes, dictionary ids, windows and flags. */
function rebuildHeader(z, plainLen) {
  const fhd = z[4], ss = (fhd >> 5) & 1, fcsId = fhd >> 6, dictCode = fhd & 3;
  const size = 5 + (ss ? 0 : 1) + [0, 1, 2, 4][dictCode] + [0, 2, 4, 8][fcsId] + (ss && !fcsId ? 1 : 0);
  const le = (v, n) => Array.from({ length: n }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 255n));
  const n = BigInt(plainLen);
  const fcs = pick([null, n, n + 1n, n > 0n ? n - 1n : 0n, 2n ** 64n - 1n, 2n ** 64n - 2n, 2n ** 32n, 0n]);
  const single = fcs !== null && rnd() < 0.3 ? 1 : 0;
  const [dictFlag, dictBytes] = rnd() < 0.15 ? pick([[1, [0]], [1, [5]], [2, [1, 0]], [3, [0, 0, 0, 0]]]) : [0, []];
  const window = pick([z[5], 0x00, 0x58, 0x60, 0x68, 0x70, 0xa8, 0xb0, 0x5f]);
  const desc = (fcs === null ? 0 : 0xc0) | (single << 5) | (fhd & 4) | dictFlag | (rnd() < 0.05 ? 0x10 : 0);
  return [...z.slice(0, 4), desc, ...(single ? [] : [window]), ...dictBytes, ...(fcs === null ? [] : le(fcs, 8)), ...z.slice(size)];
}

// --- cases ----------------------------------------------------------------
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.bin') && !f.startsWith('bomb'));
/** One case: {name, bytes, corrupt (compressed data changed), plainLen}. */
function makeCase() {
  const r = opt['pb-only'] ? rnd() * 0.4 : rnd();
  const body = rnd() < 0.3 ? bigEnvelope() : envelope();
  if (r < 0.2) return { name: 'raw', bytes: [0, ...envelope()] };
  if (r < 0.4) return { name: 'bare', bytes: envelope() };
  if (r < 0.55) {
    const z = zstd(body, [pick(['--no-check', '-C']), pick(['-1', '-19', '--zstd=wlog=10'])], rnd() < 0.5);
    return { name: 'zstd-header', bytes: [1, ...rebuildHeader(z, body.length)], plainLen: body.length };
  }
  if (r < 0.8) {
    const args = [pick(['--no-check', '-C']), ...pick([['-1'], ['-3'], ['-19'], ['--zstd=wlog=10'], ['--zstd=wlog=23', '--long=23']])];
    const bytes = rnd() < 0.5 ? [1, ...zstd(body, args, rnd() < 0.5)] : zstd(body, args, rnd() < 0.5);
    const flip = rnd() < 0.3 ? ri(bytes.length) : -1;
    if (flip >= 0) bytes[flip] ^= 1 << ri(8);
    return { name: `zstd ${args.join(' ')}`, bytes, corrupt: flip > 20, plainLen: body.length };
  }
  const name = pick(fixtures);
  const bytes = [...readFileSync(FIXTURES + name)];
  for (let k = 1 + ri(3); k > 0 && bytes.length; k--) bytes[ri(bytes.length)] = ri(256);
  return { name: `fixture ${name}`, bytes: rnd() < 0.2 ? bytes.slice(0, ri(bytes.length + 1)) : bytes, corrupt: name.includes('zstd') };
}

function rust(path, args) {
  const p = spawnSync(opt.bin, ['decode', ...args, path], { maxBuffer: 64 << 20 });
  if (p.status !== 0) return { error: /error: ([a-z-]+):/.exec(p.stderr.toString())?.[1] ?? `?? ${p.stderr}` };
  // Integers beyond 2^53 become exact strings, as decodeFrame gives them.
  return JSON.parse(p.stdout.toString().replace(/(-?\d{16,})(?=\s*[,\n}])/g, (m) => (Number.isSafeInteger(Number(m)) ? m : `"${m}"`)));
}
// serde_json writes NaN and infinities as null.
const asJson = (v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asJson(x)])) : v);

const total = Number(opt.cases);
let failed = 0;
let tolerated = 0;
for (let i = 0; i < total; i++) {
  const c = makeCase();
  const options = rnd() < 0.25 ? { legacy: rnd() < 0.5, cap: pick([4 << 20, 100, 1 << 20, 1000 + ri(400000), c.plainLen ?? 100, (c.plainLen ?? 100) + 1, Math.max(0, (c.plainLen ?? 100) - 1), 0, 1024, 1025]) } : {};
  const args = [...(options.legacy === false ? ['--no-legacy'] : []), ...(options.cap !== undefined ? ['--max-bytes', String(options.cap)] : [])];
  const path = join(dir, 'case.bin');
  writeFileSync(path, Uint8Array.from(c.bytes));
  const want = rust(path, args);
  let got;
  try {
    got = asJson(decodeFrame(Uint8Array.from(c.bytes), options));
  } catch (e) {
    got = { error: e.kind ?? String(e), detail: e.message };
  }
  if (want.error ? got.error === want.error : isDeepStrictEqual(got, want)) continue;
  const kinds = [want.error, got.error];
  const verdict = c.corrupt && kinds.some(Boolean) && kinds.every((k) => !k || k === 'bad-zstd' || k === 'bad-protobuf') ? 'TOLERATED' : 'DIFFERENT';
  if (verdict === 'TOLERATED') tolerated++;
  else failed++;
  const kept = join(dir, `case-${i}.bin`);
  writeFileSync(kept, Uint8Array.from(c.bytes));
  console.log(`${verdict} ${kept} (${c.name}) ${JSON.stringify(args)}\n  rust: ${JSON.stringify(want).slice(0, 200)}\n  js:   ${JSON.stringify(got).slice(0, 200)}`);
}
console.log(`${total - failed - tolerated} passed, ${failed} failed (${tolerated} tolerated: corrupt zstd data that libzstd and fzstd judge differently)`);
process.exitCode = failed ? 1 : 0;
