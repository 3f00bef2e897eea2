// A set of integers kept as sorted, disjoint, non-adjacent ranges [lo, hi]:
// the sequences seen per producer session (and those a gap notice announced)
// stay a handful of ranges however many messages arrive, like the Rust
// pipeline's RangeSet.

export class RangeSet {
  constructor() {
    /** @type {Array<[number, number]>} */
    this.ranges = [];
  }

  /** Index of the first range whose hi >= x. */
  #find(x) {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid][1] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(x) {
    const r = this.ranges[this.#find(x)];
    return r !== undefined && r[0] <= x;
  }

  /** Adds x; returns false if it was already there. */
  insert(x) {
    return this.insertRange(x, x) > 0;
  }

  /** Adds [lo, hi]; returns how many of those were new. */
  insertRange(lo, hi) {
    if (hi < lo) return 0;
    const before = this.count(lo, hi);
    let i = this.#find(lo - 1);
    let start = lo;
    let end = hi;
    let j = i;
    while (j < this.ranges.length && this.ranges[j][0] <= hi + 1) {
      start = Math.min(start, this.ranges[j][0]);
      end = Math.max(end, this.ranges[j][1]);
      j++;
    }
    this.ranges.splice(i, j - i, [start, end]);
    return hi - lo + 1 - before;
  }

  /** How many members lie in [lo, hi]. */
  count(lo, hi) {
    let n = 0;
    for (let i = this.#find(lo); i < this.ranges.length && this.ranges[i][0] <= hi; i++) {
      n += Math.min(hi, this.ranges[i][1]) - Math.max(lo, this.ranges[i][0]) + 1;
    }
    return n;
  }

  /** The ranges of [lo, hi] that are not members. */
  gaps(lo, hi) {
    const out = [];
    let next = lo;
    for (let i = this.#find(lo); i < this.ranges.length && this.ranges[i][0] <= hi && next <= hi; i++) {
      if (this.ranges[i][0] > next) out.push([next, this.ranges[i][0] - 1]);
      next = Math.max(next, this.ranges[i][1] + 1);
    }
    if (next <= hi) out.push([next, hi]);
    return out;
  }

  get size() {
    return this.ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
  }

  toString() {
    return this.ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
  }
}

/** Parses "5-9,12" (the forwarder's gap notation) into [lo, hi] pairs; bad parts are skipped. */
export function parseRanges(text) {
  const out = [];
  for (const part of String(text ?? '').split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && lo <= hi) out.push([lo, hi]);
  }
  return out;
}
