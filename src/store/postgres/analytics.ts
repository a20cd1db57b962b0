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
import type { PgClient, PgDb } from "./pool.js";

const INSERT_ALARM = `INSERT INTO alarms (${ALARM_COLUMNS.join(", ")})
  VALUES (${ALARM_COLUMNS.map((_, i) => `$${i + 1}`).join(", ")})
  ON CONFLICT (device_id, type) DO NOTHING RETURNING *`;
const UPDATE_ALARM = `UPDATE alarms SET ${ALARM_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(", ")}
  WHERE id = $${ALARM_COLUMNS.length + 1} RETURNING *`;
const INSERT_EVENT = `INSERT INTO alarm_events (alarm_id, ts, kind, severity, actor, text)
  VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`;
// $1 device ids, $2 hours, then one array per summed column; starts is the only integer one.
const KPI_ARRAYS = KPI_SUMS.map((c, i) => `$${i + 3}::${c === "starts" ? "bigint" : "float8"}[]`);
const ADD_KPI_HOURS = `INSERT INTO kpi_hours (device_id, hour, ${KPI_SUMS.join(", ")})
  SELECT * FROM unnest($1::text[], $2::bigint[], ${KPI_ARRAYS.join(", ")})
  ON CONFLICT (device_id, hour) DO UPDATE
  SET ${KPI_SUMS.map((c) => `${c} = kpi_hours.${c} + excluded.${c}`).join(", ")}`;

/**
 * Alarms, maintenance log, analyzer state and hourly KPIs on PostgreSQL. A change of an alarm reads the
 * record `FOR UPDATE` (or creates it with `ON CONFLICT (device_id, type) DO NOTHING`) and writes it and
 * its history event in the same transaction, so concurrent raisers and clearers on other connections or
 * processes queue on the row: never two records for one (device, type), never a lost occurrence.
 */
export class PostgresAnalyticsStore implements AnalyticsStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async raiseAlarm(r: AlarmRaise): Promise<{ alarm: AlarmRecord; event: AlarmEventKind | null }> {
    return this.#db.tx(async (c) => {
      // Twice at most: when the INSERT finds a record that another transaction created after the
      // SELECT, the next SELECT (a new snapshot in READ COMMITTED) finds and locks it.
      for (let attempt = 0; attempt < 3; attempt++) {
        const { rows } = await c.query<AlarmRow>(
          "SELECT * FROM alarms WHERE device_id = $1 AND type = $2 FOR UPDATE",
          [r.deviceId, r.type],
        );
        let alarm: AlarmRecord;
        let event: AlarmEventKind | null;
        if (rows[0]) {
          const change = raiseAlarmRecord(alarmFromRow(rows[0]), r);
          const updated = await c.query<AlarmRow>(UPDATE_ALARM, [
            ...alarmValues(change.next),
            change.next.id,
          ]);
          alarm = alarmFromRow(updated.rows[0]!);
          event = change.event;
        } else {
          const created = await c.query<AlarmRow>(INSERT_ALARM, alarmValues(newAlarm(r)));
          if (!created.rows[0]) continue;
          alarm = alarmFromRow(created.rows[0]);
          event = "raised";
        }
        if (event) await insertEvent(c, alarm.id, r.ts, event, alarm.severity, "system", r.message);
        return { alarm, event };
      }
      throw new Error(`alarm ${r.type} of ${r.deviceId} could neither be created nor found`);
    });
  }

  async clearAlarm(
    deviceId: string,
    type: string,
    ts: number,
    text: string,
  ): Promise<AlarmRecord | undefined> {
    return this.#db.tx(async (c) => {
      const { rows } = await c.query<AlarmRow>(
        `UPDATE alarms SET active = 0, cleared_at = $1, updated_at = $1
         WHERE device_id = $2 AND type = $3 AND active = 1 AND ${CLEAR_APPLIES.replace("?", "$1")} RETURNING *`,
        [ts, deviceId, type],
      );
      if (!rows[0]) return undefined;
      await insertEvent(c, rows[0].id, ts, "cleared", rows[0].severity, "system", text);
      return alarmFromRow(rows[0]);
    });
  }

  async acknowledgeAlarm(id: number, actor: string, ts: number, text: string): Promise<AlarmRecord> {
    return this.#db.tx(async (c) => {
      const { rows } = await c.query<AlarmRow>(
        `UPDATE alarms SET acknowledged = 1, acknowledged_at = $1, acknowledged_by = $2, updated_at = $1
         WHERE id = $3 AND acknowledged = 0 RETURNING *`,
        [ts, actor, id],
      );
      if (rows[0]) {
        await insertEvent(c, id, ts, "acknowledged", rows[0].severity, actor, text);
        return alarmFromRow(rows[0]);
      }
      return existing(c, id);
    });
  }

  async shelveAlarm(
    id: number,
    until: number | null,
    actor: string,
    ts: number,
    text: string,
  ): Promise<AlarmRecord> {
    checkShelve(until, ts);
    return this.#db.tx(async (c) => {
      const { rows } = await c.query<AlarmRow>(
        "UPDATE alarms SET shelved_until = $1, updated_at = $2 WHERE id = $3 RETURNING *",
        [until, ts, id],
      );
      if (!rows[0]) throw notFound(id);
      await insertEvent(c, id, ts, until === null ? "unshelved" : "shelved", rows[0].severity, actor, text);
      return alarmFromRow(rows[0]);
    });
  }

  async commentAlarm(id: number, actor: string, ts: number, text: string): Promise<AlarmEvent> {
    checkComment(text);
    return this.#db.tx(async (c) => {
      // FOR SHARE: the severity recorded is the one the record has when the comment is appended.
      const { rows } = await c.query<AlarmRow>("SELECT * FROM alarms WHERE id = $1 FOR SHARE", [id]);
      if (!rows[0]) throw notFound(id);
      return insertEvent(c, id, ts, "commented", rows[0].severity, actor, text);
    });
  }

  async getAlarm(id: number): Promise<AlarmRecord | undefined> {
    const { rows } = await this.#db.query<AlarmRow>("SELECT * FROM alarms WHERE id = $1", [id]);
    return rows[0] && alarmFromRow(rows[0]);
  }

  async listAlarms(f: AlarmFilter): Promise<AlarmRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (f.deviceIds) where.push(`device_id = ANY(${arg([...f.deviceIds])}::text[])`);
    if (f.active !== undefined) where.push(`active = ${f.active ? 1 : 0}`);
    if (f.acknowledged !== undefined) where.push(`acknowledged = ${f.acknowledged ? 1 : 0}`);
    if (f.severity !== undefined) where.push(`severity = ${arg(f.severity)}`);
    if (f.includeShelved === false) {
      where.push(`(shelved_until IS NULL OR shelved_until <= ${arg(f.now ?? Date.now())})`);
    }
    if (f.since !== undefined) where.push(`last_raised_at >= ${arg(f.since)}`);
    const { rows } = await this.#db.query<AlarmRow>(
      `SELECT * FROM alarms ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY last_raised_at DESC, id DESC LIMIT ${arg(f.limit ?? DEFAULT_ALARM_LIMIT)}`,
      args,
    );
    return rows.map(alarmFromRow);
  }

  async alarmHistory(alarmId: number): Promise<AlarmEvent[]> {
    const { rows } = await this.#db.query<AlarmEventRow>(
      "SELECT * FROM alarm_events WHERE alarm_id = $1 ORDER BY id",
      [alarmId],
    );
    return rows.map(alarmEventFromRow);
  }

  async alarmEvents(
    deviceIds: readonly string[] | undefined,
    fromMs: number,
    toMs: number,
  ): Promise<(AlarmEvent & { deviceId: string; type: string })[]> {
    const { rows } = await this.#db.query<DeviceAlarmEventRow>(
      `SELECT e.*, a.device_id, a.type FROM alarm_events e JOIN alarms a ON a.id = e.alarm_id
       WHERE e.ts >= $1 AND e.ts < $2 AND ($3::text[] IS NULL OR a.device_id = ANY($3::text[]))
       ORDER BY e.ts, e.id`,
      [fromMs, toMs, deviceIds ? [...deviceIds] : null],
    );
    return rows.map(deviceAlarmEventFromRow);
  }

  async addMaintenance(
    m: Omit<MaintenanceRecord, "id" | "createdAt">,
    createdAt: number,
  ): Promise<MaintenanceRecord> {
    const { rows } = await this.#db.query<MaintenanceRow>(
      `INSERT INTO maintenance_log (device_id, ts, action, note, actor, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [m.deviceId, m.ts, m.action, m.note, m.actor, createdAt],
    );
    return maintenanceFromRow(rows[0]!);
  }

  async listMaintenance(deviceId: string, limit: number): Promise<MaintenanceRecord[]> {
    const { rows } = await this.#db.query<MaintenanceRow>(
      "SELECT * FROM maintenance_log WHERE device_id = $1 ORDER BY ts DESC, id DESC LIMIT $2",
      [deviceId, limit],
    );
    return rows.map(maintenanceFromRow);
  }

  async loadAnalyzerState(deviceId: string): Promise<{ state: string; ts: number } | undefined> {
    const { rows } = await this.#db.query<{ state: string; ts: number }>(
      "SELECT state, ts FROM analyzer_state WHERE device_id = $1",
      [deviceId],
    );
    return rows[0] && { state: rows[0].state, ts: rows[0].ts };
  }

  async saveAnalyzerStates(
    states: readonly { deviceId: string; state: string; ts: number }[],
    kpis: readonly KpiHourRecord[] = [],
  ): Promise<void> {
    const last = lastStates(states);
    if (kpis.length === 0) {
      if (last.length > 0) await this.#db.query(UPSERT_STATES, stateArgs(last));
      return;
    }
    await this.#db.tx(async (c) => {
      await addKpiHoursWith(c, kpis);
      if (last.length > 0) await c.query(UPSERT_STATES, stateArgs(last));
    });
  }

  async addKpiHours(rows: readonly KpiHourRecord[]): Promise<void> {
    // One statement, so one transaction.
    await addKpiHoursWith(this.#db, rows);
  }

  async purgeDevices(deviceIds: readonly string[]): Promise<AnalyticsPurge> {
    const ids = [...new Set(deviceIds)];
    if (ids.length === 0)
      return { alarms: 0, alarmEvents: 0, maintenance: 0, analyzerStates: 0, kpiHours: 0 };
    return this.#db.tx(async (c) => {
      const del = async (sql: string) => (await c.query(sql, [ids])).rowCount ?? 0;
      // Events before their alarms (foreign key); every DELETE is an index range on device_id / alarm_id.
      const alarmEvents = await del(
        "DELETE FROM alarm_events WHERE alarm_id IN (SELECT id FROM alarms WHERE device_id = ANY($1::text[]))",
      );
      const alarms = await del("DELETE FROM alarms WHERE device_id = ANY($1::text[])");
      const maintenance = await del("DELETE FROM maintenance_log WHERE device_id = ANY($1::text[])");
      const analyzerStates = await del("DELETE FROM analyzer_state WHERE device_id = ANY($1::text[])");
      const kpiHours = await del("DELETE FROM kpi_hours WHERE device_id = ANY($1::text[])");
      return { alarms, alarmEvents, maintenance, analyzerStates, kpiHours };
    });
  }

  async queryKpiHours(
    deviceIds: readonly string[] | undefined,
    fromMs: number,
    toMs: number,
  ): Promise<KpiHourRecord[]> {
    // COLLATE "C": devices in byte order, as SQLite sorts them.
    const { rows } = await this.#db.query<KpiHourRow>(
      `SELECT * FROM kpi_hours WHERE hour >= $1 AND hour < $2 AND ($3::text[] IS NULL OR device_id = ANY($3::text[]))
       ORDER BY device_id COLLATE "C", hour`,
      [fromMs, toMs, deviceIds ? [...deviceIds] : null],
    );
    return rows.map(kpiHourFromRow);
  }
}

async function existing(c: PgClient, id: number): Promise<AlarmRecord> {
  const { rows } = await c.query<AlarmRow>("SELECT * FROM alarms WHERE id = $1", [id]);
  if (!rows[0]) throw notFound(id);
  return alarmFromRow(rows[0]);
}

async function insertEvent(
  c: PgClient,
  alarmId: number,
  ts: number,
  kind: AlarmEventKind,
  severity: AlarmRecord["severity"],
  actor: string,
  text: string,
): Promise<AlarmEvent> {
  const { rows } = await c.query<AlarmEventRow>(INSERT_EVENT, [alarmId, ts, kind, severity, actor, text]);
  return alarmEventFromRow(rows[0]!);
}

const UPSERT_STATES = `INSERT INTO analyzer_state (device_id, state, ts)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
  ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, ts = excluded.ts`;

function stateArgs(last: readonly { deviceId: string; state: string; ts: number }[]): unknown[] {
  return [last.map((s) => s.deviceId), last.map((s) => s.state), last.map((s) => s.ts)];
}

/** Adds KPI integrals in one statement; each (device, hour) appears once in it (mergeKpiHours). */
async function addKpiHoursWith(
  c: { query(sql: string, args: unknown[]): Promise<unknown> },
  rows: readonly KpiHourRecord[],
): Promise<void> {
  const merged = mergeKpiHours(rows);
  if (merged.length === 0) return;
  const sums = merged.map(kpiSums);
  await c.query(ADD_KPI_HOURS, [
    merged.map((r) => r.deviceId),
    merged.map((r) => r.hour),
    ...KPI_SUMS.map((_, i) => sums.map((s) => s[i])),
  ]);
}
