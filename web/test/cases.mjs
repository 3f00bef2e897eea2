// Hand-made frames for edge cases the golden fixtures do not cover: zstd frame
// headers (dictionary, checksum, content-size sentinels, windows, block types)
// and protobuf corners (groups, recursion limit, oneof and merge rules).
// Every expected result was checked against the Rust `dashstream decode`
// binary (libzstd 1.5.7, prost 0.14) when these cases were written.

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const le = (v, n) => Array.from({ length: n }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn));
const vlen = (n) => (n < 128 ? [n] : [(n & 127) | 128, n >> 7]);

/** A protobuf Envelope with header {producer_id: "p", sequence} and a chunk payload. */
export function envelope(sequence = 1, content = 'hi') {
  const header = [0x0a, 0x01, 0x70, 0x18, sequence];
  const text = [...new TextEncoder().encode(content)];
  const chunk = [0x1a, ...vlen(text.length), ...text];
  return [0x0a, header.length, ...header, 0x6a, ...vlen(chunk.length), ...chunk];
}

const rawBlock = (bytes, last = true) => [...le((bytes.length << 3) | (last ? 1 : 0), 3), ...bytes];
const rleBlock = (byte, size, last = true) => [...le((size << 3) | 2 | (last ? 1 : 0), 3), byte];

/**
 * A zstd frame built by hand. `fcs`: null (undeclared) or a value written in 8
 * bytes; `window`: the window descriptor byte; `checksum`: null, true (the
 * right one, given as `sum`) or a number to write.
 */
export function frame({ blocks, fcs = null, window = 0x58, singleSegment = false, dict = null, checksum = null, reservedBit = false }) {
  const fcsId = fcs === null ? 0 : 3;
  const dictCode = dict === null ? 0 : 4;
  const fhd = (fcsId << 6) | (singleSegment ? 0x20 : 0) | (checksum !== null ? 4 : 0) | (reservedBit ? 8 : 0) | (dictCode === 4 ? 3 : 0);
  const header = [...MAGIC, fhd, ...(singleSegment ? [] : [window]), ...(dict === null ? [] : le(dict, 4)), ...(fcs === null ? [] : le(fcs, 8))];
  return [...header, ...blocks.flat(), ...(checksum === null ? [] : le(checksum, 4))];
}

const body = envelope(7, 'hello');
const n = body.length;
export const BODY = body;
/** Low 32 bits of XXH64(BODY), the zstd frame checksum (libzstd accepts it). */
export const BODY_XXH64_LOW32 = 0xb5036ce8;
const tooBig = 5 * 1024 * 1024;

/** [name, frame bytes, decodeFrame options, expected: {format} or {error}] */
export const zstdCases = [
  ['declared raw block', [1, ...frame({ blocks: [rawBlock(body)], fcs: n })], {}, { format: 'zstd' }],
  ['undeclared raw block', [1, ...frame({ blocks: [rawBlock(body)] })], {}, { format: 'zstd' }],
  ['single segment', [1, ...frame({ blocks: [rawBlock(body)], fcs: n, singleSegment: true })], {}, { format: 'zstd' }],
  ['split over three blocks', [1, ...frame({ blocks: [rawBlock(body.slice(0, 3), false), rawBlock([], false), rawBlock(body.slice(3))] })], {}, { format: 'zstd' }],
  ['legacy bare frame', frame({ blocks: [rawBlock(body)], fcs: n }), {}, { format: 'legacy-zstd' }],
  ['legacy bare frame, legacy off', frame({ blocks: [rawBlock(body)], fcs: n }), { legacy: false }, { error: 'unknown-format' }],
  ['declared size too small', [1, ...frame({ blocks: [rawBlock(body)], fcs: n - 1 })], {}, { error: 'bad-zstd' }],
  ['declared size too large', [1, ...frame({ blocks: [rawBlock(body)], fcs: n + 1 })], {}, { error: 'bad-zstd' }],
  ['declared over the cap', [1, ...frame({ blocks: [rawBlock(body)], fcs: tooBig })], {}, { error: 'too-large' }],
  ['declared size 2^64-1 reads as undeclared', [1, ...frame({ blocks: [rawBlock(body)], fcs: (1n << 64n) - 1n })], {}, { format: 'zstd' }],
  ['declared size 2^64-2 is an error', [1, ...frame({ blocks: [rawBlock(body)], fcs: (1n << 64n) - 2n })], {}, { error: 'bad-zstd' }],
  ['dictionary id', [1, ...frame({ blocks: [rawBlock(body)], fcs: n, dict: 5 })], {}, { error: 'bad-zstd' }],
  ['dictionary id 0 is none', [1, ...frame({ blocks: [rawBlock(body)], fcs: n, dict: 0 })], {}, { format: 'zstd' }],
  ['dictionary id, declared over the cap', [1, ...frame({ blocks: [rawBlock(body)], fcs: tooBig, dict: 5 })], {}, { error: 'too-large' }],
  ['dictionary id beats the window check', [1, ...frame({ blocks: [rawBlock(body)], window: 0x70, dict: 5 })], {}, { error: 'bad-zstd' }],
  ['reserved header bit', [1, ...frame({ blocks: [rawBlock(body)], fcs: n, reservedBit: true })], {}, { error: 'bad-zstd' }],
  ['window log over 31', [1, ...frame({ blocks: [rawBlock(body)], window: 0xb0 })], {}, { error: 'bad-zstd' }],
  ['undeclared, window 8 MiB over a 4 MiB cap', [1, ...frame({ blocks: [rawBlock(body)], window: 0x68 })], {}, { error: 'too-large' }],
  ['undeclared, window 4 MiB within a 4 MiB cap', [1, ...frame({ blocks: [rawBlock(body)], window: 0x60 })], {}, { format: 'zstd' }],
  ['undeclared, window 5 MiB over a 4 MiB cap', [1, ...frame({ blocks: [rawBlock(body)], window: 0x62 })], {}, { error: 'too-large' }],
  ['declared, huge window is fine', [1, ...frame({ blocks: [rawBlock(body)], window: 0xa8, fcs: n })], {}, { format: 'zstd' }],
  ['cap 5000 rounds the window up to 8 KiB', [1, ...frame({ blocks: [rawBlock(body)], window: 0x18 })], { cap: 5000 }, { format: 'zstd' }],
  ['cap 5000, 16 KiB window', [1, ...frame({ blocks: [rawBlock(body)], window: 0x20 })], { cap: 5000 }, { error: 'too-large' }],
  ['reserved block type', [1, ...frame({ blocks: [[...le((n << 3) | 7, 3), ...body]] })], {}, { error: 'bad-zstd' }],
  ['missing last block', [1, ...frame({ blocks: [rawBlock(body, false)] })], {}, { error: 'bad-zstd' }],
  ['checksum flag without checksum bytes', [1, ...frame({ blocks: [rawBlock(body)], fcs: n }).map((b, i) => (i === 4 ? b | 4 : b))], {}, { error: 'bad-zstd' }],
  ['right checksum', [1, ...frame({ blocks: [rawBlock(body)], fcs: n, checksum: BODY_XXH64_LOW32 })], {}, { format: 'zstd' }],
  ['right checksum, undeclared', [1, ...frame({ blocks: [rawBlock(body)], checksum: BODY_XXH64_LOW32 })], {}, { format: 'zstd' }],
  ['wrong checksum', [1, ...frame({ blocks: [rawBlock(body)], fcs: n, checksum: 0x12345678 })], {}, { error: 'bad-zstd' }],
  ['RLE bomb, undeclared, cap 1000', [1, ...frame({ blocks: [rleBlock(0x41, 100000)] })], { cap: 1000 }, { error: 'too-large' }],
  ['output exactly the cap', [1, ...frame({ blocks: [rawBlock(body)], window: 0x00 })], { cap: n }, { format: 'zstd' }],
  ['output one byte over the cap', [1, ...frame({ blocks: [rawBlock(body)], window: 0x00 })], { cap: n - 1 }, { error: 'too-large' }],
  ['declared exactly the cap', [1, ...frame({ blocks: [rawBlock(body)], fcs: n })], { cap: n }, { format: 'zstd' }],
  ['declared one byte over the cap', [1, ...frame({ blocks: [rawBlock(body)], fcs: n })], { cap: n - 1 }, { error: 'too-large' }],
  ['streamed RLE block over the 1 KiB window', [1, ...frame({ blocks: [rleBlock(0x41, 2000, false), rawBlock(body)], window: 0x00 })], {}, { error: 'bad-zstd' }],
  ['streamed raw block over the 1 KiB window', [1, ...frame({ blocks: [rawBlock(Array(1100).fill(0), false), rawBlock(body)], window: 0x00 })], {}, { error: 'bad-zstd' }],
  ['declared: raw block larger than the window is fine', [1, ...frame({ blocks: [rawBlock([...body, ...Array(1100).fill(0)])], window: 0x00, fcs: n + 1100 })], {}, { error: 'bad-protobuf' }],
  ['declared: compressed block larger than the window', [1, ...frame({ blocks: [[...le((1100 << 3) | 5, 3), ...Array(1100).fill(0)]], window: 0x00, fcs: 2000 })], {}, { error: 'bad-zstd' }],
  ['raw body over the cap', [0, ...body], { cap: n - 1 }, { error: 'too-large' }],
  ['body without the magic', [1, 0x28, 0xb5, 0x2f], {}, { error: 'bad-zstd' }],
  ['a second frame after the first', [1, ...frame({ blocks: [rawBlock(body)] }), ...frame({ blocks: [rawBlock([])] })], {}, { error: 'bad-zstd' }],
];

const hdr = [0x0a, 0x03, 0x0a, 0x01, 0x70];
const nest = (depth, tag) => [...Array(depth).fill((tag << 3) | 3), ...Array(depth).fill((tag << 3) | 4)];
const inHeader = (depth) => { const h = [0x0a, 0x01, 0x70, ...nest(depth, 9)]; return [0, 0x0a, ...vlen(h.length), ...h]; };
const inMapEntry = (depth) => {
  const entry = [0x0a, 0x01, 0x61, ...nest(depth, 9)];
  const report = [0x12, ...vlen(entry.length), ...entry];
  return [0, ...hdr, 0x62, ...vlen(report.length), ...report];
};

/** [name, frame bytes, expected payload (JSON shape) or {error}] */
export const protobufCases = [
  ['100 nested groups at the top level', [0, ...hdr, ...nest(100, 2)], null],
  ['101 nested groups at the top level', [0, ...hdr, ...nest(101, 2)], { error: 'bad-protobuf' }],
  ['99 nested groups in the header', inHeader(99), null],
  ['100 nested groups in the header', inHeader(100), { error: 'bad-protobuf' }],
  ['98 nested groups in a map entry', inMapEntry(98), { quality_report: { score: 0, metrics: { a: 0 }, evaluator: '' } }],
  ['99 nested groups in a map entry', inMapEntry(99), { error: 'bad-protobuf' }],
  ['end group with another tag', [0, ...hdr, 0x13, 0x1c], { error: 'bad-protobuf' }],
  ['lone end group', [0, ...hdr, 0x14], { error: 'bad-protobuf' }],
  ['key over u32::MAX', [0, ...hdr, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00], { error: 'bad-protobuf' }],
  ['largest key (field 2^29-1)', [0, ...hdr, 0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00], null],
  ['map field with a wrong wire type', [0, ...hdr, 0x62, 0x02, 0x10, 0x00], { error: 'bad-protobuf' }],
  ['oneof switches to the last variant', [0, ...hdr, 0x5a, 0x02, 0x10, 0x02, 0x52, 0x02, 0x10, 0x05], { node_started: { node: '', attempt: 5 } }],
  ['same oneof variant twice merges', [0, ...hdr, 0x6a, 0x02, 0x10, 0x02, 0x6a, 0x02, 0x20, 0x01], { chunk: { node: '', index: 2, content: '', last: true } }],
  ['length prefix beyond 64 bits of room', [0, ...hdr, 0x7a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], { error: 'bad-protobuf' }],
  ['varint of 11 bytes', [0, ...hdr, 0x78, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], { error: 'bad-protobuf' }],
  ['varint whose 10th byte is 2', [0, ...hdr, 0x78, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02], { error: 'bad-protobuf' }],
  ['wrong wire type for a string field', [0, 0x0a, 0x02, 0x08, 0x01], { error: 'bad-protobuf' }],
  ['invalid UTF-8', [0, 0x0a, 0x03, 0x0a, 0x01, 0xff], { error: 'bad-protobuf' }],
  ['UTF-8 surrogate', [0, 0x0a, 0x05, 0x0a, 0x03, 0xed, 0xa0, 0x80], { error: 'bad-protobuf' }],
  ['field number 0', [0, ...hdr, 0x00, 0x00], { error: 'bad-protobuf' }],
  ['wire type 6', [0, ...hdr, 0x0e], { error: 'bad-protobuf' }],
];
