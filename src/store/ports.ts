import type { Sample } from "../core/sample.js";
/**
 * The store ports: the narrow interfaces every storage backend implements (SQLite is the embedded
 * default). Nothing outside `src/store/` sees SQL. All methods are asynchronous so that networked
 * backends fit behind the same interface; errors are `PumpwatchError`s (NOT_FOUND, CONFLICT) or
 * backend failures, which callers treat as "not committed".
 */

export type EnrollmentKind = "individual" | "group" | "manual";

export interface Device {
  id: string;
  enabled: boolean;
  /** Symmetric keys (base64), already opened; the store keeps them sealed. */
  primaryKey: string;
  secondaryKey: string;
  companyId: string | null;
  model: string | null;
  pumpType: string | null;
  serial: string | null;
  enrollmentKind: EnrollmentKind;
  enrollmentName: string | null;
  /** Custom payload the device sent at its last registration. */
  registrationPayload: unknown;
  createdAt: string;
  updatedAt: string;
  /** Incremented on each change; the DPS etag. */
  generation: number;
}

export type NewDevice = Pick<Device, "id" | "primaryKey" | "secondaryKey" | "enrollmentKind"> &
  Partial<
    Pick<
      Device,
      "enabled" | "companyId" | "model" | "pumpType" | "serial" | "enrollmentName" | "registrationPayload"
    >
  >;

export type DevicePatch = Partial<
  Pick<
    Device,
    | "enabled"
    | "primaryKey"
    | "secondaryKey"
    | "companyId"
    | "model"
    | "pumpType"
    | "serial"
    | "registrationPayload"
  >
>;

export interface Enrollment {
  /** Group name, or registration id for an individual enrollment. */
  id: string;
  kind: "individual" | "group";
  primaryKey: string;
  secondaryKey: string;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Twin {
  desired: Record<string, unknown>;
  desiredVersion: number;
  reported: Record<string, unknown>;
  reportedVersion: number;
}

export interface RegistryStore {
  getSetting(key: string): Promise<string | undefined>;
  setSettingIfAbsent(key: string, value: string): Promise<string>;
  getDevice(id: string): Promise<Device | undefined>;
  /** Fails with CONFLICT when the id exists. */
  createDevice(device: NewDevice): Promise<Device>;
  /** Fails with NOT_FOUND. */
  updateDevice(id: string, patch: DevicePatch): Promise<Device>;
  listDevices(): Promise<Device[]>;
  getEnrollment(kind: Enrollment["kind"], id: string): Promise<Enrollment | undefined>;
  /** Fails with CONFLICT when it exists. */
  createEnrollment(e: Omit<Enrollment, "createdAt" | "updatedAt">): Promise<Enrollment>;
  updateEnrollment(
    kind: Enrollment["kind"],
    id: string,
    patch: Partial<Pick<Enrollment, "enabled" | "primaryKey" | "secondaryKey">>,
  ): Promise<Enrollment>;
  listEnrollments(): Promise<Enrollment[]>;
  getTwin(deviceId: string): Promise<Twin>;
  /** Merges `patch` into one side (null deletes a key, objects merge deeply) and bumps its version. */
  patchTwin(deviceId: string, side: "desired" | "reported", patch: Record<string, unknown>): Promise<Twin>;
  /** A number that changes whenever another process changed the registry (cache invalidation). */
  changeMark(): Promise<number>;
  /** Retention of one company's data (null: devices without a company); undefined when not set. */
  getRetention(companyId: string | null): Promise<RetentionPolicy | undefined>;
  setRetention(companyId: string | null, policy: RetentionPolicy): Promise<void>;
}

/** One sample of one pump: epoch-ms timestamp and signal values in their fixed units. */
export type { Sample };

/** One packet's fate, decided before the commit: store its samples, or quarantine it with a reason. */
export type CommitUnit =
  | { kind: "accept"; deviceId: string; messageId: string; receivedAt: number; samples: Sample[] }
  | {
      kind: "quarantine";
      deviceId: string | null;
      messageId: string | null;
      receivedAt: number;
      transport: string;
      topic: string;
      reasonCode: string;
      reason: string;
      payload: Buffer;
    };

export type CommitOutcome = "stored" | "duplicate" | "quarantined";

export interface QuarantineEntry {
  id: number;
  receivedAt: string;
  deviceId: string | null;
  messageId: string | null;
  transport: string;
  topic: string;
  reasonCode: string;
  reason: string;
  payload: string;
}

export interface TelemetryStore {
  /**
   * Commits all units durably in one transaction and returns each unit's outcome in order; a message
   * id already stored for the device yields "duplicate" and stores nothing. Rejects when nothing
   * was committed (e.g. disk full); then no unit may be acknowledged.
   */
  commit(units: readonly CommitUnit[]): Promise<CommitOutcome[]>;
  /** Samples of one device with from ≤ ts < to, in time order, at most `limit`. */
  querySamples(deviceId: string, fromMs: number, toMs: number, limit: number): Promise<Sample[]>;
  countSamples(deviceId: string): Promise<number>;
  listQuarantine(opts: { limit: number; deviceId?: string | undefined }): Promise<QuarantineEntry[]>;
  /** Forgets message ids received before `beforeMs`; returns how many. */
  pruneMessageIds(beforeMs: number): Promise<number>;
  /**
   * History of some signals of one device over [from, to) with at most `points` time points:
   * raw samples when the range holds at most `points` readings, else means with min/max bands over the
   * finest round bucket width (1 min … 12 h, whole days) that fits, computed from the rollups (1 min,
   * 1 h, 1 d). Aggregated points cover whole UTC-aligned buckets (the first and last may reach beyond
   * the range); buckets without data are left out. Exact at all times: samples not yet compacted are
   * included. Unknown signals give all-null columns. See docs/storage.md.
   */
  querySeries(q: SeriesQuery): Promise<Series>;
  /**
   * Samples of one device over [from, to) in time order, in pages (one chunk window at a time), so
   * any range streams in constant memory. With `signals`, only those values, and readings that have
   * none of them are skipped. Each page is read consistently; compaction between pages is harmless.
   */
  exportSamples(
    deviceId: string,
    fromMs: number,
    toMs: number,
    signals?: readonly string[],
  ): AsyncIterable<Sample[]>;
  /**
   * Compresses every closed chunk window (ended before `nowMs` minus a grace period) that has
   * uncompacted samples — merging late and backfilled samples into an existing chunk — and writes its
   * rollups, each window in one transaction (a crash leaves either the old or the new state).
   * Returns the number of chunks written. Cheap when nothing is due: the composition root calls it on
   * a timer. Rejects with the first failure after trying every other window.
   */
  compact(nowMs: number): Promise<number>;
  /**
   * Drops whole chunks older than `rawDays` and rollups older than `rollupDays` of the given devices,
   * cut at whole UTC days (what is dropped is entirely older than the cut), one transaction per device.
   * Returns the chunks and rollup rows dropped.
   */
  applyRetention(
    deviceIds: readonly string[],
    policy: RetentionPolicy,
    nowMs: number,
  ): Promise<{ chunks: number; rollups: number }>;
  /** Bytes and samples held per device (chunks, uncompacted samples and rollups), by device id. */
  usage(): Promise<StorageUsage[]>;
}

export type Resolution = "raw" | "1m" | "1h" | "1d";

export interface SeriesQuery {
  deviceId: string;
  signals: readonly string[];
  fromMs: number;
  toMs: number;
  /** Largest number of time points wanted (≥ 1). */
  points: number;
}

/**
 * Columnar history: `t` (epoch ms: the sample time for raw data, the bucket start when aggregated)
 * and per signal one value array of the same length (`null` where the signal has no value); when
 * aggregated, `values` holds means and `min`/`max` the bands.
 */
export interface Series {
  resolution: Resolution;
  /** Width of one point when aggregated (a multiple of the rollup's bucket), else null. */
  bucketMs: number | null;
  t: number[];
  values: Record<string, (number | null)[]>;
  min?: Record<string, (number | null)[]>;
  max?: Record<string, (number | null)[]>;
}

export interface RetentionPolicy {
  /** Raw samples are kept this many days. */
  rawDays: number;
  /** Rollups are kept this many days. */
  rollupDays: number;
}

export interface StorageUsage {
  deviceId: string;
  /** Bytes on disk; exact for compressed data, estimated for uncompacted rows and rollup rows. */
  bytes: number;
  /** Signal values (data points) held, compacted or not. */
  samples: number;
}

// ---------------------------------------------------------------------------------------------
// Analytics: alarm lifecycle, maintenance log, analyzer state, hourly KPI integrals (issue 5)

export type AlarmSeverity = "warning" | "alarm";

/**
 * One alarm per (device, type): raised again after it cleared, the same record becomes active and
 * unacknowledged again and its occurrence count grows; raised while active, only severity, message,
 * diagnosis and lastRaisedAt change (an escalation counts no new occurrence).
 */
export interface AlarmRecord {
  id: number;
  deviceId: string;
  /** `rule:<ruleId>`, `anomaly`, `forecast:<id>`, `trip`, `offline`, `sensor:<signal>` (src/analytics/types.ts). */
  type: string;
  severity: AlarmSeverity;
  active: boolean;
  acknowledged: boolean;
  /** Number of episodes (raise from cleared or from new). */
  occurrences: number;
  message: string;
  signals: string[];
  /** Diagnosis of the latest raise: fault code, cause, action (null when none). */
  diagnosis: { code: string; cause: string; confidence: number; action: string } | null;
  /** Epoch ms. */
  firstRaisedAt: number;
  lastRaisedAt: number;
  clearedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  /** Shelved (suppressed from inboxes and notifications) until this time; null when not shelved. */
  shelvedUntil: number | null;
  updatedAt: number;
}

export type AlarmEventKind =
  | "raised"
  | "escalated"
  | "deescalated"
  | "cleared"
  | "acknowledged"
  | "shelved"
  | "unshelved"
  | "commented";

/** Full history of an alarm, in order. `actor` is "system" for analyzer transitions. */
export interface AlarmEvent {
  id: number;
  alarmId: number;
  ts: number;
  kind: AlarmEventKind;
  severity: AlarmSeverity;
  actor: string;
  text: string;
}

export interface AlarmRaise {
  deviceId: string;
  type: string;
  severity: AlarmSeverity;
  ts: number;
  message: string;
  signals: string[];
  diagnosis: AlarmRecord["diagnosis"];
}

export interface AlarmFilter {
  deviceIds?: readonly string[] | undefined;
  active?: boolean | undefined;
  acknowledged?: boolean | undefined;
  severity?: AlarmSeverity | undefined;
  /** Include alarms shelved at `now` (default true): false leaves out those with shelvedUntil > now. */
  includeShelved?: boolean | undefined;
  /** Epoch ms; default the wall clock. */
  now?: number | undefined;
  /** lastRaisedAt ≥ since. */
  since?: number | undefined;
  limit?: number | undefined;
}

export interface MaintenanceRecord {
  id: number;
  deviceId: string;
  ts: number;
  action: string;
  note: string;
  actor: string;
  createdAt: number;
}

/** Raw integrals of one pump over one UTC hour; see KpiHour in src/analytics/types.ts. */
export interface KpiHourRecord {
  deviceId: string;
  hour: number;
  coveredS: number;
  runningS: number;
  loadS: number;
  downS: number;
  energyKwh: number;
  gasM3: number;
  starts: number;
  bandS: number[];
}

export interface AnalyticsStore {
  /**
   * Applies a raise atomically (one record per device and type even under concurrent raises from
   * several processes) and appends the history event; returns the record after the change and the
   * event kind that was recorded ("raised", "escalated", "deescalated", or null when nothing changed
   * because the same severity is already active — then only message/lastRaisedAt are refreshed).
   */
  raiseAlarm(r: AlarmRaise): Promise<{ alarm: AlarmRecord; event: AlarmEventKind | null }>;
  /** Clears the active alarm of (device, type); undefined when none was active. */
  clearAlarm(deviceId: string, type: string, ts: number, text: string): Promise<AlarmRecord | undefined>;
  /** NOT_FOUND when the id is unknown. Acknowledging twice is a no-op (no second event). */
  acknowledgeAlarm(id: number, actor: string, ts: number, text: string): Promise<AlarmRecord>;
  /** `until` null unshelves. NOT_FOUND when unknown; BAD_REQUEST when `until` is not after `ts`. */
  shelveAlarm(
    id: number,
    until: number | null,
    actor: string,
    ts: number,
    text: string,
  ): Promise<AlarmRecord>;
  /** NOT_FOUND when unknown; BAD_REQUEST when `text` is blank. Changes nothing but the history. */
  commentAlarm(id: number, actor: string, ts: number, text: string): Promise<AlarmEvent>;
  getAlarm(id: number): Promise<AlarmRecord | undefined>;
  /** Newest lastRaisedAt first, at most `limit` (default 500). */
  listAlarms(filter: AlarmFilter): Promise<AlarmRecord[]>;
  /** In the order the events were recorded (which is also the order of the record's changes). */
  alarmHistory(alarmId: number): Promise<AlarmEvent[]>;
  /** Events of the alarms of these devices (undefined: all) with from ≤ ts < to, in time order. */
  alarmEvents(
    deviceIds: readonly string[] | undefined,
    fromMs: number,
    toMs: number,
  ): Promise<(AlarmEvent & { deviceId: string; type: string })[]>;

  addMaintenance(
    m: Omit<MaintenanceRecord, "id" | "createdAt">,
    createdAt: number,
  ): Promise<MaintenanceRecord>;
  /** Newest first. */
  listMaintenance(deviceId: string, limit: number): Promise<MaintenanceRecord[]>;

  /** Analyzer state of one device (opaque JSON text) and the time it covers. */
  loadAnalyzerState(deviceId: string): Promise<{ state: string; ts: number } | undefined>;
  /** Upserts all in one transaction (the last one wins when a device is named twice). */
  saveAnalyzerStates(states: readonly { deviceId: string; state: string; ts: number }[]): Promise<void>;

  /**
   * Adds the integrals to what is stored for (device, hour), all rows in one transaction — idempotence
   * is the caller's business. `bandS` has at most 6 entries (missing ones count 0), else BAD_REQUEST.
   */
  addKpiHours(rows: readonly KpiHourRecord[]): Promise<void>;
  /** Hours with fromMs ≤ hour < toMs, ordered by device then hour. */
  queryKpiHours(
    deviceIds: readonly string[] | undefined,
    fromMs: number,
    toMs: number,
  ): Promise<KpiHourRecord[]>;
}

export interface Stores {
  registry: RegistryStore;
  telemetry: TelemetryStore;
  analytics: AnalyticsStore;
  close(): Promise<void>;
}
