import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { deriveDeviceKey } from "../../src/core/keys.js";
import { httpClient, Message, mqttClient, provision, type Registration } from "../helpers/azure.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

/**
 * End to end with the official Azure IoT device SDK (azure-protocol.md §3–§7): provisioning over
 * DPS-MQTT and DPS-HTTPS, then the hub over MQTT and HTTPS, all over real TLS on free ports.
 */

// biome-ignore lint/suspicious/noExplicitAny: the SDK is untyped here (loaded with require)
type SdkClient = any;

/** Bounds every test: some SDK calls never time out on their own (a twin GET, §9.9). */
const BOUNDED = { timeout: 15_000 };

/** The SDK's error classes set `name`; some copies only carry it on the constructor. */
function errorName(err: unknown): string {
  const e = err as { name?: string; constructor?: { name?: string } } | null;
  return e?.name && e.name !== "Error" ? e.name : (e?.constructor?.name ?? "");
}

/** Asserts that `promise` rejects with the SDK error class `name`. */
async function rejectsWith(promise: Promise<unknown>, name: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal(errorName(err), name, `expected ${name}, got ${String(err)}`);
    return true;
  });
}

/** Polls `probe` until it returns a defined value; fails after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves when `emitter` emits `event` with arguments accepted by `match`; rejects after `timeoutMs`. */
function nextEvent<A extends unknown[]>(
  emitter: {
    on(event: string, l: (...args: A) => void): unknown;
    off(event: string, l: (...args: A) => void): unknown;
  },
  event: string,
  match: (...args: A) => boolean,
  timeoutMs = 5000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    const listener = (...args: A) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/** Counts events from `emitter` matching `match` until `stop()` is called. */
function countEvents<A extends unknown[]>(
  emitter: {
    on(event: string, l: (...args: A) => void): unknown;
    off(event: string, l: (...args: A) => void): unknown;
  },
  event: string,
  match: (...args: A) => boolean,
): { readonly count: number; stop(): void } {
  let count = 0;
  const listener = (...args: A) => {
    if (match(...args)) count++;
  };
  emitter.on(event, listener);
  return {
    get count() {
      return count;
    },
    stop: () => emitter.off(event, listener),
  };
}

/** Provisions `registrationId` with the SDK against the test server. */
function register(
  server: TestServer,
  transport: "mqtt" | "http",
  registrationId: string,
  key: string,
  extra: { idScope?: string; payload?: unknown } = {},
): Promise<Registration> {
  return provision({
    transport,
    host: "localhost",
    port: transport === "mqtt" ? server.mqttPort : server.httpsPort,
    idScope: extra.idScope ?? server.idScope,
    registrationId,
    key,
    ca: server.ca,
    payload: extra.payload,
  });
}

/** An opened MQTT device client (tracked in `clients` so `after` closes it even when a test fails). */
async function openMqtt(
  clients: SdkClient[],
  reg: Registration,
  key: string,
  options: { ca: string; [option: string]: unknown },
): Promise<SdkClient> {
  const client = mqttClient(reg.assignedHub, reg.deviceId, key);
  clients.push(client);
  await client.setOptions(options);
  await client.open();
  return client;
}

async function closeAll(clients: SdkClient[]): Promise<void> {
  await Promise.allSettled(clients.splice(0).map((c: SdkClient) => c.close()));
}

/** A telemetry message as a box sends it: unique messageId, `{ts, values}` body. */
function telemetryMessage(messageId: string, ts: number, oilTemperature: number): SdkClient {
  const m = new Message(JSON.stringify({ ts: new Date(ts).toISOString(), values: { oilTemperature } }));
  m.messageId = messageId;
  return m;
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function withConcurrency<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

describe("provisioning with the Azure SDK", () => {
  let server: TestServer;
  let groupKey: string;

  before(async () => {
    server = await startTestServer();
    groupKey = (await server.admin.enrollGroup("line-a")).groupKey;
  });
  after(async () => {
    await server.stop();
  });

  it(
    "assigns a group-enrolled device over MQTT with a full registration state and stores its payload",
    BOUNDED,
    async () => {
      const id = "pump-mqtt-0001";
      const before = Date.now();
      const reg = await register(server, "mqtt", id, deriveDeviceKey(groupKey, id), {
        payload: { model: "VX-200", serial: "SN-42" },
      });
      assert.equal(reg.assignedHub, `localhost:${server.mqttPort}`);
      assert.equal(reg.assignedHub, server.assignedHub);
      assert.equal(reg.deviceId, id);
      assert.equal(reg["registrationId"], id);
      assert.equal(reg["status"], "assigned");
      assert.equal(reg["substatus"], "initialAssignment");
      for (const field of ["createdDateTimeUtc", "lastUpdatedDateTimeUtc"]) {
        const t = Date.parse(String(reg[field]));
        assert.ok(!Number.isNaN(t), `${field} is an ISO time: ${String(reg[field])}`);
        assert.ok(t >= before - 2000 && t <= Date.now() + 2000, `${field} is now: ${String(reg[field])}`);
      }
      assert.equal(typeof reg["etag"], "string");
      assert.ok((reg["etag"] as string).length > 0);

      const device = await server.api(`/api/devices/${id}`);
      assert.equal(device.status, 200);
      assert.equal(device.body.id, id);
      assert.equal(device.body.enabled, true);
      assert.deepEqual(device.body.registrationPayload, { model: "VX-200", serial: "SN-42" });
      assert.equal(device.body.primaryKey, undefined, "the operator API never shows keys");
    },
  );

  it("re-registers the same id over HTTPS to the same device", BOUNDED, async () => {
    const id = "pump-mqtt-0001";
    const first = await server.api(`/api/devices/${id}`);
    const reg = await register(server, "http", id, deriveDeviceKey(groupKey, id), {
      payload: { model: "VX-200", serial: "SN-42" },
    });
    assert.equal(reg.deviceId, id);
    assert.equal(reg.assignedHub, server.assignedHub);
    assert.equal(reg["status"], "assigned");
    assert.equal(reg["createdDateTimeUtc"], first.body.createdAt, "same device, not a new one");
    const list = await server.api("/api/devices");
    assert.equal(list.body.devices.filter((d: { id: string }) => d.id === id).length, 1);
  });

  it("provisions an individually enrolled device over HTTPS and MQTT", BOUNDED, async () => {
    const id = "pump-solo-0001";
    const { key } = await server.admin.enrollDevice(id);
    const viaHttp = await register(server, "http", id, key);
    assert.equal(viaHttp.deviceId, id);
    assert.equal(viaHttp.assignedHub, server.assignedHub);
    assert.equal(viaHttp["status"], "assigned");
    assert.equal(viaHttp["symmetricKey"], undefined, "no enrollment group for an individual enrollment");
    const viaMqtt = await register(server, "mqtt", id, key);
    assert.equal(viaMqtt.deviceId, id);
    const device = await server.api(`/api/devices/${id}`);
    assert.equal(device.status, 200);
    assert.equal(device.body.enrollmentKind, "individual");
  });

  it(
    "creates a device provisioned through a group enrollment of company acme in company acme",
    BOUNDED,
    async () => {
      const enrolled = await server.admin.enrollGroup("line-acme", { companyId: "acme" });
      assert.equal(enrolled.companyId, "acme");
      const id = "pump-acme-0001";
      const reg = await register(server, "mqtt", id, deriveDeviceKey(enrolled.groupKey, id));
      assert.equal(reg.deviceId, id);
      const device = await server.admin.getDevice(id);
      assert.equal(device.companyId, "acme");
      assert.equal(device.enrollmentName, "line-acme");
      const listed = (await server.admin.listEnrollments()).find((e) => e.id === "line-acme");
      assert.deepEqual(
        { kind: listed?.kind, companyId: listed?.companyId, keys: listed && "primaryKey" in listed },
        { kind: "group", companyId: "acme", keys: false },
      );
    },
  );

  it(
    "keeps the company an operator gave a device when it registers again, and fills in a missing one",
    BOUNDED,
    async () => {
      const { groupKey: key } = await server.admin.enrollGroup("line-acme-2", { companyId: "acme" });
      const id = "pump-acme-0002";
      const deviceKey = deriveDeviceKey(key, id);
      await register(server, "http", id, deviceKey);
      assert.equal((await server.admin.updateDevice(id, { companyId: "globex" })).companyId, "globex");
      await register(server, "mqtt", id, deviceKey);
      assert.equal((await server.admin.getDevice(id)).companyId, "globex", "the operator's company stays");
      await server.admin.updateDevice(id, { companyId: null });
      await register(server, "http", id, deviceKey);
      assert.equal(
        (await server.admin.getDevice(id)).companyId,
        "acme",
        "a device without one takes the enrollment's",
      );
    },
  );

  it(
    "provisions a device of an individual enrollment of company acme into company acme",
    BOUNDED,
    async () => {
      const id = "pump-acme-solo-0001";
      const { key, companyId } = await server.admin.enrollDevice(id, { companyId: "acme" });
      assert.equal(companyId, "acme");
      await register(server, "http", id, key);
      assert.equal((await server.admin.getDevice(id)).companyId, "acme");
    },
  );

  it("rejects a wrong key with UnauthorizedError over MQTT and over HTTPS", BOUNDED, async () => {
    const id = "pump-badkey-0001";
    const wrongKey = deriveDeviceKey(groupKey, "someone-else");
    await rejectsWith(register(server, "mqtt", id, wrongKey), "UnauthorizedError");
    await rejectsWith(register(server, "http", id, wrongKey), "UnauthorizedError");
    const device = await server.api(`/api/devices/${id}`);
    assert.equal(device.status, 404, "no device was created");
  });

  it(
    "rejects devices of a disabled enrollment and accepts them again once it is re-enabled",
    BOUNDED,
    async () => {
      const id = "pump-disabled-0001";
      const { groupKey: key } = await server.admin.enrollGroup("line-disabled");
      const deviceKey = deriveDeviceKey(key, id);
      await server.admin.setEnrollmentEnabled("group", "line-disabled", false);
      await rejectsWith(register(server, "mqtt", id, deviceKey), "UnauthorizedError");
      await rejectsWith(register(server, "http", id, deviceKey), "UnauthorizedError");
      assert.equal((await server.api(`/api/devices/${id}`)).status, 404);
      await server.admin.setEnrollmentEnabled("group", "line-disabled", true);
      const reg = await register(server, "http", id, deviceKey);
      assert.equal(reg.deviceId, id);
    },
  );

  it("rejects an unknown id scope over MQTT and over HTTPS", BOUNDED, async () => {
    const id = "pump-mqtt-0001";
    const key = deriveDeviceKey(groupKey, id);
    // MQTT: CONNACK 5 reaches the app as mqtt.js' error; HTTPS: 404 (§3.4, §4).
    await assert.rejects(register(server, "mqtt", id, key, { idScope: "0neFFFFFFFF" }), /Not authorized/);
    await assert.rejects(register(server, "http", id, key, { idScope: "0neFFFFFFFF" }), /Not found/);
  });
});

describe("MQTT device client of the Azure SDK", () => {
  let server: TestServer;
  let groupKey: string;
  const clients: SdkClient[] = [];

  /** Provisions `id` over DPS-MQTT and returns its registration and derived key. */
  async function provisioned(id: string): Promise<{ reg: Registration; key: string }> {
    const key = deriveDeviceKey(groupKey, id);
    return { reg: await register(server, "mqtt", id, key), key };
  }

  /** Resolves once the device's desired-properties subscription reached the broker. */
  function desiredSubscribed(deviceId: string): Promise<unknown> {
    return nextEvent<[{ topic: string }[], { id: string }]>(
      server.gateway.broker as never,
      "subscribe",
      (subs, client) =>
        client.id === deviceId &&
        subs.some((s) => s.topic.startsWith("$iothub/twin/PATCH/properties/desired")),
    );
  }

  before(async () => {
    server = await startTestServer();
    groupKey = (await server.admin.enrollGroup("line-b")).groupKey;
  });
  after(async () => {
    await closeAll(clients);
    await server.stop();
  });

  it("stores 1,000 telemetry messages sent 50 in flight exactly once, also when 20 are sent again", {
    timeout: 30_000,
  }, async () => {
    const { reg, key } = await provisioned("pump-telemetry-0001");
    const client = await openMqtt(clients, reg, key, { ca: server.ca });
    const t0 = Date.now() - 3_600_000;
    const indexes = Array.from({ length: 1000 }, (_, i) => i);
    const messageFor = (i: number) => telemetryMessage(`tm-${i}`, t0 + i * 1000, i / 4);
    await withConcurrency(indexes, 50, (i) => client.sendEvent(messageFor(i)));

    const check = async () => {
      const res = await server.api(`/api/devices/${reg.deviceId}/telemetry?limit=5000`);
      assert.equal(res.status, 200);
      const samples = res.body.samples as { ts: string; values: { oilTemperature: number } }[];
      assert.equal(samples.length, 1000);
      const values = new Set(samples.map((s) => s.values.oilTemperature));
      assert.equal(values.size, 1000, "every value is stored once");
      for (const i of indexes) assert.ok(values.has(i / 4), `value ${i / 4} is stored`);
      const times = new Set(samples.map((s) => s.ts));
      assert.equal(times.size, 1000);
      for (const s of samples) {
        const i = s.values.oilTemperature * 4;
        assert.equal(s.ts, new Date(t0 + i * 1000).toISOString(), "each sample keeps its own time");
      }
    };
    await check();

    // The same messageIds again (as after a lost PUBACK, §5.3): acknowledged, but not stored twice.
    await withConcurrency(
      indexes.filter((i) => i % 50 === 7),
      20,
      (i) => client.sendEvent(messageFor(i)),
    );
    await check();
  });

  it(
    "round-trips the twin: reported update reaches the API, operator desired patch reaches the device",
    BOUNDED,
    async () => {
      const { reg, key } = await provisioned("pump-twin-0001");
      const client = await openMqtt(clients, reg, key, { ca: server.ca });
      const twin = await client.getTwin();
      assert.equal(typeof twin.properties.desired.$version, "number");
      assert.equal(typeof twin.properties.reported.$version, "number");

      const beforeTwin = (await server.api(`/api/devices/${reg.deviceId}/twin`)).body;
      await new Promise<void>((resolve, reject) =>
        twin.properties.reported.update({ firmware: "2.1.0", rpm: 42000 }, (err?: Error) =>
          err ? reject(err) : resolve(),
        ),
      );
      const afterTwin = (await server.api(`/api/devices/${reg.deviceId}/twin`)).body;
      assert.equal(afterTwin.reported.firmware, "2.1.0");
      assert.equal(afterTwin.reported.rpm, 42000);
      assert.ok(
        afterTwin.reportedVersion > beforeTwin.reportedVersion,
        `reportedVersion ${beforeTwin.reportedVersion} → ${afterTwin.reportedVersion}`,
      );

      const subscribed = desiredSubscribed(reg.deviceId);
      const received: Record<string, unknown>[] = [];
      twin.on("properties.desired", (delta: Record<string, unknown>) => received.push(delta));
      await subscribed;
      const patched = await server.api(`/api/devices/${reg.deviceId}/twin`, {
        method: "PATCH",
        body: { desired: { interval: 7 } },
      });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.desired.interval, 7);
      const delta = await waitFor("the desired patch at the device", () =>
        received.find((d) => d["interval"] === 7),
      );
      assert.equal(delta["$version"], patched.body.desiredVersion);
      assert.equal(twin.properties.desired.interval, 7);
    },
  );

  it("keeps a device usable across two token renewals: telemetry is stored and desired patches still arrive", {
    timeout: 20_000,
  }, async () => {
    const { reg, key } = await provisioned("pump-renewal-0001");
    const connects = countEvents<[string]>(server.gateway, "deviceConnected", (id) => id === reg.deviceId);
    try {
      const client = await openMqtt(clients, reg, key, {
        ca: server.ca,
        tokenRenewal: { tokenValidTimeInSeconds: 6, tokenRenewalMarginInSeconds: 3 },
      });
      await client.sendEvent(telemetryMessage("renewal-before", Date.now() - 1000, 40));
      const twin = await client.getTwin();
      const subscribed = desiredSubscribed(reg.deviceId);
      const received: Record<string, unknown>[] = [];
      twin.on("properties.desired", (delta: Record<string, unknown>) => received.push(delta));
      await subscribed;

      // Each renewal is DISCONNECT + a new CONNECT without re-SUBSCRIBE (§1.3): wait for two.
      await waitFor("two token renewals", () => (connects.count >= 3 ? true : undefined), 12_000);

      await client.sendEvent(telemetryMessage("renewal-after", Date.now(), 41));
      const samples = (await server.api(`/api/devices/${reg.deviceId}/telemetry`)).body.samples as {
        values: { oilTemperature: number };
      }[];
      assert.deepEqual(
        samples.map((s) => s.values.oilTemperature),
        [40, 41],
      );

      const patched = await server.api(`/api/devices/${reg.deviceId}/twin`, {
        method: "PATCH",
        body: { desired: { interval: 11 } },
      });
      assert.equal(patched.status, 200);
      const delta = await waitFor("the desired patch after the renewals", () =>
        received.find((d) => d["interval"] === 11),
      );
      assert.equal(delta["$version"], patched.body.desiredVersion);
      // A twin request still gets its answer on the renewed connection (§9.9).
      const again = await client.getTwin();
      assert.equal(again.properties.desired.interval, 11);
    } finally {
      connects.stop();
    }
  });

  it(
    "disconnects a device disabled by the operator, refuses it while disabled and accepts it once enabled",
    BOUNDED,
    async () => {
      const { reg, key } = await provisioned("pump-revoked-0001");
      const client = await openMqtt(clients, reg, key, { ca: server.ca });
      await client.sendEvent(telemetryMessage("revoked-1", Date.now() - 1000, 50));

      const dropped = nextEvent<[string]>(server.gateway, "deviceDisconnected", (id) => id === reg.deviceId);
      const disabled = await server.api(`/api/devices/${reg.deviceId}/disable`, { method: "POST" });
      assert.equal(disabled.status, 200);
      assert.equal(disabled.body.enabled, false);
      await dropped;
      await client.close();

      await rejectsWith(openMqtt(clients, reg, key, { ca: server.ca }), "UnauthorizedError");

      const enabled = await server.api(`/api/devices/${reg.deviceId}/enable`, { method: "POST" });
      assert.equal(enabled.status, 200);
      assert.equal(enabled.body.enabled, true);
      const again = await openMqtt(clients, reg, key, { ca: server.ca });
      await again.sendEvent(telemetryMessage("revoked-2", Date.now(), 51));
      const samples = (await server.api(`/api/devices/${reg.deviceId}/telemetry`)).body.samples as {
        values: { oilTemperature: number };
      }[];
      assert.deepEqual(
        samples.map((s) => s.values.oilTemperature),
        [50, 51],
      );
    },
  );
});

describe("HTTPS device client of the Azure SDK", () => {
  let server: TestServer;
  let reg: Registration;
  let key: string;
  const clients: SdkClient[] = [];

  before(async () => {
    server = await startTestServer();
    const { groupKey } = await server.admin.enrollGroup("line-c");
    key = deriveDeviceKey(groupKey, "pump-http-0001");
    reg = await register(server, "http", "pump-http-0001", key);
  });
  after(async () => {
    await closeAll(clients);
    await server.stop();
  });

  function client(): SdkClient {
    const c = httpClient(reg.assignedHub, reg.deviceId, key, server.httpsPort, server.ca);
    clients.push(c);
    return c;
  }

  async function values(): Promise<number[]> {
    const res = await server.api(`/api/devices/${reg.deviceId}/telemetry`);
    assert.equal(res.status, 200);
    return (res.body.samples as { values: { oilTemperature: number } }[]).map((s) => s.values.oilTemperature);
  }

  it("stores a message sent with sendEvent", BOUNDED, async () => {
    const c = client();
    await c.open();
    const t = Date.now() - 60_000;
    await c.sendEvent(telemetryMessage("http-1", t, 60));
    assert.deepEqual(await values(), [60]);
  });

  it("stores all three messages of a sendEventBatch, and a resent batch only once", BOUNDED, async () => {
    const c = client();
    const t = Date.now() - 50_000;
    // The SDK drops messageId from batch items (only application properties are sent).
    const batch = () => [
      telemetryMessage("http-batch-1", t, 61),
      telemetryMessage("http-batch-2", t + 1000, 62),
      telemetryMessage("http-batch-3", t + 2000, 63),
    ];
    await c.sendEventBatch(batch());
    assert.deepEqual(await values(), [60, 61, 62, 63]);
    await c.sendEventBatch(batch());
    assert.deepEqual(await values(), [60, 61, 62, 63]);
  });

  it(
    "rejects a message whose body is not JSON and keeps it in the quarantine with a reason",
    BOUNDED,
    async () => {
      const c = client();
      const bad = new Message("{oilTemperature: 12");
      bad.messageId = "http-bad-1";
      await rejectsWith(c.sendEvent(bad), "ArgumentError");
      const res = await server.api(`/api/quarantine?deviceId=${reg.deviceId}`);
      assert.equal(res.status, 200);
      const entry = (
        res.body.entries as { messageId: string; reasonCode: string; reason: string; payload: string }[]
      ).find((e) => e.messageId === "http-bad-1");
      assert.ok(entry, "the rejected message is in the quarantine");
      assert.equal(entry.reasonCode, "not_json");
      assert.match(entry.reason, /JSON/);
      assert.equal(Buffer.from(entry.payload, "base64").toString("utf8"), "{oilTemperature: 12");
      assert.deepEqual(await values(), [60, 61, 62, 63], "nothing of it was stored");
    },
  );
});
