import { PumpwatchError } from "../core/errors.js";
import type { SecurityEvent, SecurityEventFilter, SecuritySeverity } from "./ports.js";

/** A `security_events` row as both backends return it. */
export interface SecurityEventRow {
  id: number;
  kind: string;
  subject: string;
  episode: number;
  device_id: string | null;
  network: string | null;
  severity: string;
  first_seen: number;
  last_seen: number;
  count: number;
  detail: string;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
}

export const DEFAULT_SECURITY_LIMIT = 100;
export const MAX_SECURITY_LIMIT = 1000;

export function securityEventFromRow(r: SecurityEventRow): SecurityEvent {
  return {
    id: r.id,
    kind: r.kind,
    subject: r.subject,
    episode: r.episode,
    deviceId: r.device_id,
    network: r.network,
    severity: r.severity === "alarm" ? "alarm" : "warning",
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    count: r.count,
    detail: r.detail,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
  };
}

/** The higher of two severities. */
export function maxSeverity(a: SecuritySeverity, b: SecuritySeverity): SecuritySeverity {
  return a === "alarm" || b === "alarm" ? "alarm" : "warning";
}

/** WHERE clauses of a list filter, with `?` placeholders in order (PostgreSQL renumbers them). */
export function securityWhere(f: SecurityEventFilter): { where: string; args: unknown[] } {
  const parts: string[] = [];
  const args: unknown[] = [];
  if (f.kind !== undefined) {
    parts.push("kind = ?");
    args.push(f.kind);
  }
  if (f.deviceId !== undefined) {
    parts.push("device_id = ?");
    args.push(f.deviceId);
  }
  if (f.since !== undefined) {
    parts.push("last_seen >= ?");
    args.push(f.since);
  }
  if (f.acknowledged !== undefined) parts.push(`acknowledged_at IS ${f.acknowledged ? "NOT " : ""}NULL`);
  return { where: parts.length ? `WHERE ${parts.join(" AND ")}` : "", args };
}

export function securityEventNotFound(id: number): PumpwatchError {
  return new PumpwatchError(
    "NOT_FOUND",
    `security event ${id} does not exist: list them at GET /api/security/events`,
  );
}
