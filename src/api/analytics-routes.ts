import type { FastifyInstance } from "fastify";
import { aggregateKpis } from "../analytics/kpi.js";
import type { AnalyticsService } from "../analytics/service.js";
import type { BusEvents, BusTopic, EventBus } from "../core/bus.js";
import { PumpwatchError } from "../core/errors.js";
import type { RegistryAdmin } from "../provisioning/admin.js";
import type { AlarmSeverity, AnalyticsStore } from "../store/ports.js";
import { companyScope, principalOf } from "./auth.js";
import { parseRange, parseTime } from "./time.js";

export interface AnalyticsRoutesDeps {
  admin: RegistryAdmin;
  analytics: AnalyticsService;
  analyticsStore: AnalyticsStore;
  bus: EventBus;
  /** The company of a device from the in-process cache (undefined when not cached): filters live events. */
  companyOf(deviceId: string): string | null | undefined;
}

const DAY = 86_400_000;
const PERIOD_SPAN: Record<"day" | "week" | "month", number> = {
  day: 31 * DAY,
  week: 26 * 7 * DAY,
  month: 366 * DAY,
};
const SEVERITIES: readonly AlarmSeverity[] = ["warning", "alarm"];

function bool(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new PumpwatchError("BAD_REQUEST", `'${name}' must be true or false, got '${value}'`);
}

function alarmId(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new PumpwatchError("BAD_REQUEST", `alarm id must be a positive integer, got '${raw}'`);
  }
  return id;
}

function period(value: string | undefined): "day" | "week" | "month" {
  const p = value ?? "day";
  if (p !== "day" && p !== "week" && p !== "month") {
    throw new PumpwatchError("BAD_REQUEST", `'period' must be day, week or month, got '${p}'`);
  }
  return p;
}

function timeZone(value: string | undefined): string {
  const tz = value ?? "UTC";
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
  } catch {
    throw new PumpwatchError(
      "BAD_REQUEST",
      `unknown time zone '${tz}'; use an IANA name such as Europe/Berlin`,
    );
  }
  return tz;
}

const kpiQuery = {
  type: "object",
  properties: {
    period: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    tz: { type: "string" },
  },
} as const;

type KpiQuery = { period?: string; from?: string; to?: string; tz?: string };

function kpiRange(q: KpiQuery) {
  const p = period(q.period);
  const { fromMs: from, toMs: to } = parseRange(q, PERIOD_SPAN[p], Date.now());
  if (to - from > 3 * 366 * DAY) throw new PumpwatchError("BAD_REQUEST", "KPI range is limited to 3 years");
  return { period: p, from, to, timeZone: timeZone(q.tz) };
}

/**
 * Analytics API (docs/api.md § Analytics): alarms with acknowledge/shelve/comment and history,
 * per-pump analytics (state, health, forecasts), maintenance log, rule overrides, KPIs, fleet health,
 * and the live event stream. Registered inside the operator scope (same authorisation).
 */
export function analyticsRoutes(app: FastifyInstance, deps: AnalyticsRoutesDeps): void {
  const { analytics, analyticsStore: store } = deps;

  app.get<{
    Querystring: {
      device?: string;
      active?: string;
      acknowledged?: string;
      severity?: string;
      shelved?: string;
      since?: string;
      limit?: number;
    };
  }>(
    "/alarms",
    {
      schema: {
        querystring: {
          type: "object",
          properties: {
            device: { type: "string" },
            active: { type: "string" },
            acknowledged: { type: "string" },
            severity: { type: "string" },
            shelved: { type: "string" },
            since: { type: "string" },
            limit: { type: "integer", minimum: 1, maximum: 5000 },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      if (q.severity !== undefined && !SEVERITIES.includes(q.severity as AlarmSeverity)) {
        throw new PumpwatchError("BAD_REQUEST", `'severity' must be warning or alarm, got '${q.severity}'`);
      }
      const requested = q.device ? q.device.split(",").filter(Boolean) : undefined;
      const company = companyScope(req);
      let deviceIds = requested;
      if (company !== undefined) {
        // A company sees the alarms of its own pumps only, whatever was asked for.
        const own = await fleetIds(deps.admin, company);
        deviceIds = requested ? requested.filter((id) => own.includes(id)) : own;
        if (deviceIds.length === 0) return { alarms: [] };
      }
      const alarms = await store.listAlarms({
        deviceIds,
        active: bool(q.active, "active"),
        acknowledged: bool(q.acknowledged, "acknowledged"),
        severity: q.severity as AlarmSeverity | undefined,
        includeShelved: bool(q.shelved, "shelved") ?? true,
        now: Date.now(),
        since: q.since === undefined ? undefined : parseTime(q.since, 0, "since"),
        limit: q.limit ?? 500,
      });
      return { alarms };
    },
  );

  app.get<{ Params: { id: string } }>("/alarms/:id", async (req) => {
    const id = alarmId(req.params.id);
    const alarm = await store.getAlarm(id);
    if (!alarm) throw new PumpwatchError("NOT_FOUND", `no alarm ${id}; list alarms with GET /api/alarms`);
    return { ...alarm, history: await store.alarmHistory(id) };
  });

  app.post<{ Params: { id: string }; Body: { comment?: string } | undefined }>(
    "/alarms/:id/acknowledge",
    {
      schema: {
        body: { type: ["object", "null"], properties: { comment: { type: "string", maxLength: 2000 } } },
      },
    },
    async (req) =>
      analytics.alarmAction(alarmId(req.params.id), "acknowledge", principalOf(req).actor, {
        text: req.body?.comment,
      }),
  );

  app.post<{ Params: { id: string }; Body: { until?: string; minutes?: number; comment?: string } }>(
    "/alarms/:id/shelve",
    {
      schema: {
        body: {
          type: "object",
          properties: {
            until: { type: "string" },
            minutes: { type: "number", exclusiveMinimum: 0, maximum: 60 * 24 * 90 },
            comment: { type: "string", maxLength: 2000 },
          },
        },
      },
    },
    async (req) => {
      const b = req.body;
      const until =
        b.until !== undefined
          ? parseTime(b.until, 0, "until")
          : b.minutes !== undefined
            ? Date.now() + b.minutes * 60_000
            : undefined;
      return analytics.alarmAction(alarmId(req.params.id), "shelve", principalOf(req).actor, {
        until,
        text: b.comment,
      });
    },
  );

  app.post<{ Params: { id: string } }>("/alarms/:id/unshelve", async (req) =>
    analytics.alarmAction(alarmId(req.params.id), "unshelve", principalOf(req).actor, {}),
  );

  app.post<{ Params: { id: string }; Body: { text: string } }>(
    "/alarms/:id/comments",
    {
      schema: {
        body: {
          type: "object",
          required: ["text"],
          properties: { text: { type: "string", minLength: 1, maxLength: 2000 } },
        },
      },
    },
    async (req, reply) => {
      const alarm = await analytics.alarmAction(alarmId(req.params.id), "comment", principalOf(req).actor, {
        text: req.body.text,
      });
      return reply.status(201).send(alarm);
    },
  );

  app.get<{ Params: { id: string } }>("/devices/:id/analytics", async (req) => {
    await deps.admin.getDevice(req.params.id);
    return analytics.pump(req.params.id);
  });

  app.get<{ Params: { id: string } }>("/devices/:id/health", async (req) => analytics.health(req.params.id));

  app.get<{ Params: { id: string } }>("/devices/:id/forecasts", async (req) => ({
    forecasts: await analytics.forecasts(req.params.id),
  }));

  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    "/devices/:id/maintenance",
    {
      schema: {
        querystring: {
          type: "object",
          properties: { limit: { type: "integer", minimum: 1, maximum: 5000 } },
        },
      },
    },
    async (req) => {
      await deps.admin.getDevice(req.params.id);
      return { maintenance: await store.listMaintenance(req.params.id, req.query.limit ?? 500) };
    },
  );

  app.post<{ Params: { id: string }; Body: { action: string; ts?: string; note?: string } }>(
    "/devices/:id/maintenance",
    {
      schema: {
        body: {
          type: "object",
          required: ["action"],
          properties: {
            action: { type: "string" },
            ts: { type: "string" },
            note: { type: "string", maxLength: 2000 },
          },
        },
      },
    },
    async (req, reply) => {
      const ts = req.body.ts === undefined ? undefined : parseTime(req.body.ts, 0, "ts");
      const record = await analytics.logMaintenance(
        req.params.id,
        { action: req.body.action, ts, note: req.body.note },
        principalOf(req).actor,
      );
      return reply.status(201).send(record);
    },
  );

  app.get<{ Params: { id: string } }>("/devices/:id/rules", async (req) => analytics.rules(req.params.id));

  app.put<{ Params: { id: string }; Body: unknown }>("/devices/:id/rules", async (req) =>
    analytics.setRuleOverrides(req.params.id, req.body ?? null),
  );

  app.get<{ Params: { id: string }; Querystring: KpiQuery }>(
    "/devices/:id/kpis",
    { schema: { querystring: kpiQuery } },
    async (req) => {
      await deps.admin.getDevice(req.params.id);
      const r = kpiRange(req.query);
      await analytics.flush();
      const ids = [req.params.id];
      const hours = await store.queryKpiHours(ids, r.from, r.to);
      const events = await store.alarmEvents(ids, r.from, r.to);
      return { ...r, kpis: aggregateKpis(hours, events, r) };
    },
  );

  app.get<{ Querystring: KpiQuery & { company?: string } }>(
    "/fleet/kpis",
    {
      schema: {
        querystring: { ...kpiQuery, properties: { ...kpiQuery.properties, company: { type: "string" } } },
      },
    },
    async (req) => {
      const r = kpiRange(req.query);
      const ids = await fleetIds(deps.admin, companyScope(req, req.query.company));
      await analytics.flush();
      const hours = await store.queryKpiHours(ids, r.from, r.to);
      const events = await store.alarmEvents(ids, r.from, r.to);
      return { ...r, kpis: aggregateKpis(hours, events, { ...r, fleet: true }) };
    },
  );

  app.get<{ Querystring: { company?: string } }>("/fleet/health", async (req) =>
    analytics.fleet(await fleetIds(deps.admin, companyScope(req, req.query.company))),
  );

  app.get<{ Querystring: { device?: string; topics?: string } }>("/events", async (req, reply) => {
    const devices = req.query.device ? new Set(req.query.device.split(",").filter(Boolean)) : null;
    const topics = parseTopics(req.query.topics);
    // A company user's stream carries its own pumps only; ownership is looked up per event (cached
    // device records), so pumps assigned later show up and pumps moved away stop at once.
    const company = companyScope(req);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    res.write(": pumpwatch live events\n\n");
    const send = (topic: BusTopic, deviceId: string, data: unknown) => {
      if (devices && !devices.has(deviceId)) return;
      if (company !== undefined && deps.companyOf(deviceId) !== company) return;
      res.write(`event: ${topic}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const unsubscribe = topics.map((topic) =>
      deps.bus.subscribe(topic, (e: BusEvents[typeof topic]) =>
        send(topic, "alarm" in e ? e.alarm.deviceId : e.deviceId, e),
      ),
    );
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
    req.raw.on("close", () => {
      clearInterval(ping);
      for (const u of unsubscribe) u();
    });
  });
}

/** Topics of the live stream: what pumps do (security events are for operators, through their API). */
type LiveTopic = Exclude<BusTopic, "security">;
const TOPICS: readonly LiveTopic[] = ["alarm", "values", "connectivity", "maintenance"];

function parseTopics(value: string | undefined): LiveTopic[] {
  if (!value) return [...TOPICS];
  const wanted = value.split(",").filter(Boolean);
  const bad = wanted.filter((t) => !TOPICS.includes(t as LiveTopic));
  if (bad.length > 0) {
    throw new PumpwatchError(
      "BAD_REQUEST",
      `unknown event topic(s) ${bad.join(", ")}; known: ${TOPICS.join(", ")}`,
    );
  }
  return wanted as LiveTopic[];
}

/** Device ids of the fleet, optionally of one company. */
async function fleetIds(admin: RegistryAdmin, company: string | undefined): Promise<string[]> {
  const devices = await admin.listDevices();
  return devices.filter((d) => company === undefined || d.companyId === company).map((d) => d.id);
}
