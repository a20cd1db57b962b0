import type { Sample } from "../../core/sample.js";
import type { Series, SeriesQuery } from "../ports.js";
import {
  type Aggregates,
  aggregate,
  aggregateSeries,
  blockToSamples,
  bucketStart,
  type Choice,
  chooseResolution,
  clip,
  coarsen,
  concatAggregates,
  lowerBound,
  MINUTE_MS,
  ROLLUP_MS,
  type RollupResolution,
  rawSeries,
  type StoredRollup,
  WINDOW_MS,
  type WindowRef,
  windowStart,
} from "../timeseries/index.js";
import type { PgChunks } from "./chunks.js";

/** Windows of uncompacted samples read per statement when rollups must be computed from raw data. */
const RAW_WINDOWS_PER_READ = 4;

/**
 * Read side of the PostgreSQL telemetry store: chunks and uncompacted samples merged window by window,
 * so every answer is exact whether or not compaction has run — the same answers as SQLite's
 * (src/store/sqlite/history.ts; both pass test/helpers/store-contract-history.ts), with the same pure
 * parts (src/store/timeseries), but with a few set-based statements per query instead of index seeks
 * per window, because here each statement is a network round trip.
 */
export class PgHistory {
  readonly #t: PgChunks;

  constructor(tables: PgChunks) {
    this.#t = tables;
  }

  /**
   * Samples in [from, to), one window per page (only `signals` when given): two statements per page,
   * and the next window is looked up afresh, so a window compacted in between is read once.
   */
  async *pages(
    deviceId: string,
    fromMs: number,
    toMs: number,
    signals?: readonly string[],
  ): AsyncGenerator<Sample[]> {
    for (let at = windowStart(fromMs); ; ) {
      const w = await this.#t.nextWindow(deviceId, at, fromMs, toMs);
      if (w === undefined) return;
      const block = (await this.#t.readWindows(deviceId, [w], fromMs, toMs, signals)).get(w)!;
      const page = blockToSamples(block, signals);
      if (page.length > 0) yield page;
      at = w + WINDOW_MS;
    }
  }

  async querySamples(deviceId: string, fromMs: number, toMs: number, limit: number): Promise<Sample[]> {
    const out: Sample[] = [];
    if (limit <= 0) return out;
    for await (const page of this.pages(deviceId, fromMs, toMs)) {
      for (const s of page) {
        out.push(s);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  async querySeries(q: SeriesQuery): Promise<Series> {
    const points = Math.max(1, Math.floor(q.points));
    const finest = await this.#finest(q);
    const windows = finest === "raw" ? await this.#t.windows(q.deviceId, q.fromMs, q.toMs) : [];
    const rawCount = finest === "raw" ? await this.#rawCount(q, windows, points) : Number.POSITIVE_INFINITY;
    const choice = chooseResolution({ fromMs: q.fromMs, toMs: q.toMs, points, rawCount, finest });
    if (choice.resolution === "raw") return this.#rawSeries(q, windows);
    return this.#aggregated(q, choice);
  }

  /** Finest resolution with data for the whole range: 1 h when raw data older than `from` was dropped. */
  async #finest(q: SeriesQuery): Promise<"raw" | "1h"> {
    const earliestRaw = (await this.#t.earliestRaw(q.deviceId)) ?? Number.POSITIVE_INFINITY;
    if (q.fromMs >= earliestRaw) return "raw";
    const gapEnd = Math.min(earliestRaw, q.toMs);
    const hours = await this.#t.hasHourRollups(q.deviceId, bucketStart(q.fromMs, ROLLUP_MS["1h"]), gapEnd);
    return hours ? "1h" : "raw";
  }

  /** Rows in [from, to), counted until the count exceeds `cap`. */
  async #rawCount(q: SeriesQuery, windows: readonly WindowRef[], cap: number): Promise<number> {
    let n = await this.#t.countPending(q.deviceId, q.fromMs, q.toMs, cap + 1);
    const partial: number[] = [];
    for (const { chunk: c } of windows) {
      if (!c) continue;
      if (c.firstTs >= q.fromMs && c.lastTs < q.toMs) n += c.nRows;
      else partial.push(c.start);
    }
    if (n > cap) return n;
    for (const ts of await this.#t.chunkTimestamps(q.deviceId, partial)) {
      n += lowerBound(ts, q.toMs) - lowerBound(ts, q.fromMs);
    }
    return n;
  }

  async #rawSeries(q: SeriesQuery, windows: readonly WindowRef[]): Promise<Series> {
    const series: Series = { resolution: "raw", bucketMs: null, t: [], values: {} };
    for (const s of q.signals) series.values[s] = [];
    const starts = windows.map((w) => w.start);
    // Raw is chosen only when the range holds at most `points` samples: one read for all windows.
    const blocks = await this.#t.readWindows(q.deviceId, starts, q.fromMs, q.toMs, q.signals);
    for (const start of starts) {
      const part = rawSeries(blocks.get(start)!, q.signals);
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
  async #aggregated(q: SeriesQuery, choice: Choice): Promise<Series> {
    const step = choice.bucketMs!;
    const res = choice.resolution as RollupResolution;
    const from = bucketStart(q.fromMs, step);
    const to = bucketStart(q.toMs - 1, step) + step;
    const windows = await this.#t.windows(q.deviceId, from, to);
    const base =
      res === "1m"
        ? await this.#minuteRollups(q, windows, from, to)
        : await this.#storedRollups(q, res, windows, from, to);
    return aggregateSeries(coarsen(base, step), q.signals, res);
  }

  /** Rollups of `bucketMs` computed from the raw samples of some windows, by window start. */
  async #fromRaw(q: SeriesQuery, starts: readonly number[], from: number, to: number, bucketMs: number) {
    const out = new Map<number, Aggregates>();
    for (let i = 0; i < starts.length; i += RAW_WINDOWS_PER_READ) {
      const batch = starts.slice(i, i + RAW_WINDOWS_PER_READ);
      const blocks = await this.#t.readWindows(q.deviceId, batch, from, to, q.signals);
      for (const [start, block] of blocks) out.set(start, aggregate(block, bucketMs, q.signals));
    }
    return out;
  }

  async #minuteRollups(q: SeriesQuery, windows: readonly WindowRef[], from: number, to: number) {
    const compacted = windows.filter((w) => w.chunk && !w.pending).map((w) => w.start);
    const stored = await this.#t.chunkRollups(q.deviceId, compacted, q.signals);
    const raw = await this.#fromRaw(
      q,
      windows.filter((w) => !stored.has(w.start)).map((w) => w.start),
      from,
      to,
      MINUTE_MS,
    );
    const parts = windows.map((w) => {
      const s = stored.get(w.start);
      return s ? clip(s, from, to) : raw.get(w.start)!;
    });
    return concatAggregates(MINUTE_MS, parts);
  }

  async #storedRollups(
    q: SeriesQuery,
    res: StoredRollup,
    windows: readonly WindowRef[],
    from: number,
    to: number,
  ) {
    const bucketMs = ROLLUP_MS[res];
    // Windows with uncompacted samples are computed from raw; the stored rollups cover the spans between.
    const pending = windows.filter((w) => w.pending).map((w) => w.start);
    const [stored, raw] = await Promise.all([
      this.#t.storedRollups(res, q.deviceId, q.signals, from, to),
      this.#fromRaw(q, pending, from, to, bucketMs),
    ]);
    const parts: Aggregates[] = [];
    let at = from;
    for (const start of pending) {
      const lo = Math.max(start, from);
      const hi = Math.min(start + WINDOW_MS, to);
      if (lo > at) parts.push(clip(stored, at, lo));
      parts.push(raw.get(start)!);
      at = hi;
    }
    if (to > at) parts.push(clip(stored, at, to));
    return concatAggregates(bucketMs, parts);
  }
}
