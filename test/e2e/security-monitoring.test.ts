/**
 * The watched cloud: scripted attacks against a running pumpwatch over real TLS, MQTT and HTTPS —
 * a burst of forged SAS CONNECTs, a device that suddenly floods at 20× its rate, sends a huge packet
 * and churns its connection, a burst of poison packets, DPS enumeration of unknown registration ids and
 * API login guessing — each raise their security event, visible to operator staff in the API (and
 * refused to company callers, tenant-matrix.test.ts), counted in /metrics and announced to an
 * operator-wide webhook. The demo fleet running alongside (twelve simulated pumps) raises none.
 * Thresholds are tightened (1-second windows) so the attacks fit in seconds.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import { request } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, type MqttClient } from "mqtt";
import { generateKey } from "../../src/core/keys.js";
import { createSas } from "../../src/core/sas.js";
import { LiveFleet } from "../../src/fleet/runner.js";
import { loadScenario } from "../../src/sim/index.js";
import { waitFor } from "../helpers/agent.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const API = "api-version=2021-04-12";
const WINDOW_SEC = 1;

// biome-ignore lint/suspicious/noExplicitAny: events are asserted field by field
type Json = any;

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("security monitoring under scripted attacks", () => {
  let s: TestServer;
  let stateDir: string;
  let fleet: LiveFleet;
  let demoIds: string[] = [];
  const clients: MqttClient[] = [];
  const hooks: { event: string; body: Json }[] = [];
  let hookServer: ReturnType<typeof createServer>;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "pumpwatch-security-"));
    s = await startTestServer({
      security: {
        windowSec: WINDOW_SEC,
        episodeGapSec: 60,
        authFailuresPerSource: 10,
        authFailuresPerDevice: 5,
        warmupWindows: 3,
        warmupPackets: 10,
        rateFactor: 5,
        rateMin: 20,
        sizeFactor: 4,
        sizeMinBytes: 8192,
        churnFactor: 3,
        churnMin: 5,
        quarantinePerDevice: 10,
        dpsIdsPerSource: 8,
      },
    });
    // An operator-wide webhook: security events go to it (company webhooks never get them).
    hookServer = createServer((req: IncomingMessage, res) => {
      let text = "";
      req.on("data", (c: Buffer) => {
        text += c.toString("utf8");
      });
      req.on("end", () => {
        hooks.push({ event: String(req.headers["x-pumpwatch-event"]), body: JSON.parse(text) });
        res.end();
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", () => r()));
    const port = (hookServer.address() as AddressInfo).port;
    const hook = await s.api("/api/webhooks", {
      method: "POST",
      body: { url: `http://127.0.0.1:${port}/hook`, minSeverity: "warning" },
    });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    // The demo fleet, catching up at 60× for 20 s, then in real time: normal behaviour throughout.
    const { groupKey } = await s.admin.enrollGroup("demo");
    fleet = new LiveFleet({
      provisioningHost: `localhost:${s.mqttPort}`,
      idScope: s.idScope,
      groupKey,
      ca: s.ca,
      scenario: loadScenario(new URL("../../scenarios/demo.json", import.meta.url).pathname),
      stateDir,
      catchUpMs: 20_000,
      durableQueues: false,
    });
    demoIds = fleet.fleet.assets.map((a) => a.id);
    fleet.start();
  });

  after(async () => {
    for (const c of clients) c.end(true);
    await fleet?.close();
    await s?.stop();
    await new Promise<void>((r) => (hookServer ? hookServer.close(() => r()) : r()));
    await rm(stateDir, { recursive: true, force: true });
  });

  async function events(query = ""): Promise<Json[]> {
    await s.security.idle();
    const res = await s.api(`/api/security/events${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.events;
  }

  async function eventOf(kind: string, subject: (x: string) => boolean): Promise<Json> {
    return waitFor(
      `a ${kind} event`,
      async () => (await events(`?kind=${kind}`)).find((e) => subject(e.subject)),
      10_000,
      100,
    );
  }

  async function device(id: string): Promise<{ id: string; key: string }> {
    const key = generateKey();
    await s.stores.registry.createDevice({
      id,
      primaryKey: key,
      secondaryKey: generateKey(),
      enrollmentKind: "manual",
    });
    return { id, key };
  }

  /** An MQTT/TLS connection as the Azure SDK makes it; rejects with the CONNACK code when refused. */
  function mqtt(id: string, key: string): Promise<MqttClient> {
    const hub = s.assignedHub;
    const client = connect(`mqtts://localhost:${s.mqttPort}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ca: s.ca,
      clean: false,
      keepalive: 60,
      clientId: id,
      username: `${hub}/${id}/?${API}`,
      password: createSas({ resourceUri: `${hub}/devices/${id}`, key, expiresAt: nowSec() + 3600 }),
    });
    clients.push(client);
    return new Promise((resolve, reject) => {
      client.once("connect", () => resolve(client));
      client.once("error", (err) => {
        client.end(true);
        reject(err);
      });
      client.once("close", () => reject(new Error("closed before CONNACK")));
    });
  }

  let mid = 0;
  function publish(c: MqttClient, id: string, payload: string | Buffer): Promise<void> {
    const topic = `devices/${id}/messages/events/%24.mid=m-${mid++}`;
    return new Promise((resolve, reject) =>
      c.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    );
  }

  const sample = () =>
    JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 0.8, running: 1 } });

  /** Sends `perSec` packets a second for `ms`, waiting for each PUBACK. */
  async function steady(c: MqttClient, id: string, perSec: number, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await publish(c, id, sample());
      await sleep(1000 / perSec);
    }
  }

  it("raises nothing while the demo fleet behaves normally", async () => {
    await waitFor(
      "every demo pump connected",
      () => ([...fleet.agents.values()].every((a) => a.status === "connected") ? true : undefined),
      20_000,
      100,
    );
    // Several windows of catch-up traffic (a packet a second per pump), past the warm-up.
    await sleep((3 + 3) * WINDOW_SEC * 1000);
    assert.deepEqual(await events(), []);
  });

  it("raises auth_failures for a burst of forged SAS CONNECTs, per source and per device", async () => {
    const victim = await device("sec-victim-1");
    const forged = generateKey();
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      await mqtt(victim.id, forged).then(
        () => assert.fail("a forged token was accepted"),
        (err: { code?: number }) => codes.push(err.code ?? -1),
      );
    }
    assert.deepEqual(new Set(codes), new Set([5]));
    const bySource = await eventOf("auth_failures", (x) => x.startsWith("source:"));
    assert.equal(bySource.severity, "alarm");
    assert.equal(bySource.network, "127.0.0.0/24");
    assert.ok(bySource.count >= 10, `count ${bySource.count}`);
    assert.doesNotMatch(JSON.stringify(bySource), /127\.0\.0\.1/, "no source address is stored");
    const byDevice = await eventOf("auth_failures", (x) => x === `device:${victim.id}`);
    assert.equal(byDevice.deviceId, victim.id);
    assert.ok(byDevice.count >= 5, `count ${byDevice.count}`);
    // The burst is one episode with its count, not an event per CONNECT.
    for (let i = 0; i < 5; i++) await mqtt(victim.id, forged).catch(() => {});
    await waitFor("the count to grow", async () => {
      const all = (await events("?kind=auth_failures")).filter((e) => e.subject === `device:${victim.id}`);
      assert.equal(all.length, 1);
      return all[0].count >= byDevice.count + 5 ? true : undefined;
    });
  });

  it("raises auth_failures for API login guessing from one source", async () => {
    const before = (await events("?kind=auth_failures")).find((e) => e.subject.startsWith("source:"));
    for (let i = 0; i < 6; i++) {
      const res = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: s.httpsPort,
            path: "/api/auth/login",
            method: "POST",
            ca: s.ca,
            servername: "localhost",
            headers: { "content-type": "application/json" },
          },
          (r) => {
            r.resume();
            r.on("end", () => resolve(r.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify({ email: `nobody-${i}@example.com`, password: "wrong password 123" }));
      });
      assert.equal(res, 401);
    }
    await waitFor("the login failures to count", async () => {
      const now = (await events("?kind=auth_failures")).find((e) => e.subject === before.subject);
      return now.count >= before.count + 6 ? true : undefined;
    });
  });

  it("raises device_rate, device_payload and device_churn for a device unlike itself", async () => {
    const flood = await device("sec-flood-1");
    const churn = await device("sec-churn-1");
    const fc = await mqtt(flood.id, flood.key);
    const cc = await mqtt(churn.id, churn.key);
    // Both learn their own normal: 4 packets a second, one connection, for more than the warm-up.
    await Promise.all([
      steady(fc, flood.id, 4, (3 + 1.5) * WINDOW_SEC * 1000),
      steady(cc, churn.id, 4, (3 + 1.5) * WINDOW_SEC * 1000),
    ]);
    assert.deepEqual(await events(`?device=${flood.id}`), []);
    // 20× its rate: 80 packets within a second.
    await Promise.all(Array.from({ length: 80 }, () => publish(fc, flood.id, sample())));
    const rate = await eventOf("device_rate", (x) => x === `device:${flood.id}`);
    assert.equal(rate.deviceId, flood.id);
    assert.match(rate.detail, /packets within 1 s/);
    // A packet 100 times its usual size.
    const huge = JSON.stringify({
      ts: new Date().toISOString(),
      values: { inletPressure: 0.8 },
      pad: "x".repeat(20_000),
    });
    await publish(fc, flood.id, huge);
    const size = await eventOf("device_payload", (x) => x === `device:${flood.id}`);
    assert.match(size.detail, /packet of \d+ bytes/);
    // Reconnect churn: ten new connections at once (each replaces the one before), within a window.
    cc.end(true);
    for (let round = 0; round < 3; round++) {
      const all = await Promise.allSettled(Array.from({ length: 10 }, () => mqtt(churn.id, churn.key)));
      for (const r of all) if (r.status === "fulfilled") r.value.end(true);
      if ((await events(`?kind=device_churn&device=${churn.id}`)).length > 0) break;
    }
    const ch = await eventOf("device_churn", (x) => x === `device:${churn.id}`);
    assert.equal(ch.deviceId, churn.id);
    assert.equal((await events(`?device=${churn.id}&kind=device_rate`)).length, 0);
  });

  it("raises quarantine_spike for a burst of invalid packets", async () => {
    const poison = await device("sec-poison-1");
    const c = await mqtt(poison.id, poison.key);
    for (let i = 0; i < 15; i++) await publish(c, poison.id, "{oops");
    const q = await eventOf("quarantine_spike", (x) => x === `device:${poison.id}`);
    assert.ok(q.count >= 10, `count ${q.count}`);
    c.end(true);
  });

  it("raises dps_enumeration for unknown registration ids tried from one source over HTTPS", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const id = `guess-${i}`;
      const sas = createSas({
        resourceUri: `${s.idScope}/registrations/${id}`,
        key: generateKey(),
        expiresAt: nowSec() + 3600,
        keyName: "registration",
      });
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          const req = request(
            {
              host: "127.0.0.1",
              port: s.httpsPort,
              path: `/${s.idScope}/registrations/${id}/register?${API}`,
              method: "PUT",
              ca: s.ca,
              servername: "localhost",
              headers: { authorization: sas, "content-type": "application/json" },
            },
            (r) => {
              r.resume();
              r.on("end", () => resolve(r.statusCode ?? 0));
            },
          );
          req.on("error", reject);
          req.end(JSON.stringify({ registrationId: id }));
        }),
      );
    }
    assert.ok(
      statuses.every((x) => x === 401 || x === 429),
      `statuses ${statuses.join(",")}`,
    );
    const e = await eventOf("dps_enumeration", (x) => x.startsWith("source:"));
    assert.equal(e.severity, "alarm");
    assert.equal(e.network, "127.0.0.0/24");
    assert.ok(e.count >= 8, `count ${e.count}`);
  });

  it("counts events in /metrics, announces them to the operator webhook, and takes acknowledgements", async () => {
    const metrics = await new Promise<string>((resolve, reject) => {
      request(
        { host: "127.0.0.1", port: s.httpsPort, path: "/metrics", ca: s.ca, servername: "localhost" },
        (r) => {
          let text = "";
          r.on("data", (c: Buffer) => {
            text += c.toString("utf8");
          });
          r.on("end", () => resolve(text));
        },
      )
        .on("error", reject)
        .end();
    });
    for (const kind of [
      "auth_failures",
      "device_rate",
      "device_payload",
      "device_churn",
      "quarantine_spike",
      "dps_enumeration",
    ]) {
      assert.match(
        metrics,
        new RegExp(`pumpwatch_security_events_total\\{kind="${kind}",severity="\\w+"\\} [1-9]`),
        kind,
      );
    }
    const all = await events("?limit=1000");
    s.notifier.kick();
    await waitFor(
      "a webhook message per event",
      async () => {
        await s.notifier.idle();
        s.notifier.kick();
        return hooks.length >= all.length ? true : undefined;
      },
      15_000,
      100,
    );
    assert.ok(hooks.every((h) => h.event === "security" && h.body.kind === "security"));
    assert.deepEqual(
      new Set(hooks.map((h) => h.body.securityEvent.id)),
      new Set(all.map((e) => e.id)),
      "one message per event",
    );
    const first = all[0];
    const ack = await s.api(`/api/security/events/${first.id}/acknowledge`, { method: "POST", body: {} });
    assert.equal(ack.status, 200);
    assert.equal(ack.body.acknowledgedBy, "operator");
    assert.ok(!(await events("?acknowledged=false&limit=1000")).some((e) => e.id === first.id));
    assert.equal(
      (await s.api("/api/security/events/999999/acknowledge", { method: "POST", body: {} })).status,
      404,
    );
    assert.equal((await s.api("/api/security/events?kind=nonsense")).status, 400);
  });

  it("raised nothing about any demo pump during the whole run", async () => {
    const about = (await events("?limit=1000")).filter((e) => demoIds.includes(e.deviceId));
    assert.deepEqual(about, []);
  });
});
