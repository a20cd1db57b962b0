/**
 * MQTT 3.1.1 conformance and violation vectors (test/vectors/mqtt311.ts) against the running gateway
 * over real TLS: every vector on its own connection, as the first bytes or after a valid CONNECT,
 * and after every vector a well-behaved canary device still gets its PUBACK.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, type MqttClient } from "mqtt";
import type { Packet } from "mqtt-packet";
import { generateKey } from "../../src/core/keys.js";
import { createSas } from "../../src/core/sas.js";
import { RawClient, within } from "../helpers/mqtt-raw.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import {
  deviceConnect,
  type Expect,
  sampleBody,
  statementCoverage,
  telemetryTopic,
  VECTORS,
  type Vector,
  type VectorContext,
} from "../vectors/mqtt311.js";

const API_VERSION = "api-version=2021-04-12";
/** Connections in flight at once; each holds its own device. */
const CONCURRENCY = 6;
/** An expected close must come within this long after the vector was sent (reliability plan test 1: 1 s). */
const CLOSE_WITHIN_MS = 1000;
/** The gateway's packet limit (the Azure figure), set explicitly so the size vectors know it. */
const MAX_PACKET_BYTES = 256 * 1024;

/** A pool of devices, one per concurrent connection, so vectors never take over each other's session. */
class DevicePool {
  readonly #free: string[];
  readonly #waiting: Array<(id: string) => void> = [];

  constructor(ids: string[]) {
    this.#free = [...ids];
  }

  async acquire(): Promise<string> {
    const id = this.#free.pop();
    if (id !== undefined) return id;
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(id: string): void {
    const next = this.#waiting.shift();
    if (next) next(id);
    else this.#free.push(id);
  }
}

function hexOf(b: Buffer): string {
  const h = b.subarray(0, 48).toString("hex");
  return b.length > 48 ? `${h}… (${b.length} bytes)` : h;
}

function describePacket(p: Packet): string {
  const { cmd } = p;
  const extra = p as { messageId?: number; returnCode?: number; granted?: number[]; topic?: string };
  return JSON.stringify({ cmd, ...extra, payload: undefined });
}

describe("MQTT 3.1.1 conformance and violation vectors over TLS", { concurrency: CONCURRENCY }, () => {
  let s: TestServer;
  let hub: string;
  let canary: MqttClient;
  let canaryId: string;
  let canaryClosed = false;
  let canarySeq = 0;
  let pool: DevicePool;
  const keys = new Map<string, string>();
  let midSeq = 0;
  const closeTimes: number[] = [];
  let passed = 0;
  const started = Date.now();

  function sas(deviceId: string): string {
    return createSas({
      resourceUri: `${hub}/devices/${deviceId}`,
      key: keys.get(deviceId)!,
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    });
  }

  async function newDevice(id: string): Promise<void> {
    const key = generateKey();
    keys.set(id, key);
    await s.stores.registry.createDevice({
      id,
      primaryKey: key,
      secondaryKey: generateKey(),
      enrollmentKind: "manual",
    });
  }

  function context(deviceId: string): VectorContext {
    return {
      deviceId,
      otherDeviceId: "conf-other",
      username: `${hub}/${deviceId}/?${API_VERSION}`,
      password: sas(deviceId),
      maxPacketBytes: MAX_PACKET_BYTES,
      mid: () => `conf-${++midSeq}`,
    };
  }

  async function canaryStillAcks(after: string): Promise<void> {
    assert.equal(canaryClosed, false, `the canary device was disconnected (after ${after})`);
    const mid = `canary-${++canarySeq}`;
    await within(
      canary.publishAsync(telemetryTopic(canaryId, mid), sampleBody().toString(), { qos: 1 }),
      3000,
      `canary PUBACK after ${after}`,
    );
  }

  /** The connection is still served: a PINGREQ is answered, and nothing else arrived before. */
  async function stillOpen(r: RawClient, v: Vector): Promise<void> {
    r.write(Buffer.from([0xc0, 0x00]));
    const p = await r.next(3000);
    assert.equal(
      p.cmd,
      "pingresp",
      `${v.name}: expected PINGRESP on the still-open connection, got ${describePacket(p)}`,
    );
  }

  async function check(r: RawClient, v: Vector, expect: Expect, sentAt: number): Promise<void> {
    switch (expect.kind) {
      case "close": {
        await r.expectClosed(CLOSE_WITHIN_MS + 2000, v.name);
        const ms = Date.now() - sentAt;
        closeTimes.push(ms);
        const got = r.pending();
        assert.deepEqual(got.map(describePacket), [], `${v.name}: the server answered before closing`);
        assert.ok(ms <= CLOSE_WITHIN_MS, `${v.name}: closed after ${ms} ms`);
        return;
      }
      case "silent":
        await stillOpen(r, v);
        return;
      case "connack": {
        const p = await r.next();
        assert.equal(p.cmd, "connack", `${v.name}: got ${describePacket(p)}`);
        assert.equal(
          (p as { returnCode?: number }).returnCode,
          expect.returnCode,
          `${v.name}: CONNACK return code`,
        );
        if (expect.returnCode !== 0) {
          await r.expectClosed(CLOSE_WITHIN_MS + 2000, `${v.name} after CONNACK ${expect.returnCode}`);
          assert.deepEqual(r.pending().map(describePacket), []);
        } else await stillOpen(r, v);
        return;
      }
      case "publish": {
        const p = await r.next();
        assert.equal(p.cmd, "publish", `${v.name}: got ${describePacket(p)}`);
        const topic = (p as { topic: string }).topic;
        assert.ok(topic.startsWith(expect.topicPrefix), `${v.name}: topic ${topic}`);
        await stillOpen(r, v);
        return;
      }
      case "suback": {
        const p = await r.next();
        assert.equal(p.cmd, "suback", `${v.name}: got ${describePacket(p)}`);
        assert.equal(p.messageId, expect.messageId);
        assert.deepEqual((p as { granted: number[] }).granted, expect.granted);
        await stillOpen(r, v);
        return;
      }
      case "pingresp": {
        const p = await r.next();
        assert.equal(p.cmd, "pingresp", `${v.name}: got ${describePacket(p)}`);
        await stillOpen(r, v);
        return;
      }
      default: {
        // puback, pubrel, pubcomp, unsuback: a packet id echoed.
        const p = await r.next(5000);
        assert.equal(p.cmd, expect.kind, `${v.name}: got ${describePacket(p)}`);
        assert.equal(p.messageId, expect.messageId);
        await stillOpen(r, v);
      }
    }
  }

  async function run(v: Vector): Promise<void> {
    const deviceId = await pool.acquire();
    let r: RawClient | undefined;
    try {
      const ctx = context(deviceId);
      r = await RawClient.open({ port: s.mqttPort, ca: s.ca });
      if (v.phase === "connected") {
        r.write(deviceConnect(ctx, { clean: true }));
        const connack = await r.next();
        assert.equal(connack.cmd, "connack");
        assert.equal((connack as { returnCode?: number }).returnCode, 0, "the vector's CONNECT was refused");
      }
      const bytes = v.bytes(ctx);
      const sentAt = Date.now();
      r.write(bytes);
      try {
        await check(r, v, v.expect, sentAt);
      } catch (err) {
        (err as Error).message += `\n  statement: ${v.statement}\n  sent: ${hexOf(bytes)}`;
        throw err;
      }
      if (!r.isClosed) {
        // A clean end: DISCONNECT discards any Will [MQTT-3.14.4-3].
        r.write(Buffer.from([0xe0, 0x00]));
        await r.expectClosed(3000, "DISCONNECT");
      }
    } finally {
      r?.destroy();
      pool.release(deviceId);
    }
    await canaryStillAcks(v.name);
    passed++;
  }

  before(async () => {
    s = await startTestServer({ limits: { maxPacketBytes: MAX_PACKET_BYTES } });
    hub = `localhost:${s.mqttPort}`;
    const ids = Array.from({ length: CONCURRENCY }, (_, i) => `conf-${i}`);
    for (const id of [...ids, "conf-other", "conf-canary"]) await newDevice(id);
    pool = new DevicePool(ids);
    canaryId = "conf-canary";
    canary = connect(`mqtts://localhost:${s.mqttPort}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      ca: s.ca,
      clean: false,
      clientId: canaryId,
      username: `${hub}/${canaryId}/?${API_VERSION}`,
      password: sas(canaryId),
    });
    canary.on("close", () => {
      canaryClosed = true;
    });
    await within(
      new Promise((resolve, reject) => canary.once("connect", resolve).once("error", reject)),
      5000,
      "canary CONNACK",
    );
    await canaryStillAcks("start");
  });

  after(async () => {
    const coverage = statementCoverage(VECTORS);
    const sorted = [...closeTimes].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        mqttConformance: {
          vectors: VECTORS.length,
          passed,
          statements: coverage.size,
          canaryPubacks: canarySeq,
          closes: closeTimes.length,
          closeP50Ms: sorted[Math.floor(sorted.length / 2)] ?? null,
          closeMaxMs: sorted.at(-1) ?? null,
          seconds: Math.round((Date.now() - started) / 100) / 10,
        },
      }),
    );
    await canary?.endAsync(true);
    await s?.stop();
  });

  it("the table holds at least 300 vectors, each named once with a statement", () => {
    assert.ok(VECTORS.length >= 300, `only ${VECTORS.length} vectors`);
    const names = new Set(VECTORS.map((v) => v.name));
    assert.equal(names.size, VECTORS.length, "duplicate vector names");
    for (const v of VECTORS) assert.match(v.statement, /MQTT-\d|§\d/, `${v.name} names no statement`);
  });

  for (const v of VECTORS) {
    it(`[${v.statement}] ${v.name}`, () => run(v));
  }
});
