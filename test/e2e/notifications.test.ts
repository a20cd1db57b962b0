import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { simpleParser } from "mailparser";
import { hashPassword } from "../../src/auth/password.js";
import { generateKey } from "../../src/core/keys.js";
import { verifySignature } from "../../src/notify/notifier.js";
import type { AlarmEventKind, AlarmRecord } from "../../src/store/ports.js";
import { ApiClient } from "../helpers/client.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { startSmtp, type TestSmtp } from "../helpers/smtp.js";

/**
 * Alarm notifications end to end: a real SMTP server, a real webhook receiver on 127.0.0.1, the whole
 * pumpwatch over HTTPS, alarms raised through the analytics store and announced on the bus as the
 * analytics service does, and a controllable clock to skip back-off and reach the reminder.
 */

const PASSWORD = "correct horse battery staple";
const ADMIN = "boss@alpha.test";
const QUIET = "quiet@alpha.test";
const OTHER = "boss@beta.test";
const PUMP = "alpha-pump-1";

interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

describe("alarm notifications by e-mail and signed webhooks", () => {
  let clock = Date.parse("2026-03-02T08:00:00Z");
  let s: TestServer;
  let smtp: TestSmtp;
  let receiver: Server;
  let hookUrl: string;
  let secret: string;
  let webhookId: string;
  let admin: ApiClient;
  const hits: Hit[] = [];
  /** Answers 500 to the first two posts about alarms of this type. */
  let failType = "";
  let failures = 0;
  const ids: Record<string, number> = {};

  const mailsTo = (to: string) => smtp.inbox.filter((m) => m.to.includes(to));
  const subjects = async (to: string) =>
    Promise.all(mailsTo(to).map(async (m) => (await simpleParser(m.raw)).subject ?? ""));
  const kinds = () => hits.filter((h) => h.status === 200).map((h) => JSON.parse(h.body).kind as string);
  const announce = async (alarm: AlarmRecord, event: AlarmEventKind | null) => {
    assert.ok(event);
    s.bus.publish("alarm", { alarm, event });
    await s.notifier.idle();
  };
  const tick = async () => {
    s.notifier.kick();
    await s.notifier.idle();
  };

  before(async () => {
    smtp = await startSmtp();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const type = JSON.parse(body).alarm?.type;
        const fail = type === failType && failures < 2;
        if (fail) failures++;
        const status = fail ? 500 : 200;
        hits.push({ headers: req.headers, body, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    s = await startTestServer(
      {
        publicUrl: "https://pumps.example.test",
        smtp: {
          host: "127.0.0.1",
          port: smtp.port,
          secure: false,
          requireTls: false,
          from: "pumpwatch <noreply@pumpwatch.test>",
        },
        notifications: { reminderMinutes: 60 },
      },
      { now: () => clock },
    );
    const hash = await hashPassword(PASSWORD);
    for (const [company, name] of [
      ["alpha", "Alpha Pumps AG"],
      ["beta", "Beta GmbH"],
    ] as const) {
      await s.stores.tenancy.createCompany({ id: company, name, postalAddress: "Weg 1" }, clock);
      await s.stores.registry.createDevice({
        id: `${company}-pump-1`,
        primaryKey: generateKey(32),
        secondaryKey: generateKey(32),
        enrollmentKind: "manual",
        companyId: company,
      });
    }
    const mk = (id: string, companyId: string, email: string) =>
      s.stores.tenancy.createUser({ id, companyId, role: "companyAdmin", email, passwordHash: hash }, clock);
    await mk("u_alpha_admin", "alpha", ADMIN);
    await mk("u_alpha_quiet", "alpha", QUIET);
    await mk("u_beta_admin", "beta", OTHER);
    // Subscribed to every pump it may see: must still get nothing of company alpha.
    await s.stores.notifications.replaceSubscriptions("u_beta_admin", [
      { deviceId: null, minSeverity: "warning", email: true, locale: "de" },
    ]);
    admin = new ApiClient(s);
    assert.equal((await admin.login(ADMIN, PASSWORD)).status, 200);
  });

  after(async () => {
    await s?.stop();
    await smtp?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it("lets a user subscribe to the pumps they may see, and no others", async () => {
    const own = await admin.call("PUT", "/api/me/notifications", {
      subscriptions: [{ deviceId: null, minSeverity: "warning", locale: "en" }],
    });
    assert.equal(own.status, 200, own.raw.toString());
    assert.deepEqual(own.body.subscriptions, [
      { deviceId: null, minSeverity: "warning", email: true, locale: "en" },
    ]);
    const foreign = await admin.call("PUT", "/api/me/notifications", {
      subscriptions: [{ deviceId: "beta-pump-1", minSeverity: "warning" }],
    });
    assert.equal(foreign.status, 404);
    const badSeverity = await admin.call("PUT", "/api/me/notifications", {
      subscriptions: [{ deviceId: PUMP, minSeverity: "critical" }],
    });
    assert.equal(badSeverity.status, 400);
    assert.equal((await admin.call("GET", "/api/me/notifications")).body.subscriptions.length, 1);
  });

  it("creates a webhook for the company and shows its secret once", async () => {
    const refused = await admin.call("POST", "/api/webhooks", { url: "http://hooks.example.com/x" });
    assert.equal(refused.status, 400, "plain http only to loopback");
    const res = await admin.call("POST", "/api/webhooks", { url: hookUrl });
    assert.equal(res.status, 201, res.raw.toString());
    assert.match(res.body.secret, /^whsec_/);
    assert.equal(res.body.webhook.companyId, "alpha");
    secret = res.body.secret;
    webhookId = res.body.webhook.id;
    const list = await admin.call("GET", "/api/webhooks");
    assert.deepEqual(
      list.body.webhooks.map((w: { id: string }) => w.id),
      [webhookId],
    );
    assert.ok(!list.raw.toString().includes(secret), "the secret is never answered again");
    const test = await admin.call("POST", `/api/webhooks/${webhookId}/test`, {});
    assert.deepEqual(test.body, { ok: true, error: null });
    assert.equal(hits.at(-1)?.headers["x-pumpwatch-event"], "test");
    hits.length = 0;
  });

  it("mails the subscribed user once and posts one signed webhook when an alarm is raised", async () => {
    const r = await s.stores.analytics.raiseAlarm({
      deviceId: PUMP,
      type: "rule:oilTemp",
      severity: "warning",
      ts: clock,
      message: "Oil temperature high",
      signals: ["oilTemperature"],
      diagnosis: { code: "F01", cause: "cooler fouled", confidence: 0.8, action: "clean the cooler" },
    });
    ids["oil"] = r.alarm.id;
    ids["oilRaisedAt"] = clock;
    await announce(r.alarm, r.event);
    assert.equal(mailsTo(ADMIN).length, 1);
    assert.equal(mailsTo(QUIET).length, 0, "not subscribed");
    assert.equal(mailsTo(OTHER).length, 0, "another company");
    const mail = await smtp.waitFor(ADMIN);
    assert.match(mail.subject, /Alarm raised · Warning · alpha-pump-1: Oil temperature high/);
    assert.ok(mail.text.includes("https://pumps.example.test/#/pump/alpha-pump-1"), mail.text);
    assert.ok(mail.text.includes("09:00"), "time in Europe/Berlin");
    assert.ok(mail.text.includes("cooler fouled") && mail.text.includes("clean the cooler"));

    assert.equal(hits.length, 1);
    const hit = hits[0]!;
    assert.equal(hit.headers["content-type"], "application/json");
    assert.equal(hit.headers["x-pumpwatch-event"], "raised");
    const body = JSON.parse(hit.body);
    assert.equal(hit.headers["x-pumpwatch-delivery"], body.id);
    assert.equal(body.kind, "raised");
    assert.deepEqual(
      {
        id: body.alarm.id,
        deviceId: body.alarm.deviceId,
        severity: body.alarm.severity,
        active: body.alarm.active,
      },
      { id: r.alarm.id, deviceId: PUMP, severity: "warning", active: true },
    );
    const sig = hit.headers["x-pumpwatch-signature"] as string;
    assert.match(sig, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature(secret, sig, hit.body, 300, clock), true);
    assert.equal(verifySignature(`${secret}x`, sig, hit.body, 300, clock), false, "wrong secret");
    assert.equal(verifySignature(secret, sig, `${hit.body} `, 300, clock), false, "changed body");
    assert.equal(verifySignature(secret, sig, hit.body, 300, clock + 301_000), false, "too old");
  });

  it("announces an escalation once and never a second raise of the episode", async () => {
    clock += 10_000;
    const r = await s.stores.analytics.raiseAlarm({
      deviceId: PUMP,
      type: "rule:oilTemp",
      severity: "alarm",
      ts: clock,
      message: "Oil temperature very high",
      signals: ["oilTemperature"],
      diagnosis: null,
    });
    assert.equal(r.event, "escalated");
    await announce(r.alarm, r.event);
    await announce(r.alarm, r.event);
    const first = await s.stores.analytics.getAlarm(ids["oil"]!);
    await announce(first!, "raised");
    assert.deepEqual(kinds(), ["raised", "escalated"]);
    const subs = await subjects(ADMIN);
    assert.equal(subs.length, 2);
    assert.match(subs[1]!, /^Alarm escalated · Alarm · alpha-pump-1/);
  });

  it("retries a failing receiver with back-off until it accepts (3 attempts, sent)", async () => {
    failType = "rule:pressure";
    clock += 10_000;
    const r = await s.stores.analytics.raiseAlarm({
      deviceId: PUMP,
      type: "rule:pressure",
      severity: "alarm",
      ts: clock,
      message: "Inlet pressure high",
      signals: [],
      diagnosis: null,
    });
    ids["pressure"] = r.alarm.id;
    await announce(r.alarm, r.event);
    assert.equal(hits.filter((h) => h.status === 500).length, 1);
    await tick();
    assert.equal(hits.filter((h) => h.status === 500).length, 1, "not before the back-off");
    clock += 61_000;
    await tick();
    assert.equal(hits.filter((h) => h.status === 500).length, 2);
    clock += 61_000;
    await tick();
    const mine = hits.filter((h) => JSON.parse(h.body).alarm.type === "rule:pressure");
    assert.deepEqual(
      mine.map((h) => h.status),
      [500, 500, 200],
    );
    assert.equal(new Set(mine.map((h) => h.headers["x-pumpwatch-delivery"])).size, 1, "one delivery id");
    const operator = new ApiClient(s, { bearer: s.operatorToken });
    const res = await operator.call("GET", `/api/notifications/deliveries?alarm=${r.alarm.id}`);
    assert.equal(res.status, 200);
    const hook = res.body.deliveries.find((d: { channel: string }) => d.channel === "webhook");
    assert.deepEqual(
      {
        status: hook.status,
        attempts: hook.attempts,
        kind: hook.kind,
        target: hook.target,
        lastError: hook.lastError,
      },
      { status: "sent", attempts: 3, kind: "raised", target: webhookId, lastError: null },
    );
    const mail = res.body.deliveries.find((d: { channel: string }) => d.channel === "email");
    assert.deepEqual([mail.status, mail.attempts, mail.target], ["sent", 1, "u_alpha_admin"]);
    assert.ok(!res.raw.toString().includes(ADMIN), "deliveries name user ids, never addresses");
    const own = await admin.call("GET", "/api/notifications/deliveries?status=sent");
    assert.equal(own.status, 200);
    assert.ok(own.body.deliveries.every((d: { companyId: string }) => d.companyId === "alpha"));
  });

  it("reminds once when the alarm is still active and unacknowledged after reminderMinutes", async () => {
    await s.stores.analytics.acknowledgeAlarm(ids["pressure"]!, "u_alpha_admin", clock, "on it");
    const before = mailsTo(ADMIN).length;
    clock = ids["oilRaisedAt"]! + 59 * 60_000;
    await tick();
    assert.equal(mailsTo(ADMIN).length, before, "not before reminderMinutes");
    clock = ids["oilRaisedAt"]! + 61 * 60_000;
    await tick();
    clock += 3 * 3_600_000;
    await tick();
    const subs = (await subjects(ADMIN)).slice(before);
    assert.equal(subs.length, 1);
    assert.match(subs[0]!, /^Reminder: alarm still active · Alarm · alpha-pump-1: Oil temperature very high/);
    assert.deepEqual(
      kinds().filter((k) => k === "reminder"),
      ["reminder"],
    );
  });

  it("announces the clearing once", async () => {
    clock += 1000;
    const cleared = await s.stores.analytics.clearAlarm(PUMP, "rule:oilTemp", clock, "back to normal");
    assert.ok(cleared);
    await announce(cleared, "cleared");
    await announce(cleared, "cleared");
    const subs = await subjects(ADMIN);
    assert.equal(subs.filter((x) => x.startsWith("Alarm cleared")).length, 1);
    assert.deepEqual(
      kinds().filter((k) => k === "cleared"),
      ["cleared"],
    );
    assert.equal(mailsTo(QUIET).length + mailsTo(OTHER).length, 0);
    // raised, escalated, raised (pressure), reminder, cleared.
    assert.equal(mailsTo(ADMIN).length, 5);
  });

  it("sends an erased user nothing, and a deleted webhook nothing", async () => {
    assert.equal((await admin.call("DELETE", `/api/webhooks/${webhookId}`)).status, 204);
    await s.stores.tenancy.deleteUser("u_alpha_admin");
    const before = { mails: smtp.inbox.length, hits: hits.length };
    clock += 1000;
    const r = await s.stores.analytics.raiseAlarm({
      deviceId: PUMP,
      type: "rule:oilTemp",
      severity: "alarm",
      ts: clock,
      message: "Oil temperature high again",
      signals: [],
      diagnosis: null,
    });
    assert.equal(r.event, "raised");
    await announce(r.alarm, r.event);
    assert.deepEqual({ mails: smtp.inbox.length, hits: hits.length }, before);
  });
});
