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
}

export interface Stores {
  registry: RegistryStore;
  telemetry: TelemetryStore;
  close(): Promise<void>;
}
