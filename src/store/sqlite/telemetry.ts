import type { Transaction } from "better-sqlite3";
import type { CommitOutcome, CommitUnit, QuarantineEntry, Sample, TelemetryStore } from "../ports.js";
import type { Db } from "./db.js";

/** Raw samples, message-id de-duplication and the quarantine on SQLite. */
export class SqliteTelemetryStore implements TelemetryStore {
  readonly #db: Db;
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
    const rows = this.#db
      .prepare(
        "SELECT ts, vals FROM samples WHERE device_id = ? AND ts >= ? AND ts < ? ORDER BY ts, rowid LIMIT ?",
      )
      .all(deviceId, fromMs, toMs, limit) as { ts: number; vals: string }[];
    return rows.map((r) => ({ ts: r.ts, values: JSON.parse(r.vals) as Record<string, number> }));
  }

  async countSamples(deviceId: string): Promise<number> {
    const row = this.#db.prepare("SELECT count(*) AS n FROM samples WHERE device_id = ?").get(deviceId) as {
      n: number;
    };
    return row.n;
  }

  async listQuarantine(opts: { limit: number; deviceId?: string | undefined }): Promise<QuarantineEntry[]> {
    const rows = (
      opts.deviceId === undefined
        ? this.#db.prepare("SELECT * FROM quarantine ORDER BY id DESC LIMIT ?").all(opts.limit)
        : this.#db
            .prepare("SELECT * FROM quarantine WHERE device_id = ? ORDER BY id DESC LIMIT ?")
            .all(opts.deviceId, opts.limit)
    ) as {
      id: number;
      received_at: number;
      device_id: string | null;
      message_id: string | null;
      transport: string;
      topic: string;
      reason_code: string;
      reason: string;
      payload: Buffer;
    }[];
    return rows.map((r) => ({
      id: r.id,
      receivedAt: new Date(r.received_at).toISOString(),
      deviceId: r.device_id,
      messageId: r.message_id,
      transport: r.transport,
      topic: r.topic,
      reasonCode: r.reason_code,
      reason: r.reason,
      payload: r.payload.toString("base64"),
    }));
  }

  async pruneMessageIds(beforeMs: number): Promise<number> {
    return this.#db.prepare("DELETE FROM message_ids WHERE received_at < ?").run(beforeMs).changes;
  }
}
