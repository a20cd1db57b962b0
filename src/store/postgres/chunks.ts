import type { Sample } from "../../core/sample.js";
import {
  type Aggregates,
  allocate,
  type Block,
  blockFromSamples,
  clip,
  concatAggregates,
  decodeAggregates,
  decodeBlock,
  decodeBlockTimestamps,
  emptyBlock,
  HOUR_MS,
  mergeBlocks,
  type SignalAggregates,
  type StoredRollup,
  sliceBlock,
  WINDOW_MS,
  type WindowRef,
  windowStart,
} from "../timeseries/index.js";
import type { PgDb } from "./pool.js";

/** Window start of a BIGINT epoch-ms expression, floored also for times before 1970. */
const WINDOW_OF = (col: string) => `(${col} - ((${col} % ${WINDOW_MS}) + ${WINDOW_MS}) % ${WINDOW_MS})`;

// One 1-day rollup row packed as bytes by the server: bucket int8, n int4, min, max, sum float8, last_ts
// int8, last float8 (big-endian, as int8send/float8send write them).
const PACKED_ROLLUP = 52;

/**
 * Reads of the compressed telemetry tables on PostgreSQL (schema: src/store/migrations.ts, version 3).
 * Unlike SQLite, every round trip costs a network hop, so reads are set-based: one statement finds all
 * windows of a range, one fetches all blobs a query needs, and data that must be consistent (a chunk
 * and the uncompacted rows of its window) comes from one statement, i.e. one snapshot.
 */
export class PgChunks {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  /**
   * Windows overlapping [from, to) that hold a chunk or uncompacted samples, in time order: chunks by
   * an index range, uncompacted windows by one index seek each (a loose index scan).
   */
  async windows(deviceId: string, fromMs: number, toMs: number): Promise<WindowRef[]> {
    const { rows } = await this.#db.queryArray<[number, number, number, number, number, number]>({
      name: "pw_windows",
      text: `WITH RECURSIVE p(w) AS (
               SELECT (SELECT ${WINDOW_OF("ts")} FROM samples WHERE device_id = $1 AND ts >= $2 AND ts < $3
                       ORDER BY ts LIMIT 1)
               UNION ALL
               SELECT (SELECT ${WINDOW_OF("ts")} FROM samples WHERE device_id = $1 AND ts >= p.w + ${WINDOW_MS}
                       AND ts < $3 ORDER BY ts LIMIT 1) FROM p WHERE p.w IS NOT NULL)
             SELECT 0, w, 0, 0, 0, 0 FROM p WHERE w IS NOT NULL
             UNION ALL
             SELECT 1, start_ms, n_rows, n_values, first_ts, last_ts FROM chunks
             WHERE device_id = $1 AND start_ms >= $4 AND start_ms < $3`,
      values: [deviceId, fromMs, toMs, windowStart(fromMs)],
    });
    const byStart = new Map<number, WindowRef>();
    for (const [kind, start, nRows, nValues, firstTs, lastTs] of rows) {
      const w = byStart.get(start) ?? { start, chunk: undefined, pending: false };
      if (kind === 0) w.pending = true;
      else w.chunk = { start, nRows, nValues, firstTs, lastTs };
      byStart.set(start, w);
    }
    return [...byStart.values()].sort((a, b) => a.start - b.start);
  }

  /**
   * All samples of the given windows within [from, to), chunk and uncompacted rows merged per window
   * (chunk rows first on equal timestamps: they were committed earlier), from one statement so that a
   * concurrent compaction is seen entirely or not at all. Only `signals` when given.
   */
  async readWindows(
    deviceId: string,
    starts: readonly number[],
    fromMs: number,
    toMs: number,
    signals?: readonly string[],
  ): Promise<Map<number, Block>> {
    const out = new Map<number, Block>();
    if (starts.length === 0) return out;
    const lo = Math.max(fromMs, Math.min(...starts));
    const hi = Math.min(toMs, Math.max(...starts) + WINDOW_MS);
    type Row = [number | null, Buffer | null, number | null, number | null, string | null];
    const { rows } = await this.#db.queryArray<Row>({
      name: "pw_read_windows",
      text: `SELECT start_ms, data, NULL::bigint, NULL::bigint, NULL::text FROM chunks
             WHERE device_id = $1 AND start_ms = ANY($2::bigint[])
             UNION ALL
             SELECT NULL, NULL, ts, seq, vals FROM samples WHERE device_id = $1 AND ts >= $3 AND ts < $4`,
      values: [deviceId, starts, lo, hi],
    });
    const chunks = new Map<number, Buffer>();
    const raw: { ts: number; seq: number; vals: string }[] = [];
    for (const [start, data, ts, seq, vals] of rows) {
      if (data !== null) chunks.set(start!, data);
      else raw.push({ ts: ts!, seq: seq!, vals: vals! });
    }
    // Sorted here rather than by the server, which would have to sort the chunk blobs along.
    raw.sort((x, y) => x.ts - y.ts || x.seq - y.seq);
    const pending = new Map<number, Sample[]>();
    for (const r of raw) {
      const w = windowStart(r.ts);
      const list = pending.get(w) ?? [];
      list.push({ ts: r.ts, values: JSON.parse(r.vals) as Record<string, number> });
      pending.set(w, list);
    }
    for (const start of starts) {
      const a = Math.max(start, fromMs);
      const b = Math.min(start + WINDOW_MS, toMs);
      const data = chunks.get(start);
      const chunk = data ? sliceBlock(decodeBlock(data, signals), a, b) : emptyBlock();
      const raw = blockFromSamples(pending.get(start) ?? []);
      if (signals)
        for (const name of [...raw.columns.keys()]) if (!signals.includes(name)) raw.columns.delete(name);
      out.set(start, mergeBlocks(chunk, raw));
    }
    return out;
  }

  /** The next window at or after `atLeast` (and before `toMs`) holding samples at or after `fromMs`. */
  async nextWindow(
    deviceId: string,
    atLeast: number,
    fromMs: number,
    toMs: number,
  ): Promise<number | undefined> {
    const { rows } = await this.#db.queryArray<[number | null]>({
      name: "pw_next_window",
      text: `SELECT least(
               (SELECT start_ms FROM chunks WHERE device_id = $1 AND start_ms >= $2 AND start_ms < $4
                ORDER BY start_ms LIMIT 1),
               (SELECT ${WINDOW_OF("ts")} FROM samples WHERE device_id = $1 AND ts >= $3 AND ts < $4
                ORDER BY ts LIMIT 1))`,
      values: [deviceId, atLeast, Math.max(atLeast, fromMs), toMs],
    });
    return rows[0]?.[0] ?? undefined;
  }

  /** Uncompacted samples in [from, to), counted up to `cap`. */
  async countPending(deviceId: string, fromMs: number, toMs: number, cap: number): Promise<number> {
    const { rows } = await this.#db.query<{ n: number }>({
      name: "pw_count_pending",
      text: "SELECT count(*) AS n FROM (SELECT 1 FROM samples WHERE device_id = $1 AND ts >= $2 AND ts < $3 LIMIT $4) s",
      values: [deviceId, fromMs, toMs, cap],
    });
    return rows[0]!.n;
  }

  /** All samples (rows) of a device, compacted or not. */
  async countRows(deviceId: string): Promise<number> {
    const { rows } = await this.#db.query<{ n: number }>(
      `SELECT (SELECT coalesce(sum(n_rows), 0) FROM chunks WHERE device_id = $1)::bigint
            + (SELECT count(*) FROM samples WHERE device_id = $1) AS n`,
      [deviceId],
    );
    return rows[0]!.n;
  }

  /** Timestamps of some chunks (to count rows of partly covered chunks). */
  async chunkTimestamps(deviceId: string, starts: readonly number[]): Promise<Float64Array[]> {
    if (starts.length === 0) return [];
    const { rows } = await this.#db.queryArray<[Buffer]>({
      text: "SELECT data FROM chunks WHERE device_id = $1 AND start_ms = ANY($2::bigint[])",
      values: [deviceId, starts],
    });
    return rows.map(([data]) => decodeBlockTimestamps(data));
  }

  /** 1-minute rollups stored with some chunks, only the given signals, by chunk start. */
  async chunkRollups(deviceId: string, starts: readonly number[], signals: readonly string[]) {
    const out = new Map<number, Aggregates>();
    if (starts.length === 0) return out;
    const { rows } = await this.#db.queryArray<[number, Buffer]>({
      text: "SELECT start_ms, rollup FROM chunks WHERE device_id = $1 AND start_ms = ANY($2::bigint[])",
      values: [deviceId, starts],
    });
    for (const [start, buf] of rows) out.set(start, decodeAggregates(buf, signals));
    return out;
  }

  /** Timestamp of the earliest raw sample of a device (chunk or uncompacted), if any. */
  async earliestRaw(deviceId: string): Promise<number | undefined> {
    const { rows } = await this.#db.queryArray<[number | null]>({
      text: `SELECT least((SELECT first_ts FROM chunks WHERE device_id = $1 ORDER BY start_ms LIMIT 1),
                          (SELECT ts FROM samples WHERE device_id = $1 ORDER BY ts LIMIT 1))`,
      values: [deviceId],
    });
    return rows[0]?.[0] ?? undefined;
  }

  /** Whether stored 1-hour rollups of a device exist in [from, to). */
  async hasHourRollups(deviceId: string, fromMs: number, toMs: number): Promise<boolean> {
    const { rows } = await this.#db.query(
      "SELECT 1 FROM rollup_1h WHERE device_id = $1 AND day >= $2 AND day < $3 LIMIT 1",
      [deviceId, windowStart(fromMs), toMs],
    );
    return rows.length > 0;
  }

  /** Stored rollups of `signals` with from ≤ bucket < to (buckets of compacted windows only). */
  async storedRollups(
    res: StoredRollup,
    deviceId: string,
    signals: readonly string[],
    fromMs: number,
    toMs: number,
  ): Promise<Aggregates> {
    if (res === "1h") {
      const { rows } = await this.#db.queryArray<[Buffer]>({
        name: "pw_hour_rollups",
        text: "SELECT data FROM rollup_1h WHERE device_id = $1 AND day >= $2 AND day < $3 ORDER BY day",
        values: [deviceId, windowStart(fromMs), toMs],
      });
      return concatAggregates(
        HOUR_MS,
        rows.map(([buf]) => clip(decodeAggregates(buf, signals), fromMs, toMs)),
      );
    }
    // Daily rows: 365 per signal and year. The server packs each signal's rows into one bytea, which
    // the client reads far faster than as rows.
    const { rows } = await this.#db.queryArray<[string, Buffer]>({
      name: "pw_day_rollups",
      text: `SELECT signal, string_agg(int8send(bucket) || int4send(n) || float8send(v_min) || float8send(v_max)
               || float8send(v_sum) || int8send(last_ts) || float8send(v_last), '' ORDER BY bucket)
             FROM rollup_1d WHERE device_id = $1 AND signal = ANY($2) AND bucket >= $3 AND bucket < $4
             GROUP BY signal`,
      values: [deviceId, signals, fromMs, toMs],
    });
    const out = new Map<string, SignalAggregates>();
    for (const [signal, buf] of rows) out.set(signal, unpackRollups(buf));
    return { bucketMs: WINDOW_MS, signals: out };
  }
}

function unpackRollups(buf: Buffer): SignalAggregates {
  const n = buf.length / PACKED_ROLLUP;
  const a = allocate(n);
  for (let i = 0, o = 0; i < n; i++, o += PACKED_ROLLUP) {
    a.t[i] = Number(buf.readBigInt64BE(o));
    a.count[i] = buf.readInt32BE(o + 8);
    a.min[i] = buf.readDoubleBE(o + 12);
    a.max[i] = buf.readDoubleBE(o + 20);
    a.sum[i] = buf.readDoubleBE(o + 28);
    a.lastTs[i] = Number(buf.readBigInt64BE(o + 36));
    a.last[i] = buf.readDoubleBE(o + 44);
  }
  return a;
}
