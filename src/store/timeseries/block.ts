/**
 * Blocks: the samples of one device over some span in columnar form, the unit the stores compress
 * (one block per chunk window) and the form every query works on.
 *
 * Encoded layout (version 1): [version u8] [rows: uvarint] [timestamps: length-prefixed column]
 * [signals: uvarint] then per signal [name: length-prefixed UTF-8] [values: length-prefixed column]
 * (columns as in ./column.ts). Each column is separately length-prefixed, so a reader that needs a
 * few signals skips the others without inflating them.
 */
import type { Sample } from "../../core/sample.js";
import { ByteReader, ByteWriter } from "./bytes.js";
import { type ColumnOptions, decodeColumn, encodeColumn } from "./column.js";

/**
 * Samples in columnar form: `ts` (epoch ms) and one column per signal, all of `ts.length` rows; NaN
 * marks a row without a value for that signal. Rows are in time order (equal timestamps allowed,
 * kept in the order they were committed) wherever a function below says it needs that.
 */
export interface Block {
  ts: Float64Array;
  columns: Map<string, Float64Array>;
}

const VERSION = 1;

export function emptyBlock(): Block {
  return { ts: new Float64Array(0), columns: new Map() };
}

/** Columnar form of samples (kept in the given order). */
export function blockFromSamples(samples: readonly Sample[]): Block {
  const n = samples.length;
  const ts = new Float64Array(n);
  const columns = new Map<string, Float64Array>();
  for (let i = 0; i < n; i++) {
    const s = samples[i]!;
    ts[i] = s.ts;
    for (const name in s.values) {
      let col = columns.get(name);
      if (!col) {
        col = new Float64Array(n).fill(Number.NaN);
        columns.set(name, col);
      }
      col[i] = s.values[name]!;
    }
  }
  return { ts, columns };
}

/**
 * Samples of a block. With `signals`, only those values, and rows without any of them are left out;
 * without, every row (also one without values) is a sample.
 */
export function blockToSamples(block: Block, signals?: readonly string[]): Sample[] {
  const names = signals ? signals.filter((s) => block.columns.has(s)) : [...block.columns.keys()];
  const cols = names.map((s) => block.columns.get(s)!);
  const out: Sample[] = [];
  for (let i = 0; i < block.ts.length; i++) {
    const values: Record<string, number> = {};
    let any = false;
    for (let c = 0; c < cols.length; c++) {
      const v = cols[c]![i]!;
      if (Number.isNaN(v)) continue;
      values[names[c]!] = v;
      any = true;
    }
    if (any || !signals) out.push({ ts: block.ts[i]!, values });
  }
  return out;
}

/** First row index with ts ≥ `t` in a time-ordered block. */
export function lowerBound(ts: Float64Array, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Rows with from ≤ ts < to of a time-ordered block (views, not copies). */
export function sliceBlock(block: Block, fromMs: number, toMs: number): Block {
  const a = lowerBound(block.ts, fromMs);
  const b = Math.max(a, lowerBound(block.ts, toMs));
  if (a === 0 && b === block.ts.length) return block;
  const columns = new Map<string, Float64Array>();
  for (const [name, col] of block.columns) columns.set(name, col.subarray(a, b));
  return { ts: block.ts.subarray(a, b), columns };
}

/**
 * Merges two time-ordered blocks into one: rows of `a` come before rows of `b` with the same
 * timestamp (a holds what was committed earlier, e.g. a chunk, b the samples that arrived later).
 */
export function mergeBlocks(a: Block, b: Block): Block {
  if (b.ts.length === 0) return a;
  if (a.ts.length === 0) return b;
  const n = a.ts.length + b.ts.length;
  const ts = new Float64Array(n);
  // Row i of the result comes from a (src[i] = index) or from b (src[i] = ~index).
  const src = new Int32Array(n);
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    if (j >= b.ts.length || (i < a.ts.length && a.ts[i]! <= b.ts[j]!)) {
      ts[k] = a.ts[i]!;
      src[k] = i++;
    } else {
      ts[k] = b.ts[j]!;
      src[k] = ~j++;
    }
  }
  const columns = new Map<string, Float64Array>();
  for (const name of new Set([...a.columns.keys(), ...b.columns.keys()])) {
    const ca = a.columns.get(name);
    const cb = b.columns.get(name);
    const col = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const s = src[k]!;
      col[k] = s >= 0 ? (ca ? ca[s]! : Number.NaN) : cb ? cb[~s]! : Number.NaN;
    }
    columns.set(name, col);
  }
  return { ts, columns };
}

/** Whether a block's rows are in time order. */
export function isTimeOrdered(block: Block): boolean {
  const ts = block.ts;
  for (let i = 1; i < ts.length; i++) if (ts[i]! < ts[i - 1]!) return false;
  return true;
}

/** Number of non-missing values (data points) in a block. */
export function countValues(block: Block): number {
  let n = 0;
  for (const col of block.columns.values())
    for (let i = 0; i < col.length; i++) if (!Number.isNaN(col[i])) n++;
  return n;
}

/** Compresses a block (any row order; the order is kept). */
export function encodeBlock(block: Block, opts: ColumnOptions = {}): Uint8Array {
  const w = new ByteWriter(1024);
  w.byte(VERSION);
  w.uvarint(block.ts.length);
  w.bytesWithLength(encodeColumn(block.ts, opts));
  w.uvarint(block.columns.size);
  for (const [name, col] of block.columns) {
    if (col.length !== block.ts.length) throw new RangeError(`column ${name} has the wrong length`);
    w.string(name);
    w.bytesWithLength(encodeColumn(col, opts));
  }
  return w.finish();
}

function readHeader(buf: Uint8Array): { r: ByteReader; n: number } {
  const r = new ByteReader(buf);
  const version = r.byte();
  if (version !== VERSION) throw new RangeError(`time-series block version ${version} is not supported`);
  return { r, n: r.uvarint() };
}

/**
 * Decodes a block; with `signals`, only those columns (others are skipped unread).
 * @throws RangeError when the bytes are truncated, malformed or of an unknown version.
 */
export function decodeBlock(buf: Uint8Array, signals?: readonly string[]): Block {
  const { r, n } = readHeader(buf);
  const ts = decodeColumn(r.bytesWithLength(), n);
  const wanted = signals && new Set(signals);
  const columns = new Map<string, Float64Array>();
  const count = r.uvarint();
  for (let c = 0; c < count; c++) {
    const name = r.string();
    const bytes = r.bytesWithLength();
    if (!wanted || wanted.has(name)) columns.set(name, decodeColumn(bytes, n));
  }
  return { ts, columns };
}

/** Only the timestamps of an encoded block (to count rows in a range without decoding values). */
export function decodeBlockTimestamps(buf: Uint8Array): Float64Array {
  const { r, n } = readHeader(buf);
  return decodeColumn(r.bytesWithLength(), n);
}
