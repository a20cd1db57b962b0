import type { SecretBox } from "../core/secrets.js";
import type { Device, DevicePatch, Enrollment, NewDevice, QuarantineEntry, Twin } from "./ports.js";

/**
 * Registry rows as both SQL backends store them (src/store/migrations.ts: the registry tables are
 * shared DDL), and their mapping to the port's types. Keys are sealed with the SecretBox at rest.
 */
export interface DeviceRow {
  id: string;
  enabled: number;
  primary_key: string;
  secondary_key: string;
  company_id: string | null;
  model: string | null;
  pump_type: string | null;
  serial: string | null;
  /** Added by schema version 8, like `site`. */
  name: string | null;
  site: string | null;
  enrollment_kind: Device["enrollmentKind"];
  enrollment_name: string | null;
  registration_payload: string | null;
  created_at: string;
  updated_at: string;
  generation: number;
}

export interface EnrollmentRow {
  kind: Enrollment["kind"];
  id: string;
  primary_key: string;
  secondary_key: string;
  enabled: number;
  created_at: string;
  updated_at: string;
  /** Added by schema version 6 (src/store/migrations.ts). */
  company_id: string | null;
}

export const DEVICE_COLUMNS: Record<keyof DevicePatch, string> = {
  enabled: "enabled",
  primaryKey: "primary_key",
  secondaryKey: "secondary_key",
  companyId: "company_id",
  model: "model",
  pumpType: "pump_type",
  serial: "serial",
  name: "name",
  site: "site",
  registrationPayload: "registration_payload",
};

export function deviceFromRow(r: DeviceRow, box: SecretBox): Device {
  return {
    id: r.id,
    enabled: r.enabled === 1,
    primaryKey: box.open(r.primary_key),
    secondaryKey: box.open(r.secondary_key),
    companyId: r.company_id,
    model: r.model,
    pumpType: r.pump_type,
    serial: r.serial,
    name: r.name,
    site: r.site,
    enrollmentKind: r.enrollment_kind,
    enrollmentName: r.enrollment_name,
    registrationPayload: r.registration_payload === null ? null : JSON.parse(r.registration_payload),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    generation: r.generation,
  };
}

/**
 * Values of a new device row for the columns (id, enabled, primary_key, secondary_key, company_id,
 * model, pump_type, serial, enrollment_kind, enrollment_name, registration_payload, created_at, name,
 * site).
 */
export function newDeviceValues(d: NewDevice, box: SecretBox, now: string): unknown[] {
  return [
    d.id,
    d.enabled === false ? 0 : 1,
    box.seal(d.primaryKey),
    box.seal(d.secondaryKey),
    d.companyId ?? null,
    d.model ?? null,
    d.pumpType ?? null,
    d.serial ?? null,
    d.enrollmentKind,
    d.enrollmentName ?? null,
    d.registrationPayload === undefined ? null : JSON.stringify(d.registrationPayload),
    now,
    d.name ?? null,
    d.site ?? null,
  ];
}

/** The column value for one patched device field. */
export function deviceColumnValue(key: keyof DevicePatch, value: unknown, box: SecretBox): unknown {
  if (key === "enabled") return value ? 1 : 0;
  if (key === "primaryKey" || key === "secondaryKey") return box.seal(value as string);
  if (key === "registrationPayload") return value === null ? null : JSON.stringify(value);
  return value;
}

export function enrollmentFromRow(r: EnrollmentRow, box: SecretBox): Enrollment {
  return {
    id: r.id,
    kind: r.kind,
    primaryKey: box.open(r.primary_key),
    secondaryKey: box.open(r.secondary_key),
    enabled: r.enabled === 1,
    companyId: r.company_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface TwinRow {
  desired: string;
  desired_version: number;
  reported: string;
  reported_version: number;
}

/** A device's twin; a device without a twin row has empty documents at version 1. */
export function twinFromRow(row: TwinRow | undefined): Twin {
  if (!row) return { desired: {}, desiredVersion: 1, reported: {}, reportedVersion: 1 };
  return {
    desired: JSON.parse(row.desired) as Record<string, unknown>,
    desiredVersion: row.desired_version,
    reported: JSON.parse(row.reported) as Record<string, unknown>,
    reportedVersion: row.reported_version,
  };
}

export interface QuarantineRow {
  id: number;
  received_at: number;
  device_id: string | null;
  message_id: string | null;
  transport: string;
  topic: string;
  reason_code: string;
  reason: string;
  payload: Buffer;
}

export function quarantineFromRow(r: QuarantineRow): QuarantineEntry {
  return {
    id: r.id,
    receivedAt: new Date(r.received_at).toISOString(),
    deviceId: r.device_id,
    messageId: r.message_id,
    transport: r.transport,
    topic: r.topic,
    reasonCode: r.reason_code,
    reason: r.reason,
    payload: r.payload.toString("base64"),
  };
}

/** JSON merge patch as the device twin applies it: null deletes, objects merge, the rest replaces. */
export function mergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$version") continue;
    if (v === null) delete out[k];
    else if (isObject(v) && isObject(out[k])) out[k] = mergePatch(out[k] as Record<string, unknown>, v);
    else out[k] = v;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
