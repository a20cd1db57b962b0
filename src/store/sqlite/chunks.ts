import type { Sample } from "../../core/sample.js";
import {
  allocate,
  type Block,
  blockFromSamples,
  type ChunkMeta,
  compactChunk,
  decodeAggregates,
  decodeBlock,
  decodeBlockTimestamps,
  emptyBlock,
  encodeAggregates,
  mergeBlocks,
  type RollupAccumulator,
  type SignalAggregates,
  type StoredRollup,
  sliceBlock,
  WINDOW_MS,
  windowStart,
} from "../timeseries/index.js";
import type { Db } from "./db.js";

const MIN_TS = Number.MIN_SAFE_INTEGER;
/** Estimated bytes per uncompacted row beyond its JSON (ts, rowid, record header, index entry). */
const SAMPLE_ROW_OVERHEAD = 30;
/** Estimated bytes per 1-day rollup row beyond its key texts (record, cell and page overhead). */
const DAY_ROW_BYTES = 60;

/**
 * SQL of the compressed telemetry tables (migration 3 of ../migrations.ts): chunk rows, uncompacted
 * sample rows, 1-hour rollups (one encoded row per device and day) and 1-day rollup rows. Every lookup
 * is an index seek or an index range: nothing here scans a table row by row except `usage()` (per
 * device totals) and the uncompacted rows of one window.
 */
export class ChunkTables {
  readonly #db: Db;
  readonly #s;

  constructor(db: Db) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      nextChunk: p(
        `SELECT start_ms, n_rows, n_values, first_ts, last_ts FROM chunks
         WHERE device_id = ? AND start_ms >= ? ORDER BY start_ms LIMIT 1`,
      ).raw(),
      chunkData: p("SELECT data FROM chunks WHERE device_id = ? AND start_ms = ?").pluck(),
      chunkRollup: p("SELECT rollup FROM chunks WHERE device_id = ? AND start_ms = ?").pluck(),
      nextPendingTs: p("SELECT ts FROM samples WHERE device_id = ? AND ts >= ? ORDER BY ts LIMIT 1").pluck(),
      nextPendingDevice: p(
        "SELECT device_id FROM samples WHERE device_id > ? ORDER BY device_id LIMIT 1",
      ).pluck(),
      pendingRows: p(
        "SELECT ts, vals FROM samples WHERE device_id = ? AND ts >= ? AND ts < ? ORDER BY ts, rowid",
      ).raw(),
      countPending: p(
        "SELECT count(*) FROM (SELECT 1 FROM samples WHERE device_id = ? AND ts >= ? AND ts < ? LIMIT ?)",
      ).pluck(),
      countPendingAll: p("SELECT count(*) FROM samples WHERE device_id = ?").pluck(),
      chunkTotals: p("SELECT coalesce(sum(n_rows), 0) FROM chunks WHERE device_id = ?").pluck(),
      putChunk: p(
        `INSERT OR REPLACE INTO chunks (device_id, start_ms, n_rows, n_values, first_ts, last_ts, n_bytes, rollup, data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deletePending: p("DELETE FROM samples WHERE device_id = ? AND ts >= ? AND ts < ?"),
      dropChunks: p("DELETE FROM chunks WHERE device_id = ? AND start_ms < ?"),
      dropPending: p("DELETE FROM samples WHERE device_id = ? AND ts < ?"),
      putHours: p("INSERT OR REPLACE INTO rollup_1h (device_id, day, data) VALUES (?, ?, ?)"),
      hours: p(
        "SELECT data FROM rollup_1h WHERE device_id = ? AND day >= ? AND day < ? ORDER BY day",
      ).pluck(),
      anyHours: p("SELECT 1 FROM rollup_1h WHERE device_id = ? AND day >= ? AND day < ? LIMIT 1"),
      dropHours: p("DELETE FROM rollup_1h WHERE device_id = ? AND day < ?"),
      putDay: p(
        `INSERT OR REPLACE INTO rollup_1d (device_id, signal, bucket, v_min, v_max, v_sum, n, last_ts, v_last)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      days: p(
        `SELECT bucket, n, v_min, v_max, v_sum, last_ts, v_last FROM rollup_1d
         WHERE device_id = ? AND signal = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
      ).raw(),
      dropDays: p("DELETE FROM rollup_1d WHERE device_id = ? AND signal = ? AND bucket < ?"),
      daySignals: p(
        // An index skip-scan: one seek per signal instead of reading the device's rows.
        `WITH RECURSIVE s(signal) AS (
           SELECT (SELECT min(signal) FROM rollup_1d WHERE device_id = @d)
           UNION ALL
           SELECT (SELECT min(signal) FROM rollup_1d WHERE device_id = @d AND signal > s.signal) FROM s
           WHERE s.signal IS NOT NULL)
         SELECT signal FROM s WHERE signal IS NOT NULL`,
      ).pluck(),
    };
  }

  /** The first chunk of a device starting at or after `atLeast`. */
  nextChunk(deviceId: string, atLeast: number): ChunkMeta | undefined {
    const r = this.#s.nextChunk.get(deviceId, atLeast) as number[] | undefined;
    return r && { start: r[0]!, nRows: r[1]!, nValues: r[2]!, firstTs: r[3]!, lastTs: r[4]! };
  }

  /** Timestamp of the first uncompacted sample of a device at or after `atLeast`. */
  nextPendingTs(deviceId: string, atLeast: number = MIN_TS): number | undefined {
    return this.#s.nextPendingTs.get(deviceId, atLeast) as number | undefined;
  }

  /** The first device (in id order) after `after` that has uncompacted samples. */
  nextPendingDevice(after: string): string | undefined {
    return this.#s.nextPendingDevice.get(after) as string | undefined;
  }

  /** Uncompacted samples with from ≤ ts < to, in time order (commit order on equal timestamps). */
  pendingBlock(deviceId: string, fromMs: number, toMs: number): Block {
    const rows = this.#s.pendingRows.all(deviceId, fromMs, toMs) as [number, string][];
    if (rows.length === 0) return emptyBlock();
    const samples: Sample[] = rows.map((r) => ({
      ts: r[0],
      values: JSON.parse(r[1]) as Record<string, number>,
    }));
    return blockFromSamples(samples);
  }

  /** Uncompacted samples in [from, to), counted up to `cap`. */
  countPending(deviceId: string, fromMs: number, toMs: number, cap: number): number {
    return this.#s.countPending.get(deviceId, fromMs, toMs, cap) as number;
  }

  /** All samples (rows) of a device, compacted or not. */
  countRows(deviceId: string): number {
    return (this.#s.chunkTotals.get(deviceId) as number) + (this.#s.countPendingAll.get(deviceId) as number);
  }

  /** Timestamps of a chunk (to count rows of a partly covered chunk). */
  chunkTimestamps(deviceId: string, start: number): Float64Array {
    const data = this.#s.chunkData.get(deviceId, start) as Buffer | undefined;
    return data ? decodeBlockTimestamps(data) : new Float64Array(0);
  }

  /** 1-minute rollups stored with a chunk, only the given signals. */
  chunkRollup(deviceId: string, start: number, signals: readonly string[]) {
    const buf = this.#s.chunkRollup.get(deviceId, start) as Buffer | undefined;
    return buf ? decodeAggregates(buf, signals) : undefined;
  }

  /**
   * All samples of one window within [from, to), chunk and uncompacted rows merged (chunk rows first on
   * equal timestamps: they were committed earlier), read in one transaction so that a concurrent
   * compaction is seen entirely or not at all.
   */
  readWindow(
    deviceId: string,
    start: number,
    fromMs: number,
    toMs: number,
    signals?: readonly string[],
  ): Block {
    const lo = Math.max(start, fromMs);
    const hi = Math.min(start + WINDOW_MS, toMs);
    return this.#db.transaction(() => {
      const data = this.#s.chunkData.get(deviceId, start) as Buffer | undefined;
      const chunk = data ? sliceBlock(decodeBlock(data, signals), lo, hi) : emptyBlock();
      const pending = this.pendingBlock(deviceId, lo, hi);
      if (signals) {
        for (const name of [...pending.columns.keys()]) {
          if (!signals.includes(name)) pending.columns.delete(name);
        }
      }
      return mergeBlocks(chunk, pending);
    })();
  }

  /**
   * Compresses one window: its chunk (if any) merged with its uncompacted samples is re-encoded, its
   * 1-hour and 1-day rollup rows rewritten and the uncompacted rows deleted, in one IMMEDIATE
   * transaction — a crash leaves the old state or the new one. The merged data is a superset of the
   * old chunk's, so every rollup row of the old state is replaced. Returns false when the window had
   * nothing to compact (another connection did it first).
   */
  compactWindow(deviceId: string, start: number): boolean {
    return this.#db
      .transaction(() => {
        const end = start + WINDOW_MS;
        const pending = this.pendingBlock(deviceId, start, end);
        if (pending.ts.length === 0) return false;
        const chunk = compactChunk(this.#s.chunkData.get(deviceId, start) as Buffer | undefined, pending);
        this.#s.putChunk.run(
          deviceId,
          start,
          chunk.nRows,
          chunk.nValues,
          chunk.firstTs,
          chunk.lastTs,
          chunk.nBytes,
          chunk.rollup,
          chunk.data,
        );
        this.#s.putHours.run(deviceId, start, encodeAggregates(chunk.rollups["1h"]));
        for (const [signal, a] of chunk.rollups["1d"].signals) {
          for (let i = 0; i < a.t.length; i++) {
            this.#s.putDay.run(
              deviceId,
              signal,
              a.t[i],
              a.min[i],
              a.max[i],
              a.sum[i],
              a.count[i],
              a.lastTs[i],
              a.last[i],
            );
          }
        }
        this.#s.deletePending.run(deviceId, start, end);
        return true;
      })
      .immediate();
  }

  /**
   * Adds the stored rollups of `signals` with from ≤ bucket < to (compacted windows only) to `acc`,
   * day by day as they are read.
   */
  storedRollups(
    res: StoredRollup,
    deviceId: string,
    signals: readonly string[],
    fromMs: number,
    toMs: number,
    acc: RollupAccumulator,
  ): void {
    if (res === "1h") {
      for (const buf of this.#s.hours.all(deviceId, windowStart(fromMs), toMs) as Buffer[]) {
        acc.add(decodeAggregates(buf, signals), fromMs, toMs);
      }
      return;
    }
    const out = new Map<string, SignalAggregates>();
    for (const signal of signals) {
      const rows = this.#s.days.all(deviceId, signal, fromMs, toMs) as number[][];
      if (rows.length > 0) out.set(signal, fromRows(rows));
    }
    acc.add({ bucketMs: WINDOW_MS, signals: out });
  }

  /** Whether stored 1-hour rollups of a device exist in [from, to). */
  hasHourRollups(deviceId: string, fromMs: number, toMs: number): boolean {
    return this.#s.anyHours.get(deviceId, windowStart(fromMs), toMs) !== undefined;
  }

  /**
   * Drops one device's chunks (and uncompacted samples) before `rawCutMs` and its rollups before
   * `rollupCutMs` (both window starts), in one transaction, by index ranges only.
   */
  dropBefore(deviceId: string, rawCutMs: number, rollupCutMs: number): { chunks: number; rollups: number } {
    return this.#db
      .transaction(() => {
        const chunks = this.#s.dropChunks.run(deviceId, rawCutMs).changes;
        this.#s.dropPending.run(deviceId, rawCutMs);
        let rollups = this.#s.dropHours.run(deviceId, rollupCutMs).changes;
        for (const signal of this.#s.daySignals.all({ d: deviceId }) as string[]) {
          rollups += this.#s.dropDays.run(deviceId, signal, rollupCutMs).changes;
        }
        return { chunks, rollups };
      })
      .immediate();
  }

  /**
   * Bytes and signal values per device: chunk blob sizes, plus estimates for uncompacted rows (their
   * JSON and row overhead) and 1-day rollup rows; 1-hour rollup blob sizes.
   */
  usage(): Map<string, { bytes: number; samples: number }> {
    const out = new Map<string, { bytes: number; samples: number }>();
    const add = (id: string, bytes: number, samples: number) => {
      const u = out.get(id) ?? { bytes: 0, samples: 0 };
      u.bytes += bytes;
      u.samples += samples;
      out.set(id, u);
    };
    const chunkRows = this.#db
      .prepare("SELECT device_id, sum(n_bytes), sum(n_values) FROM chunks GROUP BY device_id")
      .raw()
      .all() as [string, number, number][];
    for (const [id, bytes, values] of chunkRows) add(id, bytes, values);
    const pendingRows = this.#db
      .prepare(
        `SELECT device_id, sum(length(vals) + ${SAMPLE_ROW_OVERHEAD} + length(device_id)),
              sum((SELECT count(*) FROM json_each(vals))) FROM samples GROUP BY device_id`,
      )
      .raw()
      .all() as [string, number, number][];
    for (const [id, bytes, values] of pendingRows) add(id, bytes, values);
    const hourRows = this.#db
      .prepare("SELECT device_id, sum(length(data)) FROM rollup_1h GROUP BY device_id")
      .raw()
      .all() as [string, number][];
    for (const [id, bytes] of hourRows) add(id, bytes + id.length + SAMPLE_ROW_OVERHEAD, 0);
    const dayRows = this.#db
      .prepare("SELECT device_id, count(*), sum(length(signal)) FROM rollup_1d GROUP BY device_id")
      .raw()
      .all() as [string, number, number][];
    for (const [id, rows, signalBytes] of dayRows)
      add(id, rows * (DAY_ROW_BYTES + id.length) + signalBytes, 0);
    return out;
  }
}

function fromRows(rows: number[][]): SignalAggregates {
  const n = rows.length;
  const a = allocate(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    a.t[i] = r[0]!;
    a.count[i] = r[1]!;
    a.min[i] = r[2]!;
    a.max[i] = r[3]!;
    a.sum[i] = r[4]!;
    a.lastTs[i] = r[5]!;
    a.last[i] = r[6]!;
  }
  return a;
}
