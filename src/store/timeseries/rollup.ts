/**
 * Rollups: per signal and fixed UTC bucket (1 min, 1 h, 1 d, or any width) the count, min, max, sum
 * and last value (with its timestamp) of the samples in the bucket. Mean = sum / count.
 *
 * Sums are kept exact: when a signal's values are decimal-quantised (./column.ts), the floating-point
 * sum is rounded back to that many decimals, so a bucket's sum does not depend on how it was reached
 * (straight from raw samples, or by merging finer buckets) and compresses like the values do.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { type Block, lowerBound } from "./block.js";
import { ByteReader, ByteWriter } from "./bytes.js";
import {
  type ColumnOptions,
  decimalScale,
  decodeColumn,
  encodeColumn,
  extendScale,
  roundToScale,
} from "./column.js";

/** One signal's buckets, columnar; only buckets with at least one value, in time order. */
export interface SignalAggregates {
  /** Bucket start, epoch ms (a multiple of the bucket width). */
  t: Float64Array;
  count: Float64Array;
  min: Float64Array;
  max: Float64Array;
  sum: Float64Array;
  /** Timestamp of the bucket's last value (the latest; on equal timestamps the later row). */
  lastTs: Float64Array;
  last: Float64Array;
}

export interface Aggregates {
  bucketMs: number;
  signals: Map<string, SignalAggregates>;
}

const FIELDS = ["t", "count", "min", "max", "sum", "lastTs", "last"] as const;
const VERSION = 1;

/** Start of the UTC-aligned bucket of width `bucketMs` holding `ts`. */
export function bucketStart(ts: number, bucketMs: number): number {
  return Math.floor(ts / bucketMs) * bucketMs;
}

/** Zeroed columns for `n` buckets of one signal. */
export function allocate(n: number): SignalAggregates {
  return {
    t: new Float64Array(n),
    count: new Float64Array(n),
    min: new Float64Array(n),
    max: new Float64Array(n),
    sum: new Float64Array(n),
    lastTs: new Float64Array(n),
    last: new Float64Array(n),
  };
}

function trim(a: SignalAggregates, n: number): SignalAggregates {
  if (n === a.t.length) return a;
  return {
    t: a.t.slice(0, n),
    count: a.count.slice(0, n),
    min: a.min.slice(0, n),
    max: a.max.slice(0, n),
    sum: a.sum.slice(0, n),
    lastTs: a.lastTs.slice(0, n),
    last: a.last.slice(0, n),
  };
}

/**
 * Rollups of a time-ordered block (see ./block.ts) into buckets of `bucketMs`; with `signals`, only
 * those. @throws RangeError when the block is not in time order.
 */
export function aggregate(block: Block, bucketMs: number, signals?: readonly string[]): Aggregates {
  const ts = block.ts;
  let buckets = 0;
  let prev = Number.NaN;
  for (let i = 0; i < ts.length; i++) {
    if (i > 0 && ts[i]! < ts[i - 1]!) throw new RangeError("aggregate: block is not in time order");
    const b = bucketStart(ts[i]!, bucketMs);
    if (b !== prev) buckets++;
    prev = b;
  }
  const out = new Map<string, SignalAggregates>();
  for (const [name, col] of block.columns) {
    if (signals && !signals.includes(name)) continue;
    const a = allocate(buckets);
    let k = -1;
    let cur = Number.NaN;
    for (let i = 0; i < ts.length; i++) {
      const v = col[i]!;
      if (Number.isNaN(v)) continue;
      const t = ts[i]!;
      const b = bucketStart(t, bucketMs);
      if (b !== cur) {
        cur = b;
        k++;
        a.t[k] = b;
        a.count[k] = 1;
        a.min[k] = v;
        a.max[k] = v;
        a.sum[k] = v;
      } else {
        a.count[k]!++;
        if (v < a.min[k]!) a.min[k] = v;
        if (v > a.max[k]!) a.max[k] = v;
        a.sum[k]! += v;
      }
      a.lastTs[k] = t;
      a.last[k] = v;
    }
    if (k < 0) continue;
    const d = decimalScale(col);
    if (d >= 0) for (let j = 0; j <= k; j++) a.sum[j] = roundToScale(a.sum[j]!, d);
    out.set(name, trim(a, k + 1));
  }
  return { bucketMs, signals: out };
}

/** One signal's buckets while a {@link RollupAccumulator} collects them. */
interface Collecting {
  t: number[];
  count: number[];
  min: number[];
  max: number[];
  sum: number[];
  lastTs: number[];
  last: number[];
  /** Decimal scale of every input sum so far (−1: none), to keep merged sums exact. */
  scale: number;
  merged: boolean;
}

/**
 * Collects rollups into buckets of `bucketMs` as they arrive — per window, per stored row — merging
 * buckets that fall together: concatenation, clipping and coarsening in one pass with no intermediate
 * arrays. Per signal, input must come in time order (a bucket may continue from the previous input).
 */
export class RollupAccumulator {
  readonly bucketMs: number;
  readonly #signals = new Map<string, Collecting>();

  constructor(bucketMs: number) {
    this.bucketMs = bucketMs;
  }

  /**
   * Adds the buckets of `agg` that start in [from, to) (whole buckets: pass a range on their grid).
   * @throws RangeError when `agg`'s width does not divide this one, or a signal's buckets go back in time.
   */
  add(agg: Aggregates, fromMs = Number.NEGATIVE_INFINITY, toMs = Number.POSITIVE_INFINITY): this {
    const width = this.bucketMs;
    if (width % agg.bucketMs !== 0) {
      throw new RangeError(`rollups of ${agg.bucketMs} ms do not divide buckets of ${width} ms`);
    }
    for (const [name, s] of agg.signals) {
      let c = this.#signals.get(name);
      if (!c) {
        c = { t: [], count: [], min: [], max: [], sum: [], lastTs: [], last: [], scale: 0, merged: false };
        this.#signals.set(name, c);
      }
      const end = lowerBound(s.t, toMs);
      for (let i = lowerBound(s.t, fromMs); i < end; i++) {
        const b = bucketStart(s.t[i]!, width);
        const sum = s.sum[i]!;
        c.scale = extendScale(sum, c.scale);
        const k = c.t.length - 1;
        if (k >= 0 && c.t[k] === b) {
          c.merged = true;
          c.count[k]! += s.count[i]!;
          if (s.min[i]! < c.min[k]!) c.min[k] = s.min[i]!;
          if (s.max[i]! > c.max[k]!) c.max[k] = s.max[i]!;
          c.sum[k]! += sum;
          if (s.lastTs[i]! >= c.lastTs[k]!) {
            c.lastTs[k] = s.lastTs[i]!;
            c.last[k] = s.last[i]!;
          }
          continue;
        }
        if (k >= 0 && c.t[k]! > b) throw new RangeError(`rollups of ${name} out of time order`);
        c.t.push(b);
        c.count.push(s.count[i]!);
        c.min.push(s.min[i]!);
        c.max.push(s.max[i]!);
        c.sum.push(sum);
        c.lastTs.push(s.lastTs[i]!);
        c.last.push(s.last[i]!);
      }
    }
    return this;
  }

  /** What was collected; signals that got no bucket are left out. */
  result(): Aggregates {
    const out = new Map<string, SignalAggregates>();
    for (const [name, c] of this.#signals) {
      if (c.t.length === 0) continue;
      if (c.merged && c.scale >= 0)
        for (let i = 0; i < c.sum.length; i++) c.sum[i] = roundToScale(c.sum[i]!, c.scale);
      out.set(name, {
        t: Float64Array.from(c.t),
        count: Float64Array.from(c.count),
        min: Float64Array.from(c.min),
        max: Float64Array.from(c.max),
        sum: Float64Array.from(c.sum),
        lastTs: Float64Array.from(c.lastTs),
        last: Float64Array.from(c.last),
      });
    }
    return { bucketMs: this.bucketMs, signals: out };
  }
}

/**
 * Merges buckets into wider ones: `bucketMs` must be a multiple of `agg.bucketMs` (or equal, which
 * merges adjacent entries of the same bucket). Each signal's input must be in time order.
 */
export function coarsen(agg: Aggregates, bucketMs: number): Aggregates {
  return new RollupAccumulator(bucketMs).add(agg).result();
}

/**
 * Concatenates rollups of consecutive spans (e.g. one per chunk window, in time order) with the same
 * bucket width; a bucket split across two parts is merged.
 */
export function concatAggregates(bucketMs: number, parts: readonly Aggregates[]): Aggregates {
  const acc = new RollupAccumulator(bucketMs);
  for (const p of parts) {
    if (p.bucketMs !== bucketMs) throw new RangeError("concatAggregates: bucket widths differ");
    acc.add(p);
  }
  return acc.result();
}

/**
 * Compresses rollups. Layout (version 1): [version u8] [flags u8: bit 0 = the rest is deflated] then
 * [bucket width: uvarint] [signals: uvarint] and per signal [name] [buckets: uvarint] and the seven
 * fields as length-prefixed columns (./column.ts, not deflated themselves). Deflating the whole blob
 * once rather than each column: a rollup blob is read whole, and each inflate call costs ~12 µs of set-up,
 * which for 70 small columns was more than the decoding.
 */
export function encodeAggregates(agg: Aggregates, opts: ColumnOptions = {}): Uint8Array {
  const w = new ByteWriter(1024);
  w.uvarint(agg.bucketMs);
  w.uvarint(agg.signals.size);
  for (const [name, s] of agg.signals) {
    w.string(name);
    w.uvarint(s.t.length);
    for (const f of FIELDS) w.bytesWithLength(encodeColumn(s[f], { deflate: false }));
  }
  const body = w.finish();
  const packed = opts.deflate === false ? body : deflateRawSync(body);
  const deflated = packed.length < body.length;
  const out = new Uint8Array(2 + (deflated ? packed.length : body.length));
  out[0] = VERSION;
  out[1] = deflated ? 1 : 0;
  out.set(deflated ? packed : body, 2);
  return out;
}

/**
 * Decodes rollups; with `signals`, only those (the others are skipped undecoded).
 * @throws RangeError on malformed bytes or an unknown version.
 */
export function decodeAggregates(buf: Uint8Array, signals?: readonly string[]): Aggregates {
  if (buf.length < 2) throw new RangeError("time-series rollup truncated");
  if (buf[0] !== VERSION) throw new RangeError(`time-series rollup version ${buf[0]} is not supported`);
  const r = new ByteReader(buf[1] === 1 ? inflateRawSync(buf.subarray(2)) : buf.subarray(2));
  const bucketMs = r.uvarint();
  const count = r.uvarint();
  // First pass: which signals, how many buckets, where their columns are; then one arena for all.
  const found: { name: string; n: number; columns: Uint8Array[] }[] = [];
  let total = 0;
  for (let c = 0; c < count; c++) {
    const name = r.string();
    const n = r.uvarint();
    const columns = FIELDS.map(() => r.bytesWithLength());
    if (signals && !signals.includes(name)) continue;
    found.push({ name, n, columns });
    total += n * FIELDS.length;
  }
  const arena = new Float64Array(total);
  let at = 0;
  const out = new Map<string, SignalAggregates>();
  for (const { name, n, columns } of found) {
    const s = {} as SignalAggregates;
    FIELDS.forEach((f, i) => {
      s[f] = decodeColumn(columns[i]!, n, arena.subarray(at, at + n));
      at += n;
    });
    out.set(name, s);
  }
  return { bucketMs, signals: out };
}

/** Buckets of `agg` with from ≤ t < to (views of the input arrays, no copies). */
export function clip(agg: Aggregates, from: number, to: number): Aggregates {
  const out = new Map<string, SignalAggregates>();
  for (const [name, s] of agg.signals) {
    const a = lowerBound(s.t, from);
    const b = lowerBound(s.t, to);
    if (a === 0 && b === s.t.length) {
      out.set(name, s);
      continue;
    }
    out.set(name, {
      t: s.t.subarray(a, b),
      count: s.count.subarray(a, b),
      min: s.min.subarray(a, b),
      max: s.max.subarray(a, b),
      sum: s.sum.subarray(a, b),
      lastTs: s.lastTs.subarray(a, b),
      last: s.last.subarray(a, b),
    });
  }
  return { bucketMs: agg.bucketMs, signals: out };
}
