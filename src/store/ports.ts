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

export interface Stores {
  registry: RegistryStore;
  telemetry: TelemetryStore;
  close(): Promise<void>;
}
