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
import { companyScope, principalOf } from "./auth.js";
import { historyRoutes } from "./history-routes.js";
import { tenancyRoutes } from "./tenancy-routes.js";
import { parseTime } from "./time.js";

export interface OperatorRoutesDeps {
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
  /** The company of a device from the in-process cache: filters live events per tenant. */
  companyOf(deviceId: string): string | null | undefined;
  /** Companies, contracts and the audit log (operator scope until tenant-scoped auth exists). */
  tenancy: TenancyStore;
  termination: TerminationService;
  /** Clock of audit entries and contracts; the data path always uses the real clock. */
  now?: () => number;
}

const MAX_SAMPLES = 100_000;

/**
 * The fleet API under /api: devices, enrollments, telemetry, history, analytics, companies and
 * contracts. Who may call what is decided before the handlers run (access.ts, auth.ts); list
 * handlers cut their answers to the caller's company with `companyScope`.
 */
export function operatorRoutes(deps: OperatorRoutesDeps) {
  return async (app: FastifyInstance) => {
    /** A company named by an enrollment or a device must exist (null: unassigned). */
    const knownCompany = async (companyId: string | null | undefined) => {
      if (typeof companyId === "string" && !(await deps.tenancy.getCompany(companyId))) {
        throw new PumpwatchError(
          "NOT_FOUND",
          `no company '${companyId}'; create it first (POST /api/companies)`,
        );
      }
      return companyId ?? null;
    };
    const companyProp = { type: ["string", "null"] } as const;
    const auditDevice = async (
      req: FastifyRequest,
      event: string,
      deviceId: string,
      companyId: string | null,
    ) => {
      await deps.tenancy.appendAudit({
        ts: (deps.now ?? Date.now)(),
        actor: principalOf(req).actor,
        event,
        targetType: "device",
        targetId: deviceId,
        companyId,
      });
    };

    app.get("/info", async () => deps.info);
    historyRoutes(app, deps);
    analyticsRoutes(app, deps);
    tenancyRoutes(app, deps);

    app.get<{ Querystring: { company?: string } }>("/devices", async (req) => {
      const company = companyScope(req, req.query.company);
      const devices = await deps.admin.listDevices();
      return { devices: company === undefined ? devices : devices.filter((d) => d.companyId === company) };
    });
    app.get<{ Params: { id: string } }>("/devices/:id", async (req) => deps.admin.getDevice(req.params.id));

    app.patch<{
      Params: { id: string };
      Body: {
        companyId?: string | null;
        model?: string | null;
        pumpType?: string | null;
        serial?: string | null;
        name?: string | null;
        site?: string | null;
      };
    }>(
      "/devices/:id",
      {
        schema: {
          body: {
            type: "object",
            properties: {
              companyId: { type: ["string", "null"] },
              model: { type: ["string", "null"] },
              pumpType: { type: ["string", "null"] },
              serial: { type: ["string", "null"] },
              name: { type: ["string", "null"] },
              site: { type: ["string", "null"] },
            },
            additionalProperties: false,
          },
        },
      },
      async (req) => {
        const before = await deps.admin.getDevice(req.params.id);
        if (req.body.companyId !== undefined) await knownCompany(req.body.companyId);
        const view = await deps.admin.updateDevice(req.params.id, req.body);
        await deps.onDeviceChanged(req.params.id);
        if (view.companyId !== before.companyId) {
          await auditDevice(req, "device.company.changed", view.id, view.companyId);
        }
        return view;
      },
    );

    app.post<{ Params: { id: string; action: string }; Body: { which?: "primary" | "both" } | undefined }>(
      "/devices/:id/:action",
      async (req) => {
        const { id, action } = req.params;
        if (action === "enable" || action === "disable") {
          const view = await deps.admin.setDeviceEnabled(id, action === "enable");
          await deps.onDeviceChanged(id);
          await auditDevice(req, `device.${action}d`, id, view.companyId);
          return view;
        }
        if (action === "rotate-key") {
          const keys = await deps.admin.rotateKey(id, req.body?.which ?? "both");
          await deps.onDeviceChanged(id);
          await auditDevice(req, "device.key.rotated", id, (await deps.admin.getDevice(id)).companyId);
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

    app.get("/enrollments", async () => ({ enrollments: await deps.admin.listEnrollments() }));

    app.post<{ Body: { name: string; companyId?: string | null } }>(
      "/enrollments/groups",
      {
        schema: {
          body: {
            type: "object",
            required: ["name"],
            properties: { name: { type: "string" }, companyId: companyProp },
            additionalProperties: false,
          },
        },
      },
      async (req, reply) => {
        const companyId = await knownCompany(req.body.companyId);
        return reply.status(201).send(await deps.admin.enrollGroup(req.body.name, { companyId }));
      },
    );

    app.post<{ Body: { registrationId: string; companyId?: string | null } }>(
      "/enrollments/devices",
      {
        schema: {
          body: {
            type: "object",
            required: ["registrationId"],
            properties: { registrationId: { type: "string" }, companyId: companyProp },
            additionalProperties: false,
          },
        },
      },
      async (req, reply) => {
        const companyId = await knownCompany(req.body.companyId);
        return reply.status(201).send(await deps.admin.enrollDevice(req.body.registrationId, { companyId }));
      },
    );
  };
}
