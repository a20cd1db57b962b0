import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/core/config.js";
import { createLogger } from "../../src/core/log.js";
import { type Running, startPumpwatch } from "../../src/main.js";
import { ApiClient, type ApiResponse } from "../helpers/client.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { linkToken, startSmtp, type TestSmtp } from "../helpers/smtp.js";

/**
 * People's authentication end to end: the whole server over real HTTPS, invitation and reset mails
 * through a real SMTP server, and an injected clock for lockouts and link expiry. The cases build on
 * each other (one company, its admin and user) and run in order.
 */

const ADMIN = "admin@acme.test";
const USER = "user@acme.test";
const UNKNOWN = "ghost@acme.test";
const ADMIN_PW = "admin-correct-horse-1";
const USER_PW = "user-battery-staple-2";
const USER_PW_NEW = "user-new-staple-3xyz";
const ADMIN_PHONE = "+49 30 5550001";
const USER_PHONE = "+49 40 5550002";
const ACME_ADDRESS = "Hafenstraße 1, 20457 Hamburg";
const PUBLIC_URL = "https://pumps.example.test";
const WRONG_LOGIN = "wrong e-mail address or password";
const MINUTE = 60_000;

function sessionSetCookie(res: ApiResponse): string | undefined {
  const raw = res.headers["set-cookie"];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list.find((c) => c.startsWith("__Host-pumpwatch-session="));
}

/** "name=value" of the session cookie an answer set. */
function cookiePair(res: ApiResponse): string {
  const c = sessionSetCookie(res);
  assert.ok(c, "the answer sets the session cookie");
  return c.split(";")[0]!;
}

describe("people's authentication over HTTPS with a real SMTP server", () => {
  let smtp: TestSmtp;
  let s: TestServer;
  let clock = Date.now();
  const client = () => new ApiClient(s);

  // State built up by the cases, in order.
  let admin: ApiClient;
  let adminId: string;
  let userId: string;
  let userInviteToken: string;
  let user: ApiClient;

  before(async () => {
    smtp = await startSmtp();
    s = await startTestServer(
      {
        publicUrl: PUBLIC_URL,
        auth: { resetMinutes: 5 },
        smtp: {
          host: "127.0.0.1",
          port: smtp.port,
          secure: false,
          requireTls: false,
          from: "pumpwatch <noreply@pumpwatch.test>",
        },
      },
      { now: () => clock },
    );
  });
  after(async () => {
    await s?.stop();
    await smtp?.close();
  });

  let adminInviteToken: string;

  it("1: the operator creates a company and invites its admin; the link goes by mail only", async () => {
    const acme = await s.api("/api/companies", {
      method: "POST",
      body: { id: "acme", name: "Acme Vakuum GmbH", postalAddress: ACME_ADDRESS },
    });
    assert.equal(acme.status, 201, JSON.stringify(acme.body));
    const beta = await s.api("/api/companies", {
      method: "POST",
      body: { id: "beta", name: "Beta Pumpen AG", postalAddress: "Am Kai 2, 28195 Bremen" },
    });
    assert.equal(beta.status, 201, JSON.stringify(beta.body));

    const inv = await s.api("/api/users", {
      method: "POST",
      body: { email: ADMIN, role: "companyAdmin", companyId: "acme", lang: "en" },
    });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    adminId = inv.body.user.id;
    const mail = await smtp.waitFor(ADMIN);
    adminInviteToken = linkToken(mail.text);
    assert.equal(inv.body.invitation.mailed, true);
    assert.equal(inv.body.invitation.link, undefined);
    assert.equal(typeof inv.body.invitation.expiresAt, "number");
    assert.equal(inv.body.user.email, ADMIN);
    assert.equal(inv.body.user.role, "companyAdmin");
    assert.equal(inv.body.user.companyId, "acme");
    assert.equal(inv.body.user.status, "invited");
    const answer = JSON.stringify(inv.body);
    assert.doesNotMatch(answer, /pwi_|token=|#\/invitation/);
    assert.match(mail.subject, /Invitation to pumpwatch – Acme Vakuum GmbH/);
    assert.match(mail.text, /https:\/\/pumps\.example\.test\/#\/invitation\?token=pwi_[A-Za-z0-9_-]{43}/);
    assert.match(adminInviteToken, /^pwi_/);
    assert.ok(!answer.includes(adminInviteToken));
    const envelope = smtp.inbox.find((m) => m.to.includes(ADMIN));
    assert.equal(envelope?.from, "noreply@pumpwatch.test");
  });

  it("2: accepting the invitation checks the password, starts a session and works once", async () => {
    const c = client();
    const short = await c.call("POST", "/api/auth/invitation", {
      token: adminInviteToken,
      password: "short1",
    });
    assert.equal(short.status, 400);
    assert.match(short.body.message, /at least 12 characters/);
    assert.equal(sessionSetCookie(short), undefined);

    const ok = await c.call("POST", "/api/auth/invitation", { token: adminInviteToken, password: ADMIN_PW });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    c.adopt(ok);
    admin = c;
    const cookie = sessionSetCookie(ok);
    assert.ok(cookie, "Set-Cookie __Host-pumpwatch-session");
    assert.match(cookie, /^__Host-pumpwatch-session=pws_[A-Za-z0-9_-]{43};/);
    const attrs = cookie
      .split(";")
      .slice(1)
      .map((a) => a.trim().toLowerCase());
    assert.ok(attrs.includes("httponly"), cookie);
    assert.ok(attrs.includes("secure"), cookie);
    assert.ok(attrs.includes("samesite=strict"), cookie);
    assert.ok(attrs.includes("path=/"), cookie);
    assert.ok(!attrs.some((a) => a.startsWith("domain=")), `a __Host- cookie has no Domain: ${cookie}`);
    assert.equal(typeof ok.body.csrfToken, "string");
    assert.equal(ok.body.user.id, adminId);
    assert.equal(ok.body.user.email, ADMIN);
    assert.equal(ok.body.user.status, "active");
    assert.ok(!JSON.stringify(ok.body).includes("pws_"), "the session secret stays in the cookie");

    const again = await client().call("POST", "/api/auth/invitation", {
      token: adminInviteToken,
      password: "another-good-password-9",
    });
    assert.equal(again.status, 400);
    assert.match(again.body.message, /unknown, used or expired/);
    assert.equal(sessionSetCookie(again), undefined);
    // The first password still holds: the reused link changed nothing.
    assert.equal((await client().login(ADMIN, "another-good-password-9")).status, 401);
  });

  it("3: the session cookie authenticates; writes need this session's CSRF token", async () => {
    const me = await admin.call("GET", "/api/me");
    assert.equal(me.status, 200);
    assert.equal(me.body.email, ADMIN);
    assert.equal(me.body.role, "companyAdmin");
    assert.equal(me.body.companyId, "acme");
    assert.equal(me.body.via, "session");
    assert.deepEqual(me.body.company, { id: "acme", name: "Acme Vakuum GmbH" });

    const csrf = admin.csrf;
    admin.forgetCsrf();
    const noCsrf = await admin.call("PATCH", "/api/me", { phone: ADMIN_PHONE });
    assert.equal(noCsrf.status, 403);
    assert.match(noCsrf.body.message, /CSRF/);
    admin.csrf = csrf;
    assert.equal((await admin.call("GET", "/api/me")).body.phone, null, "the refused write changed nothing");

    const withCsrf = await admin.call("PATCH", "/api/me", { phone: ADMIN_PHONE });
    assert.equal(withCsrf.status, 200, JSON.stringify(withCsrf.body));
    assert.equal(withCsrf.body.phone, ADMIN_PHONE);

    // A second session of the same user: its CSRF token does not pass on the first session.
    const other = client();
    const login = await other.login(ADMIN, ADMIN_PW);
    assert.equal(login.status, 200);
    assert.notEqual(other.csrf, admin.csrf);
    const foreign = await admin.call(
      "PATCH",
      "/api/me",
      { phone: null },
      { headers: { "x-csrf-token": other.csrf! } },
    );
    assert.equal(foreign.status, 403);
    const garbage = await admin.call(
      "PATCH",
      "/api/me",
      { phone: null },
      { headers: { "x-csrf-token": "not-a-token" } },
    );
    assert.equal(garbage.status, 403);
    assert.equal((await admin.call("GET", "/api/me")).body.phone, ADMIN_PHONE);
  });

  it("4: the company admin invites into their own company, with company roles only", async () => {
    const inv = await admin.call("POST", "/api/users", {
      email: USER,
      role: "companyUser",
      phone: USER_PHONE,
      lang: "en",
    });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    userId = inv.body.user.id;
    const mail = await smtp.waitFor(USER);
    userInviteToken = linkToken(mail.text);
    assert.equal(inv.body.invitation.mailed, true);
    assert.equal(inv.body.user.companyId, "acme");
    assert.equal(inv.body.user.role, "companyUser");
    assert.doesNotMatch(JSON.stringify(inv.body), /pwi_/);
    assert.match(userInviteToken, /^pwi_/);

    const op = await admin.call("POST", "/api/users", {
      email: "boss@acme.test",
      role: "operatorAdmin",
    });
    assert.equal(op.status, 400);
    assert.match(op.body.message, /companyAdmin, companyUser/);
    const foreign = await admin.call("POST", "/api/users", {
      email: "spy@beta.test",
      role: "companyUser",
      companyId: "beta",
    });
    assert.equal(foreign.status, 403);

    const list = await admin.call("GET", "/api/users");
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.users.map((u: { email: string }) => u.email).sort(), [ADMIN, USER]);
    const beta = await s.api("/api/users?company=beta");
    assert.equal(beta.status, 200);
    assert.deepEqual(beta.body.users, []);
    assert.equal(
      smtp.inbox.filter((m) => m.to.includes("spy@beta.test") || m.to.includes("boss@acme.test")).length,
      0,
    );
  });

  it("5: a company user may not administer users", async () => {
    const c = client();
    const ok = await c.call("POST", "/api/auth/invitation", { token: userInviteToken, password: USER_PW });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    c.adopt(ok);
    user = c;
    assert.equal(ok.body.user.role, "companyUser");

    const post = await user.call("POST", "/api/users", { email: "friend@acme.test", role: "companyUser" });
    assert.equal(post.status, 403);
    const list = await user.call("GET", "/api/users");
    assert.equal(list.status, 403);
    const one = await user.call("GET", `/api/users/${adminId}`);
    assert.equal(one.status, 403);
    assert.equal(smtp.inbox.filter((m) => m.to.includes("friend@acme.test")).length, 0);
  });

  it("6: five wrong passwords lock the account for 15 minutes; the refusal does not tell accounts apart", async () => {
    const unknown = await client().login(UNKNOWN, "whatever-password-1");
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.message, WRONG_LOGIN);

    const answers: ApiResponse[] = [];
    for (let i = 0; i < 6; i++) answers.push(await client().login(USER, `wrong-password-${i}xx`));
    const statuses = answers.map((a) => a.status);
    assert.equal(answers[0]!.body.message, WRONG_LOGIN, "known e-mail: the same message as an unknown one");
    assert.deepEqual(answers[0]!.body, unknown.body);
    const first429 = statuses.indexOf(429);
    assert.ok(first429 === 4 || first429 === 5, `5th or 6th answer is 429: ${statuses.join(",")}`);
    assert.deepEqual(
      statuses,
      statuses.map((_, i) => (i < first429 ? 401 : 429)),
    );
    const throttled = answers[first429]!;
    const retryAfter = Number(throttled.headers["retry-after"]);
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 15 * 60,
      `Retry-After ${retryAfter}`,
    );

    const locked = await client().login(USER, USER_PW);
    assert.equal(locked.status, 429, "the right password is refused while locked");
    assert.ok(Number(locked.headers["retry-after"]) > 0);
    assert.equal(sessionSetCookie(locked), undefined);
    // Existing sessions are not what the lockout is about.
    assert.equal((await user.call("GET", "/api/me")).status, 200);

    clock += 14 * MINUTE;
    assert.equal((await client().login(USER, USER_PW)).status, 429, "still locked after 14 min");
    clock += MINUTE + 1000;
    const again = await client().login(USER, USER_PW);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.user.lockedUntil, null);
  });

  it("7: a password reset by mail: same answer for unknown addresses, ends old sessions, works once, expires", async () => {
    const second = client();
    assert.equal((await second.login(USER, USER_PW)).status, 200);

    const known = await client().call("POST", "/api/auth/password-reset", { email: USER, lang: "en" });
    const unknown = await client().call("POST", "/api/auth/password-reset", { email: UNKNOWN, lang: "en" });
    assert.equal(known.status, 202);
    assert.equal(unknown.status, 202);
    assert.deepEqual(known.body, unknown.body);
    assert.doesNotMatch(JSON.stringify(known.body), /pwr_/);
    const mail = await smtp.waitFor(USER, { skip: 1 });
    assert.match(mail.subject, /reset your password/);
    assert.match(mail.text, /https:\/\/pumps\.example\.test\/#\/reset\?token=pwr_/);
    const reset = linkToken(mail.text);
    assert.match(reset, /^pwr_/);
    assert.equal(smtp.inbox.filter((m) => m.to.includes(UNKNOWN)).length, 0);

    const weak = await client().call("POST", "/api/auth/password-reset/confirm", {
      token: reset,
      password: "short",
    });
    assert.equal(weak.status, 400);
    const confirm = await client().call("POST", "/api/auth/password-reset/confirm", {
      token: reset,
      password: USER_PW_NEW,
    });
    assert.equal(confirm.status, 204, JSON.stringify(confirm.body));

    assert.equal((await user.call("GET", "/api/me")).status, 401, "the invitation's session ended");
    assert.equal((await second.call("GET", "/api/me")).status, 401, "the login session ended");
    const old = await client().login(USER, USER_PW);
    assert.equal(old.status, 401);
    assert.equal(old.body.message, WRONG_LOGIN);
    const c = client();
    assert.equal((await c.login(USER, USER_PW_NEW)).status, 200);
    user = c;

    const reuse = await client().call("POST", "/api/auth/password-reset/confirm", {
      token: reset,
      password: "yet-another-password-4",
    });
    assert.equal(reuse.status, 400);
    assert.match(reuse.body.message, /unknown, used or expired/);

    // A link used after auth.resetMinutes (5 here) is refused and changes nothing.
    assert.equal((await client().call("POST", "/api/auth/password-reset", { email: USER })).status, 202);
    const late = linkToken((await smtp.waitFor(USER, { skip: 2 })).text);
    assert.notEqual(late, reset);
    clock += 5 * MINUTE + 1000;
    const expired = await client().call("POST", "/api/auth/password-reset/confirm", {
      token: late,
      password: "too-late-password-5",
    });
    assert.equal(expired.status, 400);
    assert.equal((await client().login(USER, "too-late-password-5")).status, 401);
    assert.equal((await user.call("GET", "/api/me")).status, 200, "an unused expired link ends no session");
  });

  let keptToken: string;

  it("8: API tokens are shown once, act within their scopes only, and die when revoked", async () => {
    const tele = await user.call("POST", "/api/me/tokens", { name: "grafana", scopes: ["telemetry:read"] });
    assert.equal(tele.status, 201, JSON.stringify(tele.body));
    assert.match(tele.body.token, /^pwt_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(tele.body.scopes, ["telemetry:read"]);
    assert.equal(tele.body.name, "grafana");
    assert.ok(tele.body.token.startsWith(tele.body.id));

    const dev = await user.call("POST", "/api/me/tokens", { name: "inventory", scopes: ["devices:read"] });
    assert.equal(dev.status, 201);
    const kept = await user.call("POST", "/api/me/tokens", { name: "kept", scopes: "devices:read" });
    assert.equal(kept.status, 201);
    keptToken = kept.body.token;

    const list = await user.call("GET", "/api/me/tokens");
    assert.equal(list.status, 200);
    assert.equal(list.body.tokens.length, 3);
    const listed = JSON.stringify(list.body);
    for (const secret of [tele.body.token, dev.body.token, keptToken]) assert.ok(!listed.includes(secret));
    for (const t of list.body.tokens) {
      assert.deepEqual(Object.keys(t).sort(), [
        "createdAt",
        "expiresAt",
        "id",
        "name",
        "revokedAt",
        "scopes",
      ]);
    }
    assert.doesNotMatch(listed, /[0-9a-f]{64}/, "no SHA-256 hash in the list");

    const teleClient = new ApiClient(s, { bearer: tele.body.token });
    const devices = await teleClient.call("GET", "/api/devices");
    assert.equal(devices.status, 403);
    assert.equal(devices.body.requiredScope, "devices:read");
    const me = await teleClient.call("GET", "/api/me");
    assert.equal(me.status, 403);
    assert.match(me.body.message, /API tokens cannot/);
    const mint = await teleClient.call("POST", "/api/me/tokens", { name: "x", scopes: ["*"] });
    assert.equal(mint.status, 403, "a token cannot mint tokens");

    const devClient = new ApiClient(s, { bearer: dev.body.token });
    const ok = await devClient.call("GET", "/api/devices");
    assert.equal(ok.status, 200, JSON.stringify(ok.body));

    const del = await user.call("DELETE", `/api/me/tokens/${encodeURIComponent(dev.body.id)}`);
    assert.equal(del.status, 204);
    const revoked = await devClient.call("GET", "/api/devices");
    assert.equal(revoked.status, 401);
    const after = await user.call("GET", "/api/me/tokens");
    const entry = after.body.tokens.find((t: { id: string }) => t.id === dev.body.id);
    assert.equal(typeof entry.revokedAt, "number");

    // Someone else's token id is not found for another user.
    const foreign = await admin.call("DELETE", `/api/me/tokens/${encodeURIComponent(tele.body.id)}`);
    assert.equal(foreign.status, 404);
    assert.equal((await teleClient.call("GET", "/api/devices")).status, 403, "still alive");
  });

  it("9: logout ends the session on the server and clears the cookie", async () => {
    const c = client();
    const login = await c.login(ADMIN, ADMIN_PW);
    assert.equal(login.status, 200);
    const pair = cookiePair(login);
    assert.equal((await c.call("GET", "/api/me")).status, 200);

    const out = await c.call("POST", "/api/auth/logout");
    assert.equal(out.status, 204);
    const cleared = sessionSetCookie(out);
    assert.ok(cleared, "logout sends a clearing Set-Cookie");
    assert.match(cleared, /^__Host-pumpwatch-session=;/);
    assert.match(cleared, /Expires=Thu, 01 Jan 1970|Max-Age=0/i);
    assert.match(cleared, /Path=\//);
    assert.match(cleared, /Secure/);
    assert.equal(c.hasSession, false);

    const replay = await client().call("GET", "/api/me", undefined, { headers: { cookie: pair } });
    assert.equal(replay.status, 401);
    assert.match(sessionSetCookie(replay) ?? "", /^__Host-pumpwatch-session=;/);
    assert.equal((await admin.call("GET", "/api/me")).status, 200, "other sessions go on");
  });

  it("10: role changes keep an admin; deleting a user ends their session and tokens at once", async () => {
    const self = await admin.call("PATCH", `/api/users/${adminId}`, { role: "companyUser" });
    assert.equal(self.status, 409);
    assert.match(self.body.message, /last company administrator/);
    assert.equal((await admin.call("GET", "/api/me")).body.role, "companyAdmin");

    const promote = await admin.call("PATCH", `/api/users/${userId}`, { role: "companyAdmin" });
    assert.equal(promote.status, 200, JSON.stringify(promote.body));
    assert.equal(promote.body.role, "companyAdmin");
    assert.equal((await user.call("GET", "/api/users")).status, 200, "the new role holds at once");
    const keptClient = new ApiClient(s, { bearer: keptToken });
    assert.equal((await keptClient.call("GET", "/api/devices")).status, 200);

    const del = await admin.call("DELETE", `/api/users/${userId}`);
    assert.equal(del.status, 204);
    assert.equal((await user.call("GET", "/api/me")).status, 401);
    assert.equal((await keptClient.call("GET", "/api/devices")).status, 401);
    const gone = await admin.call("GET", `/api/users/${userId}`);
    assert.equal(gone.status, 404);
    assert.equal((await s.api(`/api/users/${userId}`)).status, 404);
    const login = await client().login(USER, USER_PW_NEW);
    assert.equal(login.status, 401);
    assert.equal(login.body.message, WRONG_LOGIN);

    // Erased, not flagged: neither the database file nor its WAL holds the address or phone any more.
    for (const file of ["pumpwatch.db", "pumpwatch.db-wal"]) {
      const bytes = await readFile(join(s.dataDir, file)).catch(() => Buffer.alloc(0));
      assert.equal(bytes.includes(USER), false, `${file} still holds the deleted user's e-mail`);
      assert.equal(bytes.includes(USER_PHONE), false, `${file} still holds the deleted user's phone`);
    }

    // Alone again, the admin can be neither demoted nor deleted, not even by the operator.
    assert.equal((await s.api(`/api/users/${adminId}`, { method: "DELETE" })).status, 409);
    assert.equal((await admin.call("GET", "/api/me")).status, 200);
  });

  it("11: the audit log records the account events, without personal data", async () => {
    const res = await s.api("/api/audit?limit=1000");
    assert.equal(res.status, 200);
    const events = new Set(res.body.entries.map((e: { event: string }) => e.event));
    for (const event of [
      "login",
      "login.failed",
      "login.throttled",
      "logout",
      "user.invited",
      "user.activated",
      "token.created",
      "token.revoked",
      "user.role.changed",
      "user.deleted",
      "password.reset",
      "password.reset.requested",
    ]) {
      assert.ok(events.has(event), `audit has "${event}": ${[...events].join(", ")}`);
    }
    const deleted = res.body.entries.find((e: { event: string }) => e.event === "user.deleted");
    assert.equal(deleted.targetId, userId);
    assert.equal(deleted.actor, adminId);
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes("@"), "no e-mail address in the audit log");
    for (const pii of [ADMIN_PHONE, USER_PHONE, "5550001", "5550002", ACME_ADDRESS, "Hafenstra"]) {
      assert.ok(!text.includes(pii), `no "${pii}" in the audit log`);
    }
    assert.doesNotMatch(text, /pw[sitr]_[A-Za-z0-9_-]{20}/, "no secrets in the audit log");
  });
});

describe("logs of the account flows carry no e-mail address, phone number or postal address", () => {
  let smtp: TestSmtp;
  let running: Running;
  let dataDir: string;
  const lines: string[] = [];

  before(async () => {
    smtp = await startSmtp();
    dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-test-"));
    const config = loadConfig({
      flags: {
        data: dataDir,
        bind: "127.0.0.1",
        mqttPort: 0,
        httpsPort: 0,
        logLevel: "trace",
        sqliteSync: "NORMAL",
        smtp: {
          host: "127.0.0.1",
          port: smtp.port,
          secure: false,
          requireTls: false,
          from: "pumpwatch <noreply@pumpwatch.test>",
        },
      },
    });
    const destination = { write: (line: string) => void lines.push(line) };
    running = await startPumpwatch(config, createLogger({ level: "trace", destination }));
  });
  after(async () => {
    await running?.close();
    await smtp?.close().catch(() => undefined);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("12: invitation, login, failed login, contact change, reset and failing mail leave no personal data in the log", async () => {
    const op = new ApiClient(running, { bearer: running.operatorToken });
    assert.equal(
      (await op.call("POST", "/api/companies", { id: "acme", name: "Acme", postalAddress: ACME_ADDRESS }))
        .status,
      201,
    );
    const inv = await op.call("POST", "/api/users", {
      email: ADMIN,
      role: "companyAdmin",
      companyId: "acme",
      phone: ADMIN_PHONE,
      postalAddress: "Deichweg 7, 21129 Hamburg",
    });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    const c = new ApiClient(running);
    const token = linkToken((await smtp.waitFor(ADMIN)).text);
    const accepted = await c.call("POST", "/api/auth/invitation", { token, password: ADMIN_PW });
    assert.equal(accepted.status, 200);
    c.adopt(accepted);
    assert.equal((await new ApiClient(running).login(ADMIN, "wrong-password-xx1")).status, 401);
    assert.equal((await new ApiClient(running).login(UNKNOWN, "wrong-password-xx1")).status, 401);
    assert.equal((await c.call("PATCH", "/api/me", { phone: USER_PHONE })).status, 200);
    assert.equal((await c.call("POST", "/api/auth/password-reset", { email: ADMIN })).status, 202);
    await smtp.waitFor(ADMIN, { skip: 1 });

    // The mail server goes away: both mail paths log a warning, which must not name the address.
    await smtp.close();
    const failed = await c.call("POST", "/api/users", {
      email: USER,
      role: "companyUser",
      phone: USER_PHONE,
    });
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.ok(!JSON.stringify(failed.body).includes(USER));
    assert.equal((await c.call("GET", "/api/users")).body.users.length, 1, "the uninvitable user was undone");
    assert.equal((await c.call("POST", "/api/auth/password-reset", { email: ADMIN })).status, 202);

    const log = lines.join("");
    assert.match(log, /invitation mail not sent/, "the failure is logged");
    assert.match(log, /password-reset mail not sent/, "the failure is logged");
    for (const pii of [
      ADMIN,
      USER,
      UNKNOWN,
      "acme.test",
      ADMIN_PHONE,
      USER_PHONE,
      "5550001",
      "5550002",
      ACME_ADDRESS,
      "Hafenstra",
      "Deichweg",
      ADMIN_PW,
    ]) {
      assert.ok(!log.includes(pii), `no "${pii}" in the log`);
    }
    assert.doesNotMatch(log, /pw[sitr]_[A-Za-z0-9_-]{43}/, "no secrets in the log");
  });
});
