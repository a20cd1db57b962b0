import type { Sample } from "../core/sample.js";
import type { Contract } from "../tenancy/contract.js";
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
  /** Display name people give the pump, e.g. "Tray sealer line 1". */
  name: string | null;
  /** Site (plant, building) the pump stands at. */
  site: string | null;
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
      | "enabled"
      | "companyId"
      | "model"
      | "pumpType"
      | "serial"
      | "name"
      | "site"
      | "enrollmentName"
      | "registrationPayload"
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
    | "name"
    | "site"
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
  /**
   * Customer company every device provisioned through this enrollment is created in; null: none
   * (the device stays without a company until an operator assigns one). Not checked against the
   * companies here: whoever sets it (operator API) checks that the company exists.
   */
  companyId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A new enrollment; `companyId` defaults to null. */
export type NewEnrollment = Omit<Enrollment, "createdAt" | "updatedAt" | "companyId"> &
  Partial<Pick<Enrollment, "companyId">>;

export type EnrollmentPatch = Partial<
  Pick<Enrollment, "enabled" | "primaryKey" | "secondaryKey" | "companyId">
>;

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
  createEnrollment(e: NewEnrollment): Promise<Enrollment>;
  /** Changes only the fields present (`companyId: null` clears it). Fails with NOT_FOUND. */
  updateEnrollment(kind: Enrollment["kind"], id: string, patch: EnrollmentPatch): Promise<Enrollment>;
  listEnrollments(): Promise<Enrollment[]>;
  getTwin(deviceId: string): Promise<Twin>;
  /** Merges `patch` into one side (null deletes a key, objects merge deeply) and bumps its version. */
  patchTwin(deviceId: string, side: "desired" | "reported", patch: Record<string, unknown>): Promise<Twin>;
  /** A number that changes whenever another process changed the registry (cache invalidation). */
  changeMark(): Promise<number>;
  /** Retention of one company's data (null: devices without a company); undefined when not set. */
  getRetention(companyId: string | null): Promise<RetentionPolicy | undefined>;
  setRetention(companyId: string | null, policy: RetentionPolicy): Promise<void>;
  /**
   * Deletes the devices, their twins and their individual enrollments (whose id is the registration id,
   * i.e. the device id), so that their keys are gone and they cannot register again through their own
   * enrollment; in one transaction. Unknown ids are skipped. Returns how many devices were deleted.
   */
  deleteDevices(deviceIds: readonly string[]): Promise<number>;
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
  /**
   * Physically deletes everything held for these devices: uncompacted samples, chunks, rollups of every
   * resolution, quarantine entries and de-duplication message ids, in one transaction (after waiting
   * for compactions of these devices that are under way). Returns the rows deleted per kind
   * (`rollups`: 1-hour and 1-day rows together; the 1-minute rollups live in the chunks). Samples
   * committed afterwards are kept: stop the devices' ingest first.
   */
  purgeDevices(deviceIds: readonly string[]): Promise<TelemetryPurge>;
}

/** Rows deleted by `TelemetryStore.purgeDevices`. */
export interface TelemetryPurge {
  samples: number;
  chunks: number;
  rollups: number;
  quarantine: number;
  messageIds: number;
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
  /**
   * Upserts analyzer states and, in the same transaction, adds the KPI integrals drained with them
   * (`addKpiHours`): a crash leaves both or neither, so analysis resumed from the saved state never
   * counts an hour's integrals twice.
   */
  saveAnalyzerStates(
    states: readonly { deviceId: string; state: string; ts: number }[],
    kpis?: readonly KpiHourRecord[],
  ): Promise<void>;

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
  /**
   * Physically deletes the devices' alarms with their history events, maintenance log, analyzer state
   * and KPI hours, in one transaction; returns the rows deleted per kind.
   */
  purgeDevices(deviceIds: readonly string[]): Promise<AnalyticsPurge>;
}

/** Rows deleted by `AnalyticsStore.purgeDevices`. */
export interface AnalyticsPurge {
  alarms: number;
  alarmEvents: number;
  maintenance: number;
  analyzerStates: number;
  kpiHours: number;
}

// ---------------------------------------------------------------------------------------------
// Tenancy: companies, users, sessions, tokens, contracts, audit log, scheduled jobs (issue 6)

/** Staff of the operator (users without a company). */
export type OperatorRole = "operatorAdmin" | "serviceTechnician";
/** Users of a customer company. */
export type CompanyRole = "companyAdmin" | "companyUser";
export type UserRole = OperatorRole | CompanyRole;

/** A customer company: its name and postal address, nothing else. Times are epoch ms. */
export interface Company {
  id: string;
  name: string;
  /** Free text, lines separated by "\n". */
  postalAddress: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * A user. The personal data are exactly `email`, `phone` and `postalAddress` (PERSONAL_FIELDS in
 * src/tenancy/privacy.ts): no names or other personal fields. `companyId` null means operator staff,
 * whose role is an OperatorRole; users of a company have a CompanyRole.
 */
export interface User {
  id: string;
  companyId: string | null;
  role: UserRole;
  /** As entered; unique ignoring case. */
  email: string;
  phone: string | null;
  postalAddress: string | null;
  /** Self-describing hash (src/auth/password.ts); null until the invitation is accepted. */
  passwordHash: string | null;
  failedLogins: number;
  /** Login refused until this time; null when not locked. */
  lockedUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export type NewUser = Pick<User, "id" | "companyId" | "role" | "email"> &
  Partial<Pick<User, "phone" | "postalAddress" | "passwordHash">>;

export type UserPatch = Partial<
  Pick<User, "role" | "phone" | "postalAddress" | "passwordHash" | "failedLogins" | "lockedUntil">
>;

/** A login session; only the SHA-256 of its token is stored. Revoking deletes it. */
export interface Session {
  hash: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
}

/** An API token for integrations: hashed, scoped, revocable. `name` is a non-personal label. */
export interface ApiToken {
  /** Display id (not secret), e.g. "pwt_Ab3dEf9h" (src/auth/tokens.ts). */
  id: string;
  hash: string;
  /** The user it acts for (its company and role bound what the scopes allow). */
  userId: string;
  name: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export type OneTimeTokenKind = "invitation" | "passwordReset";

/** An invitation or password-reset token (hashed), usable once before it expires. */
export interface OneTimeToken {
  hash: string;
  kind: OneTimeTokenKind;
  userId: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

/** Non-personal: ids, event types and times only — never an e-mail, phone, address or IP address. */
export interface AuditEntry {
  id: number;
  ts: number;
  /** A user id, "system" or "operator". */
  actor: string;
  /** e.g. "login", "login.failed", "user.invited", "token.created", "contract.terminated". */
  event: string;
  targetType: string | null;
  targetId: string | null;
  companyId: string | null;
}

export interface AuditFilter {
  companyId?: string | undefined;
  /** ts ≥ since. */
  since?: number | undefined;
  /** Default 500. */
  limit?: number | undefined;
}

/** A durable job of the termination scheduler. */
export interface Job {
  /** Unique: scheduling the same key again replaces runAt, kind and payload. */
  key: string;
  kind: string;
  runAt: number;
  /** JSON-serialisable. */
  payload: unknown;
  /** How often it was claimed. */
  attempts: number;
  /** Claimed by a process until this time; null when not claimed. */
  leaseUntil: number | null;
}

export interface TenancyStore {
  listCompanies(): Promise<Company[]>;
  getCompany(id: string): Promise<Company | undefined>;
  /** CONFLICT when the id exists; BAD_REQUEST for a blank name. */
  createCompany(c: Pick<Company, "id" | "name" | "postalAddress">, now: number): Promise<Company>;
  /** NOT_FOUND when unknown. */
  updateCompany(
    id: string,
    patch: Partial<Pick<Company, "name" | "postalAddress">>,
    now: number,
  ): Promise<Company>;

  /**
   * CONFLICT when the id or the e-mail (ignoring case) exists; NOT_FOUND when the company is unknown;
   * BAD_REQUEST for a malformed e-mail or a role that does not fit (operator roles without a company).
   */
  createUser(u: NewUser, now: number): Promise<User>;
  getUser(id: string): Promise<User | undefined>;
  /** Ignoring case. */
  getUserByEmail(email: string): Promise<User | undefined>;
  /** Users of a company, or operator staff for null; ordered by id. */
  listUsers(companyId: string | null): Promise<User[]>;
  /** NOT_FOUND when unknown; BAD_REQUEST when the role does not fit the user's company. */
  updateUser(id: string, patch: UserPatch, now: number): Promise<User>;
  /**
   * Erasure: deletes the user row and all its sessions, API tokens and one-time tokens in one
   * transaction (physically; SQLite overwrites the freed bytes and checkpoints its WAL). False when
   * there was no such user.
   */
  deleteUser(id: string): Promise<boolean>;
  /** `deleteUser` for every user of the company, in one transaction; returns how many. */
  deleteCompanyUsers(companyId: string): Promise<number>;

  /** CONFLICT when the hash exists; NOT_FOUND when the user is unknown. */
  createSession(s: Session): Promise<Session>;
  /** The session, unless it expired (expiresAt ≤ now) or was revoked. */
  getSessionByHash(hash: string, now: number): Promise<Session | undefined>;
  /** Sets lastSeenAt (and expiresAt when given) of a live session; false when there is none. */
  touchSession(hash: string, now: number, expiresAt?: number): Promise<boolean>;
  /** Deletes the session; false when there was none. */
  revokeSession(hash: string): Promise<boolean>;
  /** Deletes every session of the user; returns how many. */
  /** The user's sessions that have not expired, newest first (for the user's data export). */
  listSessions(userId: string, now: number): Promise<Session[]>;
  revokeUserSessions(userId: string): Promise<number>;

  /** CONFLICT when the id or hash exists; NOT_FOUND when the user is unknown; BAD_REQUEST for a blank name. */
  createApiToken(t: Omit<ApiToken, "revokedAt">): Promise<ApiToken>;
  /** The token, unless it expired or was revoked. */
  getApiTokenByHash(hash: string, now: number): Promise<ApiToken | undefined>;
  /** The user's tokens, revoked and expired ones included, newest first. */
  listApiTokens(userId: string): Promise<ApiToken[]>;
  /** NOT_FOUND when unknown; revoking twice keeps the first time. */
  revokeApiToken(id: string, now: number): Promise<ApiToken>;

  /** CONFLICT when the hash exists; NOT_FOUND when the user is unknown. */
  createOneTimeToken(t: Omit<OneTimeToken, "usedAt">): Promise<OneTimeToken>;
  /**
   * Marks the token used and returns it — once: unknown, expired, used or another kind gives undefined,
   * and of any number of concurrent calls (other processes included) exactly one gets the record.
   */
  consumeOneTimeToken(hash: string, kind: OneTimeTokenKind, now: number): Promise<OneTimeToken | undefined>;
  /** Deletes the user's one-time tokens (of one kind, or all); returns how many. */
  deleteOneTimeTokens(userId: string, kind?: OneTimeTokenKind): Promise<number>;
  /** Deletes expired sessions and one-time tokens; returns how many rows. */
  purgeExpired(now: number): Promise<number>;

  /** The contract of a company (one per company). */
  getContract(companyId: string): Promise<Contract | undefined>;
  /**
   * Upserts the company's contract with the instant it ends (null: no end yet), kept as a column for
   * the scheduler. NOT_FOUND when the company is unknown; CONFLICT when another company has the id.
   */
  putContract(contract: Contract, endsAt: number | null): Promise<void>;
  /** Contracts with endsAt ≤ until, earliest first. */
  listContractsEnding(until: number): Promise<{ contract: Contract; endsAt: number }[]>;

  /** BAD_REQUEST when a field looks like an e-mail address (audit records hold ids only). */
  appendAudit(e: Omit<AuditEntry, "id">): Promise<AuditEntry>;
  /** Newest first. */
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>;

  /** Upserts by key (idempotent); a job that is claimed keeps its lease. */
  scheduleJob(j: Pick<Job, "key" | "runAt" | "kind" | "payload">): Promise<Job>;
  /**
   * Leases up to `limit` jobs with runAt ≤ now that are not leased (or whose lease ended) until
   * now + leaseMs, and returns them by runAt: no job is handed to two callers while its lease runs,
   * across processes. A job not completed before its lease ends is handed out again.
   */
  claimDueJobs(now: number, limit: number, leaseMs: number): Promise<Job[]>;
  /** Deletes the job; false when there was none. */
  completeJob(key: string): Promise<boolean>;
  /** All jobs by runAt. */
  listJobs(): Promise<Job[]>;
}

// ---------------------------------------------------------------------------------------------
// Notifications: subscriptions, webhooks, deliveries and reminders of alarm notifications

/**
 * What a user wants to hear about: alarms of one pump (`deviceId`) or of every pump the user may see
 * (null), at or above `minSeverity`. `locale` is the language of the mails. Deleted with the user.
 */
export interface NotificationSubscription {
  userId: string;
  deviceId: string | null;
  minSeverity: AlarmSeverity;
  email: boolean;
  locale: "de" | "en";
}

/**
 * A signed webhook of a company (or of the operator, `companyId` null: every company's alarms).
 * `secret` is the HMAC key, handed out once when created; the store keeps it sealed (SecretBox),
 * because signing needs the key itself and a hash would not do.
 */
export interface Webhook {
  /** "wh_" and 16 random base64url characters. */
  id: string;
  companyId: string | null;
  url: string;
  secret: string;
  minSeverity: AlarmSeverity;
  enabled: boolean;
  createdAt: number;
}

/** "security": a security event (SecurityEvent) opened an episode; every other kind is of an alarm. */
export type DeliveryKind = "raised" | "escalated" | "cleared" | "reminder" | "security";
export type DeliveryChannel = "email" | "webhook";
export type DeliveryStatus = "pending" | "sent" | "failed";

/**
 * One message of one alarm episode to one target (a user id for e-mail, a webhook id; never an
 * address). (alarmId, episode, kind, channel, target) is unique, so a message is created once however
 * often the event is seen. `lastError` holds no personal data.
 */
export interface Delivery {
  id: number;
  /** The alarm announced; null for a security event's delivery. */
  alarmId: number | null;
  /** The security event announced (kind "security"); null for an alarm's delivery. */
  securityEventId: number | null;
  /** The alarm's `occurrences` when the episode was raised (a security event's `episode`). */
  episode: number;
  /** Company of the alarm's pump when the delivery was created (null: none), for company views. */
  companyId: string | null;
  kind: DeliveryKind;
  channel: DeliveryChannel;
  target: string;
  status: DeliveryStatus;
  /** Attempts started (counted when claimed). */
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  sentAt: number | null;
}

export type NewDelivery = Pick<
  Delivery,
  "alarmId" | "episode" | "companyId" | "kind" | "channel" | "target" | "createdAt"
> & { securityEventId?: number | null };

/** How an attempt ended: sent, to be retried at `nextAttemptAt`, or given up. */
export type DeliveryOutcome =
  | { status: "sent"; at: number }
  | { status: "pending"; nextAttemptAt: number; error: string }
  | { status: "failed"; error: string };

export interface DeliveryFilter {
  companyId?: string | undefined;
  alarmId?: number | undefined;
  status?: DeliveryStatus | undefined;
  /** Default 100. */
  limit?: number | undefined;
}

export interface NotificationStore {
  /** The user's subscriptions, all-pumps first, then by device id. */
  listSubscriptions(userId: string): Promise<NotificationSubscription[]>;
  /**
   * Replaces the user's subscriptions in one transaction. NOT_FOUND when the user is unknown;
   * BAD_REQUEST when a device (or "all pumps") is named twice. Devices are not checked here.
   */
  replaceSubscriptions(
    userId: string,
    subs: readonly Omit<NotificationSubscription, "userId">[],
  ): Promise<NotificationSubscription[]>;
  /**
   * Subscriptions that cover a pump of `companyId`: those of the company's users and of operator staff
   * (users without a company) naming this device or all pumps (companyId null: operator staff only).
   */
  subscribersFor(deviceId: string, companyId: string | null): Promise<NotificationSubscription[]>;

  /** CONFLICT when the id exists. The secret is sealed at rest. */
  createWebhook(w: Webhook): Promise<Webhook>;
  getWebhook(id: string): Promise<Webhook | undefined>;
  /** All webhooks (`companyId` undefined), or those of one company (null: operator-wide), oldest first. */
  listWebhooks(companyId?: string | null): Promise<Webhook[]>;
  /** False when there was none. Its deliveries stay (and fail when due). */
  deleteWebhook(id: string): Promise<boolean>;

  /** Inserts each delivery unless its (alarm, episode, kind, channel, target) exists; returns how many were new. */
  enqueueDeliveries(ds: readonly NewDelivery[]): Promise<number>;
  /**
   * Leases up to `limit` pending deliveries due at `now` (nextAttemptAt ≤ now) by moving their
   * nextAttemptAt to now + leaseMs and counting an attempt; no delivery goes to two callers while the
   * lease runs, across processes. One not finished within the lease is handed out again.
   */
  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<Delivery[]>;
  /** Records the outcome of an attempt; NOT_FOUND when the id is unknown. */
  finishDelivery(id: number, outcome: DeliveryOutcome): Promise<Delivery>;
  /** Newest first. */
  listDeliveries(filter: DeliveryFilter): Promise<Delivery[]>;
  /** Distinct (channel, target) that got a raised or escalated message of this episode. */
  notifiedTargets(alarmId: number, episode: number): Promise<{ channel: DeliveryChannel; target: string }[]>;

  /** Remembers that the episode's reminder is due at `dueAt`; a second call for the episode changes nothing. */
  scheduleReminder(alarmId: number, episode: number, dueAt: number): Promise<void>;
  /**
   * Takes (deletes and returns) up to `limit` reminders due at `now`: each is handed out once,
   * across processes, so an episode gets one reminder check at most.
   */
  takeDueReminders(now: number, limit: number): Promise<{ alarmId: number; episode: number }[]>;
}

// ---------------------------------------------------------------------------------------------
// Security events (src/security/): what the detectors saw, one record per detector, subject and episode

export type SecuritySeverity = "warning" | "alarm";

/**
 * An attack or a device behaving unlike itself, as a detector saw it (docs/security.md). One record
 * per (kind, subject, episode): an episode lasts while observations keep coming within the gap the
 * recorder passes, and `count` sums them. `subject` is `device:<id>`, `source:<keyed hash>` or `fleet`
 * — never a source address; `network` is the address's network prefix (IPv4 /24, IPv6 /48) at most.
 * `detail` is text without personal data.
 */
export interface SecurityEvent {
  id: number;
  kind: string;
  subject: string;
  episode: number;
  deviceId: string | null;
  network: string | null;
  severity: SecuritySeverity;
  firstSeen: number;
  lastSeen: number;
  count: number;
  detail: string;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
}

/** Observations of one detector about one subject, at `at`. */
export type SecurityObservation = Pick<
  SecurityEvent,
  "kind" | "subject" | "deviceId" | "network" | "severity" | "count" | "detail"
> & { at: number };

export interface SecurityEventFilter {
  kind?: string | undefined;
  deviceId?: string | undefined;
  /** Only events whose last observation is at or after this. */
  since?: number | undefined;
  acknowledged?: boolean | undefined;
  /** Default 100. */
  limit?: number | undefined;
}

export interface SecurityStore {
  /**
   * Adds the observation to its (kind, subject) episode when that was last seen within `gapMs` before
   * `at` (count summed, severity the higher, detail and device replaced, lastSeen the later), or
   * opens the next episode. Safe between processes: the unique (kind, subject, episode) decides a
   * race, the loser adds to the winner's row. `opened` tells whether this call opened the episode.
   */
  recordSecurityEvent(
    o: SecurityObservation,
    gapMs: number,
  ): Promise<{ event: SecurityEvent; opened: boolean }>;
  getSecurityEvent(id: number): Promise<SecurityEvent | undefined>;
  /** Last seen first. */
  listSecurityEvents(f: SecurityEventFilter): Promise<SecurityEvent[]>;
  /** NOT_FOUND when unknown; acknowledging twice keeps the first acknowledgement. */
  acknowledgeSecurityEvent(id: number, actor: string, at: number): Promise<SecurityEvent>;
  /** Deletes events last seen before `beforeMs` (with their deliveries); returns how many. */
  pruneSecurityEvents(beforeMs: number): Promise<number>;
}

export interface Stores {
  registry: RegistryStore;
  telemetry: TelemetryStore;
  analytics: AnalyticsStore;
  tenancy: TenancyStore;
  notifications: NotificationStore;
  security: SecurityStore;
  close(): Promise<void>;
}
