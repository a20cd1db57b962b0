import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hashPassword, needsRehash, verifyPassword } from "../auth/password.js";
import { LoginLimiter, RateLimiter } from "../auth/rate-limit.js";
import { csrfToken, hashToken, newToken, parseScopes, tokenPrefix } from "../auth/tokens.js";
import { PumpwatchError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { type Mailer, type MailLocale, renderMail } from "../notify/mailer.js";
import type { ApiToken, OneTimeTokenKind, TenancyStore, User } from "../store/ports.js";
import { contactField, issueLink, userView } from "../tenancy/accounts.js";
import { type ExportStores, exportUser } from "../tenancy/export.js";
import {
  clearSessionCookie,
  principalOf,
  SESSION_COOKIE,
  type SessionPolicy,
  sessionCookieOptions,
} from "./auth.js";
import { bad, locale, obj, password, sendZip, str } from "./body.js";
import { userRoutes } from "./user-routes.js";

/**
 * People's side of the API (docs/api.md § Accounts): login and logout, invitation and password-reset
 * links, the caller's own account, API tokens and data export (GDPR Art. 15 and 20); user
 * administration is in user-routes.ts. Authorization comes from access.ts; what is checked here is
 * what the table cannot say (whose token may be revoked, which password is current).
 */
export interface AccountRoutesDeps {
  tenancy: TenancyStore;
  exportStores: ExportStores;
  /** Absent: no SMTP configured; invitation links are then returned to the inviting admin. */
  mailer?: Mailer | undefined;
  /** Base of the links in mails, e.g. "https://pumps.example.com". */
  publicUrl(): string;
  session: SessionPolicy;
  invitationMs: number;
  resetMs: number;
  log: Logger;
  now?: () => number;
  /** Login throttling; a fresh one per app by default. */
  limiter?: LoginLimiter;
  /** A login failed or was throttled, from `source` (security monitoring); must not throw. */
  onLoginFailed?: (source: string) => void;
}

const MAX_TOKEN_NAME = 100;
const MAX_TOKEN_DAYS = 3650;
const DAY = 86_400_000;
/** Verified against when the e-mail is unknown, so both cases take as long. */
const DUMMY_HASH_INPUT = "pumpwatch-dummy-password";

function tokenView(t: ApiToken) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    revokedAt: t.revokedAt,
  };
}

export function accountRoutes(app: FastifyInstance, deps: AccountRoutesDeps): void {
  const now = deps.now ?? Date.now;
  const store = deps.tenancy;
  const limiter = deps.limiter ?? new LoginLimiter();
  // Reset mails per address: enough for a typo and a retry, not for mail-bombing someone.
  const resetLimiter = new RateLimiter({
    max: 3,
    windowMs: 60 * 60_000,
    lockoutMs: 0,
    maxLockoutMs: 0,
    resetOnSuccess: false,
  });
  const dummyHash = hashPassword(DUMMY_HASH_INPUT);

  const audit = (
    actor: string,
    event: string,
    target: { type: string; id: string } | null,
    companyId: string | null,
  ) =>
    store.appendAudit({
      ts: now(),
      actor,
      event,
      targetType: target?.type ?? null,
      targetId: target?.id ?? null,
      companyId,
    });

  const ownUser = (req: FastifyRequest): User => {
    const p = principalOf(req);
    if (!p.user) {
      throw bad("the operator token has no user account: log in as a user (POST /api/auth/login) for this");
    }
    return p.user;
  };

  /** Starts a session for `user`: sets the cookie and answers with the account and its CSRF token. */
  const startSession = async (reply: FastifyReply, user: User) => {
    const t = now();
    const s = newToken("pws");
    const expiresAt = Math.min(t + deps.session.idleMs, t + deps.session.maxMs);
    await store.createSession({ hash: s.hash, userId: user.id, createdAt: t, expiresAt, lastSeenAt: t });
    reply.setCookie(SESSION_COOKIE, s.token, sessionCookieOptions(Math.ceil(deps.session.maxMs / 1000)));
    return { user: userView(user), csrfToken: csrfToken(s.token), sessionExpiresAt: expiresAt };
  };

  /** Makes a one-time link for `user` and mails it; without a mailer the link is returned instead. */
  const oneTimeLink = async (user: User, kind: OneTimeTokenKind, lang: MailLocale) => {
    const { link, expiresAt } = await issueLink(store, user, kind, {
      now: now(),
      lifetimeMs: kind === "invitation" ? deps.invitationMs : deps.resetMs,
      publicUrl: deps.publicUrl(),
    });
    if (!deps.mailer) return { mailed: false, link, expiresAt };
    const company = user.companyId ? ((await store.getCompany(user.companyId))?.name ?? "") : "pumpwatch";
    const mail = renderMail(kind === "invitation" ? "invitation" : "reset", lang, {
      link,
      company,
      expiresAt: new Date(expiresAt),
      timeZone: "Europe/Berlin",
    });
    await deps.mailer.send({ to: user.email, ...mail });
    return { mailed: true, expiresAt };
  };

  /** Sets a new password from a one-time link; answers 400 for an unknown, used or expired link. */
  const redeem = async (raw: unknown, kind: OneTimeTokenKind): Promise<User> => {
    const b = obj(raw, '{"token": "…", "password": "…"}', ["token", "password"]);
    const given = b["token"];
    const pw = password(b["password"], "password");
    const expected = kind === "invitation" ? "pwi" : "pwr";
    const hash = tokenPrefix(given) === expected ? hashToken(given as string) : undefined;
    const used = hash === undefined ? undefined : await store.consumeOneTimeToken(hash, kind, now());
    const user = used && (await store.getUser(used.userId));
    if (!user) {
      throw bad(
        kind === "invitation"
          ? "this invitation link is unknown, used or expired: ask your administrator to invite you again"
          : "this reset link is unknown, used or expired: request a new one (POST /api/auth/password-reset)",
      );
    }
    const updated = await store.updateUser(
      user.id,
      { passwordHash: await hashPassword(pw), failedLogins: 0, lockedUntil: null },
      now(),
    );
    // A new password ends every session that existed before it.
    await store.revokeUserSessions(user.id);
    return updated;
  };

  // ---------------------------------------------------------------------------------------------
  // Sessions and one-time links

  app.post("/auth/login", async (req, reply) => {
    const b = obj(req.body, '{"email": "…", "password": "…"}', ["email", "password"]);
    const email = str(b["email"], "email", 254);
    const pw = str(b["password"], "password", 1024);
    const attempt = { account: email, source: req.ip };
    const t = now();
    const gate = limiter.check(attempt, t);
    const user = await store.getUserByEmail(email);
    const lockedFor = user?.lockedUntil && user.lockedUntil > t ? user.lockedUntil - t : 0;
    if (!gate.allowed || lockedFor > 0) {
      const retryAfterSec = Math.ceil(Math.max(gate.retryAfterMs, lockedFor) / 1000);
      deps.onLoginFailed?.(req.ip);
      reply.header("retry-after", String(retryAfterSec));
      await audit(
        "anonymous",
        "login.throttled",
        user ? { type: "user", id: user.id } : null,
        user?.companyId ?? null,
      );
      throw new PumpwatchError(
        "THROTTLED",
        `too many failed logins: try again in ${retryAfterSec} s, or reset the password`,
        { retryAfterSec },
      );
    }
    // An unknown address costs the same hash as a known one: no timing oracle for accounts.
    const verified = await verifyPassword(pw, user?.passwordHash ?? (await dummyHash));
    const ok = verified && Boolean(user?.passwordHash);
    if (!user || !ok) {
      deps.onLoginFailed?.(req.ip);
      const decision = limiter.fail(attempt, t);
      if (user) {
        await store.updateUser(
          user.id,
          {
            failedLogins: user.failedLogins + 1,
            lockedUntil: decision.allowed ? user.lockedUntil : t + decision.retryAfterMs,
          },
          t,
        );
      }
      await audit(
        "anonymous",
        "login.failed",
        user ? { type: "user", id: user.id } : null,
        user?.companyId ?? null,
      );
      throw new PumpwatchError("UNAUTHORIZED", "wrong e-mail address or password");
    }
    limiter.succeed(attempt, t);
    const patch = {
      failedLogins: 0,
      lockedUntil: null,
      ...(needsRehash(user.passwordHash!) ? { passwordHash: await hashPassword(pw) } : {}),
    };
    const current = await store.updateUser(user.id, patch, t);
    await audit(user.id, "login", { type: "user", id: user.id }, user.companyId);
    return startSession(reply, current);
  });

  app.post("/auth/logout", async (req, reply) => {
    const p = req.principal;
    if (p?.via === "session" && p.sessionToken) {
      await store.revokeSession(hashToken(p.sessionToken));
      await audit(p.actor, "logout", { type: "user", id: p.actor }, p.companyId);
    }
    clearSessionCookie(reply);
    return reply.status(204).send();
  });

  app.post("/auth/invitation", async (req, reply) => {
    const user = await redeem(req.body, "invitation");
    await audit(user.id, "user.activated", { type: "user", id: user.id }, user.companyId);
    return startSession(reply, user);
  });

  app.post("/auth/password-reset", async (req, reply) => {
    const b = obj(req.body, '{"email": "…", "lang"?: "de"|"en"}', ["email", "lang"]);
    const email = str(b["email"], "email", 254);
    if (!deps.mailer) {
      throw new PumpwatchError(
        "UNAVAILABLE",
        "this installation sends no e-mail (no SMTP configured): ask your administrator for a new invitation",
      );
    }
    const t = now();
    const user = await store.getUserByEmail(email);
    // The same answer whether or not the address has an account: no probing for accounts.
    if (user && resetLimiter.check(user.id, t).allowed) {
      resetLimiter.fail(user.id, t);
      await oneTimeLink(user, "passwordReset", locale(b["lang"])).catch((err: Error) =>
        deps.log.warn({ err, userId: user.id }, "password-reset mail not sent"),
      );
      await audit("anonymous", "password.reset.requested", { type: "user", id: user.id }, user.companyId);
    }
    return reply.status(202).send({
      message:
        "if this address has an account, a reset link is on its way; it works once, for a limited time",
    });
  });

  app.post("/auth/password-reset/confirm", async (req, reply) => {
    const user = await redeem(req.body, "passwordReset");
    // Whoever holds the link controls the mailbox: the account's login lock ends with the reset.
    limiter.succeed({ account: user.email, source: req.ip }, now());
    await audit(user.id, "password.reset", { type: "user", id: user.id }, user.companyId);
    return reply.status(204).send();
  });

  // ---------------------------------------------------------------------------------------------
  // The caller's own account

  app.get("/me", async (req) => {
    const p = principalOf(req);
    const company = p.companyId ? await store.getCompany(p.companyId) : undefined;
    return {
      ...(p.user ? userView(p.user) : { id: null, companyId: null, role: p.role }),
      via: p.via,
      company: company ? { id: company.id, name: company.name } : null,
      ...(p.scopes ? { scopes: p.scopes } : {}),
      ...(p.sessionToken ? { csrfToken: csrfToken(p.sessionToken) } : {}),
    };
  });

  app.patch("/me", async (req) => {
    const user = ownUser(req);
    const b = obj(req.body, '{"phone"?: "…"|null, "postalAddress"?: "…"|null}', ["phone", "postalAddress"]);
    const phone = contactField(b["phone"], "phone");
    const postalAddress = contactField(b["postalAddress"], "postalAddress");
    if (phone === undefined && postalAddress === undefined)
      throw bad('nothing to change: send "phone" or "postalAddress"');
    const updated = await store.updateUser(
      user.id,
      {
        ...(phone !== undefined ? { phone } : {}),
        ...(postalAddress !== undefined ? { postalAddress } : {}),
      },
      now(),
    );
    await audit(user.id, "user.contact.changed", { type: "user", id: user.id }, user.companyId);
    return userView(updated);
  });

  app.post("/me/password", async (req, reply) => {
    const user = ownUser(req);
    const b = obj(req.body, '{"currentPassword": "…", "newPassword": "…"}', [
      "currentPassword",
      "newPassword",
    ]);
    const current = str(b["currentPassword"], "currentPassword", 1024);
    const next = password(b["newPassword"], "newPassword");
    if (!user.passwordHash || !(await verifyPassword(current, user.passwordHash))) {
      throw new PumpwatchError("FORBIDDEN", "the current password is wrong");
    }
    const updated = await store.updateUser(user.id, { passwordHash: await hashPassword(next) }, now());
    await store.revokeUserSessions(user.id);
    await audit(user.id, "password.changed", { type: "user", id: user.id }, user.companyId);
    // Other sessions ended; this one continues under a fresh session token.
    return principalOf(req).via === "session" ? startSession(reply, updated) : { user: userView(updated) };
  });

  app.get("/me/export", async (req, reply) => {
    const user = ownUser(req);
    const stream = await exportUser(deps.exportStores, user.id, now());
    await audit(user.id, "export.user", { type: "user", id: user.id }, user.companyId);
    return sendZip(reply, `pumpwatch-user-${user.id}.zip`, stream);
  });

  app.get("/me/tokens", async (req) => ({
    tokens: (await store.listApiTokens(ownUser(req).id)).map(tokenView),
  }));

  app.post("/me/tokens", async (req, reply) => {
    const user = ownUser(req);
    const hint = '{"name": "…", "scopes": ["telemetry:read", …], "expiresInDays"?: 90}';
    const b = obj(req.body, hint, ["name", "scopes", "expiresInDays"]);
    const name = str(b["name"], "name", MAX_TOKEN_NAME).trim();
    const rawScopes = b["scopes"];
    if (
      typeof rawScopes !== "string" &&
      !(Array.isArray(rawScopes) && rawScopes.every((s) => typeof s === "string"))
    ) {
      throw bad(`"scopes" must be a list of scopes: ${hint}`);
    }
    const scopes = parseScopes(rawScopes as string | string[]);
    const days = b["expiresInDays"];
    if (
      days !== undefined &&
      (typeof days !== "number" || !Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS)
    ) {
      throw bad(`"expiresInDays" must be a whole number from 1 to ${MAX_TOKEN_DAYS}`);
    }
    const t = now();
    const tok = newToken("pwt");
    const created = await store.createApiToken({
      id: tok.id,
      hash: tok.hash,
      userId: user.id,
      name,
      scopes,
      createdAt: t,
      expiresAt: days === undefined ? null : t + (days as number) * DAY,
    });
    await audit(user.id, "token.created", { type: "token", id: tok.id }, user.companyId);
    return reply.status(201).send({
      ...tokenView(created),
      token: tok.token,
      note: "the token is shown only now: store it in your integration's secret store",
    });
  });

  app.delete<{ Params: { tokenId: string } }>("/me/tokens/:tokenId", async (req, reply) => {
    const user = ownUser(req);
    const mine = (await store.listApiTokens(user.id)).find((t) => t.id === req.params.tokenId);
    if (!mine)
      throw new PumpwatchError(
        "NOT_FOUND",
        `no token '${req.params.tokenId}' of yours; list them with GET /api/me/tokens`,
      );
    if (mine.revokedAt === null) {
      await store.revokeApiToken(mine.id, now());
      await audit(user.id, "token.revoked", { type: "token", id: mine.id }, user.companyId);
    }
    return reply.status(204).send();
  });

  userRoutes(app, { store, now, audit, oneTimeLink, exportStores: deps.exportStores, log: deps.log });
}
