import type { Sample } from "../../core/sample.js";
import type { RetentionPolicy, StorageUsage, TelemetryPurge } from "../ports.js";
import {
  type Aggregates,
  blockFromSamples,
  COMPACT_GRACE_MS,
  compactChunk,
  encodeAggregates,
  retentionCuts,
  WINDOW_MS,
  windowStart,
} from "../timeseries/index.js";
import { type Partitions, withPartitions } from "./partitions.js";
import type { PgClient, PgDb } from "./pool.js";

/** Estimated bytes per stored row beyond its own columns: tuple header, line pointer, index entry. */
const ROW_OVERHEAD = 44;

export interface TelemetryPartitions {
  samples: Partitions;
  chunks: Partitions;
  rollup_1h: Partitions;
  rollup_1d: Partitions;
}

/** Compaction, retention and usage of the PostgreSQL telemetry tables. */
export class PgMaintenance {
  readonly #db: PgDb;
  readonly #parts: TelemetryPartitions;

  constructor(db: PgDb, parts: TelemetryPartitions) {
    this.#db = db;
    this.#parts = parts;
  }

  /** See TelemetryStore.compact: every closed window with uncompacted samples, one transaction each. */
  async compact(nowMs: number): Promise<number> {
    // A window is closed when it ended at least the grace period ago: all its rows are before `limit`.
    const limit = windowStart(nowMs - COMPACT_GRACE_MS);
    let written = 0;
    let firstError: unknown;
    for (const [deviceId, first] of await this.#pendingDevices()) {
      for (let ts: number | undefined = first; ts !== undefined && ts < limit; ) {
        const start = windowStart(ts);
        try {
          if (await this.compactWindow(deviceId, start)) written++;
        } catch (err) {
          // One undecodable chunk must not stop the others; the caller hears of it at the end.
          firstError ??= err;
        }
        ts = await this.#nextPendingTs(deviceId, start + WINDOW_MS);
      }
    }
    // A day of samples that is over and compacted is empty: dropping its partition returns the space
    // at once, instead of leaving the deleted rows for vacuum.
    await this.#parts.samples.dropEmptyBefore(limit);
    if (firstError !== undefined) throw firstError;
    return written;
  }

  /** Devices with uncompacted samples and the time of each one's first: a loose index scan. */
  async #pendingDevices(): Promise<[string, number][]> {
    const { rows } = await this.#db.queryArray<[string, number]>({
      text: `WITH RECURSIVE d(id) AS (
               SELECT min(device_id) FROM samples
               UNION ALL
               SELECT (SELECT min(device_id) FROM samples WHERE device_id > d.id) FROM d WHERE d.id IS NOT NULL)
             SELECT id, (SELECT min(ts) FROM samples WHERE device_id = d.id) FROM d WHERE id IS NOT NULL`,
    });
    return rows;
  }

  async #nextPendingTs(deviceId: string, atLeast: number): Promise<number | undefined> {
    const { rows } = await this.#db.queryArray<[number | null]>({
      name: "pw_next_pending_ts",
      text: "SELECT min(ts) FROM samples WHERE device_id = $1 AND ts >= $2",
      values: [deviceId, atLeast],
    });
    return rows[0]?.[0] ?? undefined;
  }

  /**
   * Compresses one window in one transaction: its uncompacted rows are deleted (RETURNING them: the
   * rows merged are exactly the rows removed, even while ingest adds new ones), merged into its chunk,
   * and the chunk and its 1-hour and 1-day rollup rows rewritten. A crash or error leaves the old
   * state. Returns false when there was nothing to compact (another process did it first).
   */
  async compactWindow(deviceId: string, start: number): Promise<boolean> {
    const { chunks, rollup_1h, rollup_1d } = this.#parts;
    const at = () => [start];
    return withPartitions(
      [
        [chunks, at],
        [rollup_1h, at],
        [rollup_1d, at],
      ],
      () => this.#compactWindowTx(deviceId, start),
    );
  }

  #compactWindowTx(deviceId: string, start: number): Promise<boolean> {
    return this.#db.tx(async (c) => {
      // Compactions of one device take turns, so two processes never merge into one chunk at once.
      await c.query(
        "SELECT pg_advisory_xact_lock(hashtext('pumpwatch.compact.' || current_schema() || '.' || $1))",
        [deviceId],
      );
      const { rows } = await c.query<[number, number, string]>({
        name: "pw_take_pending",
        rowMode: "array",
        text: "DELETE FROM samples WHERE device_id = $1 AND ts >= $2 AND ts < $3 RETURNING ts, seq, vals",
        values: [deviceId, start, start + WINDOW_MS],
      });
      if (rows.length === 0) return false;
      rows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const samples: Sample[] = rows.map((r) => ({
        ts: r[0],
        values: JSON.parse(r[2]) as Record<string, number>,
      }));
      const old = await c.query<[Buffer]>({
        name: "pw_chunk_data",
        rowMode: "array",
        text: "SELECT data FROM chunks WHERE device_id = $1 AND start_ms = $2",
        values: [deviceId, start],
      });
      const chunk = compactChunk(old.rows[0]?.[0], blockFromSamples(samples));
      await c.query({
        name: "pw_put_chunk",
        text: `INSERT INTO chunks (device_id, start_ms, n_rows, n_values, first_ts, last_ts, n_bytes, rollup, data)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (device_id, start_ms) DO UPDATE SET n_rows = excluded.n_rows, n_values = excluded.n_values,
                 first_ts = excluded.first_ts, last_ts = excluded.last_ts, n_bytes = excluded.n_bytes,
                 rollup = excluded.rollup, data = excluded.data`,
        values: [
          deviceId,
          start,
          chunk.nRows,
          chunk.nValues,
          chunk.firstTs,
          chunk.lastTs,
          chunk.nBytes,
          Buffer.from(chunk.rollup),
          Buffer.from(chunk.data),
        ],
      });
      await c.query({
        name: "pw_put_hours",
        text: `INSERT INTO rollup_1h (device_id, day, data) VALUES ($1, $2, $3)
               ON CONFLICT (device_id, day) DO UPDATE SET data = excluded.data`,
        values: [deviceId, start, Buffer.from(encodeAggregates(chunk.rollups["1h"]))],
      });
      // The merged data is a superset of the old chunk's, so every old day row is replaced.
      await putDays(c, deviceId, chunk.rollups["1d"]);
      return true;
    });
  }

  /**
   * Drops the devices' chunks and uncompacted samples before the raw cut and their rollup rows before
   * the rollup cut (whole days), by index ranges; then drops the partitions that became empty.
   */
  async applyRetention(
    deviceIds: readonly string[],
    policy: RetentionPolicy,
    nowMs: number,
  ): Promise<{ chunks: number; rollups: number }> {
    const { rawCut, rollupCut } = retentionCuts(policy, nowMs);
    // One transaction per device, as on SQLite: short transactions however large the company.
    const dropped = { chunks: 0, rollups: 0 };
    for (const id of deviceIds) {
      await this.#db.tx(async (c) => {
        const chunks = await c.query("DELETE FROM chunks WHERE device_id = $1 AND start_ms < $2", [
          id,
          rawCut,
        ]);
        await c.query("DELETE FROM samples WHERE device_id = $1 AND ts < $2", [id, rawCut]);
        const hours = await c.query("DELETE FROM rollup_1h WHERE device_id = $1 AND day < $2", [
          id,
          rollupCut,
        ]);
        const days = await c.query("DELETE FROM rollup_1d WHERE device_id = $1 AND bucket < $2", [
          id,
          rollupCut,
        ]);
        dropped.chunks += chunks.rowCount ?? 0;
        dropped.rollups += (hours.rowCount ?? 0) + (days.rowCount ?? 0);
      });
    }
    // Space comes back to the file system only with whole partitions: those all companies are done with.
    await this.#parts.samples.dropEmptyBefore(rawCut);
    await this.#parts.chunks.dropEmptyBefore(rawCut);
    await this.#parts.rollup_1h.dropEmptyBefore(rollupCut);
    await this.#parts.rollup_1d.dropEmptyBefore(rollupCut);
    return dropped;
  }

  /**
   * Deletes everything of these devices in one transaction. The DELETEs go to the parent tables, so
   * each runs over every partition (by the partitions' (device_id, …) indexes). First it takes the
   * compaction lock of each device (in id order: two purges never deadlock), so a compaction that is
   * under way commits first and its chunk is deleted too, and a later one finds no samples. Partitions
   * left empty are dropped by retention, as usual.
   */
  async purgeDevices(deviceIds: readonly string[]): Promise<TelemetryPurge> {
    const ids = [...new Set(deviceIds)].sort();
    if (ids.length === 0) return { samples: 0, chunks: 0, rollups: 0, quarantine: 0, messageIds: 0 };
    return this.#db.tx(async (c) => {
      await c.query(
        `SELECT pg_advisory_xact_lock(hashtext('pumpwatch.compact.' || current_schema() || '.' || id))
         FROM (SELECT id FROM unnest($1::text[]) AS id ORDER BY id COLLATE "C") AS d`,
        [ids],
      );
      const del = async (table: string) =>
        (await c.query(`DELETE FROM ${table} WHERE device_id = ANY($1::text[])`, [ids])).rowCount ?? 0;
      const samples = await del("samples");
      const chunks = await del("chunks");
      const rollups = (await del("rollup_1h")) + (await del("rollup_1d"));
      const quarantine = await del("quarantine");
      const messageIds = await del("message_ids");
      return { samples, chunks, rollups, quarantine, messageIds };
    });
  }

  /**
   * Bytes and signal values per device: chunk and 1-hour rollup blob sizes, plus estimates for the
   * row overhead of those and for uncompacted rows and 1-day rollup rows.
   */
  async usage(): Promise<StorageUsage[]> {
    const out = new Map<string, StorageUsage>();
    const add = (deviceId: string, bytes: number, samples: number) => {
      const u = out.get(deviceId) ?? { deviceId, bytes: 0, samples: 0 };
      u.bytes += bytes;
      u.samples += samples;
      out.set(deviceId, u);
    };
    const queries = [
      `SELECT device_id, sum(n_bytes + ${ROW_OVERHEAD})::float8, sum(n_values)::float8 FROM chunks GROUP BY device_id`,
      `SELECT device_id, sum(pg_column_size(s.*) + ${ROW_OVERHEAD})::float8,
              sum((SELECT count(*) FROM json_object_keys(vals::json)))::float8
       FROM samples s GROUP BY device_id`,
      `SELECT device_id, sum(octet_length(data) + ${ROW_OVERHEAD})::float8, 0 FROM rollup_1h GROUP BY device_id`,
      `SELECT device_id, sum(pg_column_size(r.*) + ${ROW_OVERHEAD})::float8, 0 FROM rollup_1d r GROUP BY device_id`,
    ];
    for (const text of queries) {
      const { rows } = await this.#db.queryArray<[string, number, number]>({ text });
      for (const [id, bytes, values] of rows) add(id, bytes, values);
    }
    return [...out.values()]
      .map((u) => ({ ...u, bytes: Math.round(u.bytes) }))
      .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  }
}

/** Upserts the 1-day rollup rows of a window (all signals) in one statement. */
async function putDays(c: PgClient, deviceId: string, agg: Aggregates): Promise<void> {
  const key = { signal: [] as string[], t: [] as number[] };
  const v = { min: [] as number[], max: [] as number[], sum: [] as number[], n: [] as number[] };
  const last = { ts: [] as number[], value: [] as number[] };
  for (const [signal, a] of agg.signals) {
    for (let i = 0; i < a.t.length; i++) {
      key.signal.push(signal);
      key.t.push(a.t[i]!);
      v.min.push(a.min[i]!);
      v.max.push(a.max[i]!);
      v.sum.push(a.sum[i]!);
      v.n.push(a.count[i]!);
      last.ts.push(a.lastTs[i]!);
      last.value.push(a.last[i]!);
    }
  }
  if (key.t.length === 0) return;
  await c.query({
    name: "pw_put_days",
    text: `INSERT INTO rollup_1d (device_id, signal, bucket, v_min, v_max, v_sum, n, last_ts, v_last)
           SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::int[],
             $8::bigint[], $9::float8[])
           ON CONFLICT (device_id, signal, bucket) DO UPDATE SET v_min = excluded.v_min, v_max = excluded.v_max,
             v_sum = excluded.v_sum, n = excluded.n, last_ts = excluded.last_ts, v_last = excluded.v_last`,
    values: [deviceId, key.signal, key.t, v.min, v.max, v.sum, v.n, last.ts, last.value],
  });
}
