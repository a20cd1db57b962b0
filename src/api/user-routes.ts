import type { FastifyInstance } from "fastify";
import { PumpwatchError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { MailLocale } from "../notify/mailer.js";
import type { OneTimeTokenKind, TenancyStore, User, UserRole } from "../store/ports.js";
import { checkRole, contactField, createAccount, userView } from "../tenancy/accounts.js";
import { type ExportStores, exportCompany } from "../tenancy/export.js";
import { companyScope, principalOf } from "./auth.js";
import { bad, locale, obj, sendZip, str } from "./body.js";

/**
 * User administration (docs/api.md § Accounts): company administrators manage their company's users
 * with company roles, operator administrators everyone; and the company export (GDPR Art. 15, 20).
 * Who may call which route is in access.ts; here what the table cannot say: which roles an
 * administrator may hand out, and that the last administrator stays.
 */
export interface UserRoutesKit {
  store: TenancyStore;
  now(): number;
  exportStores: ExportStores;
  audit(
    actor: string,
    event: string,
    target: { type: string; id: string } | null,
    companyId: string | null,
  ): Promise<unknown>;
  /** Issues an invitation or reset link and mails it (or returns it when no SMTP is configured). */
  oneTimeLink(
    user: User,
    kind: OneTimeTokenKind,
    lang: MailLocale,
  ): Promise<{ mailed: boolean; link?: string; expiresAt: number }>;
  log: Logger;
}

export function userRoutes(app: FastifyInstance, kit: UserRoutesKit): void {
  const { store, now, audit, oneTimeLink } = kit;

  const getUser = async (id: string): Promise<User> => {
    const user = await store.getUser(id);
    if (!user) throw new PumpwatchError("NOT_FOUND", `no user '${id}'; list them with GET /api/users`);
    return user;
  };

  /** Refuses to take away the last administrator of a company or of the operator. */
  const keepsAnAdmin = async (user: User, newRole: UserRole | null) => {
    const adminRole: UserRole = user.companyId === null ? "operatorAdmin" : "companyAdmin";
    if (user.role !== adminRole || newRole === adminRole) return;
    const admins = (await store.listUsers(user.companyId)).filter((u) => u.role === adminRole);
    if (admins.length <= 1) {
      throw new PumpwatchError(
        "CONFLICT",
        `${user.id} is the last ${user.companyId === null ? "operator" : "company"} administrator: make someone else one first`,
      );
    }
  };

  app.get<{ Querystring: { company?: string } }>("/users", async (req) => {
    const company = companyScope(req, req.query.company);
    if (company !== undefined) return { users: (await store.listUsers(company)).map(userView) };
    const companies = await store.listCompanies();
    const lists = await Promise.all([null, ...companies.map((c) => c.id)].map((id) => store.listUsers(id)));
    return { users: lists.flat().map(userView) };
  });

  app.post("/users", async (req, reply) => {
    const p = principalOf(req);
    const hint =
      '{"email": "…", "role": "companyUser"|"companyAdmin"|…, "companyId"?: "…", "phone"?: "…", "postalAddress"?: "…", "lang"?: "de"|"en"}';
    const b = obj(req.body, hint, ["email", "role", "companyId", "phone", "postalAddress", "lang"]);
    let companyId: string | null;
    if (p.companyId !== null) {
      if (b["companyId"] !== undefined && b["companyId"] !== p.companyId) {
        throw new PumpwatchError(
          "FORBIDDEN",
          "company administrators invite users into their own company only",
        );
      }
      companyId = p.companyId;
    } else {
      companyId =
        b["companyId"] === undefined || b["companyId"] === null ? null : str(b["companyId"], "companyId", 64);
    }
    const user = await createAccount(
      store,
      {
        email: str(b["email"], "email", 254),
        role: b["role"],
        companyId,
        phone: b["phone"],
        postalAddress: b["postalAddress"],
      },
      now(),
    );
    const invitation = await oneTimeLink(user, "invitation", locale(b["lang"])).catch(async (err: Error) => {
      // Without a sent invitation the account would be unreachable: undo it and say why.
      await store.deleteUser(user.id);
      kit.log.warn({ err, userId: user.id }, "invitation mail not sent");
      throw new PumpwatchError(
        "UNAVAILABLE",
        `the invitation mail could not be sent (${err.message}); retry later`,
      );
    });
    await audit(p.actor, "user.invited", { type: "user", id: user.id }, companyId);
    return reply.status(201).send({ user: userView(user), invitation });
  });

  app.get<{ Params: { id: string } }>("/users/:id", async (req) => userView(await getUser(req.params.id)));

  app.patch<{ Params: { id: string } }>("/users/:id", async (req) => {
    const p = principalOf(req);
    const user = await getUser(req.params.id);
    const b = obj(req.body, '{"role"?: "…", "phone"?: "…"|null, "postalAddress"?: "…"|null}', [
      "role",
      "phone",
      "postalAddress",
    ]);
    const role = b["role"] === undefined ? undefined : checkRole(b["role"], user.companyId);
    const phone = contactField(b["phone"], "phone");
    const postalAddress = contactField(b["postalAddress"], "postalAddress");
    if (role === undefined && phone === undefined && postalAddress === undefined) {
      throw bad('nothing to change: send "role", "phone" or "postalAddress"');
    }
    if (role !== undefined) await keepsAnAdmin(user, role);
    const updated = await store.updateUser(
      user.id,
      {
        ...(role !== undefined ? { role } : {}),
        ...(phone !== undefined ? { phone } : {}),
        ...(postalAddress !== undefined ? { postalAddress } : {}),
      },
      now(),
    );
    if (role !== undefined && role !== user.role) {
      await audit(p.actor, "user.role.changed", { type: "user", id: user.id }, user.companyId);
    }
    if (phone !== undefined || postalAddress !== undefined) {
      await audit(p.actor, "user.contact.changed", { type: "user", id: user.id }, user.companyId);
    }
    return userView(updated);
  });

  app.delete<{ Params: { id: string } }>("/users/:id", async (req, reply) => {
    const p = principalOf(req);
    const user = await getUser(req.params.id);
    await keepsAnAdmin(user, null);
    // Erased, not flagged: the row, its sessions, tokens and links go; the audit keeps the id only.
    await store.deleteUser(user.id);
    await audit(p.actor, "user.deleted", { type: "user", id: user.id }, user.companyId);
    return reply.status(204).send();
  });

  app.post<{ Params: { id: string } }>("/users/:id/invitation", async (req, reply) => {
    const p = principalOf(req);
    const user = await getUser(req.params.id);
    if (user.passwordHash !== null) {
      throw new PumpwatchError(
        "CONFLICT",
        "this user has accepted the invitation already; use the password reset instead",
      );
    }
    const b =
      req.body === undefined || req.body === null ? {} : obj(req.body, '{"lang"?: "de"|"en"}', ["lang"]);
    const invitation = await oneTimeLink(user, "invitation", locale(b["lang"]));
    await audit(p.actor, "user.invited", { type: "user", id: user.id }, user.companyId);
    return reply.status(201).send({ invitation });
  });

  // ---------------------------------------------------------------------------------------------
  // Company export

  app.get<{ Params: { id: string } }>("/companies/:id/export", async (req, reply) => {
    const p = principalOf(req);
    const stream = await exportCompany(kit.exportStores, req.params.id, now());
    await audit(p.actor, "export.company", { type: "company", id: req.params.id }, req.params.id);
    return sendZip(reply, `pumpwatch-company-${req.params.id}.zip`, stream);
  });
}
