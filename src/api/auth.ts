import { createHash, timingSafeEqual } from "node:crypto";
import cookie from "@fastify/cookie";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { checkCsrf, hashToken, hasScope, tokenPrefix } from "../auth/tokens.js";
import { PumpwatchError } from "../core/errors.js";
import type { Device, TenancyStore, User, UserRole } from "../store/ports.js";
import { type AccessRule, accessRule, DEVICE, PUBLIC, type TenantKind } from "./access.js";

/**
 * Authentication and authorization of the HTTPS API, in one place: every route's rule comes from
 * the table in access.ts (a route without a rule stops the server from starting), and one
 * `onRequest` hook resolves the caller, checks role, API-token scope, CSRF and tenant before any
 * handler runs. Handlers of list routes cut their answers with `companyScope`.
 *
 * Callers:
 * - a browser session: the `__Host-pumpwatch-session` cookie (HttpOnly, Secure, SameSite=Strict),
 *   with the `x-csrf-token` header on every write;
 * - an integration: `Authorization: Bearer pwt_…`, an API token acting for its user within its scopes;
 * - the installation's operator token (`<data>/operator-token`): operator administrator rights, for
 *   the command line and automation before any user exists.
 */

export const SESSION_COOKIE = "__Host-pumpwatch-session";
export const CSRF_HEADER = "x-csrf-token";

export interface Principal {
  via: "operatorToken" | "session" | "apiToken";
  /** Recorded as the actor of changes: the user id, or "operator" for the operator token. */
  actor: string;
  user: User | null;
  role: UserRole;
  /** The company the caller belongs to; null for operator staff, who see every company. */
  companyId: string | null;
  /** Scopes of an API token; null for sessions and the operator token. */
  scopes: readonly string[] | null;
  /** The session secret (from the cookie): CSRF tokens are bound to it. */
  sessionToken: string | null;
  /** Display id of the API token used. */
  tokenId: string | null;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AuthDeps {
  operatorToken: string;
  tenancy: TenancyStore;
  /** Device look-up (cached) for tenant checks. */
  device(id: string): Promise<Device | undefined>;
  /** Device id of an alarm, for tenant checks. */
  alarmDevice(id: number): Promise<string | undefined>;
  session: SessionPolicy;
  now?: () => number;
}

export interface SessionPolicy {
  /** A session ends after this long without a request. */
  idleMs: number;
  /** …and at the latest this long after the login. */
  maxMs: number;
}

/** How often a session's last-seen time is written at most (every request would be a write). */
const TOUCH_EVERY_MS = 60_000;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const ROLE_TEXT: Record<UserRole, string> = {
  operatorAdmin: "operator administrator",
  serviceTechnician: "service technician",
  companyAdmin: "company administrator",
  companyUser: "company user",
};

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

function unauthorized(message: string): PumpwatchError {
  return new PumpwatchError("UNAUTHORIZED", message);
}

function notFound(kind: TenantKind, id: string): PumpwatchError {
  return new PumpwatchError("NOT_FOUND", `no ${kind} '${id}' for you; check the id`);
}

const COOKIE_ATTRIBUTES = { path: "/", httpOnly: true, secure: true, sameSite: "strict" as const };

/** The attributes of the session cookie; `maxAge` in seconds. */
export function sessionCookieOptions(maxAgeSec: number) {
  return { ...COOKIE_ATTRIBUTES, maxAge: maxAgeSec };
}

/** Tells the browser to drop the session cookie (same attributes, or a `__Host-` cookie is not replaced). */
export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, COOKIE_ATTRIBUTES);
}

/** Registers cookie parsing, the route-rule check and the request hook. Call before any route. */
export function installAuth(app: FastifyInstance, deps: AuthDeps): void {
  const now = deps.now ?? Date.now;
  const operatorHash = sha256(deps.operatorToken);
  app.register(cookie);
  app.decorateRequest("principal", null);

  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (accessRule(method, route.url) === undefined) {
        throw new Error(`route ${method} ${route.url} has no access rule: add it to src/api/access.ts`);
      }
    }
  });

  const resolve = async (req: FastifyRequest, reply: FastifyReply): Promise<Principal | null> => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const given = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
      if (!given) throw unauthorized("malformed Authorization header: send 'Authorization: Bearer <token>'");
      if (timingSafeEqual(sha256(given), operatorHash)) {
        return {
          via: "operatorToken",
          actor: "operator",
          user: null,
          role: "operatorAdmin",
          companyId: null,
          scopes: null,
          sessionToken: null,
          tokenId: null,
        };
      }
      if (tokenPrefix(given) !== "pwt") {
        throw unauthorized("unknown token: send an API token (pwt_…) or the operator token");
      }
      const token = await deps.tenancy.getApiTokenByHash(hashToken(given), now());
      const user = token && (await deps.tenancy.getUser(token.userId));
      if (!token || !user) {
        throw unauthorized("API token unknown, expired or revoked: create a new one under /api/me/tokens");
      }
      return {
        via: "apiToken",
        actor: user.id,
        user,
        role: user.role,
        companyId: user.companyId,
        scopes: token.scopes,
        sessionToken: null,
        tokenId: token.id,
      };
    }
    const secret = req.cookies[SESSION_COOKIE];
    if (secret === undefined) return null;
    const hash = tokenPrefix(secret) === "pws" ? hashToken(secret) : undefined;
    const t = now();
    const session = hash === undefined ? undefined : await deps.tenancy.getSessionByHash(hash, t);
    const user = session && (await deps.tenancy.getUser(session.userId));
    if (!session || !user || hash === undefined) {
      clearSessionCookie(reply);
      throw unauthorized("your session has ended: log in again (POST /api/auth/login)");
    }
    if (t - session.lastSeenAt >= TOUCH_EVERY_MS) {
      await deps.tenancy.touchSession(
        hash,
        t,
        Math.min(session.createdAt + deps.session.maxMs, t + deps.session.idleMs),
      );
    }
    return {
      via: "session",
      actor: user.id,
      user,
      role: user.role,
      companyId: user.companyId,
      scopes: null,
      sessionToken: secret,
      tokenId: null,
    };
  };

  const ownsTenant = async (p: Principal, kind: TenantKind, id: string): Promise<boolean> => {
    switch (kind) {
      case "company":
        return id === p.companyId;
      case "device":
        return (await deps.device(id))?.companyId === p.companyId;
      case "alarm": {
        const n = Number(id);
        const deviceId = Number.isSafeInteger(n) && n > 0 ? await deps.alarmDevice(n) : undefined;
        return deviceId !== undefined && (await deps.device(deviceId))?.companyId === p.companyId;
      }
      case "user":
        return (await deps.tenancy.getUser(id))?.companyId === p.companyId;
    }
  };

  const authorize = async (req: FastifyRequest, p: Principal, rule: AccessRule): Promise<void> => {
    if (!rule.roles.includes(p.role)) {
      throw new PumpwatchError(
        "FORBIDDEN",
        `a ${ROLE_TEXT[p.role]} may not ${req.method} ${req.routeOptions.url}; ask an administrator`,
      );
    }
    if (p.via === "apiToken") {
      if (rule.scope === undefined) {
        throw new PumpwatchError(
          "FORBIDDEN",
          `API tokens cannot ${req.method} ${req.routeOptions.url}: log in as a user to do this`,
        );
      }
      if (!hasScope(p.scopes ?? [], rule.scope)) {
        throw new PumpwatchError("FORBIDDEN", `this API token lacks the scope '${rule.scope}'`, {
          requiredScope: rule.scope,
        });
      }
    }
    if (p.via === "session" && !SAFE_METHODS.has(req.method)) {
      if (!checkCsrf(p.sessionToken ?? "", req.headers[CSRF_HEADER])) {
        throw new PumpwatchError(
          "FORBIDDEN",
          `missing or invalid CSRF token: send the '${CSRF_HEADER}' header with the csrfToken from the login answer or GET /api/me`,
        );
      }
    }
    if (rule.tenant && p.companyId !== null) {
      const id = (req.params as Record<string, string>)[rule.tenant.param] ?? "";
      if (!(await ownsTenant(p, rule.tenant.kind, id))) throw notFound(rule.tenant.kind, id);
    }
  };

  app.addHook("onRequest", async (req, reply) => {
    const url = req.routeOptions.url;
    if (url === undefined) return; // no route: the not-found handler answers
    const rule = accessRule(req.method, url);
    if (rule === DEVICE) return;
    if (rule === PUBLIC) {
      // Public API routes still learn a valid caller (logout needs it) but never require one;
      // the dashboard's static files need no session look-up.
      if (url.startsWith("/api/")) req.principal = await resolve(req, reply).catch(() => null);
      return;
    }
    if (rule === undefined) throw new PumpwatchError("FORBIDDEN", "route without an access rule");
    const p = await resolve(req, reply);
    if (!p) {
      throw unauthorized(
        "log in first (POST /api/auth/login), or send 'Authorization: Bearer <API token or operator token>'",
      );
    }
    await authorize(req, p, rule);
    req.principal = p;
  });
}

/** The authenticated caller of a route that has a rule other than PUBLIC. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw unauthorized("log in first (POST /api/auth/login)");
  return req.principal;
}

/**
 * The company whose data a list answer may contain: the caller's own for company users (a different
 * `requested` company is answered as not found), else `requested` (undefined: every company).
 */
export function companyScope(req: FastifyRequest, requested?: string): string | undefined {
  const p = principalOf(req);
  if (p.companyId === null) return requested || undefined;
  if (requested && requested !== p.companyId) throw notFound("company", requested);
  return p.companyId;
}

/** Whether the caller may see a device of this company (operator staff see all). */
export function seesCompany(req: FastifyRequest, companyId: string | null): boolean {
  const p = principalOf(req);
  return p.companyId === null || p.companyId === companyId;
}
