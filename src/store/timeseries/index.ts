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
  bucketStart,
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

import { DAY_MS } from "./series.js";

/** Width of a chunk window: one UTC day. Every rollup width (1 min, 1 h, 1 d) divides it. */
export const WINDOW_MS = DAY_MS;

/** Start of the chunk window holding `ts`. */
export function windowStart(ts: number): number {
  return Math.floor(ts / WINDOW_MS) * WINDOW_MS;
}
