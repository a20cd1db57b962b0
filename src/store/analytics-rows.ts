import { PumpwatchError } from "../core/errors.js";
import type {
  AlarmEvent,
  AlarmEventKind,
  AlarmRaise,
  AlarmRecord,
  AlarmSeverity,
  KpiHourRecord,
  MaintenanceRecord,
} from "./ports.js";

/**
 * Analytics rows as both SQL backends store them (src/store/migrations.ts, migration 4), their
 * mapping to the port's types, and the alarm transitions, decided here once so that both backends
 * apply the same rules under their own locking.
 */
export interface AlarmRow {
  id: number;
  device_id: string;
  type: string;
  severity: AlarmSeverity;
  active: number;
  acknowledged: number;
  occurrences: number;
  message: string;
  signals: string;
  diagnosis: string | null;
  first_raised_at: number;
  last_raised_at: number;
  cleared_at: number | null;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  shelved_until: number | null;
  updated_at: number;
}

export interface AlarmEventRow {
  id: number;
  alarm_id: number;
  ts: number;
  kind: AlarmEventKind;
  severity: AlarmSeverity;
  actor: string;
  text: string;
}

export interface MaintenanceRow {
  id: number;
  device_id: string;
  ts: number;
  action: string;
  note: string;
  actor: string;
  created_at: number;
}

export interface KpiHourRow {
  device_id: string;
  hour: number;
  covered_s: number;
  running_s: number;
  load_s: number;
  down_s: number;
  energy_kwh: number;
  gas_m3: number;
  starts: number;
  band_0: number;
  band_1: number;
  band_2: number;
  band_3: number;
  band_4: number;
  band_5: number;
}

/** Pressure bands of `KpiHourRecord.bandS` (PRESSURE_BANDS in src/analytics/types.ts: 5 limits, 6 bands). */
const KPI_BANDS = 6;

/** Alarm listings are capped at this many rows unless the filter says otherwise. */
export const DEFAULT_ALARM_LIMIT = 500;

export function alarmFromRow(r: AlarmRow): AlarmRecord {
  return {
    id: r.id,
    deviceId: r.device_id,
    type: r.type,
    severity: r.severity,
    active: r.active === 1,
    acknowledged: r.acknowledged === 1,
    occurrences: r.occurrences,
    message: r.message,
    signals: JSON.parse(r.signals) as string[],
    diagnosis: r.diagnosis === null ? null : (JSON.parse(r.diagnosis) as AlarmRecord["diagnosis"]),
    firstRaisedAt: r.first_raised_at,
    lastRaisedAt: r.last_raised_at,
    clearedAt: r.cleared_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    shelvedUntil: r.shelved_until,
    updatedAt: r.updated_at,
  };
}

/** The columns of an alarm row but id, in the order of `alarmValues`. */
export const ALARM_COLUMNS = [
  "device_id",
  "type",
  "severity",
  "active",
  "acknowledged",
  "occurrences",
  "message",
  "signals",
  "diagnosis",
  "first_raised_at",
  "last_raised_at",
  "cleared_at",
  "acknowledged_at",
  "acknowledged_by",
  "shelved_until",
  "updated_at",
] as const;

/** The values of an alarm row for ALARM_COLUMNS. */
export function alarmValues(a: Omit<AlarmRecord, "id">): unknown[] {
  return [
    a.deviceId,
    a.type,
    a.severity,
    a.active ? 1 : 0,
    a.acknowledged ? 1 : 0,
    a.occurrences,
    a.message,
    JSON.stringify(a.signals),
    a.diagnosis === null ? null : JSON.stringify(a.diagnosis),
    a.firstRaisedAt,
    a.lastRaisedAt,
    a.clearedAt,
    a.acknowledgedAt,
    a.acknowledgedBy,
    a.shelvedUntil,
    a.updatedAt,
  ];
}

export function alarmEventFromRow(r: AlarmEventRow): AlarmEvent {
  return {
    id: r.id,
    alarmId: r.alarm_id,
    ts: r.ts,
    kind: r.kind,
    severity: r.severity,
    actor: r.actor,
    text: r.text,
  };
}

/** An alarm_events row joined with its alarm's device_id and type (`AnalyticsStore.alarmEvents`). */
export type DeviceAlarmEventRow = AlarmEventRow & { device_id: string; type: string };

export function deviceAlarmEventFromRow(
  r: DeviceAlarmEventRow,
): AlarmEvent & { deviceId: string; type: string } {
  return { ...alarmEventFromRow(r), deviceId: r.device_id, type: r.type };
}

/** A first raise of (device, type): one occurrence, active and unacknowledged. */
export function newAlarm(r: AlarmRaise): Omit<AlarmRecord, "id"> {
  return {
    deviceId: r.deviceId,
    type: r.type,
    severity: r.severity,
    active: true,
    acknowledged: false,
    occurrences: 1,
    message: r.message,
    signals: r.signals,
    diagnosis: r.diagnosis,
    firstRaisedAt: r.ts,
    lastRaisedAt: r.ts,
    clearedAt: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
    shelvedUntil: null,
    updatedAt: r.ts,
  };
}

/**
 * A raise applied to the current record (read under a lock): from cleared a new episode (active,
 * unacknowledged, one more occurrence, event "raised"); while active with another severity an
 * escalation or de-escalation; with the same severity a refresh without event.
 *
 * Transitions carry the time of the sample that caused them, and a pump's samples are analysed in
 * time order, so a raise not newer than the record's last change is a replay: analysis re-run over
 * samples whose transitions were applied before the analyzer state was saved (a crash, an analytics
 * worker taking over). It changes nothing, so a replay neither opens a second episode nor notifies
 * again. `offline` is raised on the wall clock and is exempt.
 */
export function raiseAlarmRecord(
  cur: AlarmRecord,
  r: AlarmRaise,
): { next: AlarmRecord; event: AlarmEventKind | null } {
  if (isReplayedRaise(cur, r)) return { next: cur, event: null };
  const refreshed: AlarmRecord = {
    ...cur,
    severity: r.severity,
    message: r.message,
    signals: r.signals,
    diagnosis: r.diagnosis,
    lastRaisedAt: r.ts,
    updatedAt: r.ts,
  };
  if (!cur.active) {
    return {
      next: {
        ...refreshed,
        active: true,
        acknowledged: false,
        acknowledgedAt: null,
        acknowledgedBy: null,
        occurrences: cur.occurrences + 1,
        clearedAt: null,
      },
      event: "raised",
    };
  }
  if (cur.severity === r.severity) return { next: refreshed, event: null };
  return { next: refreshed, event: r.severity === "alarm" ? "escalated" : "deescalated" };
}

function isReplayedRaise(cur: AlarmRecord, r: AlarmRaise): boolean {
  if (cur.type === "offline") return false;
  if (!cur.active) return cur.clearedAt !== null && r.ts <= cur.clearedAt;
  return r.ts < cur.lastRaisedAt || (r.ts === cur.lastRaisedAt && r.severity !== cur.severity);
}

/**
 * The SQL condition under which a clear at time `?` applies to an active record: not older than its
 * last raise (else a replay, see raiseAlarmRecord); `offline` is raised on the wall clock and exempt.
 */
export const CLEAR_APPLIES = "(type = 'offline' OR last_raised_at <= ?)";

export function notFound(id: number): PumpwatchError {
  return new PumpwatchError("NOT_FOUND", `alarm ${id} does not exist`);
}

/** A comment must say something. */
export function checkComment(text: string): void {
  if (text.trim() === "") throw new PumpwatchError("BAD_REQUEST", "a comment needs a text");
}

/** Shelving ends after it starts. */
export function checkShelve(until: number | null, ts: number): void {
  if (until !== null && !(until > ts)) {
    throw new PumpwatchError("BAD_REQUEST", "an alarm is shelved until a time after now");
  }
}

export function maintenanceFromRow(r: MaintenanceRow): MaintenanceRecord {
  return {
    id: r.id,
    deviceId: r.device_id,
    ts: r.ts,
    action: r.action,
    note: r.note,
    actor: r.actor,
    createdAt: r.created_at,
  };
}

/** The summed KPI columns, in the order of `kpiSums` (bandS padded to KPI_BANDS). */
export const KPI_SUMS = [
  "covered_s",
  "running_s",
  "load_s",
  "down_s",
  "energy_kwh",
  "gas_m3",
  "starts",
  "band_0",
  "band_1",
  "band_2",
  "band_3",
  "band_4",
  "band_5",
] as const;

export function kpiSums(r: KpiHourRecord): number[] {
  return [r.coveredS, r.runningS, r.loadS, r.downS, r.energyKwh, r.gasM3, r.starts, ...r.bandS];
}

export function kpiHourFromRow(r: KpiHourRow): KpiHourRecord {
  return {
    deviceId: r.device_id,
    hour: r.hour,
    coveredS: r.covered_s,
    runningS: r.running_s,
    loadS: r.load_s,
    downS: r.down_s,
    energyKwh: r.energy_kwh,
    gasM3: r.gas_m3,
    starts: r.starts,
    bandS: [r.band_0, r.band_1, r.band_2, r.band_3, r.band_4, r.band_5],
  };
}

/**
 * The rows of one `addKpiHours` call with repeated (device, hour) summed and `bandS` padded to
 * KPI_BANDS, so that each key is written once (PostgreSQL's ON CONFLICT cannot touch a row twice).
 */
export function mergeKpiHours(rows: readonly KpiHourRecord[]): KpiHourRecord[] {
  const byKey = new Map<string, KpiHourRecord>();
  for (const r of rows) {
    if (r.bandS.length > KPI_BANDS) {
      throw new PumpwatchError("BAD_REQUEST", `bandS has ${r.bandS.length} bands, at most ${KPI_BANDS}`);
    }
    const bandS = Array.from({ length: KPI_BANDS }, (_, i) => r.bandS[i] ?? 0);
    const key = `${r.deviceId}\u0000${r.hour}`;
    const cur = byKey.get(key);
    if (!cur) {
      byKey.set(key, { ...r, bandS });
      continue;
    }
    cur.coveredS += r.coveredS;
    cur.runningS += r.runningS;
    cur.loadS += r.loadS;
    cur.downS += r.downS;
    cur.energyKwh += r.energyKwh;
    cur.gasM3 += r.gasM3;
    cur.starts += r.starts;
    cur.bandS = cur.bandS.map((v, i) => v + bandS[i]!);
  }
  return [...byKey.values()];
}

/** The last state given for each device (a batch may name a device twice). */
export function lastStates<T extends { deviceId: string }>(states: readonly T[]): T[] {
  return [...new Map(states.map((s) => [s.deviceId, s])).values()];
}
