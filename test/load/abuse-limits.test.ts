/**
 * Abuse after (and around) authentication, against a whole pumpwatch with tight limits
 * (reliability.md §6 tests 6, 7b, 8, 17; classes C3, C5, C6, C7): per-device message and byte
 * budgets with fair treatment of other devices, new connections per source address, deep and huge
 * topics, keep-alive, subscriptions, a client flooding without reading its PUBACKs, and a client
 * that stops reading what it is sent. Every client connects from its own loopback address
 * (127.0.0.x), so the per-address limit is exercised only where it is meant to be.
 */
import assert from "node:assert/strict";
import https from "node:https";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { connect, type MqttClient } from "mqtt";
import { generate, type Packet, parser } from "mqtt-packet";
import { generateKey } from "../../src/core/keys.js";
import { createLogger } from "../../src/core/log.js";
import { createSas } from "../../src/core/sas.js";
import { within } from "../helpers/mqtt-raw.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const API = "api-version=2021-04-12";
const RATE = 50; // limits.deviceMessagesPerSec and deviceMessageBurst
const BYTES = 64 * 1024; // limits.deviceBytesPerSec and deviceByteBurst
const MAX_DELAY_MS = 2000; // limits.throttleMaxDelayMs

const nowSec = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface Dev {
  id: string;
  key: string;
}

/** A raw TLS MQTT connection from a chosen loopback address: collects packets and its close. */
class Raw {
  readonly socket: tls.TLSSocket;
  readonly packets: Packet[] = [];
  readonly closed: Promise<number>;
  readonly opened = Date.now();

  constructor(port: number, ca: string, localAddress: string) {
    this.socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca,
      servername: "localhost",
      localAddress,
    } as tls.ConnectionOptions);
    const p = parser({ protocolVersion: 4 });
    p.on("packet", (pk: Packet) => this.packets.push(pk));
    p.on("error", () => {});
    this.socket.on("data", (c: Buffer) => p.parse(c));
    this.socket.on("error", () => {});
    this.closed = new Promise((res) => this.socket.once("close", () => res(Date.now())));
  }

  ready(): Promise<void> {
    return within(new Promise((r) => this.socket.once("secureConnect", () => r())), 5000, "TLS handshake");
  }

  async waitFor(pred: (p: Packet) => boolean, ms = 3000): Promise<Packet> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const hit = this.packets.find(pred);
      if (hit) return hit;
      if (this.socket.destroyed) break;
      await sleep(10);
    }
    throw new Error("expected packet did not arrive");
  }
}

describe("abuse limits (per device, per address, topics, keep-alive, QoS flow)", () => {
  let s: TestServer;
  let hub: string;
  const logs: string[] = [];
  const clients: MqttClient[] = [];
  const raws: Raw[] = [];
  const figures: Record<string, unknown> = {};
  let canary: MqttClient;
  let canaryDev: Dev;
  let canaryDisconnects = 0;
  let seq = 0;

  async function newDevice(prefix = "abuse"): Promise<Dev> {
    const d = { id: `${prefix}-${++seq}`, key: generateKey() };
    await s.stores.registry.createDevice({
      id: d.id,
      primaryKey: d.key,
      secondaryKey: generateKey(),
      enrollmentKind: "manual",
    });
    return d;
  }

  const token = (d: Dev) =>
    createSas({ resourceUri: `${hub}/devices/${d.id}`, key: d.key, expiresAt: nowSec() + 3600 });
  const topic = (d: Dev, mid: string) => `devices/${d.id}/messages/events/%24.mid=${mid}`;
  const body = () => JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 0.9 } });

  async function device(d: Dev, localAddress: string): Promise<MqttClient> {
    const c = connect(`mqtts://localhost:${s.mqttPort}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      ca: s.ca,
      clean: true,
      clientId: d.id,
      username: `${hub}/${d.id}/?${API}`,
      password: token(d),
      localAddress,
    } as Parameters<typeof connect>[1]);
    clients.push(c);
    return within(
      new Promise<MqttClient>((res, rej) => c.once("connect", () => res(c)).once("error", rej)),
      5000,
      `CONNACK for ${d.id}`,
    );
  }

  async function raw(d: Dev | undefined, localAddress: string, keepalive = 60): Promise<Raw> {
    const r = new Raw(s.mqttPort, s.ca, localAddress);
    raws.push(r);
    await r.ready();
    if (d) {
      r.socket.write(
        generate({
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: 4,
          clean: true,
          keepalive,
          clientId: d.id,
          username: `${hub}/${d.id}/?${API}`,
          password: Buffer.from(token(d)),
        }),
      );
      const ack = await r.waitFor((p) => p.cmd === "connack");
      assert.equal((ack as { returnCode: number }).returnCode, 0);
    }
    return r;
  }

  async function metric(name: string, label = ""): Promise<number> {
    const text = await new Promise<string>((resolve, reject) => {
      https
        .get(
          { host: "127.0.0.1", port: s.httpsPort, path: "/metrics", ca: s.ca, servername: "localhost" },
          (res) => {
            let t = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => {
              t += c;
            });
            res.on("end", () => resolve(t));
          },
        )
        .on("error", reject);
    });
    let total = 0;
    for (const line of text.split("\n"))
      if (line.startsWith(name) && line.includes(label) && !line.startsWith("#"))
        total += Number(line.split(" ").pop());
    return total;
  }

  async function canaryAcks(): Promise<void> {
    assert.equal(canaryDisconnects, 0, "the canary was disconnected");
    await within(
      canary.publishAsync(topic(canaryDev, `c-${++seq}`), body(), { qos: 1 }),
      3000,
      "canary PUBACK",
    );
  }

  /** Rows stored or quarantined for a device: hostile input must leave none. */
  async function rows(d: Dev): Promise<number> {
    const t = await s.api(`/api/devices/${d.id}/telemetry`);
    const q = await s.api(`/api/quarantine?deviceId=${d.id}`);
    return (t.body?.samples?.length ?? 0) + (q.body?.entries?.length ?? 0);
  }

  before(async () => {
    s = await startTestServer(
      {
        limits: {
          deviceMessagesPerSec: RATE,
          deviceMessageBurst: RATE,
          deviceBytesPerSec: BYTES,
          deviceByteBurst: BYTES,
          throttleMaxDelayMs: MAX_DELAY_MS,
          connectionsPerIpPerSec: 2,
          connectionBurstPerIp: 10,
          drainTimeoutMs: 1000,
        },
      },
      { log: createLogger({ level: "info", destination: { write: (l: string) => void logs.push(l) } }) },
    );
    hub = `localhost:${s.mqttPort}`;
    canaryDev = await newDevice("canary");
    canary = await device(canaryDev, "127.0.0.2");
    canary.on("close", () => canaryDisconnects++);
    await canaryAcks();
  });

  after(async () => {
    console.log(JSON.stringify({ abuseLimits: figures }));
    for (const r of raws) r.socket.destroy();
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await s?.stop();
  });

  it("a flooding device is slowed to its budget while other devices' PUBACK latency stays normal", async () => {
    const flooder = await device(await newDevice("flood"), "127.0.0.3");
    const quiet = await Promise.all(Array.from({ length: 4 }, () => newDevice("quiet")));
    const quietClients = await Promise.all(quiet.map((d) => device(d, "127.0.0.4")));
    const lat: { base: number[]; flood: number[] } = { base: [], flood: [] };
    let phase: "base" | "flood" | "done" = "base";
    // Quiet devices: one message every 100 ms each (10/s, a fifth of the budget), PUBACK latency kept.
    const quietLoop = Promise.all(
      quietClients.map(async (c, i) => {
        for (let n = 0; phase !== "done" && n < 200; n++) {
          const t = performance.now();
          const p = phase;
          await within(c.publishAsync(topic(quiet[i]!, `q-${n}`), body(), { qos: 1 }), 5000, "quiet PUBACK");
          lat[p === "base" ? "base" : "flood"].push(performance.now() - t);
          await sleep(100);
        }
      }),
    );
    await sleep(1500);
    phase = "flood";
    // The flooder keeps 20 messages in flight as fast as it is acknowledged, for 4 s.
    const floodMs = 4000;
    const t0 = Date.now();
    let acked = 0;
    let offeredInFlight = 0;
    const flood = flooder.options.clientId!;
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        for (let n = 0; Date.now() - t0 < floodMs && n < 10_000; n++) {
          offeredInFlight++;
          await flooder.publishAsync(`devices/${flood}/messages/events/%24.mid=f-${w}-${n}`, body(), {
            qos: 1,
          });
          acked++;
        }
      }),
    );
    const elapsed = (Date.now() - t0) / 1000;
    phase = "done";
    await quietLoop;
    const ackedPerSec = acked / elapsed;
    figures["throttle"] = {
      budgetPerSec: RATE,
      floodAckedPerSec: +ackedPerSec.toFixed(1),
      floodAcked: acked,
      floodSeconds: +elapsed.toFixed(2),
      throttledMetric: await metric("pumpwatch_mqtt_throttled_total"),
      quietP50BaseMs: +pct(lat.base, 50).toFixed(1),
      quietP99BaseMs: +pct(lat.base, 99).toFixed(1),
      quietP50FloodMs: +pct(lat.flood, 50).toFixed(1),
      quietP99FloodMs: +pct(lat.flood, 99).toFixed(1),
      quietSamples: lat.base.length + lat.flood.length,
    };
    void offeredInFlight;
    // Burst plus the sustained rate over the flood, with 10 % for timer granularity.
    assert.ok(acked <= (RATE + RATE * elapsed) * 1.1, `the flooder got ${acked} PUBACKs in ${elapsed} s`);
    assert.ok(acked >= RATE * elapsed * 0.5, `the flooder was starved: ${acked} PUBACKs`);
    assert.equal(flooder.connected, true, "a flooder that waits for its PUBACKs is slowed, not dropped");
    // Fairness: the quiet devices are not slowed (2 × their own baseline, 20 ms floor for timer noise).
    assert.ok(
      pct(lat.flood, 99) <= Math.max(2 * pct(lat.base, 99), pct(lat.base, 99) + 20),
      JSON.stringify(figures["throttle"]),
    );
    await canaryAcks();
  });

  it("a device sending far above its budget without waiting for PUBACKs is disconnected (rate_limited)", async () => {
    const d = await newDevice("burst");
    const r = await raw(d, "127.0.0.5");
    const before = await metric("pumpwatch_mqtt_violations_total", 'reason="rate_limited"');
    // 1,000 QoS 1 PUBLISHes in one write, PUBACKs never awaited.
    const packets = Array.from({ length: 1000 }, (_, i) =>
      generate({
        cmd: "publish",
        topic: topic(d, `b-${i}`),
        payload: Buffer.from(body()),
        qos: 1,
        messageId: (i % 65535) + 1,
        retain: false,
        dup: false,
      }),
    );
    r.socket.write(Buffer.concat(packets));
    const closedAt = await within(r.closed, 10_000, "the flooder to be disconnected");
    const pubacks = r.packets.filter((p) => p.cmd === "puback").length;
    figures["unacked flood"] = {
      sent: 1000,
      pubacks,
      closedAfterMs: closedAt - r.opened,
      rateLimitedMetric: (await metric("pumpwatch_mqtt_violations_total", 'reason="rate_limited"')) - before,
      pendingAfter: s.ingest.pending,
    };
    assert.ok(pubacks <= RATE + (RATE * MAX_DELAY_MS) / 1000 + 10, `${pubacks} PUBACKs`);
    assert.equal((await metric("pumpwatch_mqtt_violations_total", 'reason="rate_limited"')) - before, 1);
    await canaryAcks();
  });

  it("payload bytes are budgeted per device too", async () => {
    const d = await newDevice("bytes");
    const c = await device(d, "127.0.0.6");
    const payload = Buffer.alloc(8 * 1024, 0x20); // 8 KiB (quarantined as not JSON: the bytes count)
    const t0 = Date.now();
    let bytes = 0;
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let n = 0; Date.now() - t0 < 3000 && n < 1000; n++) {
          await c.publishAsync(topic(d, `y-${w}-${n}`), payload, { qos: 1 });
          bytes += payload.length;
        }
      }),
    );
    const sec = (Date.now() - t0) / 1000;
    figures["bytes"] = {
      budgetBytesPerSec: BYTES,
      ackedBytesPerSec: Math.round(bytes / sec),
      seconds: +sec.toFixed(2),
    };
    assert.ok(bytes <= (BYTES + BYTES * sec) * 1.1 + payload.length * 4, `${bytes} bytes in ${sec} s`);
    await canaryAcks();
  });

  it("new connections per source address: a burst, then refused before TLS, counted and logged once", async () => {
    const before = await metric("pumpwatch_rate_limited_total", 'limit="connection_per_ip"');
    const socks = Array.from({ length: 30 }, () => {
      const sock = net.connect({ host: "127.0.0.1", port: s.mqttPort, localAddress: "127.0.0.9" });
      sock.on("error", () => {});
      return sock;
    });
    await sleep(500);
    const open = socks.filter((x) => !x.destroyed && x.readyState === "open").length;
    const refused = (await metric("pumpwatch_rate_limited_total", 'limit="connection_per_ip"')) - before;
    for (const x of socks) x.destroy();
    const logged = logs.filter((l) => l.includes("too many from one address"));
    // Another address is not affected.
    const other = await raw(undefined, "127.0.0.10");
    figures["connections per address"] = { attempted: 30, open, refused, logLines: logged.length };
    assert.equal(open, 10, "the burst (limits.connectionBurstPerIp) is let in");
    assert.equal(refused, 20);
    assert.equal(logged.length, 1, "one log line per address and interval, not one per refusal");
    assert.equal(JSON.parse(logged[0]!).remote, "127.0.0.9");
    assert.equal(other.socket.destroyed, false);
    await canaryAcks();
  });

  it("deep and huge topics close the connection; nothing is stored and the process lives on", async () => {
    const d = await newDevice("topics");
    const levels = (n: number) => `devices/${d.id}/messages/events/${"a/".repeat(n)}`;
    const cases: [string, string][] = [
      ["101 levels", levels(101)],
      ["200 levels", levels(200)],
      ["10,000 levels", levels(10_000)],
      ["65,535-byte topic", `devices/${d.id}/messages/events/`.padEnd(65_535, "x")],
    ];
    const outcomes: Record<string, string> = {};
    let i = 0;
    for (const [name, t] of cases) {
      for (const kind of ["publish", "subscribe", "unsubscribe"] as const) {
        const r = await raw(d, `127.0.1.${++i}`);
        const id = 7;
        r.socket.write(
          kind === "publish"
            ? generate({
                cmd: "publish",
                topic: t,
                payload: Buffer.from(body()),
                qos: 1,
                messageId: id,
                retain: false,
                dup: false,
              })
            : kind === "subscribe"
              ? generate({ cmd: "subscribe", messageId: id, subscriptions: [{ topic: t, qos: 1 }] })
              : generate({ cmd: "unsubscribe", messageId: id, unsubscriptions: [t] }),
        );
        const res = await Promise.race([
          r.closed.then(() => "closed"),
          r
            .waitFor((p) => p.cmd !== "connack", 3000)
            .then((p) => {
              const granted = (p as { granted?: number[] }).granted;
              return granted ? `${p.cmd} ${granted.join(",")}` : p.cmd;
            }),
        ]).catch(() => "no answer");
        outcomes[`${kind} ${name}`] = res;
        assert.ok(res === "closed" || res === "suback 128" || res === "unsuback", `${kind} ${name}: ${res}`);
        r.socket.destroy();
      }
    }
    figures["deep topics"] = outcomes;
    assert.equal(await rows(d), 0);
    await canaryAcks();
  });

  it("keep-alive: a silent client with keepalive 2 s is closed at 1.5 × 2 s", async () => {
    const d = await newDevice("silent");
    const r = await raw(d, "127.0.0.11", 2);
    const connectedAt = Date.now();
    const closed = await within(r.closed, 6000, "the silent client to be closed");
    const ms = closed - connectedAt;
    figures["keep-alive 2 s closed after ms"] = ms;
    assert.ok(ms >= 2500 && ms <= 3500, `closed after ${ms} ms`);
  });

  it("subscriptions: only the device's own documented filters, repeated ones cost nothing", async () => {
    const d = await newDevice("subs");
    const r = await raw(d, "127.0.0.12");
    const filters = [
      "$iothub/twin/res/#",
      "$iothub/twin/PATCH/properties/desired/#",
      `devices/${d.id}/messages/devicebound/#`,
    ];
    r.socket.write(
      generate({
        cmd: "subscribe",
        messageId: 1,
        subscriptions: Array.from({ length: 300 }, (_, i) => ({ topic: filters[i % 3]!, qos: 1 as const })),
      }),
    );
    const ack = (await r.waitFor((p) => p.cmd === "suback")) as { granted: number[] };
    // The broker keeps one subscription per filter (aedes answers once per distinct filter).
    assert.ok(ack.granted.length >= 3 && ack.granted.every((g) => g === 1), JSON.stringify(ack.granted));
    r.socket.write(
      generate({
        cmd: "subscribe",
        messageId: 2,
        subscriptions: [{ topic: "devices/other/messages/devicebound/#", qos: 1 }],
      }),
    );
    await within(r.closed, 3000, "the connection to close on a foreign filter");
    figures["subscriptions"] = { sent: 300, granted: ack.granted.length, foreignFilter: "closed" };
    await canaryAcks();
  });

  it("a device that stops reading is disconnected after limits.drainTimeoutMs", async () => {
    const d = await newDevice("stuck");
    const r = await raw(d, "127.0.0.13");
    r.socket.write(
      generate({
        cmd: "subscribe",
        messageId: 1,
        subscriptions: [{ topic: "$iothub/twin/PATCH/properties/desired/#", qos: 0 }],
      }),
    );
    await r.waitFor((p) => p.cmd === "suback");
    // The device stops reading; desired-property patches of 100 KiB keep coming until the server
    // drops it (seen on the server: a paused client socket does not read the close).
    const dropped = new Promise<number>((res) =>
      s.gateway.on("deviceDisconnected", (id) => {
        if (id === d.id) res(Date.now());
      }),
    );
    let gone = false;
    void dropped.then(() => {
      gone = true;
    });
    r.socket.pause();
    const patch = { blob: "x".repeat(100 * 1024) };
    const t0 = Date.now();
    let pushed = 0;
    while (!gone && Date.now() - t0 < 8000 && pushed < 400) {
      s.gateway.pushDesired(d.id, patch, ++pushed);
      await sleep(5);
    }
    const closedAt = await within(dropped, 10_000, "the stuck device to be disconnected");
    r.socket.resume();
    figures["stuck reader"] = { pushedKiB: pushed * 100, closedAfterMs: closedAt - t0, drainTimeoutMs: 1000 };
    assert.ok(closedAt - t0 <= 8000, `closed after ${closedAt - t0} ms`);
    await canaryAcks();
  });
});
