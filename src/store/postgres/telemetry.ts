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
import { PgChunks } from "./chunks.js";
import { PgHistory } from "./history.js";
import { PostgresCommitter } from "./ingest.js";
import { PgMaintenance, type TelemetryPartitions } from "./maintenance.js";
import { Partitions } from "./partitions.js";
import type { PgDb } from "./pool.js";

/**
 * Telemetry on PostgreSQL, the same design as SQLite's (docs/storage.md): commits land as raw rows in
 * `samples`; `compact` moves closed UTC-day windows into compressed chunks with rollups; every read
 * merges both. All telemetry tables are partitioned by time (./partitions.ts). Also message-id
 * de-duplication and the quarantine.
 */
export class PostgresTelemetryStore implements TelemetryStore {
  readonly #db: PgDb;
  readonly #committer: PostgresCommitter;
  readonly #chunks: PgChunks;
  readonly #history: PgHistory;
  readonly #maintenance: PgMaintenance;

  constructor(db: PgDb) {
    this.#db = db;
    const parts: TelemetryPartitions = {
      // Uncompacted samples by day: once a day is compacted its partition is empty and dropped whole,
      // so the deleted rows never wait for vacuum.
      samples: new Partitions(db, "samples", "day"),
      chunks: new Partitions(db, "chunks", "month"),
      rollup_1h: new Partitions(db, "rollup_1h", "month"),
      // A year of daily rows per signal is 365 rows: yearly partitions are plenty.
      rollup_1d: new Partitions(db, "rollup_1d", "year"),
    };
    this.#committer = new PostgresCommitter(db, parts.samples);
    this.#chunks = new PgChunks(db);
    this.#history = new PgHistory(this.#chunks);
    this.#maintenance = new PgMaintenance(db, parts);
  }

  commit(units: readonly CommitUnit[]): Promise<CommitOutcome[]> {
    return this.#committer.commit(units);
  }

  querySamples(deviceId: string, fromMs: number, toMs: number, limit: number): Promise<Sample[]> {
    return this.#history.querySamples(deviceId, fromMs, toMs, limit);
  }

  countSamples(deviceId: string): Promise<number> {
    return this.#chunks.countRows(deviceId);
  }

  async listQuarantine(opts: { limit: number; deviceId?: string | undefined }): Promise<QuarantineEntry[]> {
    const { rows } =
      opts.deviceId === undefined
        ? await this.#db.query<QuarantineRow>("SELECT * FROM quarantine ORDER BY id DESC LIMIT $1", [
            opts.limit,
          ])
        : await this.#db.query<QuarantineRow>(
            "SELECT * FROM quarantine WHERE device_id = $1 ORDER BY id DESC LIMIT $2",
            [opts.deviceId, opts.limit],
          );
    return rows.map(quarantineFromRow);
  }

  async pruneMessageIds(beforeMs: number): Promise<number> {
    const { rowCount } = await this.#db.query("DELETE FROM message_ids WHERE received_at < $1", [beforeMs]);
    return rowCount ?? 0;
  }

  querySeries(q: SeriesQuery): Promise<Series> {
    return this.#history.querySeries(q);
  }

  exportSamples(
    deviceId: string,
    fromMs: number,
    toMs: number,
    signals?: readonly string[],
  ): AsyncIterable<Sample[]> {
    return this.#history.pages(deviceId, fromMs, toMs, signals);
  }

  compact(nowMs: number): Promise<number> {
    return this.#maintenance.compact(nowMs);
  }

  applyRetention(
    deviceIds: readonly string[],
    policy: RetentionPolicy,
    nowMs: number,
  ): Promise<{ chunks: number; rollups: number }> {
    return this.#maintenance.applyRetention(deviceIds, policy, nowMs);
  }

  purgeDevices(deviceIds: readonly string[]): Promise<TelemetryPurge> {
    return this.#maintenance.purgeDevices(deviceIds);
  }

  usage(): Promise<StorageUsage[]> {
    return this.#maintenance.usage();
  }
}
