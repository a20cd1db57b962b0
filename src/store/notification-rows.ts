import { PumpwatchError } from "../core/errors.js";
import type { SecretBox } from "../core/secrets.js";
import type {
  AlarmSeverity,
  Delivery,
  DeliveryChannel,
  DeliveryKind,
  DeliveryOutcome,
  DeliveryStatus,
  NotificationSubscription,
  Webhook,
} from "./ports.js";

/**
 * Notification rows as both SQL backends store them (src/store/migrations.ts, migration 7), their
 * mapping to the port's types, and the checks both backends make before writing.
 */

export const DEFAULT_DELIVERY_LIMIT = 100;

export interface SubscriptionRow {
  user_id: string;
  device_id: string | null;
  min_severity: string;
  email: number;
  locale: string;
}

export interface WebhookRow {
  id: string;
  company_id: string | null;
  url: string;
  secret: string;
  min_severity: string;
  enabled: number;
  created_at: number;
}

export interface DeliveryRow {
  id: number;
  alarm_id: number | null;
  security_event_id: number | null;
  episode: number;
  company_id: string | null;
  kind: string;
  channel: string;
  target: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

export function subscriptionFromRow(r: SubscriptionRow): NotificationSubscription {
  return {
    userId: r.user_id,
    deviceId: r.device_id,
    minSeverity: r.min_severity as AlarmSeverity,
    email: r.email === 1,
    locale: r.locale === "en" ? "en" : "de",
  };
}

/** All-pumps first, then by device id (the same order on both backends, whatever their collation). */
export function bySubscription(a: NotificationSubscription, b: NotificationSubscription): number {
  if (a.deviceId === b.deviceId) return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
  if (a.deviceId === null) return -1;
  if (b.deviceId === null) return 1;
  return a.deviceId < b.deviceId ? -1 : 1;
}

/** By channel, then target, in code-point order (both backends alike). */
export function byTarget(
  a: { channel: string; target: string },
  b: { channel: string; target: string },
): number {
  const x = `${a.channel}\u0000${a.target}`;
  const y = `${b.channel}\u0000${b.target}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

export function webhookFromRow(r: WebhookRow, box: SecretBox): Webhook {
  return {
    id: r.id,
    companyId: r.company_id,
    url: r.url,
    secret: box.open(r.secret),
    minSeverity: r.min_severity as AlarmSeverity,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
  };
}

export function deliveryFromRow(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    alarmId: r.alarm_id,
    securityEventId: r.security_event_id ?? null,
    episode: r.episode,
    companyId: r.company_id,
    kind: r.kind as DeliveryKind,
    channel: r.channel as DeliveryChannel,
    target: r.target,
    status: r.status as DeliveryStatus,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  };
}

const SEVERITIES: readonly string[] = ["warning", "alarm"];

/** BAD_REQUEST for an unknown severity or a device (or "all pumps") named twice. */
export function checkSubscriptions(subs: readonly Omit<NotificationSubscription, "userId">[]): void {
  const seen = new Set<string | null>();
  for (const s of subs) {
    if (!SEVERITIES.includes(s.minSeverity)) {
      throw new PumpwatchError("BAD_REQUEST", `minSeverity must be "warning" or "alarm"`);
    }
    if (seen.has(s.deviceId)) {
      throw new PumpwatchError(
        "BAD_REQUEST",
        `${s.deviceId === null ? "all pumps are" : `pump ${s.deviceId} is`} named twice: one subscription each`,
      );
    }
    seen.add(s.deviceId);
  }
}

export function checkWebhook(w: Webhook): void {
  if (!SEVERITIES.includes(w.minSeverity)) {
    throw new PumpwatchError("BAD_REQUEST", `minSeverity must be "warning" or "alarm"`);
  }
  if (!w.url || !w.secret) throw new PumpwatchError("BAD_REQUEST", "a webhook needs a URL and a secret");
}

/** Column values of an outcome: status, next_attempt_at (null: keep), last_error, sent_at. */
export function outcomeValues(
  o: DeliveryOutcome,
): [DeliveryStatus, number | null, string | null, number | null] {
  switch (o.status) {
    case "sent":
      return ["sent", null, null, o.at];
    case "pending":
      return ["pending", o.nextAttemptAt, o.error.slice(0, 500), null];
    case "failed":
      return ["failed", null, o.error.slice(0, 500), null];
  }
}

export function deliveryNotFound(id: number): PumpwatchError {
  return new PumpwatchError("NOT_FOUND", `delivery ${id} does not exist: list the deliveries`);
}

export function webhookExists(id: string): PumpwatchError {
  return new PumpwatchError("CONFLICT", `webhook ${id} exists: make a new id`);
}
