import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, it } from "node:test";
import type { MqttClient } from "mqtt";
import { generateKey } from "../../src/core/keys.js";
import type { Sample } from "../../src/core/sample.js";
import { waitFor } from "../helpers/agent.js";
import { connectDevice, telemetryTopic } from "../helpers/child.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const MIN = 60_000;

/** A healthy RV100 reading with a little sensor noise (exactly repeated values look like a stuck sensor). */
function reading(ts: number, i: number, oil = 70): Sample {
  const n = Math.sin(i * 1.7) * 0.3;
  return {
    ts,
    values: {
      running: 1,
      inletPressure: 100 + n,
      exhaustPressure: 1085 + n,
      oilTemperature: oil + n,
      motorTemperature: 60 + n,
      ambientTemperature: 22 + n / 3,
      power: 2.1 + n / 30,
      motorCurrent: 4.2 + n / 30,
      vibration: 1.3 + n / 30,
    },
  };
}

/** Collects server-sent events from /api/events until stopped. */
function listen(s: TestServer): { events: { event: string; data: Record<string, unknown> }[]; stop(): void } {
  const events: { event: string; data: Record<string, unknown> }[] = [];
  const req = request({
    host: "127.0.0.1",
    port: s.httpsPort,
    path: "/api/events?topics=alarm,maintenance",
    ca: s.ca,
    servername: "localhost",
    headers: { authorization: `Bearer ${s.operatorToken}` },
  });
  req.on("response", (res) => {
    let buf = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buf += chunk;
      let end = buf.indexOf("\n\n");
      while (end >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
        end = buf.indexOf("\n\n");
      }
    });
  });
  req.on("error", () => {});
  req.end();
  return { events, stop: () => req.destroy() };
}

describe("analytics over the real data path", () => {
  let s: TestServer;
  let client: MqttClient;
  const device = { id: "an-rv-1", key: generateKey() };
  let mid = 0;
  let i = 0;
  let ts = Date.now() - 6 * 60 * MIN;

  /** Sends `minutes` one-minute readings as one QoS 1 batch and waits for analytics to process them. */
  async function send(minutes: number, oil = 70): Promise<void> {
    const samples: Sample[] = [];
    for (let k = 0; k < minutes; k++) {
      ts += MIN;
      samples.push(reading(ts, i++, oil));
    }
    const body = { samples: samples.map((x) => ({ ts: new Date(x.ts).toISOString(), values: x.values })) };
    await client.publishAsync(telemetryTopic(device.id, `m-${mid++}`), JSON.stringify(body), { qos: 1 });
    await s.analytics.drain();
  }

  before(async () => {
    s = await startTestServer({ analytics: { offlineAfterSec: 10, flushSec: 1 } });
    await s.stores.registry.createDevice({
      id: device.id,
      primaryKey: device.key,
      secondaryKey: generateKey(),
      enrollmentKind: "manual",
      model: "RV100",
      companyId: "acme",
    });
    client = await connectDevice({ port: s.mqttPort, ca: s.ca, device });
  });

  after(async () => {
    await client?.endAsync();
    await s?.stop();
  });

  it("raises a limit alarm with a diagnosis, announces it live, and keeps one record per pump and type", async () => {
    const live = listen(s);
    await send(60);
    await send(10, 104);
    const active = await s.api(`/api/alarms?device=${device.id}&active=true`);
    assert.equal(active.status, 200);
    const alarm = active.body.alarms.find((a: { type: string }) => a.type === "rule:oilTemperatureHigh");
    assert.ok(alarm, `oil temperature alarm expected, got ${JSON.stringify(active.body.alarms)}`);
    assert.equal(alarm.severity, "alarm");
    assert.equal(alarm.acknowledged, false);
    assert.equal(alarm.occurrences, 1);
    assert.match(alarm.message, /oil temperature/);
    assert.ok(alarm.diagnosis?.code, "a diagnosis names the likely cause");
    assert.ok(alarm.diagnosis.action.length > 10);
    await waitFor("live alarm event", () => live.events.find((e) => e.event === "alarm"), 5000);
    live.stop();

    const ack = await s.api(`/api/alarms/${alarm.id}/acknowledge`, {
      method: "POST",
      body: { comment: "seen" },
    });
    assert.equal(ack.status, 200);
    assert.equal(ack.body.acknowledged, true);
    const comment = await s.api(`/api/alarms/${alarm.id}/comments`, {
      method: "POST",
      body: { text: "fan checked" },
    });
    assert.equal(comment.status, 201);
    const shelved = await s.api(`/api/alarms/${alarm.id}/shelve`, { method: "POST", body: { minutes: 60 } });
    assert.equal(shelved.status, 200);
    assert.ok(shelved.body.shelvedUntil > Date.now());
    const visible = await s.api(`/api/alarms?device=${device.id}&shelved=false`);
    assert.ok(!visible.body.alarms.some((a: { id: number }) => a.id === alarm.id), "shelved alarm hidden");
    assert.equal((await s.api(`/api/alarms/${alarm.id}/unshelve`, { method: "POST" })).status, 200);

    // Back to normal: the alarm clears after its off-delay but stays acknowledged.
    await send(10);
    const cleared = await s.api(`/api/alarms/${alarm.id}`);
    assert.equal(cleared.body.active, false);
    assert.equal(cleared.body.acknowledged, true);

    // Hot again: the same record, a second occurrence, unacknowledged again.
    await send(10, 104);
    const again = await s.api(`/api/alarms/${alarm.id}`);
    assert.equal(again.body.active, true);
    assert.equal(again.body.acknowledged, false);
    assert.equal(again.body.occurrences, 2);
    const kinds = again.body.history.map((h: { kind: string }) => h.kind);
    for (const k of ["raised", "acknowledged", "commented", "shelved", "unshelved", "cleared"]) {
      assert.ok(kinds.includes(k), `history has ${k}: ${kinds.join(",")}`);
    }
    assert.equal(kinds.filter((k: string) => k === "raised").length, 2);
    const all = await s.api(`/api/alarms?device=${device.id}`);
    assert.equal(
      all.body.alarms.filter((a: { type: string }) => a.type === "rule:oilTemperatureHigh").length,
      1,
    );
    await send(10);
  });

  it("answers bad alarm requests with what to do", async () => {
    const bad = await s.api("/api/alarms/abc/acknowledge", { method: "POST" });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /positive integer/);
    const missing = await s.api("/api/alarms/999999");
    assert.equal(missing.status, 404);
    const noUntil = await s.api("/api/alarms/1/shelve", { method: "POST", body: {} });
    assert.equal(noUntil.status, 400);
    const sev = await s.api("/api/alarms?severity=critical");
    assert.equal(sev.status, 400);
  });

  it("logs maintenance and reports analytics, health, forecasts, KPIs and fleet health", async () => {
    const bad = await s.api(`/api/devices/${device.id}/maintenance`, {
      method: "POST",
      body: { action: "polish" },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /oilChange/);
    const logged = await s.api(`/api/devices/${device.id}/maintenance`, {
      method: "POST",
      body: { action: "oilChange", note: "5 l VM 100" },
    });
    assert.equal(logged.status, 201);
    const list = await s.api(`/api/devices/${device.id}/maintenance`);
    assert.equal(list.body.maintenance[0].action, "oilChange");

    const a = await s.api(`/api/devices/${device.id}/analytics`);
    assert.equal(a.status, 200);
    assert.equal(a.body.model, "RV100");
    assert.ok(["running", "warmup", "evacuating"].includes(a.body.state), a.body.state);
    assert.ok(Array.isArray(a.body.forecasts) && a.body.forecasts.length > 0);
    assert.ok(Array.isArray(a.body.health.checks) && a.body.health.checks.length > 0);

    const kpis = await s.api(`/api/devices/${device.id}/kpis?period=day&tz=Europe/Berlin`);
    assert.equal(kpis.status, 200);
    const hours = kpis.body.kpis.reduce(
      (sum: number, k: { operatingHours: number }) => sum + k.operatingHours,
      0,
    );
    assert.ok(Math.abs(hours - i / 60) < 0.1, `operating hours ${hours} vs ${i / 60} sent`);
    assert.equal((await s.api(`/api/devices/${device.id}/kpis?tz=Mars/Olympus`)).status, 400);

    const fleet = await s.api("/api/fleet/health");
    assert.equal(fleet.status, 200);
    assert.ok(fleet.body.pumps.some((p: { deviceId: string }) => p.deviceId === device.id));
    assert.equal((await s.api("/api/devices/nope/analytics")).status, 404);
  });

  it("raises offline when the box goes silent and clears it with the next message", async () => {
    await client.endAsync();
    await waitFor(
      "offline alarm",
      async () => {
        await s.analytics.checkOffline();
        const r = await s.api(`/api/alarms?device=${device.id}&active=true`);
        return r.body.alarms.find((x: { type: string }) => x.type === "offline");
      },
      30_000,
      500,
    );
    client = await connectDevice({ port: s.mqttPort, ca: s.ca, device });
    await send(1);
    const r = await s.api(`/api/alarms?device=${device.id}&active=true`);
    assert.ok(!r.body.alarms.some((x: { type: string }) => x.type === "offline"), "offline cleared");
  });
});
