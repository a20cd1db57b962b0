import type { Sample } from "../../core/sample.js";
import type { Series, SeriesQuery } from "../ports.js";
import {
  type Aggregates,
  aggregate,
  aggregateSeries,
  type Block,
  blockToSamples,
  bucketStart,
  type Choice,
  chooseResolution,
  lowerBound,
  MINUTE_MS,
  ROLLUP_MS,
  RollupAccumulator,
  type RollupResolution,
  rawSeries,
  type StoredRollup,
  WINDOW_MS,
  type WindowRef,
  windowStart,
} from "../timeseries/index.js";
import type { ChunkTables } from "./chunks.js";

/**
 * Read side of the SQLite telemetry store: chunks and uncompacted samples merged window by window, so
 * that every answer is exact whether or not compaction has run.
 */
export class History {
  readonly #t: ChunkTables;

  constructor(tables: ChunkTables) {
    this.#t = tables;
  }

  /**
   * Windows of a device overlapping [from, to) that hold chunks or uncompacted samples, in order,
   * found by index seeks (two per window), lazily: each step looks at the tables afresh.
   */
  *windows(deviceId: string, fromMs: number, toMs: number): Generator<WindowRef> {
    let w = windowStart(fromMs);
    while (w < toMs) {
      const chunk = this.#t.nextChunk(deviceId, w);
      const pendingTs = this.#t.nextPendingTs(deviceId, Math.max(w, fromMs));
      const chunkStart = chunk && chunk.start < toMs ? chunk.start : Number.POSITIVE_INFINITY;
      const pendingStart =
        pendingTs !== undefined && pendingTs < toMs ? windowStart(pendingTs) : Number.POSITIVE_INFINITY;
      const start = Math.min(chunkStart, pendingStart);
      if (start === Number.POSITIVE_INFINITY) return;
      yield { start, chunk: chunkStart === start ? chunk : undefined, pending: pendingStart === start };
      w = start + WINDOW_MS;
    }
  }

  /** Samples in [from, to), one window per page; only `signals` when given. */
  *pages(deviceId: string, fromMs: number, toMs: number, signals?: readonly string[]): Generator<Sample[]> {
    for (const w of this.windows(deviceId, fromMs, toMs)) {
      const page = blockToSamples(this.#t.readWindow(deviceId, w.start, fromMs, toMs, signals), signals);
      if (page.length > 0) yield page;
    }
  }

  querySamples(deviceId: string, fromMs: number, toMs: number, limit: number): Sample[] {
    const out: Sample[] = [];
    if (limit <= 0) return out;
    for (const page of this.pages(deviceId, fromMs, toMs)) {
      for (const s of page) {
        out.push(s);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** Rows in [from, to), counted until the count exceeds `cap`. */
  #rawCount(deviceId: string, fromMs: number, toMs: number, cap: number): number {
    let n = this.#t.countPending(deviceId, fromMs, toMs, cap + 1);
    for (const w of this.windows(deviceId, fromMs, toMs)) {
      if (n > cap) break;
      const c = w.chunk;
      if (!c) continue;
      if (c.firstTs >= fromMs && c.lastTs < toMs) n += c.nRows;
      else {
        const ts = this.#t.chunkTimestamps(deviceId, c.start);
        n += lowerBound(ts, toMs) - lowerBound(ts, fromMs);
      }
    }
    return n;
  }

  /** Finest resolution with data for the whole range: 1 h when raw data older than `from` was dropped. */
  #finest(q: SeriesQuery): "raw" | "1h" {
    const first = this.#t.nextChunk(q.deviceId, Number.MIN_SAFE_INTEGER)?.firstTs;
    const pending = this.#t.nextPendingTs(q.deviceId);
    const earliestRaw = Math.min(first ?? Number.POSITIVE_INFINITY, pending ?? Number.POSITIVE_INFINITY);
    if (q.fromMs >= earliestRaw) return "raw";
    const gapEnd = Math.min(earliestRaw, q.toMs);
    return this.#t.hasHourRollups(q.deviceId, q.fromMs, gapEnd) ? "1h" : "raw";
  }

  querySeries(q: SeriesQuery): Series {
    const points = Math.max(1, Math.floor(q.points));
    const finest = this.#finest(q);
    const rawCount =
      finest === "raw" ? this.#rawCount(q.deviceId, q.fromMs, q.toMs, points) : Number.POSITIVE_INFINITY;
    const choice = chooseResolution({ fromMs: q.fromMs, toMs: q.toMs, points, rawCount, finest });
    if (choice.resolution === "raw") return this.#rawSeries(q);
    return this.#aggregated(q, choice);
  }

  #rawSeries(q: SeriesQuery): Series {
    const series: Series = { resolution: "raw", bucketMs: null, t: [], values: {} };
    for (const s of q.signals) series.values[s] = [];
    for (const w of this.windows(q.deviceId, q.fromMs, q.toMs)) {
      const part = rawSeries(this.#t.readWindow(q.deviceId, w.start, q.fromMs, q.toMs, q.signals), q.signals);
      for (const t of part.t) series.t.push(t);
      for (const s of q.signals) for (const v of part.values[s]!) series.values[s]!.push(v);
    }
    return series;
  }

  /**
   * Aggregated series over whole point buckets (the first and last may reach beyond [from, to)):
   * stored rollups where a window is compacted, rollups computed from the merged raw samples where it
   * has uncompacted ones.
   */
  #aggregated(q: SeriesQuery, choice: Choice): Series {
    const step = choice.bucketMs!;
    const res = choice.resolution as RollupResolution;
    const from = bucketStart(q.fromMs, step);
    const to = bucketStart(q.toMs - 1, step) + step;
    const acc = new RollupAccumulator(step);
    if (res === "1m") this.#minuteRollups(q, from, to, acc);
    else this.#storedRollups(q, res, from, to, acc);
    return aggregateSeries(acc.result(), q.signals, res);
  }

  /** Rollups of one window computed from its raw samples (chunk and uncompacted rows merged). */
  #fromRaw(q: SeriesQuery, start: number, from: number, to: number, bucketMs: number): Aggregates {
    const block: Block = this.#t.readWindow(q.deviceId, start, from, to, q.signals);
    return aggregate(block, bucketMs, q.signals);
  }

  /**
   * Per window its 1-minute rollups: stored ones for a compacted window, computed from raw for one with
   * uncompacted samples; merged into the points as they come (no intermediate minute arrays).
   */
  #minuteRollups(q: SeriesQuery, from: number, to: number, acc: RollupAccumulator): void {
    for (const w of this.windows(q.deviceId, from, to)) {
      const stored = w.chunk && !w.pending ? this.#t.chunkRollup(q.deviceId, w.start, q.signals) : undefined;
      acc.add(stored ?? this.#fromRaw(q, w.start, from, to, MINUTE_MS), from, to);
    }
  }

  #storedRollups(q: SeriesQuery, res: StoredRollup, from: number, to: number, acc: RollupAccumulator): void {
    // Windows with uncompacted samples are computed from raw; the stored rollups cover the spans between.
    let at = from;
    for (let ts = this.#t.nextPendingTs(q.deviceId, from); ts !== undefined && ts < to; ) {
      const w = windowStart(ts);
      const lo = Math.max(w, from);
      const hi = Math.min(w + WINDOW_MS, to);
      if (lo > at) this.#t.storedRollups(res, q.deviceId, q.signals, at, lo, acc);
      acc.add(this.#fromRaw(q, w, lo, hi, ROLLUP_MS[res]));
      at = hi;
      ts = this.#t.nextPendingTs(q.deviceId, hi);
    }
    if (to > at) this.#t.storedRollups(res, q.deviceId, q.signals, at, to, acc);
  }
}
