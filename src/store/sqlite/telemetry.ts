import type { Transaction } from "better-sqlite3";
import type {
  CommitOutcome,
  CommitUnit,
  QuarantineEntry,
  RetentionPolicy,
  Sample,
  Series,
  SeriesQuery,
  StorageUsage,
  TelemetryPurge,
  TelemetryStore,
} from "../ports.js";
import { type QuarantineRow, quarantineFromRow } from "../rows.js";
import { COMPACT_GRACE_MS, retentionCuts, WINDOW_MS, windowStart } from "../timeseries/index.js";
import { ChunkTables } from "./chunks.js";
import { type Db, truncateWal } from "./db.js";
import { History } from "./history.js";

/**
 * Telemetry on SQLite (docs/storage.md): commits land as raw rows in `samples`; `compact` moves closed
 * UTC-day windows into compressed chunks with rollups; every read merges both, so answers are exact at
 * all times. Also message-id de-duplication and the quarantine.
 */
export class SqliteTelemetryStore implements TelemetryStore {
  readonly #db: Db;
  readonly #tables: ChunkTables;
  readonly #history: History;
  readonly #commitTx: Transaction<(units: readonly CommitUnit[]) => CommitOutcome[]>;
  readonly #insertMid;
  readonly #insertSample;
  readonly #insertQuarantine;

  constructor(db: Db) {
    this.#db = db;
    this.#insertMid = db.prepare(
      "INSERT OR IGNORE INTO message_ids (device_id, message_id, received_at) VALUES (?, ?, ?)",
    );
    this.#insertSample = db.prepare("INSERT INTO samples (device_id, ts, vals) VALUES (?, ?, ?)");
    this.#insertQuarantine = db.prepare(
      `INSERT INTO quarantine (received_at, device_id, message_id, transport, topic, reason_code, reason, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#commitTx = db.transaction((units: readonly CommitUnit[]) => units.map((u) => this.#apply(u)));
    this.#tables = new ChunkTables(db);
    this.#history = new History(this.#tables);
  }

  async commit(units: readonly CommitUnit[]): Promise<CommitOutcome[]> {
    // One IMMEDIATE transaction for the whole group: one WAL sync for many packets.
    return this.#commitTx.immediate(units);
  }

  #apply(u: CommitUnit): CommitOutcome {
    if (u.kind === "quarantine") {
      this.#insertQuarantine.run(
        u.receivedAt,
        u.deviceId,
        u.messageId,
        u.transport,
        u.topic,
        u.reasonCode,
        u.reason,
        u.payload,
      );
      return "quarantined";
    }
    // The message id row is the de-duplication record: same transaction as the samples.
    if (this.#insertMid.run(u.deviceId, u.messageId, u.receivedAt).changes === 0) return "duplicate";
    for (const s of u.samples) this.#insertSample.run(u.deviceId, s.ts, JSON.stringify(s.values));
    return "stored";
  }

  async querySamples(deviceId: string, fromMs: number, toMs: number, limit: number): Promise<Sample[]> {
    return this.#history.querySamples(deviceId, fromMs, toMs, limit);
  }

  async countSamples(deviceId: string): Promise<number> {
    return this.#tables.countRows(deviceId);
  }

  async listQuarantine(opts: { limit: number; deviceId?: string | undefined }): Promise<QuarantineEntry[]> {
    const rows = (
      opts.deviceId === undefined
        ? this.#db.prepare("SELECT * FROM quarantine ORDER BY id DESC LIMIT ?").all(opts.limit)
        : this.#db
            .prepare("SELECT * FROM quarantine WHERE device_id = ? ORDER BY id DESC LIMIT ?")
            .all(opts.deviceId, opts.limit)
    ) as QuarantineRow[];
    return rows.map(quarantineFromRow);
  }

  async pruneMessageIds(beforeMs: number): Promise<number> {
    return this.#db.prepare("DELETE FROM message_ids WHERE received_at < ?").run(beforeMs).changes;
  }

  async querySeries(q: SeriesQuery): Promise<Series> {
    return this.#history.querySeries(q);
  }

  async *exportSamples(
    deviceId: string,
    fromMs: number,
    toMs: number,
    signals?: readonly string[],
  ): AsyncIterable<Sample[]> {
    // Each page is read synchronously in one transaction; between pages other work (ingest, compaction)
    // runs, and the next window is looked up afresh, so a window compacted meanwhile is read once.
    for (const page of this.#history.pages(deviceId, fromMs, toMs, signals)) yield page;
  }

  async compact(nowMs: number): Promise<number> {
    // Only windows that ended at least the grace period ago are closed.
    const cutoff = nowMs - COMPACT_GRACE_MS;
    let written = 0;
    let firstError: unknown;
    for (let d = this.#tables.nextPendingDevice(""); d !== undefined; d = this.#tables.nextPendingDevice(d)) {
      for (let ts = this.#tables.nextPendingTs(d); ts !== undefined; ) {
        const start = windowStart(ts);
        if (start + WINDOW_MS > cutoff) break;
        try {
          if (this.#tables.compactWindow(d, start)) written++;
        } catch (err) {
          // One undecodable chunk must not stop the others; the caller hears of it at the end.
          firstError ??= err;
        }
        // Each window is its own transaction; let ingest commits in between.
        await new Promise<void>((resolve) => setImmediate(resolve));
        ts = this.#tables.nextPendingTs(d, start + WINDOW_MS);
      }
    }
    if (firstError !== undefined) throw firstError;
    return written;
  }

  async applyRetention(
    deviceIds: readonly string[],
    policy: RetentionPolicy,
    nowMs: number,
  ): Promise<{ chunks: number; rollups: number }> {
    // Whole days only: a chunk goes when all of it is older than the cut.
    const { rawCut, rollupCut } = retentionCuts(policy, nowMs);
    let chunks = 0;
    let rollups = 0;
    for (const id of deviceIds) {
      const r = this.#tables.dropBefore(id, rawCut, rollupCut);
      chunks += r.chunks;
      rollups += r.rollups;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return { chunks, rollups };
  }

  async purgeDevices(deviceIds: readonly string[]): Promise<TelemetryPurge> {
    const ids = JSON.stringify(deviceIds); // IN (…) ignores repeats
    // Each a range per device of an index that starts with device_id: samples (device_id, ts), the
    // primary keys of chunks, rollup_1h, rollup_1d and message_ids, quarantine (device_id, id).
    const del = (table: string) =>
      this.#db.prepare(`DELETE FROM ${table} WHERE device_id IN (SELECT value FROM json_each(?))`).run(ids)
        .changes;
    // One IMMEDIATE transaction: a compaction (one window, one transaction) runs before or after it.
    const out = this.#db
      .transaction(
        (): TelemetryPurge => ({
          samples: del("samples"),
          chunks: del("chunks"),
          rollups: del("rollup_1h") + del("rollup_1d"),
          quarantine: del("quarantine"),
          messageIds: del("message_ids"),
        }),
      )
      .immediate();
    truncateWal(this.#db);
    return out;
  }

  async usage(): Promise<StorageUsage[]> {
    return [...this.#tables.usage()]
      .map(([deviceId, u]) => ({ deviceId, bytes: Math.round(u.bytes), samples: u.samples }))
      .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  }
}
