/**
 * The pure part of telemetry storage, shared by every backend (docs/storage.md): no SQL, no I/O.
 *
 * - Columns (`./column.ts`): `encodeColumn(values)` / `decodeColumn(bytes, n)` — exact, NaN = missing;
 *   decimal-quantised values as scaled-integer deltas (or deltas of deltas), other doubles Gorilla-XOR,
 *   deflated when smaller. `decimalScale(values)`.
 * - Blocks (`./block.ts`): `Block` = `{ ts, columns: Map<signal, Float64Array> }`;
 *   `blockFromSamples`, `blockToSamples`, `mergeBlocks`, `sliceBlock`, `encodeBlock` / `decodeBlock`
 *   (optionally only some signals), `decodeBlockTimestamps`, `countValues`.
 * - Rollups (`./rollup.ts`): `Aggregates` (count, min, max, exact sum, last, lastTs per signal and
 *   bucket); `aggregate(block, bucketMs)`, `RollupAccumulator` (merge rollups arriving in time order
 *   into wider buckets, clipped to a range), `coarsen`, `concatAggregates`, `encodeAggregates` /
 *   `decodeAggregates`.
 * - Queries (`./series.ts`): `chooseResolution`, `bucketCount`, `rawSeries`, `aggregateSeries`; the
 *   chunk window `WINDOW_MS` and `windowStart`.
 */
export {
  type Block,
  blockFromSamples,
  blockToSamples,
  countValues,
  decodeBlock,
  decodeBlockTimestamps,
  emptyBlock,
  encodeBlock,
  isTimeOrdered,
  lowerBound,
  mergeBlocks,
  sliceBlock,
} from "./block.js";
export {
  type ColumnOptions,
  decimalScale,
  decodeColumn,
  encodeColumn,
  extendScale,
  roundToScale,
} from "./column.js";
export {
  type Aggregates,
  aggregate,
  allocate,
  bucketStart,
  clip,
  coarsen,
  concatAggregates,
  decodeAggregates,
  encodeAggregates,
  RollupAccumulator,
  type SignalAggregates,
} from "./rollup.js";
export {
  aggregateSeries,
  baseResolution,
  bucketCount,
  type Choice,
  chooseResolution,
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  ROLLUP_MS,
  type RollupResolution,
  rawSeries,
  rollupsOf,
} from "./series.js";
export { decodeXor, encodeXor } from "./xor.js";

import { type Block, countValues, decodeBlock, encodeBlock, mergeBlocks } from "./block.js";
import { type Aggregates, encodeAggregates } from "./rollup.js";
import { DAY_MS, type RollupResolution, rollupsOf } from "./series.js";

/** Width of a chunk window: one UTC day. Every rollup width (1 min, 1 h, 1 d) divides it. */
export const WINDOW_MS = DAY_MS;

/** Start of the chunk window holding `ts`. */
export function windowStart(ts: number): number {
  return Math.floor(ts / WINDOW_MS) * WINDOW_MS;
}

/**
 * How long after a window's end compaction waits for stragglers (samples in flight, clock skew), so
 * that a window is normally compressed once rather than once plus once per late sample. The same for
 * every backend: the store contract expects all of them to close a window at the same moment.
 */
export const COMPACT_GRACE_MS = 5 * 60_000;

/** Rollups stored in their own tables (1-minute rollups are stored with each chunk). */
export type StoredRollup = Exclude<RollupResolution, "1m">;

/** What a chunks table says about one chunk, without its blobs. */
export interface ChunkMeta {
  start: number;
  nRows: number;
  nValues: number;
  firstTs: number;
  lastTs: number;
}

/** One chunk window of a device that holds data: its chunk, and whether uncompacted samples are in it. */
export interface WindowRef {
  start: number;
  chunk: ChunkMeta | undefined;
  pending: boolean;
}

/**
 * Retention cuts (window starts) for a policy at `nowMs`: whole days only, so a chunk goes when all
 * of it is older than the raw cut, and rollup rows before the rollup cut.
 */
export function retentionCuts(
  policy: { rawDays: number; rollupDays: number },
  nowMs: number,
): { rawCut: number; rollupCut: number } {
  return {
    rawCut: windowStart(nowMs - policy.rawDays * DAY_MS),
    rollupCut: windowStart(nowMs - policy.rollupDays * DAY_MS),
  };
}

/** A window's chunk row after compaction, and the rollups of its data. */
export interface CompactedChunk {
  nRows: number;
  nValues: number;
  firstTs: number;
  lastTs: number;
  /** Bytes of `rollup` and `data` together. */
  nBytes: number;
  /** The encoded 1-minute rollups, stored with the chunk. */
  rollup: Uint8Array;
  /** The encoded block. */
  data: Uint8Array;
  rollups: Record<RollupResolution, Aggregates>;
}

/**
 * Compacts one window: its stored chunk (if any) merged with its uncompacted samples (`pending`, not
 * empty), re-encoded, with all its rollups. The merged data is a superset of the old chunk's.
 */
export function compactChunk(old: Uint8Array | undefined, pending: Block): CompactedChunk {
  const block = old ? mergeBlocks(decodeBlock(old), pending) : pending;
  const rollups = rollupsOf(block);
  const rollup = encodeAggregates(rollups["1m"]);
  const data = encodeBlock(block);
  return {
    nRows: block.ts.length,
    nValues: countValues(block),
    firstTs: block.ts[0]!,
    lastTs: block.ts[block.ts.length - 1]!,
    nBytes: rollup.length + data.length,
    rollup,
    data,
    rollups,
  };
}
