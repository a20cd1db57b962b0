/**
 * The end of a contract, end to end (issue 6, item 6): notice → effective end → the company's users
 * erased, its devices refused → its data purged after the export grace period. Through the real
 * HTTPS API (sessions with cookie and CSRF), real MQTT/TLS device connections with SAS tokens and a
 * real SQLite data folder that survives a restart. The contract clock is a variable the server reads;
 * the data path (SAS expiry, sample timestamps) keeps the real clock.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MqttClient } from "mqtt";
import { deriveDeviceKey, generateKey } from "../../src/core/keys.js";
import { createSas } from "../../src/core/sas.js";
import { waitFor } from "../helpers/agent.js";
import { connectDevice, type SeededDevice, telemetryTopic } from "../helpers/child.js";
import { ApiClient, type ApiResponse } from "../helpers/client.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests
type Json = any;

const DAY = 86_400_000;
const PASSWORD = "Vakuumpumpe-Drehschieber-42";
/** Sessions outlive the month of notice, so that only the termination can end them. */
const LONG_SESSIONS = { auth: { sessionIdleMinutes: 400 * 24 * 60, sessionMaxHours: 400 * 24 } };
/** 2026-01-31 10:00 in Berlin (CET). */
const NOTICE_RECEIVED = Date.parse("2026-01-31T10:00:00+01:00");
/** End of 2026-02-28 in Berlin: 2026-03-01 00:00 CET. */
const ENDS_AT = Date.parse("2026-02-28T23:00:00Z");
const BOUNDED = { timeout: 30_000 };

/** The token of an invitation link as the API returns it without SMTP. */
function invitationToken(res: ApiResponse | { status: number; body: Json }): string {
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(typeof res.body.invitation?.link, "string", JSON.stringify(res.body));
  const m = /[?&]token=([^&]+)/.exec(res.body.invitation.link);
  assert.ok(m, `no token in ${res.body.invitation.link}`);
  const token = decodeURIComponent(m[1]!);
  assert.match(token, /^pwi_/);
  return token;
}

/** Accepts an invitation: a new client with the session the answer started. */
async function accept(s: TestServer, token: string): Promise<ApiClient> {
  const c = new ApiClient(s);
  const res = await c.call("POST", "/api/auth/invitation", { token, password: PASSWORD });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  c.adopt(res);
  assert.ok(c.hasSession && c.csrf);
  return c;
}

async function createCompany(s: TestServer, id: string, start = "2025-01-01"): Promise<void> {
  const c = await s.api("/api/companies", {
    method: "POST",
    body: { id, name: `${id} GmbH`, postalAddress: "Am Vakuum 1\n12345 Pumpstadt" },
  });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const k = await s.api(`/api/companies/${id}/contract`, { method: "PUT", body: { start } });
  assert.equal(k.status, 200, JSON.stringify(k.body));
  assert.equal(k.body.status, "active");
}

/** A company administrator invited by the operator, and a company user invited by that administrator. */
async function companyPeople(s: TestServer, companyId: string) {
  const adminEmail = `chefin@${companyId}.example.com`;
  const userEmail = `monteur@${companyId}.example.com`;
  const invited = await s.api("/api/users", {
    method: "POST",
    body: { email: adminEmail, role: "companyAdmin", companyId },
  });
  const admin = await accept(s, invitationToken(invited));
  const adminId: string = invited.body.user.id;
  const userInvite = await admin.call("POST", "/api/users", { email: userEmail, role: "companyUser" });
  const user = await accept(s, invitationToken(userInvite));
  assert.equal(userInvite.body.user.companyId, companyId);
  return { admin, adminId, adminEmail, user, userId: userInvite.body.user.id as string, userEmail };
}

function samplesBody(n: number, oil = 70): string {
  const t = Date.now() - 60_000 * n;
  const samples = Array.from({ length: n }, (_, i) => ({
    ts: new Date(t + i * 60_000).toISOString(),
    values: { running: 1, oilTemperature: oil + i / 10 },
  }));
  return JSON.stringify({ samples });
}

/** Publishes `n` samples with QoS 1 and waits until they are stored. */
async function sendAndStore(s: TestServer, client: MqttClient, id: string, mid: string, n = 3) {
  const before = await s.stores.telemetry.countSamples(id);
  await client.publishAsync(telemetryTopic(id, mid), samplesBody(n), { qos: 1 });
  await waitFor(`${n} samples of ${id} stored`, async () =>
    (await s.stores.telemetry.countSamples(id)) >= before + n ? true : undefined,
  );
}

/** IoT Hub HTTPS telemetry (azure-protocol.md §6), signed for the assigned hub as the SDK does. */
function httpsTelemetry(s: TestServer, d: SeededDevice, mid: string): Promise<number> {
  const sas = createSas({
    resourceUri: `${s.assignedHub}/devices/${d.id}`,
    key: d.key,
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
  });
  return rawRequest(s, "POST", `/devices/${d.id}/messages/events?api-version=2021-04-12`, samplesBody(2), {
    authorization: sas,
    "content-type": "application/json",
    "iothub-messageid": mid,
  });
}

/** DPS registration over HTTPS (azure-protocol.md §4) with an individual enrollment's key. */
function dpsRegister(s: TestServer, registrationId: string, key: string): Promise<number> {
  const sas = createSas({
    resourceUri: `${s.idScope}/registrations/${registrationId}`,
    key,
    keyName: "registration",
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
  });
  return rawRequest(
    s,
    "PUT",
    `/${s.idScope}/registrations/${registrationId}/register?api-version=2019-03-31`,
    JSON.stringify({ registrationId }),
    { authorization: sas, "content-type": "application/json; charset=utf-8" },
  );
}

function rawRequest(
  s: TestServer,
  method: string,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: s.httpsPort, path, method, ca: s.ca, servername: "localhost", headers },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Raw download (the operator API helper parses JSON only). */
function download(s: TestServer, path: string): Promise<{ status: number; type: string; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: s.httpsPort,
        path,
        ca: s.ca,
        servername: "localhost",
        headers: { authorization: `Bearer ${s.operatorToken}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers["content-type"] ?? ""),
            bytes: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Whether an MQTT CONNECT with a valid SAS token is accepted. */
async function mqttAccepted(s: TestServer, device: SeededDevice): Promise<boolean> {
  try {
    const c = await connectDevice({ port: s.mqttPort, ca: s.ca, device, connectTimeoutMs: 5000 });
    await c.endAsync();
    return true;
  } catch {
    return false;
  }
}

describe("contract termination end to end", () => {
  let dir: string;
  let s: TestServer;
  let clock = NOTICE_RECEIVED;
  const now = () => clock;
  const clients: MqttClient[] = [];
  /** acme-pump-1 comes through DPS (individual enrollment), the others are registered by hand. */
  const acme1: SeededDevice = { id: "acme-pump-1", key: "" };
  const acme2: SeededDevice = { id: "acme-pump-2", key: generateKey() };
  const other: SeededDevice = { id: "other-pump-1", key: generateKey() };
  let people: Awaited<ReturnType<typeof companyPeople>>;
  let endsAt = 0;
  let groupKey = "";

  const start = () => startTestServer({ data: dir, ...LONG_SESSIONS }, { now });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pumpwatch-termination-e2e-"));
    s = await start();
  });
  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await s?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("1. two companies with contracts; their devices connect over MQTT/TLS and send", BOUNDED, async () => {
    await createCompany(s, "acme");
    await createCompany(s, "other");

    const enrolled = await s.admin.enrollDevice(acme1.id, { companyId: "acme" });
    acme1.key = enrolled.key;
    assert.equal(await dpsRegister(s, acme1.id, acme1.key), 202);
    assert.equal((await s.stores.registry.getDevice(acme1.id))?.companyId, "acme");
    // acme's production line enrolls its boxes as a group.
    groupKey = (await s.admin.enrollGroup("acme-line", { companyId: "acme" })).groupKey;
    for (const [d, companyId] of [
      [acme2, "acme"],
      [other, "other"],
    ] as const) {
      await s.stores.registry.createDevice({
        id: d.id,
        primaryKey: d.key,
        secondaryKey: generateKey(),
        enrollmentKind: "manual",
        companyId,
      });
    }
    for (const d of [acme1, acme2, other]) {
      const c = await connectDevice({ port: s.mqttPort, ca: s.ca, device: d });
      clients.push(c);
      await sendAndStore(s, c, d.id, `${d.id}-1`);
    }
    // A poison packet of acme-pump-2 lands in the quarantine; an alarm each for acme and other.
    await clients[1]!.publishAsync(telemetryTopic(acme2.id, "poison-1"), "not json", { qos: 1 });
    await waitFor("the quarantine entry", async () =>
      (await s.stores.telemetry.listQuarantine({ limit: 10, deviceId: acme2.id })).length > 0
        ? true
        : undefined,
    );
    for (const id of [acme1.id, other.id]) {
      await s.stores.analytics.raiseAlarm({
        deviceId: id,
        type: "trip",
        severity: "alarm",
        ts: Date.now(),
        message: "tripped",
        signals: [],
        diagnosis: null,
      });
    }
    assert.equal(await httpsTelemetry(s, acme2, "https-1"), 204);
    assert.equal(await s.stores.telemetry.countSamples(acme2.id), 5);
  });

  it(
    "2. the customer's administrator previews and gives notice: it ends on 28 February",
    BOUNDED,
    async () => {
      people = await companyPeople(s, "acme");
      const { admin } = people;
      const preview = await admin.call("POST", "/api/companies/acme/contract/notice/preview", {});
      assert.equal(preview.status, 200, JSON.stringify(preview.body));
      // Received 31 January: one month to the end of a month is the end of February (BGB §188(3)).
      assert.equal(preview.body.lastDay, "2026-02-28");
      assert.equal(preview.body.endsAt, ENDS_AT);
      // A preview stores nothing.
      assert.equal((await s.api("/api/companies/acme/contract")).body.status, "active");
      assert.equal((await s.stores.tenancy.listJobs()).length, 0);

      const notice = await admin.call("POST", "/api/companies/acme/contract/notice", {});
      assert.equal(notice.status, 200, JSON.stringify(notice.body));
      assert.equal(notice.body.status, "noticeGiven");
      assert.equal(notice.body.notice.by, "customer");
      assert.equal(notice.body.notice.receivedAt, NOTICE_RECEIVED);
      assert.equal(notice.body.lastDay, "2026-02-28");
      assert.equal(notice.body.endsAt, ENDS_AT);
      endsAt = notice.body.endsAt;
      const jobs = await s.stores.tenancy.listJobs();
      assert.deepEqual(
        jobs.map((j) => [j.key, j.runAt]),
        [["terminate:acme", ENDS_AT]],
      );
      // The company user still works; other's contract is untouched.
      assert.equal((await people.user.call("GET", "/api/me")).status, 200);
      assert.equal((await s.api("/api/companies/other/contract")).body.status, "active");
    },
  );

  it("3. before the end nothing changes", BOUNDED, async () => {
    clock = ENDS_AT - 1;
    assert.deepEqual(await s.termination.runDue(), []);
    assert.equal((await s.api("/api/companies/acme/contract")).body.status, "noticeGiven");
    assert.equal((await people.admin.call("GET", "/api/me")).status, 200);
    assert.equal((await people.user.call("GET", "/api/me")).status, 200);
    const again = new ApiClient(s);
    assert.equal((await again.login(people.userEmail, PASSWORD)).status, 200);
    assert.equal((await s.stores.tenancy.listUsers("acme")).length, 2);
    await sendAndStore(s, clients[0]!, acme1.id, `${acme1.id}-2`);
    await sendAndStore(s, clients[1]!, acme2.id, `${acme2.id}-2`);
    assert.equal((await s.stores.registry.getDevice(acme1.id))?.enabled, true);
  });

  it("4. at the end: users erased, devices refused, data kept for export", BOUNDED, async () => {
    const acmeSamples = {
      [acme1.id]: await s.stores.telemetry.countSamples(acme1.id),
      [acme2.id]: await s.stores.telemetry.countSamples(acme2.id),
    };
    const closed = new Promise<void>((resolve) => clients[1]!.once("close", () => resolve()));
    clock = endsAt + 1000;
    const outcomes = await s.termination.runDue();
    assert.deepEqual(outcomes, [
      {
        key: "terminate:acme",
        kind: "terminate",
        result: "terminated",
        counts: { usersErased: 2, devicesDisabled: 2 },
      },
    ]);
    const contract = await s.api("/api/companies/acme/contract");
    assert.equal(contract.body.status, "terminated");

    // Users: rows gone, sessions end at once, the e-mail addresses no longer log in.
    assert.equal(await s.stores.tenancy.getUser(people.adminId), undefined);
    assert.equal(await s.stores.tenancy.getUser(people.userId), undefined);
    assert.deepEqual(await s.stores.tenancy.listUsers("acme"), []);
    assert.equal((await people.admin.call("GET", "/api/me")).status, 401);
    assert.equal((await people.user.call("GET", "/api/me")).status, 401);
    assert.equal((await new ApiClient(s).login(people.adminEmail, PASSWORD)).status, 401);
    assert.equal((await new ApiClient(s).login(people.userEmail, PASSWORD)).status, 401);

    // Devices: disabled, the live connection closed, new connections and HTTPS telemetry refused.
    assert.equal((await s.stores.registry.getDevice(acme1.id))?.enabled, false);
    assert.equal((await s.stores.registry.getDevice(acme2.id))?.enabled, false);
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error("acme-pump-2 still connected")), 5000)),
    ]);
    assert.equal(await mqttAccepted(s, acme1), false, "acme-pump-1 must be refused");
    assert.equal(await mqttAccepted(s, acme2), false, "acme-pump-2 must be refused");
    assert.equal(await httpsTelemetry(s, acme2, "https-2"), 401);
    assert.equal(
      await dpsRegister(s, acme1.id, acme1.key),
      401,
      "DPS must refuse a terminated company's device",
    );
    assert.equal((await s.stores.registry.getDevice(acme1.id))?.enabled, false);
    // …nor creates new devices for acme through its group enrollment.
    const newBox = "acme-pump-9";
    assert.equal(await dpsRegister(s, newBox, deriveDeviceKey(groupKey, newBox)), 401);
    assert.equal(await s.stores.registry.getDevice(newBox), undefined);

    // The other company goes on.
    assert.equal((await s.api("/api/companies/other/contract")).body.status, "active");
    assert.equal((await s.stores.registry.getDevice(other.id))?.enabled, true);
    // Its live connection goes on, and so does a new one (the same client id replaces the old).
    await sendAndStore(s, clients[2]!, other.id, `${other.id}-2`);
    await clients[2]!.endAsync();
    const fresh = await connectDevice({ port: s.mqttPort, ca: s.ca, device: other });
    clients.push(fresh);
    await sendAndStore(s, fresh, other.id, `${other.id}-3`);

    // acme's data stay for the export grace period.
    for (const [id, n] of Object.entries(acmeSamples)) {
      assert.ok(n > 0);
      assert.equal(await s.stores.telemetry.countSamples(id), n, `${id} keeps its samples`);
    }
    const zip = await download(s, "/api/companies/acme/export");
    assert.equal(zip.status, 200, zip.bytes.toString("utf8").slice(0, 300));
    assert.match(zip.type, /application\/zip/);
    assert.ok(zip.bytes.length > 22, "a zip with content");
    assert.equal(zip.bytes.subarray(0, 4).toString("latin1"), "PK\x03\x04");

    // No new users for an ended contract.
    const invite = await s.api("/api/users", {
      method: "POST",
      body: { email: "neu@acme.example.com", role: "companyUser", companyId: "acme" },
    });
    assert.equal(invite.status, 409, JSON.stringify(invite.body));
    assert.deepEqual(
      (await s.stores.tenancy.listJobs()).map((j) => [j.key, j.runAt]),
      [["purge:acme", ENDS_AT + 30 * DAY]],
    );
  });

  it("5. a second run changes nothing, and the purge survives a restart", BOUNDED, async () => {
    const counts = async () => ({
      audit: (await s.api("/api/audit?company=acme&limit=5000")).body.entries.length,
      jobs: (await s.stores.tenancy.listJobs()).map((j) => j.key),
      users: (await s.stores.tenancy.listUsers("acme")).length,
      samples: await s.stores.telemetry.countSamples(acme1.id),
      devices: (await s.stores.registry.listDevices()).map((d) => [d.id, d.enabled]),
    });
    const before = await counts();
    assert.deepEqual(await s.termination.runDue(), []);
    assert.deepEqual(await counts(), before);

    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await s.stop();
    s = await start();
    assert.deepEqual(
      (await s.stores.tenancy.listJobs()).map((j) => [j.key, j.kind, j.runAt]),
      [["purge:acme", "purge", ENDS_AT + 30 * DAY]],
    );
    assert.deepEqual(await s.termination.runDue(), []);
    assert.equal((await s.api("/api/companies/acme/contract")).body.status, "terminated");
    assert.equal(await mqttAccepted(s, acme2), false, "still refused after the restart");
    assert.equal(await mqttAccepted(s, other), true);
  });

  it("6. after the export grace period acme's data are purged, other's stay", BOUNDED, async () => {
    const otherSamples = await s.stores.telemetry.countSamples(other.id);
    assert.ok(otherSamples >= 9);
    clock = ENDS_AT + 30 * DAY - 1;
    assert.deepEqual(await s.termination.runDue(), []);
    assert.ok((await s.stores.telemetry.countSamples(acme1.id)) > 0, "not a millisecond early");

    clock = ENDS_AT + 30 * DAY + 1000;
    const outcomes = await s.termination.runDue();
    assert.equal(outcomes.length, 1, JSON.stringify(outcomes));
    assert.equal(outcomes[0]!.key, "purge:acme");
    assert.equal(outcomes[0]!.result, "purged");
    assert.equal(outcomes[0]!.counts?.["devices"], 2);
    assert.equal(outcomes[0]!.counts?.["registry.devices"], 2);

    for (const id of [acme1.id, acme2.id]) {
      assert.equal(await s.stores.telemetry.countSamples(id), 0, `${id} purged`);
      assert.deepEqual(await s.stores.telemetry.listQuarantine({ limit: 10, deviceId: id }), []);
      assert.equal(await s.stores.registry.getDevice(id), undefined, `${id} deleted`);
    }
    assert.deepEqual(
      await s.stores.analytics.listAlarms({ deviceIds: [acme1.id, acme2.id], now: Date.now() }),
      [],
    );
    assert.equal((await s.api(`/api/devices/${acme1.id}/telemetry`)).status, 404);
    assert.equal(await mqttAccepted(s, acme1), false);

    assert.equal(await s.stores.telemetry.countSamples(other.id), otherSamples);
    assert.equal((await s.stores.analytics.listAlarms({ deviceIds: [other.id], now: Date.now() })).length, 1);
    assert.equal((await s.stores.registry.getDevice(other.id))?.enabled, true);
    assert.deepEqual(await s.stores.tenancy.listJobs(), []);
    assert.deepEqual(await s.termination.runDue(), []);
    // The company record itself stays (the audit log refers to it); its contract says terminated.
    assert.equal((await s.api("/api/companies/acme/contract")).body.status, "terminated");
  });

  it("7. the audit log records notice, termination and purge, without personal data", BOUNDED, async () => {
    const audit = await s.api("/api/audit?company=acme&limit=5000");
    assert.equal(audit.status, 200);
    const entries: Json[] = audit.body.entries;
    const events = entries.map((e) => e.event);
    for (const e of ["contract.created", "contract.notice", "contract.terminated", "company.purged"]) {
      assert.equal(events.filter((x) => x === e).length, 1, `exactly one ${e} in ${events.join(", ")}`);
    }
    const notice = entries.find((e) => e.event === "contract.notice");
    assert.equal(notice.actor, people.adminId);
    assert.equal(notice.ts, NOTICE_RECEIVED);
    const terminated = entries.find((e) => e.event === "contract.terminated");
    assert.equal(terminated.actor, "system");
    assert.equal(terminated.ts, endsAt + 1000);
    const all = await s.api("/api/audit?limit=5000");
    assert.doesNotMatch(JSON.stringify(all.body), /@/);
  });
});

describe("contract termination: extraordinary notice and withdrawal", () => {
  let s: TestServer;
  let clock = NOTICE_RECEIVED;
  const now = () => clock;
  const clients: MqttClient[] = [];

  before(async () => {
    s = await startTestServer(LONG_SESSIONS, { now });
  });
  after(async () => {
    // A failed step must not leave a connection that keeps the process alive.
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await s?.stop();
  });

  it("8. an extraordinary notice by the operator takes effect at once", BOUNDED, async () => {
    await createCompany(s, "beta");
    const people = await companyPeople(s, "beta");
    const device: SeededDevice = { id: "beta-pump-1", key: generateKey() };
    await s.stores.registry.createDevice({
      id: device.id,
      primaryKey: device.key,
      secondaryKey: generateKey(),
      enrollmentKind: "manual",
      companyId: "beta",
    });
    const c = await connectDevice({ port: s.mqttPort, ca: s.ca, device });
    clients.push(c);
    const closed = new Promise<void>((resolve) => c.once("close", () => resolve()));

    const notice = await s.api("/api/companies/beta/contract/notice", {
      method: "POST",
      body: { by: "operator", extraordinary: true, reason: "non-payment" },
    });
    assert.equal(notice.status, 200, JSON.stringify(notice.body));
    assert.equal(notice.body.notice.by, "operator");
    assert.equal(notice.body.notice.extraordinary, true);
    assert.ok(notice.body.endsAt <= clock, `ends at once, got ${new Date(notice.body.endsAt).toISOString()}`);
    await s.termination.runDue();
    assert.equal((await s.api("/api/companies/beta/contract")).body.status, "terminated");
    assert.deepEqual(await s.stores.tenancy.listUsers("beta"), []);
    assert.equal(await s.stores.tenancy.getUser(people.adminId), undefined);
    assert.equal((await people.admin.call("GET", "/api/me")).status, 401);
    assert.equal((await people.user.call("GET", "/api/me")).status, 401);
    assert.equal((await s.stores.registry.getDevice(device.id))?.enabled, false);
    await closed;
    assert.deepEqual(
      (await s.stores.tenancy.listJobs()).map((j) => j.key),
      ["purge:beta"],
    );
  });

  it("9. a withdrawn notice ends nothing", BOUNDED, async () => {
    await createCompany(s, "gamma");
    const people = await companyPeople(s, "gamma");
    const device: SeededDevice = { id: "gamma-pump-1", key: generateKey() };
    await s.stores.registry.createDevice({
      id: device.id,
      primaryKey: device.key,
      secondaryKey: generateKey(),
      enrollmentKind: "manual",
      companyId: "gamma",
    });
    const notice = await people.admin.call("POST", "/api/companies/gamma/contract/notice", {});
    assert.equal(notice.status, 200, JSON.stringify(notice.body));
    assert.equal(notice.body.endsAt, ENDS_AT);
    clock = ENDS_AT - 7 * DAY;
    const withdrawn = await people.admin.call("DELETE", "/api/companies/gamma/contract/notice");
    assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
    assert.equal(withdrawn.body.status, "active");
    assert.equal(withdrawn.body.notice, null);
    assert.ok(!(await s.stores.tenancy.listJobs()).some((j) => j.key === "terminate:gamma"));

    clock = ENDS_AT + 40 * DAY;
    await s.termination.runDue();
    assert.equal((await s.api("/api/companies/gamma/contract")).body.status, "active");
    assert.equal((await s.stores.tenancy.listUsers("gamma")).length, 2);
    assert.equal((await people.admin.call("GET", "/api/me")).status, 200);
    assert.equal((await people.user.call("GET", "/api/me")).status, 200);
    assert.equal((await s.stores.registry.getDevice(device.id))?.enabled, true);
    assert.equal(await mqttAccepted(s, device), true);
    const audit = (await s.api("/api/audit?company=gamma&limit=5000")).body.entries.map((e: Json) => e.event);
    assert.ok(audit.includes("contract.notice.withdrawn"), audit.join(", "));
    assert.ok(!audit.includes("contract.terminated"));
  });
});
