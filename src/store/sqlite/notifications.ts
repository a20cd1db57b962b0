import type { SecretBox } from "../../core/secrets.js";
import {
  bySubscription,
  byTarget,
  checkSubscriptions,
  checkWebhook,
  DEFAULT_DELIVERY_LIMIT,
  type DeliveryRow,
  deliveryFromRow,
  deliveryNotFound,
  outcomeValues,
  type SubscriptionRow,
  subscriptionFromRow,
  type WebhookRow,
  webhookExists,
  webhookFromRow,
} from "../notification-rows.js";
import type {
  Delivery,
  DeliveryChannel,
  DeliveryFilter,
  DeliveryOutcome,
  NewDelivery,
  NotificationStore,
  NotificationSubscription,
  Webhook,
} from "../ports.js";
import { userNotFound } from "../tenancy-rows.js";
import type { Db } from "./db.js";

/**
 * Notification subscriptions, webhooks, deliveries and reminders on SQLite. Claims are single
 * UPDATE/DELETE … RETURNING statements: SQLite's one writer makes each check-and-mark one step, across
 * processes on the same file.
 */
export class SqliteNotificationStore implements NotificationStore {
  readonly #db: Db;
  readonly #box: SecretBox;

  constructor(db: Db, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  async listSubscriptions(userId: string): Promise<NotificationSubscription[]> {
    const rows = this.#db
      .prepare("SELECT * FROM notification_subscriptions WHERE user_id = ?")
      .all(userId) as SubscriptionRow[];
    return rows.map(subscriptionFromRow).sort(bySubscription);
  }

  async replaceSubscriptions(
    userId: string,
    subs: readonly Omit<NotificationSubscription, "userId">[],
  ): Promise<NotificationSubscription[]> {
    checkSubscriptions(subs);
    this.#db
      .transaction(() => {
        if (!this.#db.prepare("SELECT 1 FROM users WHERE id = ?").get(userId)) throw userNotFound(userId);
        this.#db.prepare("DELETE FROM notification_subscriptions WHERE user_id = ?").run(userId);
        const insert = this.#db.prepare(
          `INSERT INTO notification_subscriptions (user_id, device_id, min_severity, email, locale)
           VALUES (?, ?, ?, ?, ?)`,
        );
        for (const s of subs) insert.run(userId, s.deviceId, s.minSeverity, s.email ? 1 : 0, s.locale);
      })
      .immediate();
    return this.listSubscriptions(userId);
  }

  async subscribersFor(deviceId: string, companyId: string | null): Promise<NotificationSubscription[]> {
    const rows = this.#db
      .prepare(
        `SELECT s.* FROM notification_subscriptions s JOIN users u ON u.id = s.user_id
         WHERE (u.company_id IS NULL OR u.company_id = ?) AND (s.device_id IS NULL OR s.device_id = ?)`,
      )
      .all(companyId, deviceId) as SubscriptionRow[];
    return rows.map(subscriptionFromRow).sort(bySubscription);
  }

  async createWebhook(w: Webhook): Promise<Webhook> {
    checkWebhook(w);
    const row = this.#db
      .prepare(
        `INSERT INTO webhooks (id, company_id, url, secret, min_severity, enabled, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *`,
      )
      .get(
        w.id,
        w.companyId,
        w.url,
        this.#box.seal(w.secret),
        w.minSeverity,
        w.enabled ? 1 : 0,
        w.createdAt,
      ) as WebhookRow | undefined;
    if (!row) throw webhookExists(w.id);
    return webhookFromRow(row, this.#box);
  }

  async getWebhook(id: string): Promise<Webhook | undefined> {
    const row = this.#db.prepare("SELECT * FROM webhooks WHERE id = ?").get(id) as WebhookRow | undefined;
    return row && webhookFromRow(row, this.#box);
  }

  async listWebhooks(companyId?: string | null): Promise<Webhook[]> {
    const rows = (
      companyId === undefined
        ? this.#db.prepare("SELECT * FROM webhooks ORDER BY created_at, id").all()
        : this.#db
            .prepare("SELECT * FROM webhooks WHERE company_id IS ? ORDER BY created_at, id")
            .all(companyId)
    ) as WebhookRow[];
    return rows.map((r) => webhookFromRow(r, this.#box));
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.#db.prepare("DELETE FROM webhooks WHERE id = ?").run(id).changes > 0;
  }

  async enqueueDeliveries(ds: readonly NewDelivery[]): Promise<number> {
    if (ds.length === 0) return 0;
    const insert = this.#db.prepare(
      `INSERT INTO notification_deliveries (alarm_id, security_event_id, episode, company_id, kind, channel,
         target, status, attempts, next_attempt_at, last_error, created_at, sent_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL, ?, NULL) ON CONFLICT DO NOTHING`,
    );
    return this.#db
      .transaction(() => {
        let n = 0;
        for (const d of ds) {
          n += insert.run(
            d.alarmId,
            d.securityEventId ?? null,
            d.episode,
            d.companyId,
            d.kind,
            d.channel,
            d.target,
            d.createdAt,
            d.createdAt,
          ).changes;
        }
        return n;
      })
      .immediate();
  }

  async claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<Delivery[]> {
    const rows = this.#db
      .prepare(
        `UPDATE notification_deliveries SET next_attempt_at = ?, attempts = attempts + 1
         WHERE id IN (SELECT id FROM notification_deliveries WHERE status = 'pending' AND next_attempt_at <= ?
                      ORDER BY next_attempt_at, id LIMIT ?)
         RETURNING *`,
      )
      .all(now + leaseMs, now, limit) as DeliveryRow[];
    return rows.map(deliveryFromRow).sort((a, b) => a.id - b.id);
  }

  async finishDelivery(id: number, outcome: DeliveryOutcome): Promise<Delivery> {
    const [status, next, error, sentAt] = outcomeValues(outcome);
    const row = this.#db
      .prepare(
        `UPDATE notification_deliveries SET status = ?, next_attempt_at = coalesce(?, next_attempt_at),
         last_error = ?, sent_at = ? WHERE id = ? RETURNING *`,
      )
      .get(status, next, error, sentAt, id) as DeliveryRow | undefined;
    if (!row) throw deliveryNotFound(id);
    return deliveryFromRow(row);
  }

  async listDeliveries(f: DeliveryFilter): Promise<Delivery[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.companyId !== undefined) {
      where.push("company_id = ?");
      args.push(f.companyId);
    }
    if (f.alarmId !== undefined) {
      where.push("alarm_id = ?");
      args.push(f.alarmId);
    }
    if (f.status !== undefined) {
      where.push("status = ?");
      args.push(f.status);
    }
    args.push(f.limit ?? DEFAULT_DELIVERY_LIMIT);
    const rows = this.#db
      .prepare(
        `SELECT * FROM notification_deliveries ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at DESC, id DESC LIMIT ?`,
      )
      .all(...args) as DeliveryRow[];
    return rows.map(deliveryFromRow);
  }

  async notifiedTargets(
    alarmId: number,
    episode: number,
  ): Promise<{ channel: DeliveryChannel; target: string }[]> {
    return (
      this.#db
        .prepare(
          `SELECT DISTINCT channel, target FROM notification_deliveries
         WHERE alarm_id = ? AND episode = ? AND kind IN ('raised', 'escalated')`,
        )
        .all(alarmId, episode) as { channel: DeliveryChannel; target: string }[]
    ).sort(byTarget);
  }

  async scheduleReminder(alarmId: number, episode: number, dueAt: number): Promise<void> {
    this.#db
      .prepare(
        "INSERT INTO notification_reminders (alarm_id, episode, due_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      )
      .run(alarmId, episode, dueAt);
  }

  async takeDueReminders(now: number, limit: number): Promise<{ alarmId: number; episode: number }[]> {
    const rows = this.#db
      .prepare(
        `DELETE FROM notification_reminders WHERE (alarm_id, episode) IN
           (SELECT alarm_id, episode FROM notification_reminders WHERE due_at <= ? ORDER BY due_at LIMIT ?)
         RETURNING alarm_id, episode`,
      )
      .all(now, limit) as { alarm_id: number; episode: number }[];
    return rows.map((r) => ({ alarmId: r.alarm_id, episode: r.episode }));
  }
}
