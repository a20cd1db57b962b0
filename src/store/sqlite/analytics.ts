import {
  ALARM_COLUMNS,
  type AlarmEventRow,
  type AlarmRow,
  alarmEventFromRow,
  alarmFromRow,
  alarmValues,
  CLEAR_APPLIES,
  checkComment,
  checkShelve,
  DEFAULT_ALARM_LIMIT,
  type DeviceAlarmEventRow,
  deviceAlarmEventFromRow,
  KPI_SUMS,
  type KpiHourRow,
  kpiHourFromRow,
  kpiSums,
  lastStates,
  type MaintenanceRow,
  maintenanceFromRow,
  mergeKpiHours,
  newAlarm,
  notFound,
  raiseAlarmRecord,
} from "../analytics-rows.js";
import type {
  AlarmEvent,
  AlarmEventKind,
  AlarmFilter,
  AlarmRaise,
  AlarmRecord,
  AnalyticsPurge,
  AnalyticsStore,
  KpiHourRecord,
  MaintenanceRecord,
} from "../ports.js";
import { type Db, truncateWal } from "./db.js";

/**
 * Alarms, maintenance log, analyzer state and hourly KPIs on SQLite. Every change of an alarm and its
 * history event is one IMMEDIATE transaction: SQLite has one writer at a time, so the read of the
 * current record and the write that follows it cannot interleave with another process's.
 */
export class SqliteAnalyticsStore implements AnalyticsStore {
  readonly #db: Db;
  readonly #byKey;
  readonly #byId;
  readonly #insertEvent;
  readonly #insertAlarm;
  readonly #updateAlarm;

  constructor(db: Db) {
    this.#db = db;
    this.#byKey = db.prepare("SELECT * FROM alarms WHERE device_id = ? AND type = ?");
    this.#byId = db.prepare("SELECT * FROM alarms WHERE id = ?");
    this.#insertAlarm = db.prepare(
      `INSERT INTO alarms (${ALARM_COLUMNS.join(", ")})
       VALUES (${ALARM_COLUMNS.map(() => "?").join(", ")}) RETURNING *`,
    );
    this.#updateAlarm = db.prepare(
      `UPDATE alarms SET ${ALARM_COLUMNS.map((c) => `${c} = ?`).join(", ")} WHERE id = ? RETURNING *`,
    );
    this.#insertEvent = db.prepare(
      "INSERT INTO alarm_events (alarm_id, ts, kind, severity, actor, text) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
    );
  }

  async raiseAlarm(r: AlarmRaise): Promise<{ alarm: AlarmRecord; event: AlarmEventKind | null }> {
    return this.#db
      .transaction(() => {
        const row = this.#byKey.get(r.deviceId, r.type) as AlarmRow | undefined;
        let alarm: AlarmRecord;
        let event: AlarmEventKind | null;
        if (!row) {
          const created = this.#insertAlarm.get(...alarmValues(newAlarm(r))) as AlarmRow;
          alarm = alarmFromRow(created);
          event = "raised";
        } else {
          const change = raiseAlarmRecord(alarmFromRow(row), r);
          alarm = this.#write(change.next);
          event = change.event;
        }
        if (event) this.#event(alarm.id, r.ts, event, alarm.severity, "system", r.message);
        return { alarm, event };
      })
      .immediate();
  }

  async clearAlarm(
    deviceId: string,
    type: string,
    ts: number,
    text: string,
  ): Promise<AlarmRecord | undefined> {
    return this.#db
      .transaction(() => {
        const row = this.#db
          .prepare(
            `UPDATE alarms SET active = 0, cleared_at = ?, updated_at = ?
             WHERE device_id = ? AND type = ? AND active = 1 AND ${CLEAR_APPLIES} RETURNING *`,
          )
          .get(ts, ts, deviceId, type, ts) as AlarmRow | undefined;
        if (!row) return undefined;
        this.#event(row.id, ts, "cleared", row.severity, "system", text);
        return alarmFromRow(row);
      })
      .immediate();
  }

  async acknowledgeAlarm(id: number, actor: string, ts: number, text: string): Promise<AlarmRecord> {
    return this.#db
      .transaction(() => {
        const row = this.#db
          .prepare(
            `UPDATE alarms SET acknowledged = 1, acknowledged_at = ?, acknowledged_by = ?, updated_at = ?
             WHERE id = ? AND acknowledged = 0 RETURNING *`,
          )
          .get(ts, actor, ts, id) as AlarmRow | undefined;
        if (row) {
          this.#event(id, ts, "acknowledged", row.severity, actor, text);
          return alarmFromRow(row);
        }
        return this.#existing(id);
      })
      .immediate();
  }

  async shelveAlarm(
    id: number,
    until: number | null,
    actor: string,
    ts: number,
    text: string,
  ): Promise<AlarmRecord> {
    checkShelve(until, ts);
    return this.#db
      .transaction(() => {
        const row = this.#db
          .prepare("UPDATE alarms SET shelved_until = ?, updated_at = ? WHERE id = ? RETURNING *")
          .get(until, ts, id) as AlarmRow | undefined;
        if (!row) throw notFound(id);
        this.#event(id, ts, until === null ? "unshelved" : "shelved", row.severity, actor, text);
        return alarmFromRow(row);
      })
      .immediate();
  }

  async commentAlarm(id: number, actor: string, ts: number, text: string): Promise<AlarmEvent> {
    checkComment(text);
    return this.#db
      .transaction(() => {
        const alarm = this.#existing(id);
        return this.#event(id, ts, "commented", alarm.severity, actor, text);
      })
      .immediate();
  }

  async getAlarm(id: number): Promise<AlarmRecord | undefined> {
    const row = this.#byId.get(id) as AlarmRow | undefined;
    return row && alarmFromRow(row);
  }

  async listAlarms(f: AlarmFilter): Promise<AlarmRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.deviceIds) {
      where.push("device_id IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(f.deviceIds));
    }
    if (f.active !== undefined) where.push(`active = ${f.active ? 1 : 0}`);
    if (f.acknowledged !== undefined) where.push(`acknowledged = ${f.acknowledged ? 1 : 0}`);
    if (f.severity !== undefined) {
      where.push("severity = ?");
      args.push(f.severity);
    }
    if (f.includeShelved === false) {
      where.push("(shelved_until IS NULL OR shelved_until <= ?)");
      args.push(f.now ?? Date.now());
    }
    if (f.since !== undefined) {
      where.push("last_raised_at >= ?");
      args.push(f.since);
    }
    args.push(f.limit ?? DEFAULT_ALARM_LIMIT);
    const rows = this.#db
      .prepare(
        `SELECT * FROM alarms ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY last_raised_at DESC, id DESC LIMIT ?`,
      )
      .all(...args) as AlarmRow[];
    return rows.map(alarmFromRow);
  }

  async alarmHistory(alarmId: number): Promise<AlarmEvent[]> {
    const rows = this.#db
      .prepare("SELECT * FROM alarm_events WHERE alarm_id = ? ORDER BY id")
      .all(alarmId) as AlarmEventRow[];
    return rows.map(alarmEventFromRow);
  }

  async alarmEvents(
    deviceIds: readonly string[] | undefined,
    fromMs: number,
    toMs: number,
  ): Promise<(AlarmEvent & { deviceId: string; type: string })[]> {
    const args: unknown[] = [fromMs, toMs];
    let devices = "";
    if (deviceIds) {
      devices = "AND a.device_id IN (SELECT value FROM json_each(?))";
      args.push(JSON.stringify(deviceIds));
    }
    const rows = this.#db
      .prepare(
        `SELECT e.*, a.device_id, a.type FROM alarm_events e JOIN alarms a ON a.id = e.alarm_id
         WHERE e.ts >= ? AND e.ts < ? ${devices} ORDER BY e.ts, e.id`,
      )
      .all(...args) as DeviceAlarmEventRow[];
    return rows.map(deviceAlarmEventFromRow);
  }

  async addMaintenance(
    m: Omit<MaintenanceRecord, "id" | "createdAt">,
    createdAt: number,
  ): Promise<MaintenanceRecord> {
    const row = this.#db
      .prepare(
        `INSERT INTO maintenance_log (device_id, ts, action, note, actor, created_at) VALUES (?, ?, ?, ?, ?, ?)
         RETURNING *`,
      )
      .get(m.deviceId, m.ts, m.action, m.note, m.actor, createdAt) as MaintenanceRow;
    return maintenanceFromRow(row);
  }

  async listMaintenance(deviceId: string, limit: number): Promise<MaintenanceRecord[]> {
    const rows = this.#db
      .prepare("SELECT * FROM maintenance_log WHERE device_id = ? ORDER BY ts DESC, id DESC LIMIT ?")
      .all(deviceId, limit) as MaintenanceRow[];
    return rows.map(maintenanceFromRow);
  }

  async loadAnalyzerState(deviceId: string): Promise<{ state: string; ts: number } | undefined> {
    const row = this.#db.prepare("SELECT state, ts FROM analyzer_state WHERE device_id = ?").get(deviceId) as
      | { state: string; ts: number }
      | undefined;
    return row && { state: row.state, ts: row.ts };
  }

  async saveAnalyzerStates(
    states: readonly { deviceId: string; state: string; ts: number }[],
    kpis: readonly KpiHourRecord[] = [],
  ): Promise<void> {
    const upsert = this.#db.prepare(
      `INSERT INTO analyzer_state (device_id, state, ts) VALUES (?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, ts = excluded.ts`,
    );
    this.#db
      .transaction(() => {
        this.#addKpiHours(kpis);
        for (const s of lastStates(states)) upsert.run(s.deviceId, s.state, s.ts);
      })
      .immediate();
  }

  async addKpiHours(rows: readonly KpiHourRecord[]): Promise<void> {
    this.#db.transaction(() => this.#addKpiHours(rows)).immediate();
  }

  #addKpiHours(rows: readonly KpiHourRecord[]): void {
    const merged = mergeKpiHours(rows);
    if (merged.length === 0) return;
    const add = this.#db.prepare(
      `INSERT INTO kpi_hours (device_id, hour, ${KPI_SUMS.join(", ")})
       VALUES (?, ?, ${KPI_SUMS.map(() => "?").join(", ")})
       ON CONFLICT (device_id, hour) DO UPDATE SET ${KPI_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
    );
    for (const r of merged) add.run(r.deviceId, r.hour, ...kpiSums(r));
  }

  async queryKpiHours(
    deviceIds: readonly string[] | undefined,
    fromMs: number,
    toMs: number,
  ): Promise<KpiHourRecord[]> {
    const args: unknown[] = [fromMs, toMs];
    let devices = "";
    if (deviceIds) {
      devices = "AND device_id IN (SELECT value FROM json_each(?))";
      args.push(JSON.stringify(deviceIds));
    }
    const rows = this.#db
      .prepare(`SELECT * FROM kpi_hours WHERE hour >= ? AND hour < ? ${devices} ORDER BY device_id, hour`)
      .all(...args) as KpiHourRow[];
    return rows.map(kpiHourFromRow);
  }

  async purgeDevices(deviceIds: readonly string[]): Promise<AnalyticsPurge> {
    const ids = JSON.stringify(deviceIds); // IN (…) ignores repeats
    const devices = "device_id IN (SELECT value FROM json_each(?))";
    const del = (sql: string) => this.#db.prepare(sql).run(ids).changes;
    // By index per device: alarms (device_id, type), alarm_events (alarm_id, ts), maintenance_log
    // (device_id, ts), the primary keys of analyzer_state and kpi_hours. Events before their alarms.
    const out = this.#db
      .transaction((): AnalyticsPurge => {
        const alarmEvents = del(
          `DELETE FROM alarm_events WHERE alarm_id IN (SELECT id FROM alarms WHERE ${devices})`,
        );
        return {
          alarms: del(`DELETE FROM alarms WHERE ${devices}`),
          alarmEvents,
          maintenance: del(`DELETE FROM maintenance_log WHERE ${devices}`),
          analyzerStates: del(`DELETE FROM analyzer_state WHERE ${devices}`),
          kpiHours: del(`DELETE FROM kpi_hours WHERE ${devices}`),
        };
      })
      .immediate();
    truncateWal(this.#db);
    return out;
  }

  /** Writes every column of an existing record (read in the same transaction). */
  #write(a: AlarmRecord): AlarmRecord {
    const row = this.#updateAlarm.get(...alarmValues(a), a.id) as AlarmRow;
    return alarmFromRow(row);
  }

  #existing(id: number): AlarmRecord {
    const row = this.#byId.get(id) as AlarmRow | undefined;
    if (!row) throw notFound(id);
    return alarmFromRow(row);
  }

  #event(
    alarmId: number,
    ts: number,
    kind: AlarmEventKind,
    severity: AlarmRecord["severity"],
    actor: string,
    text: string,
  ): AlarmEvent {
    return alarmEventFromRow(
      this.#insertEvent.get(alarmId, ts, kind, severity, actor, text) as AlarmEventRow,
    );
  }
}
