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
import type { PgDb } from "./pool.js";

/**
 * Notification subscriptions, webhooks, deliveries and reminders on PostgreSQL. Deliveries are
 * claimed with `FOR UPDATE SKIP LOCKED` and reminders taken by one DELETE … RETURNING, so of several
 * processes exactly one gets each; the unique key of a delivery decides races between creators.
 */
export class PostgresNotificationStore implements NotificationStore {
  readonly #db: PgDb;
  readonly #box: SecretBox;

  constructor(db: PgDb, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  async listSubscriptions(userId: string): Promise<NotificationSubscription[]> {
    const { rows } = await this.#db.query<SubscriptionRow>(
      "SELECT * FROM notification_subscriptions WHERE user_id = $1",
      [userId],
    );
    return rows.map(subscriptionFromRow).sort(bySubscription);
  }

  async replaceSubscriptions(
    userId: string,
    subs: readonly Omit<NotificationSubscription, "userId">[],
  ): Promise<NotificationSubscription[]> {
    checkSubscriptions(subs);
    await this.#db.tx(async (c) => {
      // Locks the user, so an erasure running now either comes first (NOT_FOUND) or waits for us.
      const { rows } = await c.query("SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", [userId]);
      if (rows.length === 0) throw userNotFound(userId);
      await c.query("DELETE FROM notification_subscriptions WHERE user_id = $1", [userId]);
      for (const s of subs) {
        await c.query(
          `INSERT INTO notification_subscriptions (user_id, device_id, min_severity, email, locale)
           VALUES ($1, $2, $3, $4, $5)`,
          [userId, s.deviceId, s.minSeverity, s.email ? 1 : 0, s.locale],
        );
      }
    });
    return this.listSubscriptions(userId);
  }

  async subscribersFor(deviceId: string, companyId: string | null): Promise<NotificationSubscription[]> {
    const { rows } = await this.#db.query<SubscriptionRow>(
      `SELECT s.* FROM notification_subscriptions s JOIN users u ON u.id = s.user_id
       WHERE (u.company_id IS NULL OR u.company_id = $1) AND (s.device_id IS NULL OR s.device_id = $2)`,
      [companyId, deviceId],
    );
    return rows.map(subscriptionFromRow).sort(bySubscription);
  }

  async createWebhook(w: Webhook): Promise<Webhook> {
    checkWebhook(w);
    const { rows } = await this.#db.query<WebhookRow>(
      `INSERT INTO webhooks (id, company_id, url, secret, min_severity, enabled, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING *`,
      [w.id, w.companyId, w.url, this.#box.seal(w.secret), w.minSeverity, w.enabled ? 1 : 0, w.createdAt],
    );
    if (!rows[0]) throw webhookExists(w.id);
    return webhookFromRow(rows[0], this.#box);
  }

  async getWebhook(id: string): Promise<Webhook | undefined> {
    const { rows } = await this.#db.query<WebhookRow>("SELECT * FROM webhooks WHERE id = $1", [id]);
    return rows[0] && webhookFromRow(rows[0], this.#box);
  }

  async listWebhooks(companyId?: string | null): Promise<Webhook[]> {
    const { rows } =
      companyId === undefined
        ? await this.#db.query<WebhookRow>('SELECT * FROM webhooks ORDER BY created_at, id COLLATE "C"')
        : await this.#db.query<WebhookRow>(
            'SELECT * FROM webhooks WHERE company_id IS NOT DISTINCT FROM $1 ORDER BY created_at, id COLLATE "C"',
            [companyId],
          );
    return rows.map((r) => webhookFromRow(r, this.#box));
  }

  async deleteWebhook(id: string): Promise<boolean> {
    const r = await this.#db.query("DELETE FROM webhooks WHERE id = $1", [id]);
    return (r.rowCount ?? 0) > 0;
  }

  async enqueueDeliveries(ds: readonly NewDelivery[]): Promise<number> {
    if (ds.length === 0) return 0;
    const r = await this.#db.query(
      `INSERT INTO notification_deliveries (alarm_id, security_event_id, episode, company_id, kind, channel,
         target, status, attempts, next_attempt_at, last_error, created_at, sent_at)
       SELECT d.alarm_id, d.security_event_id, d.episode, d.company_id, d.kind, d.channel, d.target, 'pending',
              0, d.created_at, NULL, d.created_at, NULL
       FROM unnest($1::bigint[], $8::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[],
                   $7::bigint[])
         AS d (alarm_id, security_event_id, episode, company_id, kind, channel, target, created_at)
       ON CONFLICT DO NOTHING`,
      [
        ds.map((d) => d.alarmId),
        ds.map((d) => d.episode),
        ds.map((d) => d.companyId),
        ds.map((d) => d.kind),
        ds.map((d) => d.channel),
        ds.map((d) => d.target),
        ds.map((d) => d.createdAt),
        ds.map((d) => d.securityEventId ?? null),
      ],
    );
    return r.rowCount ?? 0;
  }

  async claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<Delivery[]> {
    const { rows } = await this.#db.query<DeliveryRow>(
      `UPDATE notification_deliveries SET next_attempt_at = $1, attempts = attempts + 1
       WHERE id IN (SELECT id FROM notification_deliveries WHERE status = 'pending' AND next_attempt_at <= $2
                    ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [now + leaseMs, now, limit],
    );
    return rows.map(deliveryFromRow).sort((a, b) => a.id - b.id);
  }

  async finishDelivery(id: number, outcome: DeliveryOutcome): Promise<Delivery> {
    const [status, next, error, sentAt] = outcomeValues(outcome);
    const { rows } = await this.#db.query<DeliveryRow>(
      `UPDATE notification_deliveries SET status = $1, next_attempt_at = coalesce($2, next_attempt_at),
       last_error = $3, sent_at = $4 WHERE id = $5 RETURNING *`,
      [status, next, error, sentAt, id],
    );
    if (!rows[0]) throw deliveryNotFound(id);
    return deliveryFromRow(rows[0]);
  }

  async listDeliveries(f: DeliveryFilter): Promise<Delivery[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.companyId !== undefined) {
      args.push(f.companyId);
      where.push(`company_id = $${args.length}`);
    }
    if (f.alarmId !== undefined) {
      args.push(f.alarmId);
      where.push(`alarm_id = $${args.length}`);
    }
    if (f.status !== undefined) {
      args.push(f.status);
      where.push(`status = $${args.length}`);
    }
    args.push(f.limit ?? DEFAULT_DELIVERY_LIMIT);
    const { rows } = await this.#db.query<DeliveryRow>(
      `SELECT * FROM notification_deliveries ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(deliveryFromRow);
  }

  async notifiedTargets(
    alarmId: number,
    episode: number,
  ): Promise<{ channel: DeliveryChannel; target: string }[]> {
    const { rows } = await this.#db.query<{ channel: DeliveryChannel; target: string }>(
      `SELECT DISTINCT channel, target FROM notification_deliveries
       WHERE alarm_id = $1 AND episode = $2 AND kind IN ('raised', 'escalated')`,
      [alarmId, episode],
    );
    return rows.sort(byTarget);
  }

  async scheduleReminder(alarmId: number, episode: number, dueAt: number): Promise<void> {
    await this.#db.query(
      `INSERT INTO notification_reminders (alarm_id, episode, due_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [alarmId, episode, dueAt],
    );
  }

  async takeDueReminders(now: number, limit: number): Promise<{ alarmId: number; episode: number }[]> {
    const { rows } = await this.#db.query<{ alarm_id: number; episode: number }>(
      `DELETE FROM notification_reminders WHERE (alarm_id, episode) IN
         (SELECT alarm_id, episode FROM notification_reminders WHERE due_at <= $1 ORDER BY due_at LIMIT $2
          FOR UPDATE SKIP LOCKED)
       RETURNING alarm_id, episode`,
      [now, limit],
    );
    return rows.map((r) => ({ alarmId: r.alarm_id, episode: r.episode }));
  }
}
