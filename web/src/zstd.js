// Bounded zstd decompression that mirrors src/codec/bounded_zstd.rs (libzstd 1.5.7).
//
// The frame header and block layout are checked here, exactly as libzstd does
// (ZSTD_findFrameCompressedSize, ZSTD_getFrameContentSize, dictionary and
// window checks, checksum); fzstd only does the entropy decoding. fzstd is fed
// a rewritten header so its own buffers stay bounded: a declared frame is handed
// over as single-segment (window = the declared size, at most the cap), an
// undeclared one keeps its window only after the window was checked against the
// cap. Blocks are pushed one by one so the cap is enforced between blocks, like
// the Rust streaming loop: a 1 GiB bomb stops after about `cap` bytes.

import { Decompress } from 'fzstd';
import { DecodeError } from './errors.js';
import { xxh64 } from './xxh64.js';

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const BLOCK_SIZE_MAX = 128 * 1024;
const CONTENTSIZE_UNKNOWN = (1n << 64n) - 1n;
const CONTENTSIZE_ERROR = (1n << 64n) - 2n;
const RAW = 0;
const RLE = 1;
const COMPRESSED = 2;

const bad = (detail) => new DecodeError('bad-zstd', detail);
const le = (b, at, n) => {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]);
  return v;
};

/** True when `b` starts with the zstd magic 28 b5 2f fd. */
export function startsWithZstdMagic(b) {
  return b.length >= 4 && MAGIC.every((m, i) => b[i] === m);
}

/** ZSTD_getFrameHeader: the header fields, or bad-zstd for a bad or short header. */
export function parseFrameHeader(b) {
  if (b.length < 5) throw bad('corrupt or truncated frame: Src size is incorrect');
  const fhd = b[4];
  const dictCode = fhd & 3;
  const checksum = (fhd >> 2) & 1;
  const singleSegment = (fhd >> 5) & 1;
  const fcsId = fhd >> 6;
  const size = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictCode] + [0, 2, 4, 8][fcsId] + (singleSegment && !fcsId ? 1 : 0);
  if (b.length < size) throw bad('corrupt or truncated frame: Src size is incorrect');
  if (fhd & 0x08) throw bad('corrupt or truncated frame: Unsupported frame parameter (reserved bit set)');
  let pos = 5;
  let windowSize = 0n;
  let windowByte = 0;
  if (!singleSegment) {
    windowByte = b[pos++];
    const windowLog = (windowByte >> 3) + 10;
    if (windowLog > 31) throw bad('corrupt or truncated frame: Frame requires too much memory for decoding');
    windowSize = 1n << BigInt(windowLog);
    windowSize += (windowSize >> 3n) * BigInt(windowByte & 7);
  }
  const dictId = Number(le(b, pos, [0, 1, 2, 4][dictCode]));
  pos += [0, 1, 2, 4][dictCode];
  let contentSize = CONTENTSIZE_UNKNOWN;
  if (fcsId === 0 && singleSegment) contentSize = BigInt(b[pos]);
  else if (fcsId === 1) contentSize = le(b, pos, 2) + 256n;
  else if (fcsId === 2) contentSize = le(b, pos, 4);
  else if (fcsId === 3) contentSize = le(b, pos, 8);
  if (singleSegment) windowSize = contentSize;
  const blockSizeMax = Number(windowSize < BigInt(BLOCK_SIZE_MAX) ? windowSize : BigInt(BLOCK_SIZE_MAX));
  return { size, checksum, singleSegment, windowByte, windowSize, blockSizeMax, dictId, contentSize };
}

/** ZSTD_findFrameCompressedSize: walks the blocks; returns them and the frame length. */
export function walkFrame(b, header) {
  let pos = header.size;
  const blocks = [];
  for (;;) {
    if (b.length - pos < 3) throw bad('corrupt or truncated frame: Src size is incorrect');
    const h = b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16);
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) throw bad('corrupt or truncated frame: Data corruption detected (reserved block type)');
    const cSize = type === RLE ? 1 : size;
    if (3 + cSize > b.length - pos) throw bad('corrupt or truncated frame: Src size is incorrect');
    blocks.push({ start: pos, end: pos + 3 + cSize, type, size, cSize });
    pos += 3 + cSize;
    if (h & 1) break;
  }
  if (header.checksum) {
    if (b.length - pos < 4) throw bad('corrupt or truncated frame: Src size is incorrect');
    pos += 4;
  }
  return { blocks, length: pos };
}

/** windowLogMax the Rust decoder sets for streaming: ceil(log2(cap)), clamped to 10..=31. */
export function maxWindowFor(cap) {
  const bits = 32 - Math.clz32(Math.max(cap, 1) - 1); // cap is at most 2^30 here
  const log = Math.min(31, Math.max(10, bits));
  return 1n << BigInt(log);
}

/**
 * Decompresses `body`, which must be exactly one zstd frame, into at most `cap` bytes.
 * Throws DecodeError `bad-zstd` or `too-large`.
 */
export function decompressBounded(body, cap) {
  if (!startsWithZstdMagic(body)) throw bad('body does not start with the zstd magic 28 b5 2f fd');
  const header = parseFrameHeader(body);
  const { blocks, length } = walkFrame(body, header);
  if (length !== body.length) {
    throw bad(`${body.length - length} bytes follow the zstd frame: the body must be exactly one frame`);
  }
  if (header.contentSize === CONTENTSIZE_ERROR) throw bad('corrupt frame header');
  const declared = header.contentSize !== CONTENTSIZE_UNKNOWN;
  if (declared && header.contentSize > BigInt(cap)) {
    throw new DecodeError('too-large', `the zstd frame declares ${header.contentSize} bytes of content, over the cap of ${cap} bytes`);
  }
  if (header.dictId !== 0) throw bad('corrupt frame: Dictionary mismatch');
  if (!declared && (header.windowSize < 1024n ? 1024n : header.windowSize) > maxWindowFor(cap)) {
    throw new DecodeError('too-large', `the zstd frame needs a window larger than the cap of ${cap} bytes`);
  }
  const out = declared ? oneShot(body, header, blocks) : streamed(body, header, blocks, cap);
  if (header.checksum) {
    const stored = body[length - 4] | (body[length - 3] << 8) | (body[length - 2] << 16) | (body[length - 1] << 24);
    if (Number(xxh64(out) & 0xffffffffn) !== stored >>> 0) throw bad("corrupt frame: Restored data doesn't match checksum");
  }
  return out;
}

/** Declared size (at most the cap): like ZSTD_decompressDCtx into a buffer of exactly that size. */
function oneShot(body, header, blocks) {
  const size = Number(header.contentSize);
  // Single segment, 4-byte content size: fzstd's window (and block buffer, up
  // to 128 KiB) is the declared size plus one, so content longer than declared
  // shows up as one byte too many instead of being cut silently by fzstd.
  const room = size + 1;
  const synthetic = [...MAGIC, 0xa0, room & 0xff, (room >>> 8) & 0xff, (room >>> 16) & 0xff, room >>> 24];
  const out = drive(body, blocks, synthetic, (block, n, total) => {
    if (block.type === COMPRESSED && n > header.blockSizeMax) throw bad('corrupt frame: Data corruption detected');
    if (total > size) throw bad('corrupt frame: Destination buffer is too small');
  }, header.blockSizeMax);
  if (out.length !== size) throw bad(`frame declares ${size} bytes but holds ${out.length}`);
  return out;
}

/** No declared size: like ZSTD_decompressStream with the window limited, stopping past the cap. */
function streamed(body, header, blocks, cap) {
  const synthetic = [...MAGIC, 0x00, header.windowByte];
  return drive(body, blocks, synthetic, (block, n, total) => {
    if (n > header.blockSizeMax) throw bad('corrupt frame: Data corruption detected (block over the maximum)');
    if (total > cap) throw new DecodeError('too-large', `the zstd frame expands past the cap of ${cap} bytes (stopped there)`);
  }, header.blockSizeMax, true);
}

/**
 * Feeds fzstd the synthetic header, then each block in turn; `check(block, n, total)`
 * runs as each block is produced, before the next is read. Compressed blocks whose
 * compressed size is over blockSizeMax fail before decoding, as in libzstd;
 * `streaming` also applies that limit to raw and RLE blocks.
 */
function drive(body, blocks, synthetic, check, blockSizeMax, streaming = false) {
  const chunks = [];
  let total = 0;
  let index = -1;
  let emitted = 0;
  const fz = new Decompress((chunk) => {
    if (index < 0) return; // the padding blocks below
    emitted++;
    total += chunk.length;
    check(blocks[index], chunk.length, total);
    if (chunk.length) chunks.push(chunk);
  });
  try {
    // Four empty raw blocks bring the first push to 18 bytes or more, the least
    // fzstd parses a header from without buffering; so every later push decodes
    // its block at once and the checks above run in block order.
    fz.push(new Uint8Array([...synthetic, ...new Array(12).fill(0)]), false);
    for (index = 0; index < blocks.length; index++) {
      const block = blocks[index];
      if ((block.type === COMPRESSED || (streaming && block.type === RAW)) && block.cSize > blockSizeMax) {
        throw bad('corrupt frame: Data corruption detected (block size exceeds the maximum)');
      }
      fz.push(body.subarray(block.start, block.end), false);
      if (emitted !== index + 1) throw bad('corrupt frame: fzstd did not decode the block in step');
    }
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw bad(`corrupt frame: ${e && e.message ? e.message : String(e)}`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
