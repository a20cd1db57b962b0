import type { EventBus } from "../core/bus.js";
import { PumpwatchError } from "../core/errors.js";
import { renderSecurityMail, securityWebhookPayload } from "../security/notify.js";
import type {
  AlarmEventKind,
  AlarmRecord,
  AlarmSeverity,
  AnalyticsStore,
  Delivery,
  DeliveryKind,
  NewDelivery,
  NotificationStore,
  SecurityEvent,
  SecurityStore,
  TenancyStore,
  Webhook,
} from "../store/ports.js";
import { type Mailer, renderAlarmMail } from "./mailer.js";
import { postWebhook } from "./webhook.js";

export { verifySignature } from "./webhook.js";

/**
 * Alarm notifications: listens to "alarm" on the bus and turns raised, escalated and cleared into
 * deliveries — e-mails to subscribed users of the pump's company and to subscribed operator staff,
 * signed webhooks of the company and operator-wide ones — and a reminder per episode when the alarm
 * is still active and unacknowledged `reminderMs` after its raise. A worker sends due deliveries with
 * back-off. What is sent lives in the NotificationStore, whose unique key (alarm, episode, kind,
 * channel, target) makes one message per episode, kind and target, however often an event is seen
 * or by how many processes; a delivery is leased while it is being sent.
 *
 * Addresses are looked up when sending, so a user erased in between gets nothing. Shelved alarms are
 * not announced (AlarmRecord.shelvedUntil). "cleared" and reminders go to those who got the raise or
 * escalation of the episode.
 */
export interface NotifierOptions {
  store: NotificationStore;
  tenancy: Pick<TenancyStore, "getUser">;
  alarms: Pick<AnalyticsStore, "getAlarm">;
  /** Security events (src/security/): announced to operator staff and operator-wide webhooks. */
  security?: Pick<SecurityStore, "getSecurityEvent"> | undefined;
  bus: EventBus;
  /** Company of a pump: null for none, undefined for an unknown pump. */
  companyOf(deviceId: string): Promise<string | null | undefined>;
  /** Absent: no SMTP configured, so no e-mail deliveries are created. */
  mailer?: Mailer | undefined;
  /** Base of the links in mails. */
  publicUrl(): string;
  /** 0: no reminders. */
  reminderMs: number;
  maxAttempts: number;
  webhookTimeoutMs: number;
  now?: () => number;
  /** How often due deliveries and reminders are looked for; default 5 s. */
  pollMs?: number;
  /** Deliveries sent at once; default 20. */
  batch?: number;
  random?: () => number;
  /** Failures of the notifier itself (not of a delivery, which is recorded); the application logs. */
  onError?: (err: unknown, what: string) => void;
}

const RANK: Record<AlarmSeverity, number> = { warning: 1, alarm: 2 };
/** Not a device id (ids never hold "*"): subscribersFor then matches all-pumps subscriptions only. */
const STAFF_ONLY = "*";
const ANNOUNCED: Partial<Record<AlarmEventKind, DeliveryKind>> = {
  raised: "raised",
  escalated: "escalated",
  cleared: "cleared",
};
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 3_600_000;
/** A claimed delivery is handed out again after this long (a crashed sender). */
const LEASE_MS = 120_000;
const MAX_BATCHES_PER_RUN = 50;

/** Delay before attempt n+1 after n failed: 30 s × 2^(n−1), at most 1 h, with equal jitter. */
export function backoffMs(failedAttempts: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, failedAttempts - 1), BACKOFF_MAX_MS);
  return Math.round(base / 2 + (random() * base) / 2);
}

/** The JSON a webhook receives (docs/api.md § Notifications). */
export function webhookPayload(id: string, kind: string, alarm: AlarmRecord, sentAt: number) {
  return {
    id,
    kind,
    alarm: {
      id: alarm.id,
      deviceId: alarm.deviceId,
      type: alarm.type,
      severity: alarm.severity,
      active: alarm.active,
      message: alarm.message,
      diagnosis: alarm.diagnosis,
      firstRaisedAt: alarm.firstRaisedAt,
      lastRaisedAt: alarm.lastRaisedAt,
    },
    sentAt,
  };
}

export class Notifier {
  readonly #o: NotifierOptions;
  readonly #now: () => number;
  readonly #pending = new Set<Promise<void>>();
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(o: NotifierOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** Subscribes to the bus and starts the worker timer. */
  start(): void {
    this.#unsubscribe = this.#o.bus.subscribe("alarm", (e) => {
      this.#track(this.onAlarm(e.alarm, e.event));
    });
    this.#timer = setInterval(() => this.kick(), this.#o.pollMs ?? 5000);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    clearInterval(this.#timer);
    await this.idle();
  }

  /** Settles when every event seen so far is turned into deliveries and the worker is idle. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0 || this.#running) {
      await Promise.all([...this.#pending, this.#running]);
    }
  }

  /** Creates the deliveries of one alarm event (what the bus handler does). */
  async onAlarm(alarm: AlarmRecord, event: AlarmEventKind): Promise<void> {
    const kind = ANNOUNCED[event];
    if (!kind) return;
    const now = this.#now();
    if (kind !== "cleared" && alarm.shelvedUntil !== null && alarm.shelvedUntil > now) return;
    const companyId = (await this.#o.companyOf(alarm.deviceId)) ?? null;
    const targets =
      kind === "cleared"
        ? await this.#o.store.notifiedTargets(alarm.id, alarm.occurrences)
        : await this.#targets(alarm, companyId);
    const base = { alarmId: alarm.id, episode: alarm.occurrences, companyId, kind, createdAt: now };
    await this.#o.store.enqueueDeliveries(targets.map((t): NewDelivery => ({ ...base, ...t })));
    if (kind === "raised" && this.#o.reminderMs > 0) {
      await this.#o.store.scheduleReminder(alarm.id, alarm.occurrences, now + this.#o.reminderMs);
    }
    this.kick();
  }

  /**
   * Creates the deliveries of a new security event episode: an e-mail to every operator staff member
   * subscribed to all pumps by e-mail at or below its severity, and a message to every enabled
   * operator-wide webhook (companyId null) at or below it. Company users and webhooks get none.
   */
  async onSecurityEvent(event: SecurityEvent): Promise<void> {
    const rank = RANK[event.severity];
    const out: { channel: "email" | "webhook"; target: string }[] = [];
    if (this.#o.mailer) {
      // subscribersFor(…, null) gives operator staff only; a name no device has leaves the all-pumps ones.
      for (const s of await this.#o.store.subscribersFor(STAFF_ONLY, null)) {
        if (s.deviceId === null && s.email && RANK[s.minSeverity] <= rank) {
          out.push({ channel: "email", target: s.userId });
        }
      }
    }
    for (const h of await this.#o.store.listWebhooks(null)) {
      if (h.enabled && RANK[h.minSeverity] <= rank) out.push({ channel: "webhook", target: h.id });
    }
    const now = this.#now();
    await this.#o.store.enqueueDeliveries(
      out.map(
        (t): NewDelivery => ({
          alarmId: null,
          securityEventId: event.id,
          episode: event.episode,
          companyId: null,
          kind: "security",
          createdAt: now,
          ...t,
        }),
      ),
    );
    this.kick();
  }

  /** Runs the worker now (or once more after the run under way). */
  kick(): void {
    if (this.#closed && this.#pending.size === 0) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.runOnce()
      .catch((err: unknown) => this.#o.onError?.(err, "notification worker"))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** Creates due reminders, then sends due deliveries in bounded batches. */
  async runOnce(): Promise<void> {
    const now = this.#now();
    for (const r of await this.#o.store.takeDueReminders(now, 100)) {
      await this.#remind(r.alarmId, r.episode, now);
    }
    const batch = this.#o.batch ?? 20;
    for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
      const due = await this.#o.store.claimDueDeliveries(this.#now(), batch, LEASE_MS);
      await Promise.all(due.map((d) => this.#send(d)));
      if (due.length < batch) break;
    }
  }

  /**
   * Sends a signed "test" message to a webhook now, outside the delivery table (for
   * POST /api/webhooks/:id/test); resolves with the failure reason, or undefined when it was accepted.
   */
  async testWebhook(hook: Webhook): Promise<string | undefined> {
    const now = this.#now();
    const id = `test-${now}`;
    const alarm: AlarmRecord = {
      id: 0,
      deviceId: "test-pump",
      type: "test",
      severity: hook.minSeverity,
      active: true,
      acknowledged: false,
      occurrences: 1,
      message: "Test message from pumpwatch",
      signals: [],
      diagnosis: null,
      firstRaisedAt: now,
      lastRaisedAt: now,
      clearedAt: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
      shelvedUntil: null,
      updatedAt: now,
    };
    return postWebhook({
      url: hook.url,
      secret: hook.secret,
      event: "test",
      deliveryId: id,
      body: JSON.stringify(webhookPayload(id, "test", alarm, now)),
      nowMs: now,
      timeoutMs: this.#o.webhookTimeoutMs,
    });
  }

  async #targets(alarm: AlarmRecord, companyId: string | null) {
    const rank = RANK[alarm.severity];
    const out: { channel: "email" | "webhook"; target: string }[] = [];
    if (this.#o.mailer) {
      const users = new Set<string>();
      for (const s of await this.#o.store.subscribersFor(alarm.deviceId, companyId)) {
        if (s.email && RANK[s.minSeverity] <= rank) users.add(s.userId);
      }
      for (const u of users) out.push({ channel: "email", target: u });
    }
    for (const h of await this.#o.store.listWebhooks()) {
      if (!h.enabled || RANK[h.minSeverity] > rank) continue;
      if (h.companyId === null || (companyId !== null && h.companyId === companyId)) {
        out.push({ channel: "webhook", target: h.id });
      }
    }
    return out;
  }

  async #remind(alarmId: number, episode: number, now: number): Promise<void> {
    const alarm = await this.#o.alarms.getAlarm(alarmId);
    if (!alarm?.active || alarm.acknowledged || alarm.occurrences !== episode) return;
    if (alarm.shelvedUntil !== null && alarm.shelvedUntil > now) return;
    const companyId = (await this.#o.companyOf(alarm.deviceId)) ?? null;
    const targets = await this.#o.store.notifiedTargets(alarmId, episode);
    await this.#o.store.enqueueDeliveries(
      targets.map((t) => ({ alarmId, episode, companyId, kind: "reminder" as const, createdAt: now, ...t })),
    );
  }

  async #send(d: Delivery): Promise<void> {
    let error: string | undefined;
    let final = false;
    try {
      const alarm = d.alarmId === null ? undefined : await this.#o.alarms.getAlarm(d.alarmId);
      if (d.securityEventId !== null) [error, final] = await this.#security(d, d.securityEventId);
      else if (!alarm) [error, final] = ["alarm no longer exists", true];
      else if (d.channel === "email") [error, final] = await this.#mail(d, alarm);
      else [error, final] = await this.#hook(d, alarm);
    } catch (err) {
      // Only PumpwatchError messages are kept: they name no recipient (src/notify/mailer.ts).
      error = err instanceof PumpwatchError ? err.message : "failed";
    }
    const now = this.#now();
    const outcome =
      error === undefined
        ? ({ status: "sent", at: now } as const)
        : final || d.attempts >= this.#o.maxAttempts
          ? ({ status: "failed", error } as const)
          : ({
              status: "pending",
              error,
              nextAttemptAt: now + backoffMs(d.attempts, this.#o.random),
            } as const);
    await this.#o.store
      .finishDelivery(d.id, outcome)
      .catch((err: unknown) => this.#o.onError?.(err, "recording a delivery"));
  }

  /** [failure reason, whether retrying is pointless]. */
  async #mail(d: Delivery, alarm: AlarmRecord): Promise<[string | undefined, boolean]> {
    const mailer = this.#o.mailer;
    if (!mailer) return ["e-mail is not configured", true];
    if (d.kind === "security") return ["not an alarm message", true];
    const user = await this.#o.tenancy.getUser(d.target);
    if (!user) return ["recipient no longer exists", true];
    const subs = await this.#o.store.listSubscriptions(user.id);
    const sub = subs.find((s) => s.email && (s.deviceId === alarm.deviceId || s.deviceId === null));
    if (!sub) return ["recipient unsubscribed", true];
    const at = d.kind === "cleared" ? (alarm.clearedAt ?? alarm.updatedAt) : alarm.lastRaisedAt;
    const mail = renderAlarmMail(sub.locale, {
      kind: d.kind,
      severity: alarm.severity,
      deviceId: alarm.deviceId,
      message: alarm.message,
      diagnosis: alarm.diagnosis,
      at: new Date(at),
      publicUrl: this.#o.publicUrl(),
    });
    await mailer.send({ to: user.email, ...mail });
    return [undefined, false];
  }

  async #hook(d: Delivery, alarm: AlarmRecord): Promise<[string | undefined, boolean]> {
    const hook = await this.#o.store.getWebhook(d.target);
    if (!hook) return ["webhook deleted", true];
    if (!hook.enabled) return ["webhook disabled", true];
    const now = this.#now();
    const body = JSON.stringify(webhookPayload(String(d.id), d.kind, alarm, now));
    const error = await postWebhook({
      url: hook.url,
      secret: hook.secret,
      event: d.kind,
      deliveryId: String(d.id),
      body,
      nowMs: now,
      timeoutMs: this.#o.webhookTimeoutMs,
    });
    return [error, false];
  }

  /** Sends a security event's delivery: [failure reason, whether retrying is pointless]. */
  async #security(d: Delivery, id: number): Promise<[string | undefined, boolean]> {
    const event = await this.#o.security?.getSecurityEvent(id);
    if (!event) return ["security event no longer exists", true];
    if (d.channel === "email") {
      const mailer = this.#o.mailer;
      if (!mailer) return ["e-mail is not configured", true];
      const user = await this.#o.tenancy.getUser(d.target);
      if (!user || user.companyId !== null) return ["recipient no longer exists", true];
      const sub = (await this.#o.store.listSubscriptions(user.id)).find(
        (s) => s.email && s.deviceId === null,
      );
      if (!sub) return ["recipient unsubscribed", true];
      await mailer.send({ to: user.email, ...renderSecurityMail(sub.locale, event, this.#o.publicUrl()) });
      return [undefined, false];
    }
    const hook = await this.#o.store.getWebhook(d.target);
    if (!hook) return ["webhook deleted", true];
    if (!hook.enabled) return ["webhook disabled", true];
    const now = this.#now();
    const error = await postWebhook({
      url: hook.url,
      secret: hook.secret,
      event: "security",
      deliveryId: String(d.id),
      body: JSON.stringify(securityWebhookPayload(String(d.id), event, now)),
      nowMs: now,
      timeoutMs: this.#o.webhookTimeoutMs,
    });
    return [error, false];
  }

  #track(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => this.#o.onError?.(err, "creating deliveries"));
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }
}
