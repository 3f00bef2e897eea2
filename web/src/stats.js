// The live view's bookkeeping, kept apart from the DOM so Node can test it:
// counters (received, decoded, undecodable, duplicates, lost, clock skew...),
// per producer-session sequence tracking, latency samples and the live tail.
//
// Loss: per (producer_id, producer_session) the sequences seen are tracked from
// the first one seen; a hole below the highest seen is lost unless it is filled
// later or a forwarder gap notice announced it (those count in
// missedByForwarder). Latency is the page clock minus created_at_us; a negative
// difference is clock skew, counted apart and never recorded as a latency, so
// negativeLatency (computed from the recorded samples) stays 0 unless this code
// is wrong, as on the Rust side (src/pipeline/latency.rs).

import { decodeFrame, DecodeError } from './decoder.js';
import { RangeSet, parseRanges } from './rangeset.js';

export const SAMPLE_LIMIT = 10000;
export const TAIL_LIMIT = 100;
const NOTICE_LIMIT = 20;

export class LiveStats {
  /** @param {{nowUs?: () => number, decode?: (bytes: Uint8Array) => object}} [options] */
  constructor({ nowUs = () => Date.now() * 1000, decode = decodeFrame } = {}) {
    this.nowUs = nowUs;
    this.decode = decode;
    /** The counters the page shows and tests read (window.dashstream.stats). */
    this.stats = {
      received: 0, decoded: 0, undecodable: 0, lost: 0, duplicates: 0, negativeLatency: 0, skewed: 0,
      missedByForwarder: 0, notices: 0, connected: false,
    };
    this.errorsByKind = {};
    this.formats = {};
    this.maxSkewUs = 0;
    this.samples = new Array(SAMPLE_LIMIT); // ring buffer of latencies in µs
    this.sampleCount = 0;
    this.sampleNext = 0;
    /** @type {Map<string, object>} per producer session */
    this.streams = new Map();
    this.tail = []; // newest first
    this.noticeLog = []; // newest first
    this.hello = null;
    this.lastKeepaliveUs = null;
    this.closing = null;
  }

  /** One binary WebSocket message: a frame, byte for byte. Returns the tail row. */
  frame(bytes) {
    const s = this.stats;
    s.received++;
    let row;
    try {
      const { format, message } = this.decode(bytes);
      s.decoded++;
      this.formats[format] = (this.formats[format] || 0) + 1;
      row = this.#message(message, format, bytes.length);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      s.undecodable++;
      this.errorsByKind[e.kind] = (this.errorsByKind[e.kind] || 0) + 1;
      row = { error: e.kind, detail: e.detail, size: bytes.length };
    }
    this.tail.unshift(row);
    if (this.tail.length > TAIL_LIMIT) this.tail.length = TAIL_LIMIT;
    return row;
  }

  #message(message, format, size) {
    const { producer_id: producer, producer_session: session, sequence, created_at_us: createdUs } = message.header;
    const payload = message.payload ? Object.keys(message.payload)[0] : null;
    const row = { sequence, producer, session, payload, size, format };
    const stream = this.#stream(producer, session);
    stream.received++;
    const seq = Number(sequence);
    if (Number.isSafeInteger(seq)) {
      if (stream.seen.has(seq)) {
        stream.duplicates++;
        this.stats.duplicates++;
        row.duplicate = true;
      } else {
        stream.seen.insert(seq);
        stream.first ??= seq;
        stream.highest = Math.max(stream.highest ?? seq, seq);
        this.#updateLost(stream);
      }
    }
    const d = this.nowUs() - Number(createdUs);
    if (d >= 0) {
      this.#sample(d);
      row.latencyUs = d;
    } else {
      this.stats.skewed++;
      this.maxSkewUs = Math.max(this.maxSkewUs, -d);
      row.skewUs = -d;
    }
    return row;
  }

  #stream(producer, session) {
    const key = JSON.stringify([producer, session]);
    let stream = this.streams.get(key);
    if (!stream) {
      stream = { producer, session, received: 0, duplicates: 0, lost: 0, first: null, highest: null, seen: new RangeSet(), announced: new RangeSet() };
      this.streams.set(key, stream);
    }
    return stream;
  }

  /** Holes in [first, highest] neither seen nor announced by the forwarder. */
  #updateLost(stream) {
    let lost = 0;
    if (stream.first !== null) {
      for (const [lo, hi] of stream.seen.gaps(stream.first, stream.highest)) lost += hi - lo + 1 - stream.announced.count(lo, hi);
    }
    this.stats.lost += lost - stream.lost;
    stream.lost = lost;
  }

  #sample(us) {
    const old = this.sampleCount === SAMPLE_LIMIT ? this.samples[this.sampleNext] : undefined;
    if (old !== undefined && old < 0) this.stats.negativeLatency--;
    if (us < 0) this.stats.negativeLatency++;
    this.samples[this.sampleNext] = us;
    this.sampleNext = (this.sampleNext + 1) % SAMPLE_LIMIT;
    this.sampleCount = Math.min(this.sampleCount + 1, SAMPLE_LIMIT);
  }

  /** One text WebSocket message: a JSON notice from the forwarder. Returns it parsed. */
  notice(text) {
    this.stats.notices++;
    let n;
    try {
      n = JSON.parse(text);
    } catch {
      n = { type: 'invalid', text: String(text).slice(0, 200) };
    }
    if (n === null || typeof n !== 'object') n = { type: 'invalid', text: String(text).slice(0, 200) };
    if (n.type === 'hello') {
      this.hello = n;
      this.closing = null;
    } else if (n.type === 'gap') {
      const missed = Number(n.missed);
      if (Number.isFinite(missed) && missed > 0) this.stats.missedByForwarder += missed;
      for (const st of Array.isArray(n.streams) ? n.streams : []) {
        if (!st || typeof st !== 'object') continue;
        const stream = this.#stream(String(st.producer_id ?? ''), String(st.producer_session ?? ''));
        for (const [lo, hi] of parseRanges(st.sequences)) stream.announced.insertRange(lo, hi);
        this.#updateLost(stream);
      }
    } else if (n.type === 'keepalive') {
      this.lastKeepaliveUs = Number(n.at_us);
    } else if (n.type === 'closing') {
      this.closing = n;
    }
    this.noticeLog.unshift({ atUs: this.nowUs(), notice: n });
    if (this.noticeLog.length > NOTICE_LIMIT) this.noticeLog.length = NOTICE_LIMIT;
    return n;
  }

  /** Latency percentiles (nearest rank) of the recorded samples, in ms. */
  latency() {
    const v = this.samples.slice(0, this.sampleCount).sort((a, b) => a - b);
    if (v.length === 0) return { count: 0, p50: null, p99: null, max: null };
    const rank = (q) => v[Math.min(Math.max(Math.ceil(q * v.length), 1), v.length) - 1] / 1000;
    return { count: v.length, p50: rank(0.5), p99: rank(0.99), max: v[v.length - 1] / 1000 };
  }

  /** Per producer session rows, busiest first. */
  producers(limit = 50) {
    return [...this.streams.values()]
      .sort((a, b) => b.received - a.received || (a.producer < b.producer ? -1 : 1))
      .slice(0, limit)
      .map((s) => ({
        producer: s.producer, session: s.session, received: s.received, highest: s.highest,
        duplicates: s.duplicates, lost: s.lost, announced: s.announced.size, lostRanges: lostRanges(s),
      }));
  }
}

function lostRanges(s) {
  if (s.first === null || s.lost === 0) return '';
  const out = new RangeSet();
  for (const [lo, hi] of s.seen.gaps(s.first, s.highest)) {
    for (const [a, b] of s.announced.gaps(lo, hi)) out.insertRange(a, b);
  }
  return out.toString();
}
