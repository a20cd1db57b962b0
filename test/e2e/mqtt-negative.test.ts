/**
 * The device-facing MQTT endpoint under hostile or broken clients: refused CONNECTs, topic and QoS
 * violations, framing attacks, timeouts, poison telemetry. Every case also checks that a
 * well-behaved "canary" device, connected for the whole suite, still gets its PUBACK.
 */
import assert from "node:assert/strict";
import https from "node:https";
import { after, before, describe, it } from "node:test";
import { connect, type MqttClient } from "mqtt";
import { generate } from "mqtt-packet";
import { generateKey } from "../../src/core/keys.js";
import { createSas } from "../../src/core/sas.js";
import { RawClient, within } from "../helpers/mqtt-raw.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const API_VERSION = "api-version=2021-04-12";

interface TestDevice {
  id: string;
  key: string;
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

function sample(
  values: Record<string, number> = { inletPressure: 0.8, running: 1 },
  ts = new Date(),
): string {
  return JSON.stringify({ ts: ts.toISOString(), values });
}

function telemetryTopic(deviceId: string, mid?: string): string {
  return `devices/${deviceId}/messages/events/${mid === undefined ? "" : `%24.mid=${encodeURIComponent(mid)}`}`;
}

/** MQTT variable-length integer (remaining length). */
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A QoS 1 PUBLISH built by hand, so the topic can hold any bytes. */
function rawPublish(topic: Buffer, payload: Buffer, messageId = 1): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(topic.length);
  const id = Buffer.alloc(2);
  id.writeUInt16BE(messageId);
  const body = Buffer.concat([len, topic, id, payload]);
  return Buffer.concat([Buffer.from([0x32]), varint(body.length), body]);
}

describe("MQTT gateway: refused connections, violations and poison telemetry", () => {
  let s: TestServer;
  let hub: string;
  let canary: MqttClient;
  let canaryId: string;
  let canaryClosed = false;
  let canarySeq = 0;
  let seq = 0;
  const clients: MqttClient[] = [];
  const raws: RawClient[] = [];

  async function newDevice(prefix = "dev"): Promise<TestDevice> {
    const id = `${prefix}-${++seq}`;
    const key = generateKey();
    await s.stores.registry.createDevice({
      id,
      primaryKey: key,
      secondaryKey: generateKey(),
      enrollmentKind: "manual",
    });
    return { id, key };
  }

  function username(deviceId: string, host = hub): string {
    return `${host}/${deviceId}/?${API_VERSION}`;
  }

  function password(deviceId: string, key: string, expiresAt = nowSec() + 3600, host = hub): string {
    return createSas({ resourceUri: `${host}/devices/${deviceId}`, key, expiresAt });
  }

  /** CONNECT bytes for `deviceId` signed with `key`, as a device would send them. */
  function connectBytes(
    deviceId: string,
    key: string,
    o: { clientId?: string; clean?: boolean } = {},
  ): Buffer {
    return generate({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: o.clean ?? false,
      keepalive: 60,
      clientId: o.clientId ?? deviceId,
      username: username(deviceId),
      password: Buffer.from(password(deviceId, key)),
    });
  }

  interface ConnectOptions {
    clientId: string;
    username: string;
    password: string;
    keepalive?: number;
  }

  /** mqtt.js client with the Azure SDK's CONNECT shape; `closed` resolves when the server drops it. */
  function mqttClient(o: ConnectOptions): {
    client: MqttClient;
    ready: Promise<void>;
    closed: Promise<void>;
  } {
    const client = connect(`mqtts://localhost:${s.mqttPort}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ca: s.ca,
      clean: false,
      keepalive: o.keepalive ?? 60,
      clientId: o.clientId,
      username: o.username,
      password: o.password,
    });
    clients.push(client);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    const ready = new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
      void closed.then(() => reject(new Error("closed before CONNACK")));
    });
    ready.catch(() => {});
    return { client, ready, closed };
  }

  async function connectDevice(d: TestDevice, keepalive?: number) {
    const c = mqttClient({
      clientId: d.id,
      username: username(d.id),
      password: password(d.id, d.key),
      keepalive,
    });
    await within(c.ready, 5000, `CONNACK for ${d.id}`);
    return c;
  }

  /** Connects and expects a refusal; returns the CONNACK return code. */
  async function refusedWith(o: ConnectOptions): Promise<number> {
    const c = mqttClient(o);
    const err = await within(
      c.ready.then(
        () => {
          throw new Error(`CONNECT as ${o.clientId} was accepted`);
        },
        (e: Error & { code?: number }) => e,
      ),
      5000,
      "CONNACK",
    );
    assert.equal(typeof err.code, "number", `expected a CONNACK refusal, got: ${err.message}`);
    await within(c.closed, 3000, "the refused connection to close");
    return err.code!;
  }

  async function rawConnected(d: TestDevice): Promise<RawClient> {
    const r = await RawClient.open({ port: s.mqttPort, ca: s.ca });
    raws.push(r);
    r.write(connectBytes(d.id, d.key));
    const connack = await r.next();
    assert.equal(connack.cmd, "connack");
    assert.equal((connack as { returnCode?: number }).returnCode, 0);
    return r;
  }

  async function canaryStillAcks(): Promise<void> {
    assert.equal(canaryClosed, false, "the canary device was disconnected");
    assert.equal(canary.connected, true, "the canary device is not connected");
    const mid = `canary-${++canarySeq}`;
    await within(
      canary.publishAsync(telemetryTopic(canaryId, mid), sample(), { qos: 1 }),
      3000,
      "canary PUBACK",
    );
  }

  async function metricsText(): Promise<string> {
    return new Promise((resolve, reject) => {
      https
        .get(
          { host: "127.0.0.1", port: s.httpsPort, path: "/metrics", ca: s.ca, servername: "localhost" },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              assert.equal(res.statusCode, 200);
              resolve(Buffer.concat(chunks).toString("utf8"));
            });
          },
        )
        .on("error", reject);
    });
  }

  /** Sum of a counter over the series whose labels include all of `labels`. */
  async function counter(name: string, labels: Record<string, string>): Promise<number> {
    let total = 0;
    for (const line of (await metricsText()).split("\n")) {
      const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      if (Object.entries(labels).every(([k, v]) => m[2]!.includes(`${k}="${v}"`))) total += Number(m[3]);
    }
    return total;
  }

  before(async () => {
    s = await startTestServer();
    hub = `localhost:${s.mqttPort}`;
    const d = await newDevice("canary");
    canaryId = d.id;
    const c = await connectDevice(d);
    canary = c.client;
    void c.closed.then(() => {
      canaryClosed = true;
    });
    await canaryStillAcks();
  });

  after(async () => {
    for (const r of raws) r.destroy();
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await s?.stop();
  });

  describe("CONNECT refused with CONNACK 5", () => {
    it("forged signature", async () => {
      const d = await newDevice();
      const good = password(d.id, d.key);
      const sig = /sig=([^&]+)/.exec(good)![1]!;
      const forged = good.replace(sig, (sig[0] === "A" ? "B" : "A") + sig.slice(1));
      assert.notEqual(forged, good);
      assert.equal(await refusedWith({ clientId: d.id, username: username(d.id), password: forged }), 5);
      await canaryStillAcks();
    });

    it("token signed with a wrong key", async () => {
      const d = await newDevice();
      const pass = password(d.id, generateKey());
      assert.equal(await refusedWith({ clientId: d.id, username: username(d.id), password: pass }), 5);
      await canaryStillAcks();
    });

    it("expired token (se far in the past)", async () => {
      const d = await newDevice();
      const pass = password(d.id, d.key, nowSec() - 24 * 3600);
      assert.equal(await refusedWith({ clientId: d.id, username: username(d.id), password: pass }), 5);
      await canaryStillAcks();
    });

    it("token signed with a key revoked by rotate-key (the live connection is dropped too)", async () => {
      const d = await newDevice();
      const oldToken = password(d.id, d.key);
      const live = await connectDevice(d);
      const res = await s.api(`/api/devices/${d.id}/rotate-key`, { method: "POST", body: { which: "both" } });
      assert.equal(res.status, 200);
      assert.notEqual(res.body.primaryKey, d.key);
      await within(live.closed, 3000, "the revoked device's connection to close");
      assert.equal(await refusedWith({ clientId: d.id, username: username(d.id), password: oldToken }), 5);
      // The new key works.
      const fresh = await connectDevice({ id: d.id, key: res.body.primaryKey });
      await fresh.client.endAsync();
      await canaryStillAcks();
    });

    it("unknown device", async () => {
      const id = "no-such-device";
      const pass = password(id, generateKey());
      assert.equal(await refusedWith({ clientId: id, username: username(id), password: pass }), 5);
      await canaryStillAcks();
    });

    it("disabled device (the live connection is dropped too)", async () => {
      const d = await newDevice();
      const live = await connectDevice(d);
      const res = await s.api(`/api/devices/${d.id}/disable`, { method: "POST" });
      assert.equal(res.status, 200);
      await within(live.closed, 3000, "the disabled device's connection to close");
      assert.equal(
        await refusedWith({ clientId: d.id, username: username(d.id), password: password(d.id, d.key) }),
        5,
      );
      await canaryStillAcks();
    });

    it("client id that is not the user name's device id", async () => {
      const d = await newDevice();
      const other = await newDevice();
      const pass = password(d.id, d.key);
      assert.equal(await refusedWith({ clientId: other.id, username: username(d.id), password: pass }), 5);
      assert.equal(await refusedWith({ clientId: `${d.id}x`, username: username(d.id), password: pass }), 5);
      await canaryStillAcks();
    });

    it("wrong hub name in the user name (token signed for that name)", async () => {
      const d = await newDevice();
      const evil = "evil.example.com";
      const pass = password(d.id, d.key, nowSec() + 3600, evil);
      assert.equal(await refusedWith({ clientId: d.id, username: username(d.id, evil), password: pass }), 5);
      // Right hub name in the user name, token for another hub.
      assert.equal(await refusedWith({ clientId: d.id, username: username(d.id), password: pass }), 5);
      await canaryStillAcks();
    });

    it("raw socket: the CONNACK bytes carry return code 5 and the server closes", async () => {
      const r = await RawClient.open({ port: s.mqttPort, ca: s.ca });
      raws.push(r);
      const d = await newDevice();
      r.write(connectBytes(d.id, generateKey()));
      const connack = await r.next();
      assert.equal(connack.cmd, "connack");
      assert.equal((connack as { returnCode?: number }).returnCode, 5);
      await r.expectClosed(3000, "after CONNACK 5");
      await canaryStillAcks();
    });
  });

  describe("a failing CONNECT never knocks off the connected device", () => {
    it("forged token with the canary's own client id and user name", async () => {
      const pass = password(canaryId, generateKey());
      assert.equal(
        await refusedWith({ clientId: canaryId, username: username(canaryId), password: pass }),
        5,
      );
      const expired = createSas({
        resourceUri: `${hub}/devices/${canaryId}`,
        key: generateKey(),
        expiresAt: 1,
      });
      assert.equal(
        await refusedWith({ clientId: canaryId, username: username(canaryId), password: expired }),
        5,
      );
      await canaryStillAcks();
    });

    it("a provisioning (DPS) CONNECT with the canary's id as registration id", async () => {
      // DPS CONNECTs carry no credential (the SAS is checked on the register request, §3.4), so
      // they must not share the hub's client-id namespace and take over the canary's session.
      const c = mqttClient({
        clientId: canaryId,
        username: `${s.idScope}/registrations/${canaryId}/${API_VERSION}&ClientVersion=test`,
        password: "SharedAccessSignature sr=x&sig=y&se=1",
      });
      await within(c.ready, 5000, "DPS CONNACK");
      await c.client.endAsync();
      await canaryStillAcks();
    });
  });

  it("a second valid connection with the same device id closes the first", async () => {
    const d = await newDevice();
    const first = await connectDevice(d);
    const second = await connectDevice(d);
    await within(first.closed, 3000, "the first connection to close");
    assert.equal(second.client.connected, true);
    await within(
      second.client.publishAsync(telemetryTopic(d.id, "m1"), sample(), { qos: 1 }),
      3000,
      "PUBACK",
    );
    await second.client.endAsync();
    await canaryStillAcks();
  });

  describe("publish and subscribe outside the device's own topics close the connection", () => {
    async function expectDropped(
      act: (c: MqttClient, d: TestDevice, other: TestDevice) => void,
      reason: string,
    ) {
      const d = await newDevice();
      const other = await newDevice();
      const before = await counter("pumpwatch_mqtt_violations_total", { reason });
      const c = await connectDevice(d);
      act(c.client, d, other);
      await within(c.closed, 3000, `the connection to close (${reason})`);
      assert.equal(await counter("pumpwatch_mqtt_violations_total", { reason }), before + 1);
      await canaryStillAcks();
    }

    it("publish to another device's telemetry topic", async () => {
      await expectDropped((c, _d, other) => {
        c.publish(telemetryTopic(other.id, "x1"), sample(), { qos: 1 });
      }, "foreign_topic");
      // Nothing was stored for the canary's name either.
      await expectDropped((c) => {
        c.publish(telemetryTopic(canaryId, "spoof-1"), sample(), { qos: 1 });
      }, "foreign_topic");
      const spoofed = await s.api(`/api/quarantine?deviceId=${canaryId}`);
      assert.equal(
        spoofed.body.entries.some((e: { messageId: string }) => e.messageId === "spoof-1"),
        false,
      );
    });

    it("publish to an unknown topic", async () => {
      await expectDropped((c, d) => {
        c.publish(`devices/${d.id}/messages/somewhere`, "{}", { qos: 1 });
      }, "unknown_topic");
      await expectDropped((c) => {
        c.publish("hello/world", "{}", { qos: 0 });
      }, "unknown_topic");
    });

    it("publish with QoS 2 to the device's own telemetry topic", async () => {
      await expectDropped((c, d) => {
        c.publish(telemetryTopic(d.id, "q2"), sample(), { qos: 2 });
      }, "qos2");
    });

    it("subscribe to another device's cloud-to-device topic", async () => {
      await expectDropped((c, _d, other) => {
        c.subscribe(`devices/${other.id}/messages/devicebound/#`, { qos: 1 });
      }, "subscription_not_allowed");
    });

    it("subscribe to #", async () => {
      await expectDropped((c) => {
        c.subscribe("#", { qos: 0 });
      }, "subscription_not_allowed");
    });
  });

  describe("framing guards (raw bytes)", () => {
    it("a PUBLISH header declaring 300 KiB is refused before the body arrives", async () => {
      const before = await counter("pumpwatch_mqtt_violations_total", { reason: "packet_too_large" });
      const r = await rawConnected(await newDevice());
      // 0x32 = PUBLISH QoS 1; remaining length 307200, then a handful of body bytes and nothing more.
      r.write(
        Buffer.concat([Buffer.from([0x32]), varint(300 * 1024), Buffer.from([0x00, 0x05, 0x61, 0x62])]),
      );
      // Without the guard the parser would wait for the 300 KiB body (up to the keep-alive timeout).
      await r.expectClosed(2000, "oversize PUBLISH header");
      assert.equal(
        await counter("pumpwatch_mqtt_violations_total", { reason: "packet_too_large" }),
        before + 1,
      );
      await canaryStillAcks();
    });

    it("an oversize CONNECT is refused from its header", async () => {
      const r = await RawClient.open({ port: s.mqttPort, ca: s.ca });
      raws.push(r);
      r.write(Buffer.concat([Buffer.from([0x10]), varint(1024 * 1024), Buffer.from([0x00, 0x04])]));
      await r.expectClosed(2000, "oversize CONNECT header");
      await canaryStillAcks();
    });

    it("a 5-byte remaining length closes the connection", async () => {
      const r = await rawConnected(await newDevice());
      r.write(Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x01]));
      await r.expectClosed(2000, "5-byte remaining length");
      await canaryStillAcks();
    });

    it("a first packet that is not CONNECT closes the connection", async () => {
      const r = await RawClient.open({ port: s.mqttPort, ca: s.ca });
      raws.push(r);
      r.write(rawPublish(Buffer.from(telemetryTopic(canaryId, "pre-connect")), Buffer.from(sample())));
      await r.expectClosed(2000, "PUBLISH before CONNECT");
      await canaryStillAcks();
    });

    it("invalid UTF-8 in a PUBLISH topic closes the connection", async () => {
      const d = await newDevice();
      const r = await rawConnected(d);
      const topic = Buffer.concat([
        Buffer.from(telemetryTopic(d.id, "u1")),
        Buffer.from("&a=", "latin1"),
        Buffer.from([0xc3, 0x28]),
      ]);
      r.write(rawPublish(topic, Buffer.from(sample())));
      await r.expectClosed(2000, "invalid UTF-8 topic");
      // The same bytes with a valid topic are acknowledged: the topic was the only fault.
      const ok = await rawConnected(d);
      ok.write(rawPublish(Buffer.from(telemetryTopic(d.id, "u2")), Buffer.from(sample()), 9));
      const puback = await ok.next();
      assert.equal(puback.cmd, "puback");
      assert.equal(puback.messageId, 9);
      ok.destroy();
      await canaryStillAcks();
    });

    for (const [what, bytes] of [
      ["ill-formed UTF-8", [0xc3, 0x28]],
      ["U+0000", [0x00, 0x41]],
    ] as const) {
      it(`${what} in the CONNECT client id closes the connection without a CONNACK`, async () => {
        const d = await newDevice();
        const r = await RawClient.open({ port: s.mqttPort, ca: s.ca });
        raws.push(r);
        const connect = connectBytes(d.id, d.key, { clientId: "ZZ", clean: true });
        const at = connect.indexOf(Buffer.from("ZZ"));
        connect[at] = bytes[0];
        connect[at + 1] = bytes[1];
        r.write(connect);
        await r.expectClosed(2000, `${what} client id`);
        await assert.rejects(r.next(100), /closed/, "the server answered instead of closing");
        await canaryStillAcks();
      });
    }
  });

  describe("keep-alive cap", () => {
    for (const keepalive of [0, 65535]) {
      it(`CONNECT with keepalive ${keepalive} is accepted and clamped`, async () => {
        const d = await newDevice();
        const c = await connectDevice(d, keepalive);
        await within(c.client.publishAsync(telemetryTopic(d.id, "k1"), sample(), { qos: 1 }), 3000, "PUBACK");
        // aedes enforces 1.5 × keep-alive: the clamped value is the configured cap (1178 s).
        const server = (
          s.gateway.broker as unknown as { clients: Record<string, { _keepaliveInterval: number }> }
        ).clients[d.id];
        assert.equal(server?._keepaliveInterval, 1178 * 1500 + 1);
        await c.client.endAsync();
        await canaryStillAcks();
      });
    }
  });

  describe("poison telemetry is acknowledged, quarantined and counted", () => {
    let d: TestDevice;
    let c: MqttClient;

    before(async () => {
      d = await newDevice("tele");
      c = (await connectDevice(d)).client;
    });

    async function quarantined(reasonCode: string, messageId: string | null) {
      const res = await s.api(`/api/quarantine?deviceId=${d.id}`);
      assert.equal(res.status, 200);
      const hit = res.body.entries.find(
        (e: { reasonCode: string; messageId: string | null }) =>
          e.reasonCode === reasonCode && e.messageId === messageId,
      );
      assert.ok(
        hit,
        `no quarantine entry ${reasonCode} for ${messageId}: ${JSON.stringify(res.body.entries)}`,
      );
      assert.equal(hit.deviceId, d.id);
      assert.equal(hit.transport, "mqtt");
      assert.ok(hit.reason.length > 0);
      return hit;
    }

    it("telemetry without $.mid → PUBACK, quarantined missing_message_id", async () => {
      await within(c.publishAsync(telemetryTopic(d.id), sample(), { qos: 1 }), 3000, "PUBACK");
      const hit = await quarantined("missing_message_id", null);
      assert.equal(hit.topic, telemetryTopic(d.id));
      await canaryStillAcks();
    });

    it("malformed JSON → PUBACK, quarantined not_json with the payload kept", async () => {
      const body = '{"ts": "2026-01-01T00:00:00Z", "values": {';
      await within(c.publishAsync(telemetryTopic(d.id, "bad-json"), body, { qos: 1 }), 3000, "PUBACK");
      const hit = await quarantined("not_json", "bad-json");
      assert.equal(Buffer.from(hit.payload, "base64").toString("utf8"), body);
      await canaryStillAcks();
    });

    it("a number too large for a double (1e999) → PUBACK, quarantined bad_value", async () => {
      const body = `{"ts":"${new Date().toISOString()}","values":{"inletPressure":1e999}}`;
      await within(c.publishAsync(telemetryTopic(d.id, "nan-like"), body, { qos: 1 }), 3000, "PUBACK");
      await quarantined("bad_value", "nan-like");
      await canaryStillAcks();
    });

    it("a duplicate $.mid is acknowledged but stored once (sequential and in one commit)", async () => {
      const t0 = new Date(Date.now() - 60_000);
      const first = sample({ inletPressure: 11 }, t0);
      await within(c.publishAsync(telemetryTopic(d.id, "dup-1"), first, { qos: 1 }), 3000, "PUBACK 1");
      const resend = sample({ inletPressure: 12 }, new Date(t0.getTime() + 1000));
      await within(c.publishAsync(telemetryTopic(d.id, "dup-1"), resend, { qos: 1 }), 3000, "PUBACK 2");
      // Both copies in flight together, so they can land in the same group commit.
      const t1 = new Date(Date.now() - 30_000);
      await within(
        Promise.all([
          c.publishAsync(telemetryTopic(d.id, "dup-2"), sample({ inletPressure: 21 }, t1), { qos: 1 }),
          c.publishAsync(
            telemetryTopic(d.id, "dup-2"),
            sample({ inletPressure: 22 }, new Date(t1.getTime() + 1000)),
            { qos: 1 },
          ),
        ]),
        3000,
        "PUBACKs 3 and 4",
      );
      const res = await s.api(`/api/devices/${d.id}/telemetry`);
      assert.equal(res.status, 200);
      // One sample per message id, the first copy's (the device has no other stored samples).
      assert.deepEqual(
        res.body.samples.map((x: { values: Record<string, number> }) => x.values["inletPressure"]),
        [11, 21],
      );
      await canaryStillAcks();
    });

    it("GET /metrics (no auth) counts quarantined and duplicate packets", async () => {
      const text = await metricsText();
      assert.match(text, /^pumpwatch_packets_total\{[^}]*outcome="quarantined"[^}]*\} [1-9]/m);
      assert.match(text, /^pumpwatch_packets_total\{[^}]*outcome="duplicate"[^}]*\} [1-9]/m);
      for (const reason of ["missing_message_id", "not_json", "bad_value"]) {
        assert.ok(
          (await counter("pumpwatch_packets_total", { outcome: "quarantined", reason })) >= 1,
          `no quarantined count for ${reason}`,
        );
      }
      assert.equal(await counter("pumpwatch_packets_total", { outcome: "duplicate" }), 2);
      await canaryStillAcks();
    });
  });
});

describe("MQTT gateway: connect timeout and overload (tight limits)", () => {
  let s: TestServer;
  const raws: RawClient[] = [];
  const clients: MqttClient[] = [];

  before(async () => {
    s = await startTestServer({ limits: { connectTimeoutMs: 500, maxConnections: 1 } });
  });

  after(async () => {
    for (const r of raws) r.destroy();
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await s?.stop();
  });

  async function open(useTls = true): Promise<RawClient> {
    const target = { port: s.mqttPort, ca: s.ca };
    const r = useTls ? await RawClient.open(target) : await RawClient.openPlain(target);
    raws.push(r);
    return r;
  }

  it("a TLS connection that never sends CONNECT is closed after the connect timeout", async () => {
    const r = await open();
    const ms = await r.expectClosed(3000, "silent TLS connection");
    assert.ok(ms >= 400, `closed after ${ms} ms, before the 500 ms timeout`);
  });

  it("a CONNECT that never completes (header only) is closed after the connect timeout", async () => {
    const r = await open();
    r.write(Buffer.from([0x10, 0x40, 0x00]));
    const ms = await r.expectClosed(3000, "partial CONNECT");
    assert.ok(ms >= 400, `closed after ${ms} ms, before the 500 ms timeout`);
  });

  it("a TCP connection that never starts the TLS handshake is closed in time too", async () => {
    const r = await open(false);
    const ms = await r.expectClosed(3000, "silent TCP connection");
    assert.ok(ms >= 400, `closed after ${ms} ms, before the 500 ms timeout`);
  });

  it("CONNACK 3 when the connection limit is reached; the connected device keeps working", async () => {
    const mk = async (id: string) => {
      const key = generateKey();
      await s.stores.registry.createDevice({
        id,
        primaryKey: key,
        secondaryKey: generateKey(),
        enrollmentKind: "manual",
      });
      return { id, key };
    };
    const a = await mk("limit-a");
    const b = await mk("limit-b");
    const hub = `localhost:${s.mqttPort}`;
    const opts = (d: TestDevice) => ({
      protocolVersion: 4 as const,
      reconnectPeriod: 0,
      ca: s.ca,
      clean: false,
      clientId: d.id,
      username: `${hub}/${d.id}/?${API_VERSION}`,
      password: createSas({ resourceUri: `${hub}/devices/${d.id}`, key: d.key, expiresAt: nowSec() + 3600 }),
    });
    const ca = connect(`mqtts://localhost:${s.mqttPort}`, opts(a));
    clients.push(ca);
    await within(new Promise((res, rej) => ca.once("connect", res).once("error", rej)), 5000, "CONNACK a");
    const cb = connect(`mqtts://localhost:${s.mqttPort}`, opts(b));
    clients.push(cb);
    const err = await within(
      new Promise<Error & { code?: number }>((res, rej) => {
        cb.once("error", res).once("connect", () => rej(new Error("second device was accepted")));
      }),
      5000,
      "CONNACK b",
    );
    assert.equal(err.code, 3);
    await within(ca.publishAsync(telemetryTopic(a.id, "m1"), sample(), { qos: 1 }), 3000, "PUBACK a");
  });
});
