/**
 * Pre-authentication resource exhaustion (reliability.md §6 tests 5 and 7, class C1, C7) against a
 * pumpwatch child process, whose memory is read from /proc: packets declaring huge remaining
 * lengths, oversize CONNECTs, CONNECTs that stall, TLS connections that never send CONNECT and slow
 * TLS handshakes. The server's RSS may grow by at most 20 MB (Mosquitto's threshold), every socket
 * is closed in time, no CONNACK is sent, and a canary device keeps getting its PUBACKs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import type { MqttClient } from "mqtt";
import {
  type ChildServer,
  connectDevice,
  readCa,
  seedDevices,
  spawnPumpwatch,
  telemetryTopic,
} from "../helpers/child.js";

const CONNECT_TIMEOUT_MS = 2000;
const MAX_PACKET = 256 * 1024;
const RSS_BUDGET_MB = 20;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) / 1024;
}

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A socket's fate: when it closed, and how many bytes the server sent on it. */
interface Watched {
  socket: net.Socket;
  closedAt: Promise<number>;
  received: number;
}

/** `closedAt`: ms from `start` (the socket's open or first write) to its close. */
function watch(socket: net.Socket, start: number): Watched {
  const w: Watched = {
    socket,
    received: 0,
    closedAt: new Promise((res) => socket.once("close", () => res(Date.now() - start))),
  };
  socket.on("data", (c: Buffer) => {
    w.received += c.length;
  });
  socket.on("error", () => {});
  return w;
}

function openTls(port: number, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => resolve(s));
    s.once("error", reject);
  });
}

/** The bytes of a real ClientHello, captured from Node's TLS client against a plain TCP listener. */
async function clientHello(): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => server.once("connection", (c) => c.once("data", resolve)));
  const client = tls.connect({ host: "127.0.0.1", port, servername: "localhost" });
  client.on("error", () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

describe("pre-authentication exhaustion (server in a child process)", () => {
  let dataDir: string;
  let server: ChildServer;
  let ca: string;
  let canary: MqttClient;
  let canaryFailures = 0;
  let canaryAcks = 0;
  let canaryTimer: NodeJS.Timeout | undefined;
  const figures: Record<string, unknown> = {};

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-preauth-"));
    const config = join(dataDir, "config.json");
    await writeFile(config, JSON.stringify({ limits: { connectTimeoutMs: CONNECT_TIMEOUT_MS } }));
    const [device] = await seedDevices(dataDir, 1, "canary");
    server = await spawnPumpwatch(dataDir, { extraArgs: ["--config", config] });
    ca = readCa(dataDir);
    canary = await connectDevice({ port: server.mqttPort, ca, device: device! });
    let n = 0;
    canaryTimer = setInterval(() => {
      const mid = `c-${++n}`;
      const t = setTimeout(() => canaryFailures++, 3000);
      canary
        .publishAsync(
          telemetryTopic(device!.id, mid),
          JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 1 } }),
          { qos: 1 },
        )
        .then(
          () => {
            clearTimeout(t);
            canaryAcks++;
          },
          () => canaryFailures++,
        );
    }, 250);
  });

  after(async () => {
    clearInterval(canaryTimer);
    console.log(JSON.stringify({ preauth: figures }));
    await canary?.endAsync(true);
    await server?.stop("SIGTERM", 10_000);
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Opens `n` TLS connections (8 at a time) and writes `first` on each right after its handshake. */
  async function hostile(n: number, first?: (i: number) => Buffer, more?: Buffer[]): Promise<Watched[]> {
    const out: Watched[] = [];
    for (let i = 0; i < n; i += 8) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(8, n - i) }, async (_, k) => {
          const s = await openTls(server.mqttPort, ca);
          const w = watch(s, Date.now());
          if (first) s.write(first(i + k));
          for (const m of more ?? []) if (!s.destroyed) s.write(m);
          return w;
        }),
      );
      out.push(...batch);
    }
    return out;
  }

  /**
   * Runs one attack: RSS of the server sampled every 50 ms from a settled baseline until every
   * socket closed; returns each group's slowest close (ms from its open or first write).
   */
  async function measured(
    name: string,
    attack: () => Promise<Record<string, Watched[]>>,
  ): Promise<{ growthMb: number; closedMs: Record<string, number> }> {
    const pid = server.pid;
    await sleep(1500);
    const baseline = rssMb(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(pid));
    }, 50);
    const t0 = Date.now();
    const groups = await attack();
    const openMs = Date.now() - t0;
    const closedMs: Record<string, number> = {};
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all(
          Object.entries(groups).map(async ([g, ws]) => {
            closedMs[g] = Math.max(...(await Promise.all(ws.map((w) => w.closedAt))));
          }),
        ),
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new Error(`${name}: not every socket closed within 15 s`)), 15_000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    await sleep(500);
    clearInterval(sampler);
    const sent = Object.values(groups)
      .flat()
      .reduce((n, w) => n + w.received, 0);
    const growthMb = +(peak - baseline).toFixed(1);
    figures[name] = {
      connections: Object.values(groups).flat().length,
      openMs,
      baselineRssMb: +baseline.toFixed(1),
      peakRssMb: +peak.toFixed(1),
      growthMb,
      closedMs,
      bytesFromServer: sent,
      canaryAcks,
      canaryFailures,
    };
    assert.equal(sent, 0, `${name}: the server answered (a CONNACK) on a hostile connection`);
    assert.ok(growthMb <= RSS_BUDGET_MB, `${name}: server RSS grew by ${growthMb} MB`);
    assert.equal(canaryFailures, 0, `${name}: the canary missed PUBACKs`);
    return { growthMb, closedMs };
  }

  it("huge declared lengths and oversize or stalled CONNECTs: closed at once, memory bounded", async () => {
    // Warm-up: TLS and the guard's code paths once, so their one-time memory is in the baseline.
    for (let i = 0; i < 30; i++) {
      const s = await openTls(server.mqttPort, ca);
      s.write(Buffer.concat([Buffer.from([0x10]), varint(MAX_PACKET + 10)]));
      s.destroy();
    }
    const chunk = Buffer.alloc(64 * 1024, 0x42);
    const { closedMs } = await measured("amplification", async () => {
      const [hugeLength, oversizeConnect, stalledConnect] = await Promise.all([
        // One socket per packet type, each declaring the largest remaining length (268,435,455),
        // then streaming 1 MiB after it.
        hostile(
          14,
          (i) => Buffer.from([(i + 1) << 4, 0xff, 0xff, 0xff, 0x7f]),
          Array.from({ length: 16 }, () => chunk),
        ),
        // CONNECTs declaring one byte more than the packet limit.
        hostile(14, () => Buffer.concat([Buffer.from([0x10]), varint(MAX_PACKET + 1)])),
        // CONNECTs declaring 200 KiB (under the packet limit, over limits.maxConnectBytes), 8 KiB sent:
        // without the CONNECT cap each could make the server hold 200 KiB until the connect timeout.
        hostile(200, () =>
          Buffer.concat([Buffer.from([0x10]), varint(200 * 1024), Buffer.alloc(8 * 1024, 0x41)]),
        ),
      ]);
      return { hugeLength: hugeLength!, oversizeConnect: oversizeConnect!, stalledConnect: stalledConnect! };
    });
    for (const [g, ms] of Object.entries(closedMs)) assert.ok(ms <= 1000, `${g}: closed after ${ms} ms`);
  });

  it("TLS connections that never send CONNECT and slow handshakes: closed by the timeouts", async () => {
    const hello = await clientHello();
    let dribble: NodeJS.Timeout | undefined;
    const { closedMs } = await measured("idle", async () => {
      const slow: Watched[] = [];
      for (let i = 0; i < 100; i++) {
        const s = net.connect({ host: "127.0.0.1", port: server.mqttPort });
        await new Promise((r) => s.once("connect", r));
        slow.push(watch(s, Date.now()));
      }
      // One byte of a real ClientHello every 300 ms (at most 20): the handshake never completes.
      let at = 0;
      dribble = setInterval(() => {
        if (at >= 20) return;
        for (const w of slow) if (!w.socket.destroyed) w.socket.write(hello.subarray(at, at + 1));
        at++;
      }, 300);
      return { slowHandshake: slow, silentTls: await hostile(250) };
    });
    clearInterval(dribble);
    for (const [g, ms] of Object.entries(closedMs))
      assert.ok(ms <= CONNECT_TIMEOUT_MS + 1000, `${g}: closed after ${ms} ms`);
    assert.ok(canaryAcks > 0);
  });
});
