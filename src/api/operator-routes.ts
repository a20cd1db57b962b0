import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AnalyticsService } from "../analytics/service.js";
import type { EventBus } from "../core/bus.js";
import { PumpwatchError } from "../core/errors.js";
import type { RegistryAdmin } from "../provisioning/admin.js";
import type {
  AnalyticsStore,
  RegistryStore,
  RetentionPolicy,
  TelemetryStore,
  TenancyStore,
} from "../store/ports.js";
import type { TerminationService } from "../tenancy/termination.js";
import { analyticsRoutes } from "./analytics-routes.js";
import { historyRoutes } from "./history-routes.js";
import { tenancyRoutes } from "./tenancy-routes.js";
import { parseTime } from "./time.js";

export interface OperatorRoutesDeps {
  operatorToken: string;
  admin: RegistryAdmin;
  registry: RegistryStore;
  telemetry: TelemetryStore;
  /** Called after a device was changed (disabled, keys rotated): re-check its live connection. */
  onDeviceChanged(deviceId: string): Promise<void>;
  /** Called after the desired twin properties changed: push them to the device. */
  onDesiredChanged(deviceId: string, patch: Record<string, unknown>, version: number): void;
  info: Record<string, unknown>;
  defaultRetention: RetentionPolicy;
  analytics: AnalyticsService;
  analyticsStore: AnalyticsStore;
  bus: EventBus;
  /** Companies, contracts and the audit log (operator scope until tenant-scoped auth exists). */
  tenancy: TenancyStore;
  termination: TerminationService;
}

const MAX_SAMPLES = 100_000;

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Operator API under /api, protected by the operator token (`Authorization: Bearer <token>`). */
export function operatorRoutes(deps: OperatorRoutesDeps) {
  const want = sha256(deps.operatorToken);
  const authorize = async (req: FastifyRequest) => {
    const h = req.headers.authorization ?? "";
    const given = h.startsWith("Bearer ") ? h.slice(7).trim() : "";
    if (!given || !timingSafeEqual(sha256(given), want)) {
      throw new PumpwatchError(
        "UNAUTHORIZED",
        "missing or wrong operator token: send 'Authorization: Bearer <token>' (see <data>/operator-token)",
      );
    }
  };

  return async (app: FastifyInstance) => {
    app.addHook("onRequest", authorize);

    app.get("/info", async () => deps.info);
    historyRoutes(app, deps);
    analyticsRoutes(app, deps);
    tenancyRoutes(app, deps);

    app.get("/devices", async () => ({ devices: await deps.admin.listDevices() }));
    app.get<{ Params: { id: string } }>("/devices/:id", async (req) => deps.admin.getDevice(req.params.id));

    app.post<{ Params: { id: string; action: string }; Body: { which?: "primary" | "both" } | undefined }>(
      "/devices/:id/:action",
      async (req) => {
        const { id, action } = req.params;
        if (action === "enable") {
          const view = await deps.admin.setDeviceEnabled(id, true);
          await deps.onDeviceChanged(id);
          return view;
        }
        if (action === "disable") {
          const view = await deps.admin.setDeviceEnabled(id, false);
          await deps.onDeviceChanged(id);
          return view;
        }
        if (action === "rotate-key") {
          const keys = await deps.admin.rotateKey(id, req.body?.which ?? "both");
          await deps.onDeviceChanged(id);
          return keys;
        }
        throw new PumpwatchError(
          "NOT_FOUND",
          `unknown device action '${action}': use enable, disable or rotate-key`,
        );
      },
    );

    app.get<{ Params: { id: string } }>("/devices/:id/twin", async (req) => {
      await deps.admin.getDevice(req.params.id);
      return deps.registry.getTwin(req.params.id);
    });

    app.patch<{ Params: { id: string }; Body: { desired: Record<string, unknown> } }>(
      "/devices/:id/twin",
      {
        schema: {
          body: {
            type: "object",
            required: ["desired"],
            properties: { desired: { type: "object" } },
            additionalProperties: false,
          },
        },
      },
      async (req) => {
        await deps.admin.getDevice(req.params.id);
        const twin = await deps.registry.patchTwin(req.params.id, "desired", req.body.desired);
        deps.onDesiredChanged(req.params.id, req.body.desired, twin.desiredVersion);
        return twin;
      },
    );

    app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string; limit?: number } }>(
      "/devices/:id/telemetry",
      {
        schema: {
          querystring: {
            type: "object",
            properties: {
              from: { type: "string" },
              to: { type: "string" },
              limit: { type: "integer", minimum: 1, maximum: MAX_SAMPLES },
            },
          },
        },
      },
      async (req) => {
        await deps.admin.getDevice(req.params.id);
        const from = parseTime(req.query.from, 0, "from");
        const to = parseTime(req.query.to, Date.now() + 86_400_000, "to");
        const samples = await deps.telemetry.querySamples(req.params.id, from, to, req.query.limit ?? 10_000);
        return { samples: samples.map((s) => ({ ts: new Date(s.ts).toISOString(), values: s.values })) };
      },
    );

    app.get<{ Querystring: { deviceId?: string; limit?: number } }>(
      "/quarantine",
      {
        schema: {
          querystring: {
            type: "object",
            properties: {
              deviceId: { type: "string" },
              limit: { type: "integer", minimum: 1, maximum: 1000 },
            },
          },
        },
      },
      async (req) => ({
        entries: await deps.telemetry.listQuarantine({
          limit: req.query.limit ?? 100,
          deviceId: req.query.deviceId,
        }),
      }),
    );

    app.post<{ Body: { name: string } }>(
      "/enrollments/groups",
      { schema: { body: { type: "object", required: ["name"], properties: { name: { type: "string" } } } } },
      async (req, reply) => reply.status(201).send(await deps.admin.enrollGroup(req.body.name)),
    );

    app.post<{ Body: { registrationId: string } }>(
      "/enrollments/devices",
      {
        schema: {
          body: {
            type: "object",
            required: ["registrationId"],
            properties: { registrationId: { type: "string" } },
          },
        },
      },
      async (req, reply) => reply.status(201).send(await deps.admin.enrollDevice(req.body.registrationId)),
    );
  };
}
