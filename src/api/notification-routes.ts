import type { FastifyInstance, FastifyRequest } from "fastify";
import { PumpwatchError } from "../core/errors.js";
import { checkWebhookUrl, newWebhookId, newWebhookSecret } from "../notify/webhook.js";
import type {
  AlarmSeverity,
  Delivery,
  DeliveryStatus,
  NotificationStore,
  NotificationSubscription,
  TenancyStore,
  Webhook,
} from "../store/ports.js";
import { companyScope, principalOf } from "./auth.js";
import { bad, obj } from "./body.js";

/**
 * Alarm notifications (docs/api.md § Notifications): the caller's own subscriptions, the webhooks of
 * a company or of the operator, and the delivery record. Roles come from access.ts; what is checked
 * here is what the table cannot say: which pumps a subscription may name, and that a company admin
 * only reaches the company's own webhooks (another company's answers 404, like a missing one).
 */
export interface NotificationRoutesDeps {
  store: NotificationStore;
  tenancy: TenancyStore;
  /** Company of a pump: null for none, undefined for an unknown pump. */
  companyOf(deviceId: string): Promise<string | null | undefined>;
  /** Sends a signed test message; resolves with the failure reason, or undefined when accepted. */
  testWebhook(hook: Webhook): Promise<string | undefined>;
  now?: () => number;
}

const MAX_SUBSCRIPTIONS = 200;
const MAX_DELIVERIES = 1000;
const SEVERITIES: readonly AlarmSeverity[] = ["warning", "alarm"];
const STATUSES: readonly DeliveryStatus[] = ["pending", "sent", "failed"];

function severity(value: unknown, field: string): AlarmSeverity {
  if (value === undefined) return "warning";
  if (!SEVERITIES.includes(value as AlarmSeverity)) throw bad(`"${field}" must be "warning" or "alarm"`);
  return value as AlarmSeverity;
}

function webhookNotFound(id: string): PumpwatchError {
  return new PumpwatchError("NOT_FOUND", `no webhook '${id}' for you; check the id`);
}

/** A webhook without its secret. */
function webhookView(w: Webhook) {
  return {
    id: w.id,
    companyId: w.companyId,
    url: w.url,
    minSeverity: w.minSeverity,
    enabled: w.enabled,
    createdAt: w.createdAt,
  };
}

function deliveryView(d: Delivery) {
  return { ...d };
}

function subscriptionView(s: NotificationSubscription) {
  return { deviceId: s.deviceId, minSeverity: s.minSeverity, email: s.email, locale: s.locale };
}

export function notificationRoutes(app: FastifyInstance, deps: NotificationRoutesDeps): void {
  const now = deps.now ?? Date.now;
  const store = deps.store;

  const ownUserId = (req: FastifyRequest): string => {
    const p = principalOf(req);
    if (!p.user) {
      throw bad("the operator token has no user account: log in as a user (POST /api/auth/login) for this");
    }
    return p.user.id;
  };

  /** The webhook named in the path, if the caller may see it (company admins: their company's only). */
  const ownWebhook = async (req: FastifyRequest): Promise<Webhook> => {
    const id = (req.params as { webhookId: string }).webhookId;
    const hook = await store.getWebhook(id);
    const p = principalOf(req);
    if (!hook || (p.companyId !== null && hook.companyId !== p.companyId)) throw webhookNotFound(id);
    return hook;
  };

  const audit = (req: FastifyRequest, event: string, hook: Webhook) =>
    deps.tenancy.appendAudit({
      ts: now(),
      actor: principalOf(req).actor,
      event,
      targetType: "webhook",
      targetId: hook.id,
      companyId: hook.companyId,
    });

  // ---------------------------------------------------------------------------------------------
  // The caller's subscriptions

  app.get("/me/notifications", async (req) => {
    const subs = await store.listSubscriptions(ownUserId(req));
    return { subscriptions: subs.map(subscriptionView) };
  });

  app.put("/me/notifications", async (req) => {
    const userId = ownUserId(req);
    const p = principalOf(req);
    const b = obj(req.body, '{"subscriptions": [{"deviceId": null, "minSeverity": "warning"}]}', [
      "subscriptions",
    ]);
    const list = b["subscriptions"];
    if (!Array.isArray(list) || list.length > MAX_SUBSCRIPTIONS) {
      throw bad(`"subscriptions" must be an array of at most ${MAX_SUBSCRIPTIONS} entries`);
    }
    const subs: Omit<NotificationSubscription, "userId">[] = [];
    for (const raw of list) {
      const s = obj(raw, '{"deviceId": "pump-1" or null, "minSeverity": "warning" or "alarm"}', [
        "deviceId",
        "minSeverity",
        "email",
        "locale",
      ]);
      const deviceId = s["deviceId"] ?? null;
      if (deviceId !== null) {
        if (typeof deviceId !== "string" || deviceId === "" || deviceId.length > 256) {
          throw bad('"deviceId" must be a pump id, or null for all pumps you may see');
        }
        // A pump the caller may not see answers like a missing one.
        const company = await deps.companyOf(deviceId);
        if (company === undefined || (p.companyId !== null && company !== p.companyId)) {
          throw new PumpwatchError("NOT_FOUND", `no device '${deviceId}' for you; check the id`);
        }
      }
      const email = s["email"] ?? true;
      if (typeof email !== "boolean") throw bad('"email" must be true or false');
      const locale = s["locale"] ?? "de";
      if (locale !== "de" && locale !== "en") throw bad('"locale" must be "de" or "en"');
      subs.push({ deviceId, minSeverity: severity(s["minSeverity"], "minSeverity"), email, locale });
    }
    const saved = await store.replaceSubscriptions(userId, subs);
    return { subscriptions: saved.map(subscriptionView) };
  });

  // ---------------------------------------------------------------------------------------------
  // Webhooks

  app.get("/webhooks", async (req) => {
    const p = principalOf(req);
    const q = req.query as { company?: string };
    const hooks =
      p.companyId !== null
        ? await store.listWebhooks(companyScope(req, q.company))
        : await store.listWebhooks(q.company === undefined ? undefined : q.company || null);
    return { webhooks: hooks.map(webhookView) };
  });

  app.post("/webhooks", async (req, reply) => {
    const p = principalOf(req);
    const b = obj(req.body, '{"url": "https://…", "minSeverity": "warning", "companyId": "…"}', [
      "url",
      "minSeverity",
      "companyId",
      "enabled",
    ]);
    const url = checkWebhookUrl(b["url"]);
    let companyId: string | null;
    if (p.companyId !== null) {
      const given = b["companyId"];
      if (given !== undefined && given !== p.companyId) {
        throw new PumpwatchError("NOT_FOUND", `no company '${String(given)}' for you; check the id`);
      }
      companyId = p.companyId;
    } else {
      const given = b["companyId"] ?? null;
      if (given !== null && typeof given !== "string") throw bad('"companyId" must be a company id or null');
      if (given !== null && !(await deps.tenancy.getCompany(given))) {
        throw new PumpwatchError("NOT_FOUND", `company ${given} does not exist: list the companies`);
      }
      companyId = given;
    }
    const enabled = b["enabled"] ?? true;
    if (typeof enabled !== "boolean") throw bad('"enabled" must be true or false');
    const hook = await store.createWebhook({
      id: newWebhookId(),
      companyId,
      url,
      secret: newWebhookSecret(),
      minSeverity: severity(b["minSeverity"], "minSeverity"),
      enabled,
      createdAt: now(),
    });
    await audit(req, "webhook.created", hook);
    // The secret is shown here once; it is kept sealed and never answered again.
    return reply.status(201).send({ webhook: webhookView(hook), secret: hook.secret });
  });

  app.delete("/webhooks/:webhookId", async (req, reply) => {
    const hook = await ownWebhook(req);
    await store.deleteWebhook(hook.id);
    await audit(req, "webhook.deleted", hook);
    return reply.status(204).send();
  });

  app.post("/webhooks/:webhookId/test", async (req) => {
    const hook = await ownWebhook(req);
    const error = await deps.testWebhook(hook);
    return { ok: error === undefined, error: error ?? null };
  });

  // ---------------------------------------------------------------------------------------------
  // Delivery record

  app.get("/notifications/deliveries", async (req) => {
    const q = req.query as { alarm?: string; status?: string; limit?: string; company?: string };
    const alarmId = q.alarm === undefined ? undefined : Number(q.alarm);
    if (alarmId !== undefined && !(Number.isSafeInteger(alarmId) && alarmId > 0)) {
      throw bad('"alarm" must be an alarm id');
    }
    if (q.status !== undefined && !STATUSES.includes(q.status as DeliveryStatus)) {
      throw bad(`"status" must be one of ${STATUSES.join(", ")}`);
    }
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DELIVERIES) {
      throw bad(`"limit" must be 1–${MAX_DELIVERIES}`);
    }
    const deliveries = await store.listDeliveries({
      companyId: companyScope(req, q.company),
      alarmId,
      status: q.status as DeliveryStatus | undefined,
      limit,
    });
    return { deliveries: deliveries.map(deliveryView) };
  });
}
