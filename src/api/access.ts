import type { Scope } from "../auth/tokens.js";
import type { UserRole } from "../store/ports.js";

/**
 * Who may call which route: the one table of the HTTPS API's authorization. `src/api/auth.ts`
 * refuses to start a server with a route missing from this table, so a new route cannot be
 * reachable by accident; the cross-tenant test matrix walks every entry.
 *
 * A rule names the roles allowed, the scope an API token needs (routes without a scope are closed
 * to API tokens: user, token and contract management need a person), and the parameter that names
 * a tenant-owned resource. For such a route, a user of a company only gets past the check when the
 * resource belongs to their company; otherwise the answer is the same 404 as for a resource that
 * does not exist, so ids of other tenants cannot be probed. Operator staff (users without a
 * company) see every company.
 */

/** What a route parameter names: checked against the caller's company before the handler runs. */
export type TenantKind = "device" | "company" | "alarm" | "user";

export interface AccessRule {
  roles: readonly UserRole[];
  /** Scope an API token needs; absent: API tokens are refused. */
  scope?: Scope;
  /** Route parameter naming a tenant-owned resource, and its kind. */
  tenant?: { param: string; kind: TenantKind };
}

/** No login: health, metrics, privacy information, the dashboard's files, login and the one-time-link flows. */
export const PUBLIC = "public";
/** The device-facing Azure endpoints: each request carries a SAS token checked by the route. */
export const DEVICE = "device";

export type Access = AccessRule | typeof PUBLIC | typeof DEVICE;

export const ALL_ROLES: readonly UserRole[] = [
  "operatorAdmin",
  "serviceTechnician",
  "companyAdmin",
  "companyUser",
];
/** Administrators: of a company (for their company) and of the operator (for every company). */
export const ADMINS: readonly UserRole[] = ["operatorAdmin", "companyAdmin"];
/** Operator staff. */
export const STAFF: readonly UserRole[] = ["operatorAdmin", "serviceTechnician"];
/** Whoever configures pumps: company administrators for their pumps, operator staff for all. */
export const CONFIGURERS: readonly UserRole[] = ["operatorAdmin", "serviceTechnician", "companyAdmin"];
export const OPERATOR_ADMIN: readonly UserRole[] = ["operatorAdmin"];

const device = (param = "id") => ({ param, kind: "device" as const });
const company = (param = "id") => ({ param, kind: "company" as const });
const alarm = { param: "id", kind: "alarm" as const };
const user = { param: "id", kind: "user" as const };

/** Keyed by "METHOD /path" exactly as registered (HEAD uses its GET rule). */
const TABLE: Record<string, Access> = {
  // Root: probes, metrics, privacy information, device endpoints.
  "GET /healthz": PUBLIC,
  "GET /metrics": PUBLIC,
  "GET /api/privacy": PUBLIC,
  // The dashboard's static files (src/api/web-route.ts): no data, every API call is checked.
  "GET /": PUBLIC,
  "GET /*": PUBLIC,
  "POST /devices/:id/messages/events": DEVICE,
  "GET /devices/:id/messages/devicebound": DEVICE,
  "PUT /:idScope/registrations/:registrationId/register": DEVICE,
  "GET /:idScope/registrations/:registrationId/operations/:operationId": DEVICE,

  // Sessions and one-time links.
  "POST /api/auth/login": PUBLIC,
  "POST /api/auth/logout": PUBLIC,
  "POST /api/auth/invitation": PUBLIC,
  "POST /api/auth/password-reset": PUBLIC,
  "POST /api/auth/password-reset/confirm": PUBLIC,

  // The caller's own account.
  "GET /api/me": { roles: ALL_ROLES },
  "PATCH /api/me": { roles: ALL_ROLES },
  "POST /api/me/password": { roles: ALL_ROLES },
  "GET /api/me/export": { roles: ALL_ROLES },
  "GET /api/me/tokens": { roles: ALL_ROLES },
  "POST /api/me/tokens": { roles: ALL_ROLES },
  "DELETE /api/me/tokens/:tokenId": { roles: ALL_ROLES },

  // Users of a company (company admins) or of any company and the operator (operator admins).
  "GET /api/users": { roles: ADMINS },
  "POST /api/users": { roles: ADMINS },
  "GET /api/users/:id": { roles: ADMINS, tenant: user },
  "PATCH /api/users/:id": { roles: ADMINS, tenant: user },
  "DELETE /api/users/:id": { roles: ADMINS, tenant: user },
  "POST /api/users/:id/invitation": { roles: ADMINS, tenant: user },

  // Installation facts and registry administration.
  "GET /api/info": { roles: ALL_ROLES, scope: "devices:read" },
  "GET /api/usage": { roles: STAFF, scope: "devices:read" },
  "GET /api/enrollments": { roles: STAFF, scope: "devices:admin" },
  "POST /api/enrollments/groups": { roles: STAFF, scope: "devices:admin" },
  "POST /api/enrollments/devices": { roles: STAFF, scope: "devices:admin" },
  "GET /api/quarantine": { roles: STAFF, scope: "telemetry:read" },

  // Devices.
  "GET /api/devices": { roles: ALL_ROLES, scope: "devices:read" },
  "GET /api/devices/:id": { roles: ALL_ROLES, scope: "devices:read", tenant: device() },
  "PATCH /api/devices/:id": { roles: STAFF, scope: "devices:admin", tenant: device() },
  "POST /api/devices/:id/:action": { roles: STAFF, scope: "devices:admin", tenant: device() },
  "GET /api/devices/:id/twin": { roles: ALL_ROLES, scope: "devices:read", tenant: device() },
  "PATCH /api/devices/:id/twin": { roles: CONFIGURERS, scope: "devices:write", tenant: device() },
  "GET /api/devices/:id/telemetry": { roles: ALL_ROLES, scope: "telemetry:read", tenant: device() },
  "GET /api/devices/:id/series": { roles: ALL_ROLES, scope: "telemetry:read", tenant: device() },
  "GET /api/devices/:id/export": { roles: ALL_ROLES, scope: "telemetry:read", tenant: device() },
  "GET /api/devices/:id/analytics": { roles: ALL_ROLES, scope: "analytics:read", tenant: device() },
  "GET /api/devices/:id/health": { roles: ALL_ROLES, scope: "analytics:read", tenant: device() },
  "GET /api/devices/:id/forecasts": { roles: ALL_ROLES, scope: "analytics:read", tenant: device() },
  "GET /api/devices/:id/kpis": { roles: ALL_ROLES, scope: "analytics:read", tenant: device() },
  "GET /api/devices/:id/rules": { roles: ALL_ROLES, scope: "analytics:read", tenant: device() },
  "PUT /api/devices/:id/rules": { roles: CONFIGURERS, scope: "devices:write", tenant: device() },
  "GET /api/devices/:id/maintenance": {
    roles: ALL_ROLES,
    scope: "maintenance:read",
    tenant: device(),
  },
  "POST /api/devices/:id/maintenance": {
    roles: ALL_ROLES,
    scope: "maintenance:write",
    tenant: device(),
  },

  // Alarms, fleet views and live events (lists are cut to the caller's company by the handler).
  "GET /api/alarms": { roles: ALL_ROLES, scope: "alarms:read" },
  "GET /api/alarms/:id": { roles: ALL_ROLES, scope: "alarms:read", tenant: alarm },
  "POST /api/alarms/:id/acknowledge": { roles: ALL_ROLES, scope: "alarms:write", tenant: alarm },
  "POST /api/alarms/:id/shelve": { roles: ALL_ROLES, scope: "alarms:write", tenant: alarm },
  "POST /api/alarms/:id/unshelve": { roles: ALL_ROLES, scope: "alarms:write", tenant: alarm },
  "POST /api/alarms/:id/comments": { roles: ALL_ROLES, scope: "alarms:write", tenant: alarm },
  "GET /api/fleet/health": { roles: ALL_ROLES, scope: "analytics:read" },
  "GET /api/fleet/kpis": { roles: ALL_ROLES, scope: "analytics:read" },
  "GET /api/events": { roles: ALL_ROLES, scope: "telemetry:read" },

  // Companies, contracts, retention, exports, audit.
  "GET /api/companies": { roles: ALL_ROLES },
  "POST /api/companies": { roles: OPERATOR_ADMIN },
  "GET /api/companies/:id": { roles: ALL_ROLES, tenant: company() },
  "PUT /api/companies/:id": { roles: ADMINS, tenant: company() },
  "GET /api/companies/:id/contract": { roles: ADMINS, tenant: company() },
  "PUT /api/companies/:id/contract": { roles: OPERATOR_ADMIN, tenant: company() },
  "POST /api/companies/:id/contract/notice": { roles: ADMINS, tenant: company() },
  "POST /api/companies/:id/contract/notice/preview": { roles: ADMINS, tenant: company() },
  "DELETE /api/companies/:id/contract/notice": { roles: ADMINS, tenant: company() },
  "GET /api/companies/:id/export": { roles: ADMINS, tenant: company() },
  "GET /api/companies/:companyId/retention": {
    roles: ALL_ROLES,
    scope: "telemetry:read",
    tenant: company("companyId"),
  },
  "PUT /api/companies/:companyId/retention": { roles: OPERATOR_ADMIN, tenant: company("companyId") },
  "GET /api/audit": { roles: OPERATOR_ADMIN },

  // Alarm notifications: own subscriptions; webhooks and the delivery record for administrators (a
  // company admin reaches the company's own webhooks only: checked by the handler, 404 otherwise).
  "GET /api/me/notifications": { roles: ALL_ROLES },
  "PUT /api/me/notifications": { roles: ALL_ROLES },
  "GET /api/webhooks": { roles: ADMINS },
  "POST /api/webhooks": { roles: ADMINS },
  "DELETE /api/webhooks/:webhookId": { roles: ADMINS },
  "POST /api/webhooks/:webhookId/test": { roles: ADMINS },
  "GET /api/notifications/deliveries": { roles: ADMINS },

  // Security events (src/security/): operator staff only; integrations use the operator token.
  "GET /api/security/events": { roles: STAFF },
  "POST /api/security/events/:eventId/acknowledge": { roles: STAFF },
};

export const ACCESS: Readonly<Record<string, Access>> = Object.freeze(TABLE);

/** The rule of a registered route; HEAD shares its GET rule. */
export function accessRule(method: string, url: string): Access | undefined {
  return ACCESS[`${method === "HEAD" ? "GET" : method} ${url}`];
}
