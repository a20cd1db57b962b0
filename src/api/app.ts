import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "../core/log.js";
import type { Metrics } from "../core/metrics.js";
import type { PrivacyInput } from "../tenancy/privacy.js";
import { type AccountRoutesDeps, accountRoutes } from "./account-routes.js";
import { type AuthDeps, installAuth } from "./auth.js";
import { type DeviceRoutesDeps, deviceRoutes } from "./device-routes.js";
import { installErrorHandler } from "./errors.js";
import { type OperatorRoutesDeps, operatorRoutes } from "./operator-routes.js";
import { privacyRoute } from "./privacy-route.js";

export interface AppDeps {
  tls: { key: string; cert: string };
  /** Input of the privacy information (what this installation holds and for how long). */
  privacy: Omit<PrivacyInput, "locale">;
  log: Logger;
  metrics: Metrics;
  device: DeviceRoutesDeps;
  operator: OperatorRoutesDeps;
  auth: AuthDeps;
  accounts: AccountRoutesDeps;
  /** Readiness: false while starting or shutting down. */
  ready(): boolean;
}

/**
 * The HTTPS app: health, metrics, the device-facing Azure endpoints, and the API under /api for
 * people and integrations, every route authorized by the one rule table (access.ts, auth.ts).
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    https: { key: deps.tls.key, cert: deps.tls.cert, minVersion: "TLSv1.2" },
    // Per-request logs only at warn and above: a busy device fleet would flood info.
    loggerInstance: deps.log.child(
      { part: "api" },
      { level: deps.log.levelVal > 40 ? deps.log.level : "warn" },
    ) as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // Device SDK paths carry raw ids with ':' and '.'; keep router defaults otherwise.
    routerOptions: { maxParamLength: 256 },
  });
  installErrorHandler(app);
  installAuth(app, deps.auth);

  app.get("/healthz", async (_req, reply) =>
    deps.ready()
      ? { status: "ok" }
      : reply.status(503).send({ status: "starting", message: "not ready yet; retry shortly" }),
  );
  app.get("/metrics", async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  privacyRoute(app, deps.privacy);
  app.register(
    async (api) => {
      accountRoutes(api, deps.accounts);
      await operatorRoutes(deps.operator)(api);
    },
    { prefix: "/api" },
  );
  app.register(deviceRoutes(deps.device));
  return app;
}
