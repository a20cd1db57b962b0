import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, it } from "node:test";
import { ACCESS, type AccessRule, DEVICE, PUBLIC } from "../../src/api/access.js";
import { hashPassword } from "../../src/auth/password.js";
import { newToken } from "../../src/auth/tokens.js";
import { generateKey } from "../../src/core/keys.js";
import type { UserRole } from "../../src/store/ports.js";
import { ApiClient, type ApiResponse } from "../helpers/client.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { unzip } from "../helpers/unzip.js";

/**
 * The cross-tenant matrix: every API route in the rule table (access.ts), called by each kind of
 * company caller (company admin and company user by session, an API token with every scope) against
 * the resources of another company. The answer must not carry one byte of the other company's data
 * (checked against marker strings planted in every table), and no write may change its state.
 * Then every route a role may not use is called with the caller's own resources: 403.
 */

const PASSWORD = "correct horse battery staple";
const NOW = Date.now();

/** One tenant's resources. */
interface Tenant {
  company: string;
  device: string;
  alarm: number;
  adminId: string;
  userId: string;
  tokenId: string;
  webhook: string;
}

/** Strings planted in company B's data; none may reach a caller of company A. */
const B_MARKERS = [
  "Betamax Secret GmbH",
  "Geheimweg 7",
  "boss@betamax.test",
  "worker@betamax.test",
  "+49 30 7777777",
  "SERIAL-BETA-XYZ",
  "beta-note-4711",
  "beta alarm message 0815",
  "12345.678",
  "beta-token-name",
  "https://betamax-hooks.test/secret-hook",
];

/** What each route is called with: path (and body) built from the target tenant's ids. */
type Build = (t: Tenant) => { path: string; body?: unknown };
const ROUTES: Record<string, Build> = {
  "GET /api/me": () => ({ path: "/api/me" }),
  "PATCH /api/me": () => ({ path: "/api/me", body: { phone: "+49 40 1111111" } }),
  "POST /api/me/password": () => ({
    path: "/api/me/password",
    body: { currentPassword: "not the password", newPassword: "another long passphrase" },
  }),
  "GET /api/me/export": () => ({ path: "/api/me/export" }),
  "GET /api/me/tokens": () => ({ path: "/api/me/tokens" }),
  "POST /api/me/tokens": () => ({ path: "/api/me/tokens", body: { name: "probe", scopes: ["alarms:read"] } }),
  "DELETE /api/me/tokens/:tokenId": (t) => ({ path: `/api/me/tokens/${t.tokenId}` }),
  "GET /api/users": (t) => ({ path: `/api/users?company=${t.company}` }),
  "POST /api/users": (t) => ({
    path: "/api/users",
    body: { email: `probe-${t.company}@probe.test`, role: "companyUser", companyId: t.company },
  }),
  "GET /api/users/:id": (t) => ({ path: `/api/users/${t.userId}` }),
  "PATCH /api/users/:id": (t) => ({ path: `/api/users/${t.userId}`, body: { role: "companyAdmin" } }),
  "DELETE /api/users/:id": (t) => ({ path: `/api/users/${t.userId}` }),
  "POST /api/users/:id/invitation": (t) => ({ path: `/api/users/${t.userId}/invitation`, body: {} }),
  "GET /api/info": () => ({ path: "/api/info" }),
  "GET /api/usage": () => ({ path: "/api/usage" }),
  "GET /api/enrollments": () => ({ path: "/api/enrollments" }),
  "POST /api/enrollments/groups": () => ({ path: "/api/enrollments/groups", body: { name: "probe-group" } }),
  "POST /api/enrollments/devices": () => ({
    path: "/api/enrollments/devices",
    body: { registrationId: "probe-device" },
  }),
  "GET /api/quarantine": (t) => ({ path: `/api/quarantine?deviceId=${t.device}` }),
  "GET /api/devices": (t) => ({ path: `/api/devices?company=${t.company}` }),
  "GET /api/devices/:id": (t) => ({ path: `/api/devices/${t.device}` }),
  "PATCH /api/devices/:id": (t) => ({ path: `/api/devices/${t.device}`, body: { companyId: "alpha" } }),
  "POST /api/devices/:id/:action": (t) => ({ path: `/api/devices/${t.device}/disable`, body: {} }),
  "GET /api/devices/:id/twin": (t) => ({ path: `/api/devices/${t.device}/twin` }),
  "PATCH /api/devices/:id/twin": (t) => ({
    path: `/api/devices/${t.device}/twin`,
    body: { desired: { probe: 1 } },
  }),
  "GET /api/devices/:id/telemetry": (t) => ({ path: `/api/devices/${t.device}/telemetry` }),
  "GET /api/devices/:id/series": (t) => ({ path: `/api/devices/${t.device}/series` }),
  "GET /api/devices/:id/export": (t) => ({ path: `/api/devices/${t.device}/export` }),
  "GET /api/devices/:id/analytics": (t) => ({ path: `/api/devices/${t.device}/analytics` }),
  "GET /api/devices/:id/health": (t) => ({ path: `/api/devices/${t.device}/health` }),
  "GET /api/devices/:id/forecasts": (t) => ({ path: `/api/devices/${t.device}/forecasts` }),
  "GET /api/devices/:id/kpis": (t) => ({ path: `/api/devices/${t.device}/kpis` }),
  "GET /api/devices/:id/rules": (t) => ({ path: `/api/devices/${t.device}/rules` }),
  "PUT /api/devices/:id/rules": (t) => ({ path: `/api/devices/${t.device}/rules`, body: {} }),
  "GET /api/devices/:id/maintenance": (t) => ({ path: `/api/devices/${t.device}/maintenance` }),
  "POST /api/devices/:id/maintenance": (t) => ({
    path: `/api/devices/${t.device}/maintenance`,
    body: { action: "inspection", note: "probe" },
  }),
  "GET /api/alarms": (t) => ({ path: `/api/alarms?device=${t.device}` }),
  "GET /api/alarms/:id": (t) => ({ path: `/api/alarms/${t.alarm}` }),
  "POST /api/alarms/:id/acknowledge": (t) => ({ path: `/api/alarms/${t.alarm}/acknowledge`, body: {} }),
  "POST /api/alarms/:id/shelve": (t) => ({ path: `/api/alarms/${t.alarm}/shelve`, body: { minutes: 10 } }),
  "POST /api/alarms/:id/unshelve": (t) => ({ path: `/api/alarms/${t.alarm}/unshelve`, body: {} }),
  "POST /api/alarms/:id/comments": (t) => ({
    path: `/api/alarms/${t.alarm}/comments`,
    body: { text: "probe" },
  }),
  "GET /api/fleet/health": (t) => ({ path: `/api/fleet/health?company=${t.company}` }),
  "GET /api/fleet/kpis": (t) => ({ path: `/api/fleet/kpis?company=${t.company}` }),
  "GET /api/events": (t) => ({ path: `/api/events?device=${t.device}` }),
  "GET /api/companies": () => ({ path: "/api/companies" }),
  "POST /api/companies": () => ({ path: "/api/companies", body: { name: "Probe", postalAddress: "x" } }),
  "GET /api/companies/:id": (t) => ({ path: `/api/companies/${t.company}` }),
  "PUT /api/companies/:id": (t) => ({ path: `/api/companies/${t.company}`, body: { name: "Probe GmbH" } }),
  "GET /api/companies/:id/contract": (t) => ({ path: `/api/companies/${t.company}/contract` }),
  "PUT /api/companies/:id/contract": (t) => ({
    path: `/api/companies/${t.company}/contract`,
    body: { start: "2026-01-01" },
  }),
  "POST /api/companies/:id/contract/notice": (t) => ({
    path: `/api/companies/${t.company}/contract/notice`,
    body: {},
  }),
  "POST /api/companies/:id/contract/notice/preview": (t) => ({
    path: `/api/companies/${t.company}/contract/notice/preview`,
    body: {},
  }),
  "DELETE /api/companies/:id/contract/notice": (t) => ({
    path: `/api/companies/${t.company}/contract/notice`,
  }),
  "GET /api/companies/:id/export": (t) => ({ path: `/api/companies/${t.company}/export` }),
  "GET /api/companies/:companyId/retention": (t) => ({ path: `/api/companies/${t.company}/retention` }),
  "PUT /api/companies/:companyId/retention": (t) => ({
    path: `/api/companies/${t.company}/retention`,
    body: { rawDays: 1, rollupDays: 1 },
  }),
  "GET /api/audit": (t) => ({ path: `/api/audit?company=${t.company}` }),
  "GET /api/me/notifications": () => ({ path: "/api/me/notifications" }),
  "PUT /api/me/notifications": (t) => ({
    path: "/api/me/notifications",
    body: { subscriptions: [{ deviceId: t.device, minSeverity: "warning" }] },
  }),
  "GET /api/webhooks": (t) => ({ path: `/api/webhooks?company=${t.company}` }),
  "POST /api/webhooks": (t) => ({
    path: "/api/webhooks",
    body: { url: "https://probe.test/hook", companyId: t.company },
  }),
  "DELETE /api/webhooks/:webhookId": (t) => ({ path: `/api/webhooks/${t.webhook}` }),
  "POST /api/webhooks/:webhookId/test": (t) => ({ path: `/api/webhooks/${t.webhook}/test`, body: {} }),
  "GET /api/notifications/deliveries": (t) => ({
    path: `/api/notifications/deliveries?company=${t.company}`,
  }),
  "GET /api/security/events": (t) => ({ path: `/api/security/events?device=${t.device}` }),
  "POST /api/security/events/:eventId/acknowledge": () => ({
    path: "/api/security/events/1/acknowledge",
    body: {},
  }),
};

const API_RULES = Object.entries(ACCESS).filter(
  (e): e is [string, AccessRule] => e[1] !== PUBLIC && e[1] !== DEVICE,
);

/** Reads a server-sent event stream for `ms`, then hangs up. */
function readStream(s: TestServer, path: string, headers: Record<string, string>, ms: number) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: s.httpsPort, path, ca: s.ca, servername: "localhost", headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        const done = () => resolve({ status: res.statusCode ?? 0, text });
        res.on("end", done);
        setTimeout(() => {
          req.destroy();
          done();
        }, ms);
      },
    );
    req.on("error", (err) => (err.message.includes("socket hang up") ? undefined : reject(err)));
    req.end();
  });
}

describe("cross-tenant matrix: a company's callers get nothing of another company", () => {
  let s: TestServer;
  const A = {} as Tenant;
  const B = {} as Tenant;
  const callers: Record<string, ApiClient> = {};

  async function seed(t: Tenant, company: string, name: string, address: string, mark: string) {
    const store = s.stores;
    await store.tenancy.createCompany({ id: company, name, postalAddress: address }, NOW);
    await s.api(`/api/companies/${company}/contract`, { method: "PUT", body: { start: "2025-01-01" } });
    t.company = company;
    t.device = `${company}-pump-1`;
    await store.registry.createDevice({
      id: t.device,
      primaryKey: generateKey(32),
      secondaryKey: generateKey(32),
      enrollmentKind: "manual",
      companyId: company,
      model: "rotaryVane",
      serial: mark === "beta" ? "SERIAL-BETA-XYZ" : "SERIAL-ALPHA",
    });
    await store.telemetry.commit([
      {
        kind: "accept",
        deviceId: t.device,
        messageId: `${company}-m1`,
        receivedAt: NOW,
        samples: [{ ts: NOW - 60_000, values: { oilTemperature: mark === "beta" ? 12345.678 : 55.5 } }],
      },
      {
        kind: "quarantine",
        deviceId: t.device,
        messageId: `${company}-bad`,
        receivedAt: NOW,
        transport: "mqtt",
        topic: `devices/${t.device}/messages/events/`,
        reasonCode: "schema",
        reason: "probe",
        payload: Buffer.from(mark === "beta" ? "beta-note-4711 raw" : "alpha raw"),
      },
    ]);
    const raised = await store.analytics.raiseAlarm({
      deviceId: t.device,
      type: "rule:oilTemp",
      severity: "alarm",
      ts: NOW - 30_000,
      message: mark === "beta" ? "beta alarm message 0815" : "alpha alarm",
      signals: ["oilTemperature"],
      diagnosis: null,
    });
    t.alarm = raised.alarm.id;
    await store.analytics.addMaintenance(
      {
        deviceId: t.device,
        ts: NOW - 10_000,
        action: "oilChange",
        note: mark === "beta" ? "beta-note-4711" : "alpha note",
        actor: "operator",
      },
      NOW,
    );
    const hash = await hashPassword(PASSWORD);
    const mk = async (role: UserRole, email: string, phone: string) =>
      (
        await store.tenancy.createUser(
          {
            id: `u_${mark}_${role}`,
            companyId: company,
            role,
            email,
            phone,
            postalAddress: address,
            passwordHash: hash,
          },
          NOW,
        )
      ).id;
    const prefix =
      mark === "beta"
        ? ["boss@betamax.test", "worker@betamax.test"]
        : ["boss@alpha.test", "worker@alpha.test"];
    const phone = mark === "beta" ? "+49 30 7777777" : "+49 89 1234567";
    t.adminId = await mk("companyAdmin", prefix[0]!, phone);
    t.userId = await mk("companyUser", prefix[1]!, phone);
    const tok = newToken("pwt");
    await store.tenancy.createApiToken({
      id: tok.id,
      hash: tok.hash,
      userId: t.adminId,
      name: mark === "beta" ? "beta-token-name" : "alpha-token",
      scopes: ["*"],
      createdAt: NOW,
      expiresAt: null,
    });
    t.tokenId = tok.id;
    const hook = await store.notifications.createWebhook({
      id: `wh_${mark}`,
      companyId: company,
      url: mark === "beta" ? "https://betamax-hooks.test/secret-hook" : "https://alpha-hooks.test/hook",
      secret: `whsec_${mark}`,
      minSeverity: "warning",
      enabled: false,
      createdAt: NOW,
    });
    t.webhook = hook.id;
    await store.notifications.enqueueDeliveries([
      {
        alarmId: t.alarm,
        episode: 1,
        companyId: company,
        kind: "raised",
        channel: "email",
        target: t.adminId,
        createdAt: NOW,
      },
    ]);
    return tok.token;
  }

  before(async () => {
    s = await startTestServer();
    const tokenA = await seed(A, "alpha", "Alpha Pumps AG", "Alphastraße 1\n10115 Berlin", "alpha");
    await seed(B, "beta", "Betamax Secret GmbH", "Geheimweg 7\n80331 München", "beta");
    callers["companyAdmin"] = new ApiClient(s);
    callers["companyUser"] = new ApiClient(s);
    assert.equal((await callers["companyAdmin"].login("boss@alpha.test", PASSWORD)).status, 200);
    assert.equal((await callers["companyUser"].login("worker@alpha.test", PASSWORD)).status, 200);
    callers["apiToken"] = new ApiClient(s, { bearer: tokenA });
  });

  after(async () => {
    await s?.stop();
  });

  it("covers every route of the rule table, and every rule has its route", async () => {
    const missing = API_RULES.map(([key]) => key).filter((key) => !(key in ROUTES));
    const stale = Object.keys(ROUTES).filter((key) => !(key in ACCESS));
    assert.deepEqual({ missing, stale }, { missing: [], stale: [] });
    // The server refuses to start with a route that has no rule; a rule without a route would
    // answer the not-found handler's "no route" here.
    const unrouted: string[] = [];
    const operator = new ApiClient(s, { bearer: s.operatorToken });
    for (const [key] of API_RULES) {
      if (key === "GET /api/events") continue;
      const { path } = ROUTES[key]!({
        ...A,
        alarm: 999_999,
        userId: "u_none",
        tokenId: "pwt_none",
        device: "none",
        webhook: "wh_none",
      });
      const res = await operator.call(key.split(" ")[0]!, path, key.startsWith("GET") ? undefined : {});
      if (res.status === 404 && String(res.body?.message).startsWith("no route")) unrouted.push(key);
    }
    assert.deepEqual(unrouted, []);
  });

  it("answers every route and method without one byte of the other company (0 leaks)", async (t) => {
    const leaks: string[] = [];
    let calls = 0;
    for (const [key] of API_RULES) {
      const method = key.split(" ")[0]!;
      const { path, body } = ROUTES[key]!(B);
      for (const [who, client] of Object.entries(callers)) {
        let status: number;
        let text: string;
        if (key === "GET /api/events") {
          const headers: Record<string, string> = client.bearer
            ? { authorization: `Bearer ${client.bearer}` }
            : { cookie: client.cookieHeader() };
          const reading = readStream(s, path, headers, 600);
          await new Promise((r) => setTimeout(r, 200));
          s.bus.publish("values", {
            deviceId: B.device,
            ts: NOW,
            values: { oilTemperature: 12345.678 },
            state: "running",
          });
          ({ status, text } = await reading);
        } else {
          const res: ApiResponse = await client.call(method, path, body);
          status = res.status;
          text = res.raw.toString("latin1");
          // Zip members are deflated: search the inflated text too.
          if (String(res.headers["content-type"]).includes("zip")) {
            for (const f of unzip(res.raw)) text += f.data.toString("latin1");
          }
        }
        calls++;
        const sent = path + JSON.stringify(body ?? "");
        const markers = [...B_MARKERS, B.device, B.adminId, B.userId, B.tokenId, B.webhook].filter(
          (m) => !sent.includes(m),
        );
        for (const m of markers)
          if (text.includes(m)) leaks.push(`${who} ${key} → ${status}: contains "${m}"`);
        const rule = ACCESS[key] as AccessRule;
        if (rule.tenant && status < 400)
          leaks.push(`${who} ${key} → ${status}: reached another company's resource`);
      }
    }
    t.diagnostic(`${calls} calls over ${API_RULES.length} routes by 3 callers: ${leaks.length} leaks`);
    assert.deepEqual(leaks, []);
    assert.ok(calls >= API_RULES.length * 3);
  });

  it("left the other company exactly as it was", async () => {
    const st = s.stores;
    const device = await st.registry.getDevice(B.device);
    assert.equal(device?.enabled, true);
    assert.equal(device?.companyId, "beta");
    assert.deepEqual((await st.registry.getTwin(B.device)).desired, {});
    assert.equal((await st.tenancy.getCompany("beta"))?.name, "Betamax Secret GmbH");
    assert.equal((await st.tenancy.getContract("beta"))?.notice, null);
    assert.equal((await st.tenancy.getUser(B.userId))?.role, "companyUser");
    assert.equal((await st.tenancy.getUser(B.adminId))?.role, "companyAdmin");
    assert.equal((await st.tenancy.listUsers("beta")).length, 2);
    assert.equal((await st.tenancy.listApiTokens(B.adminId))[0]?.revokedAt, null);
    const alarm = await st.analytics.getAlarm(B.alarm);
    assert.equal(alarm?.acknowledged, false);
    assert.equal(alarm?.shelvedUntil ?? null, null);
    assert.equal((await st.analytics.alarmHistory(B.alarm)).length, 1);
    assert.equal((await st.analytics.listMaintenance(B.device, 10)).length, 1);
    assert.equal(await st.registry.getRetention("beta"), undefined);
    assert.deepEqual(
      (await st.notifications.listWebhooks("beta")).map((w) => w.id),
      [B.webhook],
    );
    for (const id of [A.adminId, A.userId]) {
      const subs = await st.notifications.listSubscriptions(id);
      assert.ok(!subs.some((x) => x.deviceId === B.device), "subscribed to another company's pump");
    }
  });

  it("refuses every route a role may not use, even on the caller's own company (403)", async () => {
    const wrong: string[] = [];
    for (const [key, rule] of API_RULES) {
      const method = key.split(" ")[0]!;
      if (key === "GET /api/events") continue; // allowed for every role
      const { path, body } = ROUTES[key]!(A);
      for (const [who, client] of Object.entries(callers)) {
        const role: UserRole = who === "companyUser" ? "companyUser" : "companyAdmin";
        const tokenRefused = who === "apiToken" && rule.scope === undefined;
        if (rule.roles.includes(role) && !tokenRefused) continue;
        const res = await client.call(method, path, body);
        if (res.status !== 403) wrong.push(`${who} ${key} → ${res.status}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it("still serves a company its own data (the checks above are not vacuous)", async () => {
    const user = callers["companyUser"]!;
    const own = [
      `/api/devices/${A.device}`,
      `/api/devices/${A.device}/telemetry`,
      `/api/alarms/${A.alarm}`,
      `/api/devices/${A.device}/maintenance`,
      "/api/companies/alpha",
    ];
    for (const path of own) {
      const res = await user.call("GET", path);
      assert.equal(res.status, 200, `${path}: ${res.raw.toString()}`);
    }
    const alarms = await user.call("GET", "/api/alarms");
    assert.deepEqual(
      alarms.body.alarms.map((a: { id: number }) => a.id),
      [A.alarm],
    );
    const devices = await callers["apiToken"]!.call("GET", "/api/devices");
    assert.deepEqual(
      devices.body.devices.map((d: { id: string }) => d.id),
      [A.device],
    );
    const companies = await user.call("GET", "/api/companies");
    assert.deepEqual(
      companies.body.companies.map((c: { id: string }) => c.id),
      ["alpha"],
    );
    const ack = await callers["companyAdmin"]!.call("POST", `/api/alarms/${A.alarm}/acknowledge`, {});
    assert.equal(ack.status, 200);
    assert.equal(
      ack.body.acknowledgedBy ?? ack.body.acknowledged,
      ack.body.acknowledgedBy ? A.adminId : true,
    );
  });
});
