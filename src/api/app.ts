import helmet from "@fastify/helmet";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "../core/log.js";
import type { Metrics } from "../core/metrics.js";
import { SERVER_TLS_POLICY } from "../core/tls.js";
import type { PrivacyInput } from "../tenancy/privacy.js";
import { type AccountRoutesDeps, accountRoutes } from "./account-routes.js";
import { type AuthDeps, installAuth } from "./auth.js";
import { type DeviceRoutesDeps, deviceRoutes } from "./device-routes.js";
import { installErrorHandler } from "./errors.js";
import { type NotificationRoutesDeps, notificationRoutes } from "./notification-routes.js";
import { type OperatorRoutesDeps, operatorRoutes } from "./operator-routes.js";
import { privacyRoute } from "./privacy-route.js";
import { type SecurityRoutesDeps, securityRoutes } from "./security-routes.js";
import { webRoutes } from "./web-route.js";

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
  notifications: NotificationRoutesDeps;
  security: SecurityRoutesDeps;
  /** Readiness: false while starting or shutting down. */
  ready(): boolean;
}

/** Content-Security-Policy of every answer: the dashboard's own origin only, no inline code. */
export const CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
};

/**
 * The HTTPS app: health, metrics, the device-facing Azure endpoints, and the API under /api for
 * people and integrations, every route authorized by the one rule table (access.ts, auth.ts).
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    https: { key: deps.tls.key, cert: deps.tls.cert, ...SERVER_TLS_POLICY },
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
  // Before auth, so refusals carry the headers too. The dashboard loads nothing from elsewhere.
  app.register(helmet, { contentSecurityPolicy: { useDefaults: false, directives: CSP } });
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
      notificationRoutes(api, deps.notifications);
      securityRoutes(api, deps.security);
      await operatorRoutes(deps.operator)(api);
    },
    { prefix: "/api" },
  );
  app.register(deviceRoutes(deps.device));
  webRoutes(app);
  return app;
}
