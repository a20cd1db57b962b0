import type { SecurityEvent, SecurityEventFilter, SecurityObservation, SecurityStore } from "../ports.js";
import {
  DEFAULT_SECURITY_LIMIT,
  type SecurityEventRow,
  securityEventFromRow,
  securityEventNotFound,
  securityWhere,
} from "../security-rows.js";
import type { Db } from "./db.js";

/**
 * Security events on SQLite: find-or-open of an episode is one IMMEDIATE transaction, so SQLite's one
 * writer serialises recorders, also across processes on the same file.
 */
export class SqliteSecurityStore implements SecurityStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async recordSecurityEvent(
    o: SecurityObservation,
    gapMs: number,
  ): Promise<{ event: SecurityEvent; opened: boolean }> {
    return this.#db
      .transaction(() => {
        const last = this.#db
          .prepare(
            "SELECT id, episode, last_seen FROM security_events WHERE kind = ? AND subject = ? ORDER BY episode DESC LIMIT 1",
          )
          .get(o.kind, o.subject) as { id: number; episode: number; last_seen: number } | undefined;
        if (last && last.last_seen >= o.at - gapMs) {
          const row = this.#db
            .prepare(
              `UPDATE security_events SET count = count + ?, last_seen = max(last_seen, ?),
                 severity = CASE WHEN severity = 'alarm' OR ? = 'alarm' THEN 'alarm' ELSE 'warning' END,
                 detail = coalesce(nullif(?, ''), detail), device_id = coalesce(?, device_id), network = coalesce(?, network)
               WHERE id = ? RETURNING *`,
            )
            .get(o.count, o.at, o.severity, o.detail, o.deviceId, o.network, last.id) as SecurityEventRow;
          return { event: securityEventFromRow(row), opened: false };
        }
        const row = this.#db
          .prepare(
            `INSERT INTO security_events (kind, subject, episode, device_id, network, severity, first_seen,
               last_seen, count, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          )
          .get(
            o.kind,
            o.subject,
            (last?.episode ?? 0) + 1,
            o.deviceId,
            o.network,
            o.severity,
            o.at,
            o.at,
            o.count,
            o.detail,
          ) as SecurityEventRow;
        return { event: securityEventFromRow(row), opened: true };
      })
      .immediate();
  }

  async getSecurityEvent(id: number): Promise<SecurityEvent | undefined> {
    const row = this.#db.prepare("SELECT * FROM security_events WHERE id = ?").get(id) as
      | SecurityEventRow
      | undefined;
    return row && securityEventFromRow(row);
  }

  async listSecurityEvents(f: SecurityEventFilter): Promise<SecurityEvent[]> {
    const { where, args } = securityWhere(f);
    const rows = this.#db
      .prepare(`SELECT * FROM security_events ${where} ORDER BY last_seen DESC, id DESC LIMIT ?`)
      .all(...args, f.limit ?? DEFAULT_SECURITY_LIMIT) as SecurityEventRow[];
    return rows.map(securityEventFromRow);
  }

  async acknowledgeSecurityEvent(id: number, actor: string, at: number): Promise<SecurityEvent> {
    const row = this.#db
      .prepare(
        `UPDATE security_events SET acknowledged_at = coalesce(acknowledged_at, ?),
           acknowledged_by = coalesce(acknowledged_by, ?) WHERE id = ? RETURNING *`,
      )
      .get(at, actor, id) as SecurityEventRow | undefined;
    if (!row) throw securityEventNotFound(id);
    return securityEventFromRow(row);
  }

  async pruneSecurityEvents(beforeMs: number): Promise<number> {
    return this.#db.prepare("DELETE FROM security_events WHERE last_seen < ?").run(beforeMs).changes;
  }
}
