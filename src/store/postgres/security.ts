import type { SecurityEvent, SecurityEventFilter, SecurityObservation, SecurityStore } from "../ports.js";
import {
  DEFAULT_SECURITY_LIMIT,
  type SecurityEventRow,
  securityEventFromRow,
  securityEventNotFound,
  securityWhere,
} from "../security-rows.js";
import type { PgDb } from "./pool.js";

const UPDATE = `UPDATE security_events SET count = count + $1, last_seen = greatest(last_seen, $2),
   severity = CASE WHEN severity = 'alarm' OR $3 = 'alarm' THEN 'alarm' ELSE 'warning' END,
   detail = coalesce(nullif($4, ''), detail), device_id = coalesce($5, device_id), network = coalesce($6, network)
 WHERE id = $7 RETURNING *`;

/**
 * Security events on PostgreSQL. Two processes opening the same episode at once both try to insert
 * (kind, subject, episode); the unique key lets one win, and the other adds its count to that row.
 */
export class PostgresSecurityStore implements SecurityStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async recordSecurityEvent(
    o: SecurityObservation,
    gapMs: number,
  ): Promise<{ event: SecurityEvent; opened: boolean }> {
    return this.#db.tx(async (c) => {
      const update = (id: number) =>
        c.query<SecurityEventRow>(UPDATE, [o.count, o.at, o.severity, o.detail, o.deviceId, o.network, id]);
      const { rows: lasts } = await c.query<{ id: number; episode: number; last_seen: number }>(
        `SELECT id, episode, last_seen FROM security_events WHERE kind = $1 AND subject = $2
         ORDER BY episode DESC LIMIT 1 FOR UPDATE`,
        [o.kind, o.subject],
      );
      const last = lasts[0];
      if (last && last.last_seen >= o.at - gapMs) {
        const { rows } = await update(last.id);
        return { event: securityEventFromRow(rows[0]!), opened: false };
      }
      const episode = (last?.episode ?? 0) + 1;
      const { rows } = await c.query<SecurityEventRow>(
        `INSERT INTO security_events (kind, subject, episode, device_id, network, severity, first_seen,
           last_seen, count, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)
         ON CONFLICT (kind, subject, episode) DO NOTHING RETURNING *`,
        [o.kind, o.subject, episode, o.deviceId, o.network, o.severity, o.at, o.count, o.detail],
      );
      if (rows[0]) return { event: securityEventFromRow(rows[0]), opened: true };
      const { rows: won } = await c.query<{ id: number }>(
        "SELECT id FROM security_events WHERE kind = $1 AND subject = $2 AND episode = $3",
        [o.kind, o.subject, episode],
      );
      const { rows: added } = await update(won[0]!.id);
      return { event: securityEventFromRow(added[0]!), opened: false };
    });
  }

  async getSecurityEvent(id: number): Promise<SecurityEvent | undefined> {
    const { rows } = await this.#db.query<SecurityEventRow>("SELECT * FROM security_events WHERE id = $1", [
      id,
    ]);
    return rows[0] && securityEventFromRow(rows[0]);
  }

  async listSecurityEvents(f: SecurityEventFilter): Promise<SecurityEvent[]> {
    const { where, args } = securityWhere(f);
    let n = 0;
    const text = `SELECT * FROM security_events ${where} ORDER BY last_seen DESC, id DESC LIMIT ?`.replace(
      /\?/g,
      () => `$${++n}`,
    );
    const { rows } = await this.#db.query<SecurityEventRow>(text, [
      ...args,
      f.limit ?? DEFAULT_SECURITY_LIMIT,
    ]);
    return rows.map(securityEventFromRow);
  }

  async acknowledgeSecurityEvent(id: number, actor: string, at: number): Promise<SecurityEvent> {
    const { rows } = await this.#db.query<SecurityEventRow>(
      `UPDATE security_events SET acknowledged_at = coalesce(acknowledged_at, $1),
         acknowledged_by = coalesce(acknowledged_by, $2) WHERE id = $3 RETURNING *`,
      [at, actor, id],
    );
    if (!rows[0]) throw securityEventNotFound(id);
    return securityEventFromRow(rows[0]);
  }

  async pruneSecurityEvents(beforeMs: number): Promise<number> {
    const r = await this.#db.query("DELETE FROM security_events WHERE last_seen < $1", [beforeMs]);
    return r.rowCount ?? 0;
  }
}
