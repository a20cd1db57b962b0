/**
 * A network fuzzer for the device-facing MQTT port, in the style of mqtt_fuzz: sessions of a valid
 * CONNECT followed by valid and malformed packets, each malformed packet followed by a PINGREQ so
 * the gateway's reaction (answer, close, or waiting for more bytes) is seen before the next one. It
 * runs against a pumpwatch started as a child process (its exits and memory are watched) while a
 * canary device publishes QoS 1 telemetry and must get every PUBACK. Used by
 * test/load/mqtt-network-fuzz.test.ts and `npm run fuzz:long`.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { createSas } from "../../src/core/sas.js";
import { deviceConnect, publish, subscribe, VECTORS, type VectorContext } from "../vectors/mqtt311.js";
import {
  type ChildServer,
  connectDevice,
  operatorGet,
  readCa,
  type SeededDevice,
  seedDevices,
  spawnPumpwatch,
  telemetryTopic,
} from "./child.js";
import { mutatePacket } from "./mqtt-fuzz.js";
import { RawClient, within } from "./mqtt-raw.js";
import { int, pick, type Rand, rng } from "./random.js";

export interface NetFuzzOptions {
  seed: number;
  /** Keep opening sessions until at least this many connections … */
  minConnections: number;
  /** … and at least this many malformed packets met the gateway, */
  minMalformed: number;
  /** or this wall-clock limit (seconds) is reached, whichever comes first. */
  maxSeconds: number;
  /** Sessions in flight at once (each with its own device). */
  concurrency: number;
  /** Most packets per session. */
  maxSteps: number;
  /** Sessions before the memory baseline (not counted). */
  warmupConnections: number;
  /** Share of steps that break the framing rather than the content. */
  frameShare: number;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export interface NetFuzzFigures {
  seed: number;
  connections: number;
  /** Connections that resumed a TLS session instead of a full handshake. */
  tlsResumed: number;
  malformedPackets: number;
  /** Packets with broken framing, flags, lengths or encodings. */
  malformedFrames: number;
  /** Well-framed packets with a malformed topic, property bag or JSON payload. */
  malformedContent: number;
  validPackets: number;
  /** Valid publishes without PUBACK: all of them, and those whose connection the gateway closed. */
  validPubacksMissing: number;
  validOnClosedConnection: number;
  /** How the gateway met the malformed packets. */
  reactions: { answered: number; closed: number; waited: number };
  connectRefused: number;
  /** Sessions that failed on the client side (e.g. a TLS handshake that did not finish in time). */
  sessionErrors: number;
  canaryPublishes: number;
  canaryFailures: number;
  processExits: number;
  warmupConnections: number;
  /** Memory of the server process after a full GC, after the warm-up and after the run. */
  rssBeforeMb: number;
  rssAfterMb: number;
  /** RSS after a GC halfway through, and the growth over the second half alone. */
  rssMidMb: number;
  rssGrowthMb: number;
  rssSecondHalfGrowthMb: number;
  /** Of the RSS growth: anonymous memory, and file pages (the SQLite database mapped or cached). */
  rssAnonGrowthMb: number;
  rssFileGrowthMb: number;
  heapBeforeMb: number;
  heapAfterMb: number;
  heapGrowthMb: number;
  heapCommittedGrowthMb: number;
  externalGrowthMb: number;
  seconds: number;
}

const API_VERSION = "api-version=2021-04-12";
const GC_ON_SIGNAL = new URL("./gc-on-signal.mjs", import.meta.url).href;
const PINGREQ = Buffer.from([0xc0, 0x00]);

/** A field of /proc/<pid>/status in MB (VmRSS, RssAnon, RssFile). */
function statusMb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function heapMb(
  server: ChildServer,
  dataDir: string,
): Promise<{ used: number; total: number; external: number }> {
  const text = await operatorGet<string>(server, dataDir, "/metrics");
  const get = (name: string) => {
    const m = new RegExp(`^pumpwatch_process_nodejs_${name} (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) / 2 ** 20 : Number.NaN;
  };
  return {
    used: get("heap_size_used_bytes"),
    total: get("heap_size_total_bytes"),
    external: get("external_memory_bytes"),
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** A JSON telemetry body with one of many kinds of damage. */
function fuzzedPayload(r: Rand): Buffer {
  const good = JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 0.8, running: 1 } });
  switch (int(r, 0, 9)) {
    case 0:
      return Buffer.from(good.slice(0, int(r, 0, good.length - 1)));
    case 1:
      return Buffer.from(Array.from({ length: int(r, 0, 300) }, () => int(r, 0, 255)));
    case 2:
      return Buffer.from(`${"[".repeat(int(r, 100, 5000))}`);
    case 3:
      return Buffer.from(
        good.replace("0.8", pick(r, ["1e999", "-1e999", "NaN", '"x"', "null", "[]", "{}", "0x10"])),
      );
    case 4:
      return Buffer.from(
        good.replace(
          /"ts":"[^"]*"/,
          `"ts":${pick(r, ['"yesterday"', "0", '"9999-99-99T00:00:00Z"', "null"])}`,
        ),
      );
    case 5:
      return Buffer.from(
        JSON.stringify({
          ts: new Date().toISOString(),
          values: Object.fromEntries(Array.from({ length: int(r, 100, 2000) }, (_, i) => [`k${i}`, i])),
        }),
      );
    case 6:
      return Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from(good), 0xc3, 0x28]);
    case 7:
      return Buffer.alloc(0);
    case 8:
      return Buffer.from(`${good}${good}`);
    default: {
      const b = Buffer.from(good);
      for (let k = int(r, 1, 4); k > 0; k--) {
        const i = int(r, 0, b.length - 1);
        b[i] = b[i]! ^ (1 << int(r, 0, 7));
      }
      return b;
    }
  }
}

/** The device's own telemetry topic with a damaged property bag (it stays printable mostly). */
function fuzzedTopic(r: Rand, deviceId: string, mid: string): string {
  const base = telemetryTopic(deviceId, mid);
  switch (int(r, 0, 5)) {
    case 0:
      return `${base}&${"%".repeat(int(r, 1, 5))}`;
    case 1:
      return `${base}&%24.ct=${"x".repeat(int(r, 1, 3000))}`;
    case 2:
      return `${base}&%24.mid=dup`;
    case 3:
      return `devices/${deviceId}/messages/events/${"&".repeat(int(r, 1, 50))}`;
    case 4:
      return `${base}&k=%E2%82`;
    default:
      return `devices/${deviceId}/messages/events/%24.mid=`;
  }
}

const closingVectors = VECTORS.filter((v) => v.phase === "connected" && v.expect.kind === "close");

interface Step {
  bytes: Buffer;
  kind: "valid" | "frame" | "content";
  /** A PUBACK with this id must come before the PINGRESP. */
  puback?: number;
}

/** The last TLS session ticket per device: sessions resume, as a box reconnecting would. */
const tickets = new Map<string, Buffer>();

/** Counters shared by all sessions of a run. */
class Tally {
  connections = 0;
  resumed = 0;
  frames = 0;
  content = 0;
  valid = 0;
  pubacksMissing = 0;
  pubacksMissingClosed = 0;
  answered = 0;
  closed = 0;
  waited = 0;
  connectRefused = 0;
  sessionErrors = 0;
}

/**
 * One session: CONNECT as `device`, then up to `maxSteps` packets. Each step writes a packet and a
 * PINGREQ and waits for the PINGRESP (the packet was taken), a close, or — when the packet declared
 * more bytes than it carried — pads with zero bytes and gives up after a second.
 */
async function session(
  r: Rand,
  target: { port: number; ca: string },
  ctx: VectorContext,
  o: NetFuzzOptions,
  t: Tally,
  serverLog: () => string = () => "",
): Promise<void> {
  // Most reconnects resume their TLS session, some do a full handshake.
  const c = await RawClient.open(target, 5000, r() < 0.8 ? tickets.get(ctx.deviceId) : undefined);
  t.connections++;
  if (c.socket.isSessionReused()) t.resumed++;
  try {
    c.write(deviceConnect(ctx, { clean: true }));
    const connack = await c.next(5000).catch(() => undefined);
    if (connack?.cmd !== "connack" || (connack as { returnCode?: number }).returnCode !== 0) {
      t.connectRefused++;
      return;
    }
    let messageId = 1;
    const hist: Buffer[] = [];
    for (let s = 0; s < o.maxSteps && !c.isClosed; s++) {
      messageId = (messageId % 65535) + 1;
      const step = nextStep(r, ctx, o, messageId);
      c.write(Buffer.concat([step.bytes, PINGREQ]));
      hist.push(step.bytes);
      if (hist.length > 3) hist.shift();
      const reaction = await react(c, step);
      if (step.kind === "valid") {
        t.valid++;
        if (reaction !== "answered") {
          t.pubacksMissing++;
          if (reaction === "closed") t.pubacksMissingClosed++;
          // The packets before it, to replay what made the gateway lose it.
          o.log?.(
            `valid publish ${reaction} (device ${ctx.deviceId}, step ${s}, ${Date.now() - c.opened} ms into the session); before it: ${hist.map((h) => h.subarray(0, 160).toString("hex")).join(" ")}; server log: ${serverLog()
              .split("\n")
              .filter((l) => l.includes(ctx.deviceId) && !l.includes('"connected"'))
              .slice(-4)
              .join(" | ")}`,
          );
        }
        continue;
      }
      if (step.kind === "frame") t.frames++;
      else t.content++;
      t[reaction]++;
      // After broken framing the stream may hold the start of a packet that would swallow the next
      // step's bytes: the session ends with it, answered or not.
      if (reaction !== "answered" || step.kind === "frame") break;
    }
    if (!c.isClosed) c.write(Buffer.from([0xe0, 0x00]));
  } finally {
    if (c.tlsSession) tickets.set(ctx.deviceId, c.tlsSession);
    c.destroy();
  }
}

function nextStep(r: Rand, ctx: VectorContext, o: NetFuzzOptions, messageId: number): Step {
  const x = r();
  if (x < 0.1) {
    const topic = telemetryTopic(ctx.deviceId, ctx.mid());
    const payload = Buffer.from(
      JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 0.8 } }),
    );
    return { kind: "valid", bytes: publish({ topic, payload, qos: 1, messageId }), puback: messageId };
  }
  if (x < 0.1 + o.frameShare) {
    const y = r();
    // A violation vector of the conformance table, random bytes, or a mutated valid packet.
    if (y < 0.3) return { kind: "frame", bytes: pick(r, closingVectors).bytes(ctx) };
    if (y < 0.4)
      return {
        kind: "frame",
        bytes: Buffer.from(Array.from({ length: int(r, 1, 64) }, () => int(r, 0, 255))),
      };
    const valid = [
      publish({
        topic: telemetryTopic(ctx.deviceId, ctx.mid()),
        payload: Buffer.from("{}"),
        qos: 1,
        messageId,
      }),
      publish({ topic: telemetryTopic(ctx.deviceId, ctx.mid()), payload: Buffer.from("{}"), qos: 0 }),
      subscribe(messageId, [[`devices/${ctx.deviceId}/messages/devicebound/#`, 1]]),
      Buffer.from([0xa2, 0x07, 0x00, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x23]),
      Buffer.from([0x40, 0x02, 0x00, 0x07]),
      PINGREQ,
    ];
    return { kind: "frame", bytes: mutatePacket(r, pick(r, valid), pick(r, valid)) };
  }
  const mid = ctx.mid();
  const qos = r() < 0.7 ? 1 : 0;
  const topic = r() < 0.15 ? fuzzedTopic(r, ctx.deviceId, mid) : telemetryTopic(ctx.deviceId, mid);
  return { kind: "content", bytes: publish({ topic, payload: fuzzedPayload(r), qos, messageId }) };
}

async function react(c: RawClient, step: Step): Promise<"answered" | "closed" | "waited"> {
  let padded = false;
  let pingresp = false;
  let puback = step.puback === undefined;
  const deadline = Date.now() + 6000;
  while (!(pingresp && puback)) {
    const left = deadline - Date.now();
    if (left <= 0) return "waited";
    let p: Awaited<ReturnType<RawClient["next"]>>;
    try {
      p = await c.next(padded || pingresp ? left : Math.min(left, 400));
    } catch {
      if (c.isClosed) return "closed";
      if (padded || pingresp) return "waited";
      // The packet declared more bytes than it carried: give them, so the gateway decides.
      c.write(Buffer.alloc(4096));
      padded = true;
      continue;
    }
    // A QoS 1 PUBACK waits for the commit; the PINGREQ behind it may be answered first.
    if (p.cmd === "puback" && p.messageId === step.puback) puback = true;
    if (p.cmd === "pingresp") pingresp = true;
  }
  return "answered";
}

/** RSS and heap (after a full GC in the child) in MB. */
async function memoryOf(
  server: ChildServer,
  dataDir: string,
): Promise<{ rss: number; anon: number; file: number; used: number; total: number; external: number }> {
  server.child.kill("SIGUSR2");
  await new Promise((res) => setTimeout(res, 800));
  return {
    rss: statusMb(server.pid, "VmRSS"),
    anon: statusMb(server.pid, "RssAnon"),
    file: statusMb(server.pid, "RssFile"),
    ...(await heapMb(server, dataDir)),
  };
}

/** Runs a fuzz campaign against a fresh child pumpwatch; stops the child before it returns. */
export async function runNetworkFuzz(o: NetFuzzOptions): Promise<NetFuzzFigures> {
  const log = o.log ?? (() => {});
  const started = Date.now();
  const dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-netfuzz-"));
  const devices = await seedDevices(dataDir, o.concurrency + 2, "fuzz");
  // The per-address connection limit would (rightly) refuse a fuzzer opening thousands of connections.
  const configPath = join(dataDir, "fuzz-config.json");
  await writeFile(configPath, JSON.stringify({ limits: { connectionsPerIpPerSec: 0 } }));
  const server = await spawnPumpwatch(dataDir, {
    extraArgs: ["--config", configPath],
    nodeArgs: ["--expose-gc", "--import", GC_ON_SIGNAL],
  });
  let exits = 0;
  void server.exited.then(() => {
    exits++;
  });
  let canary: MqttClient | undefined;
  try {
    const ca = readCa(dataDir);
    const target = { port: server.mqttPort, ca };
    const hub = `localhost:${server.mqttPort}`;
    const [canaryDevice, other, ...pool] = devices as [SeededDevice, SeededDevice, ...SeededDevice[]];
    let midSeq = 0;
    const ctxOf = (d: SeededDevice): VectorContext => ({
      deviceId: d.id,
      otherDeviceId: other.id,
      username: `${hub}/${d.id}/?${API_VERSION}`,
      password: createSas({
        resourceUri: `${hub}/devices/${d.id}`,
        key: d.key,
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      }),
      maxPacketBytes: 256 * 1024,
      mid: () => `fz-${++midSeq}`,
    });

    // The canary: one QoS 1 telemetry message every 250 ms, each must be acknowledged within 5 s.
    canary = await connectDevice({ port: server.mqttPort, ca, device: canaryDevice });
    let canaryClosed = false;
    canary.on("close", () => {
      canaryClosed = true;
    });
    let canaryPublishes = 0;
    let canaryFailures = 0;
    let canaryRunning = true;
    const canaryLoop = (async () => {
      while (canaryRunning) {
        canaryPublishes++;
        const body = JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 0.8 } });
        try {
          if (canaryClosed) throw new Error("canary disconnected");
          await within(
            canary!.publishAsync(telemetryTopic(canaryDevice.id, `canary-${canaryPublishes}`), body, {
              qos: 1,
            }),
            5000,
            "canary PUBACK",
          );
        } catch {
          canaryFailures++;
        }
        await new Promise((res) => setTimeout(res, 250));
      }
    })();

    const t = new Tally();
    const rand = rng(o.seed);
    const runWorkers = async (until: () => boolean) => {
      await Promise.all(
        pool.slice(0, o.concurrency).map(async (d, w) => {
          const r = rng((o.seed ^ Math.imul(w + 1, 0x85ebca6b) ^ int(rand, 0, 2 ** 30)) >>> 0);
          while (!until() && Date.now() - started < o.maxSeconds * 1000) {
            await session(r, target, ctxOf(d), o, t, () => server.output()).catch(() => {
              t.sessionErrors++;
            });
          }
        }),
      );
    };

    // Warm-up (not counted): JIT, TLS and SQLite caches reach their working size before the baseline.
    const warm = new Tally();
    const warmRand = rng(o.seed ^ 0xdead);
    await Promise.all(
      pool.slice(0, o.concurrency).map(async (d) => {
        while (warm.connections < o.warmupConnections)
          await session(warmRand, target, ctxOf(d), o, warm).catch(() => {});
      }),
    );
    const before = await memoryOf(server, dataDir);
    log(
      `baseline after ${warm.connections} warm-up connections: rss ${before.rss.toFixed(1)} MB, heap ${before.used.toFixed(1)} MB`,
    );

    const progress = setInterval(() => {
      const m = `rss ${statusMb(server.pid, "VmRSS").toFixed(1)} MB`;
      log(
        `${t.connections} connections, ${t.frames + t.content} malformed, canary ${canaryPublishes - canaryFailures}/${canaryPublishes}, ${m}`,
      );
    }, 5000);
    // Half the campaign, a reading, the other half: a leak grows in both halves, a working set settles.
    await runWorkers(
      () => t.connections >= o.minConnections / 2 && t.frames + t.content >= o.minMalformed / 2,
    );
    const mid = await memoryOf(server, dataDir);
    await runWorkers(() => t.connections >= o.minConnections && t.frames + t.content >= o.minMalformed);
    clearInterval(progress);
    canaryRunning = false;
    await canaryLoop;
    // Let closes and the last commits settle before measuring.
    await new Promise((res) => setTimeout(res, 1000));
    // The lowest of three readings: V8 and malloc give pages back some time after a collection.
    const readings = [
      await memoryOf(server, dataDir),
      await memoryOf(server, dataDir),
      await memoryOf(server, dataDir),
    ];
    const after = readings.reduce((a, b) => (b.rss < a.rss ? b : a));
    return {
      seed: o.seed,
      connections: t.connections,
      tlsResumed: t.resumed,
      malformedPackets: t.frames + t.content,
      malformedFrames: t.frames,
      malformedContent: t.content,
      validPackets: t.valid,
      validPubacksMissing: t.pubacksMissing,
      validOnClosedConnection: t.pubacksMissingClosed,
      reactions: { answered: t.answered, closed: t.closed, waited: t.waited },
      connectRefused: t.connectRefused,
      sessionErrors: t.sessionErrors,
      canaryPublishes,
      canaryFailures,
      processExits: exits,
      warmupConnections: warm.connections,
      rssBeforeMb: round1(before.rss),
      rssAfterMb: round1(after.rss),
      rssMidMb: round1(mid.rss),
      rssGrowthMb: round1(after.rss - before.rss),
      rssSecondHalfGrowthMb: round1(after.rss - mid.rss),
      rssAnonGrowthMb: round1(after.anon - before.anon),
      rssFileGrowthMb: round1(after.file - before.file),
      heapBeforeMb: round1(before.used),
      heapAfterMb: round1(after.used),
      heapGrowthMb: round1(after.used - before.used),
      heapCommittedGrowthMb: round1(after.total - before.total),
      externalGrowthMb: round1(after.external - before.external),
      seconds: round1((Date.now() - started) / 1000),
    };
  } finally {
    await canary?.endAsync(true).catch(() => {});
    await server.stop("SIGTERM");
    await rm(dataDir, { recursive: true, force: true });
  }
}
