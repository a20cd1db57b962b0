/**
 * History queries without SQL: which resolution answers a range in at most `points` points, and the
 * columnar `Series` (src/store/ports.ts) built from raw blocks or rollups.
 *
 * Point widths come from a ladder of round steps — 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 min, then 1,
 * 2, 3, 4, 6, 8, 12 h, then whole days — and the finest step whose aligned bucket count fits `points`
 * is taken; it is computed from the coarsest stored rollup that divides it (1 min, 1 h or 1 d). Round
 * steps keep chart ticks readable, and taking the finest fitting step uses the points asked for
 * instead of, say, 365 daily points for a year when 1460 six-hour points fit.
 */
import type { Resolution, Series } from "../ports.js";
import type { Block } from "./block.js";
import { type Aggregates, aggregate, coarsen } from "./rollup.js";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export type RollupResolution = Exclude<Resolution, "raw">;

/** Bucket width of each stored rollup. */
export const ROLLUP_MS: Readonly<Record<RollupResolution, number>> = {
  "1m": MINUTE_MS,
  "1h": HOUR_MS,
  "1d": DAY_MS,
};

const SUB_DAY_STEPS: readonly number[] = [
  ...[1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].map((m) => m * MINUTE_MS),
  ...[1, 2, 3, 4, 6, 8, 12].map((h) => h * HOUR_MS),
];

/** Aligned buckets of width `bucketMs` that overlap [from, to). */
export function bucketCount(fromMs: number, toMs: number, bucketMs: number): number {
  if (toMs <= fromMs) return 0;
  return Math.floor((toMs - 1) / bucketMs) - Math.floor(fromMs / bucketMs) + 1;
}

/** The coarsest stored rollup whose buckets divide `stepMs`. */
export function baseResolution(stepMs: number): RollupResolution {
  if (stepMs % DAY_MS === 0) return "1d";
  if (stepMs % HOUR_MS === 0) return "1h";
  return "1m";
}

export interface Choice {
  resolution: Resolution;
  /** Point width (null for raw). */
  bucketMs: number | null;
}

/**
 * Resolution of a history query: raw when `rawCount` (samples in the range; pass any number > points
 * when counting stopped early) fits `points`, else the finest ladder step with at most `points` aligned
 * buckets. `finest` excludes resolutions finer than it (e.g. "1h" once raw samples and their 1-minute
 * rollups were dropped by retention).
 */
export function chooseResolution(o: {
  fromMs: number;
  toMs: number;
  points: number;
  rawCount: number;
  finest?: Resolution;
}): Choice {
  const points = Math.max(1, Math.floor(o.points));
  const finest = o.finest ?? "raw";
  if (finest === "raw" && o.rawCount <= points) return { resolution: "raw", bucketMs: null };
  const minStep = finest === "raw" ? MINUTE_MS : ROLLUP_MS[finest];
  for (const step of SUB_DAY_STEPS) {
    if (step < minStep) continue;
    if (bucketCount(o.fromMs, o.toMs, step) <= points)
      return { resolution: baseResolution(step), bucketMs: step };
  }
  let days = Math.max(1, Math.ceil(bucketCount(o.fromMs, o.toMs, DAY_MS) / points));
  while (bucketCount(o.fromMs, o.toMs, days * DAY_MS) > points) days++;
  return { resolution: "1d", bucketMs: days * DAY_MS };
}

/**
 * Raw series of a time-ordered block: rows with at least one of `signals`, null where a signal has no
 * value.
 */
export function rawSeries(block: Block, signals: readonly string[]): Series {
  const cols = signals.map((s) => block.columns.get(s));
  const t: number[] = [];
  const values: Record<string, (number | null)[]> = {};
  for (const s of signals) values[s] = [];
  const outs = signals.map((s) => values[s]!);
  for (let i = 0; i < block.ts.length; i++) {
    let any = false;
    for (const c of cols) if (c && !Number.isNaN(c[i])) any = true;
    if (!any) continue;
    t.push(block.ts[i]!);
    for (let j = 0; j < cols.length; j++) {
      const v = cols[j]?.[i];
      outs[j]!.push(v === undefined || Number.isNaN(v) ? null : v);
    }
  }
  return { resolution: "raw", bucketMs: null, t, values };
}

/**
 * Aggregated series: one point per bucket in which any of `signals` has a value (empty buckets are
 * left out; a gap shows as a step larger than `bucketMs`), with means and min/max bands.
 */
export function aggregateSeries(
  agg: Aggregates,
  signals: readonly string[],
  resolution: RollupResolution,
): Series {
  const present = signals.map((s) => agg.signals.get(s));
  const stamps = new Set<number>();
  for (const s of present) if (s) for (const t of s.t) stamps.add(t);
  const t = [...stamps].sort((a, b) => a - b);
  const values: Record<string, (number | null)[]> = {};
  const min: Record<string, (number | null)[]> = {};
  const max: Record<string, (number | null)[]> = {};
  for (let j = 0; j < signals.length; j++) {
    const name = signals[j]!;
    const s = present[j];
    const mean: (number | null)[] = new Array(t.length).fill(null);
    const lo: (number | null)[] = new Array(t.length).fill(null);
    const hi: (number | null)[] = new Array(t.length).fill(null);
    if (s) {
      let k = 0;
      for (let i = 0; i < s.t.length; i++) {
        while (t[k]! < s.t[i]!) k++;
        mean[k] = s.sum[i]! / s.count[i]!;
        lo[k] = s.min[i]!;
        hi[k] = s.max[i]!;
      }
    }
    values[name] = mean;
    min[name] = lo;
    max[name] = hi;
  }
  return { resolution, bucketMs: agg.bucketMs, t, values, min, max };
}

/** The three stored rollups of a time-ordered block: 1-minute buckets merged into hours and days. */
export function rollupsOf(block: Block): Record<RollupResolution, Aggregates> {
  const m = aggregate(block, MINUTE_MS);
  const h = coarsen(m, HOUR_MS);
  return { "1m": m, "1h": h, "1d": coarsen(h, DAY_MS) };
}
