/**
 * Inputs for fuzzing the MQTT side: random valid packets of every type (for round trips and as a
 * mutation corpus), mutations of valid streams, random buffers in the style of mqtt-packet's
 * testRandom, random chunk splits, and the guarded parser the gateway runs (MqttFrameGuard in front
 * of mqtt-packet's parser) as a pure function. Everything is driven by a seeded `Rand`, so a seed
 * replays an input exactly.
 */
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import { generate, type Packet, parser } from "mqtt-packet";
import { MqttFrameGuard } from "../../src/gateway/guard.js";
import { int, pick, type Rand, rng } from "./random.js";

/** The seed of a fuzz run: `envName` if set (to replay a run), else a fresh one. Printed by callers. */
export function fuzzSeed(envName: string): number {
  const v = process.env[envName];
  if (v !== undefined && v !== "") {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`${envName} must be an integer seed, got ${v}`);
    return n >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:$%&=/";
const WIDE = ["é", "ß", "€", "中", "😀", "\u00a0", "\u2028", "\ufeff", "\u0001", "\u007f"];

/** A well-formed string of up to `max` characters: ASCII mostly, some multi-byte, never U+0000. */
export function randomString(r: Rand, max: number, min = 0): string {
  const n = int(r, min, max);
  let s = "";
  for (let i = 0; i < n; i++) s += r() < 0.9 ? ALPHABET[int(r, 0, ALPHABET.length - 1)] : pick(r, WIDE);
  return s;
}

/** A topic name without wildcards, at least one character. */
function topicName(r: Rand): string {
  return randomString(r, 40, 1).replace(/[+#]/g, "x");
}

/** A topic filter: levels, some of them wildcards in legal places. */
function topicFilter(r: Rand): string {
  const levels = Array.from({ length: int(r, 1, 5) }, () =>
    r() < 0.15 ? "+" : randomString(r, 8, 1).replace(/[+#/]/g, "x"),
  );
  if (r() < 0.3) levels.push("#");
  return levels.join("/");
}

const id = (r: Rand) => int(r, 1, 65535);
const bytes = (r: Rand, max: number) =>
  Buffer.from(Array.from({ length: int(r, 0, max) }, () => int(r, 0, 255)));

/**
 * A random valid MQTT 3.1.1 packet of any of the 14 types, as mqtt-packet's `generate` takes it.
 * Client-to-server only when `clientOnly` (what the gateway reads), packet ids never 0.
 */
export function randomPacket(r: Rand, clientOnly = false): Packet {
  const kinds = clientOnly
    ? [
        "connect",
        "publish",
        "puback",
        "pubrec",
        "pubrel",
        "pubcomp",
        "subscribe",
        "unsubscribe",
        "pingreq",
        "disconnect",
      ]
    : [
        "connect",
        "connack",
        "publish",
        "puback",
        "pubrec",
        "pubrel",
        "pubcomp",
        "subscribe",
        "suback",
        "unsubscribe",
        "unsuback",
        "pingreq",
        "pingresp",
        "disconnect",
      ];
  const cmd = pick(r, kinds);
  switch (cmd) {
    case "connect": {
      const username = r() < 0.8 ? randomString(r, 60, 0) : undefined;
      const clean = r() < 0.5;
      return {
        cmd,
        protocolId: "MQTT",
        protocolVersion: 4,
        clean,
        keepalive: int(r, 0, 65535),
        // An empty client id needs a clean session [MQTT-3.1.3-7].
        clientId: randomString(r, 30, clean ? 0 : 1),
        ...(username === undefined ? {} : { username }),
        ...(username !== undefined && r() < 0.8 ? { password: bytes(r, 80) } : {}),
        ...(r() < 0.3
          ? {
              will: {
                topic: topicName(r),
                payload: bytes(r, 40),
                qos: int(r, 0, 2) as 0 | 1 | 2,
                retain: r() < 0.5,
              },
            }
          : {}),
      } as Packet;
    }
    case "connack":
      return { cmd, sessionPresent: r() < 0.5, returnCode: int(r, 0, 5) } as Packet;
    case "publish": {
      const qos = int(r, 0, 2) as 0 | 1 | 2;
      return {
        cmd,
        topic: topicName(r),
        payload: bytes(r, 300),
        qos,
        dup: qos > 0 && r() < 0.3,
        retain: r() < 0.3,
        ...(qos > 0 ? { messageId: id(r) } : {}),
      } as Packet;
    }
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
    case "unsuback":
      return { cmd, messageId: id(r) } as Packet;
    case "subscribe":
      return {
        cmd,
        messageId: id(r),
        subscriptions: Array.from({ length: int(r, 1, 4) }, () => ({
          topic: topicFilter(r),
          qos: int(r, 0, 2),
        })),
      } as Packet;
    case "suback":
      return {
        cmd,
        messageId: id(r),
        granted: Array.from({ length: int(r, 1, 4) }, () => pick(r, [0, 1, 2, 128])),
      } as Packet;
    case "unsubscribe":
      return {
        cmd,
        messageId: id(r),
        unsubscriptions: Array.from({ length: int(r, 1, 4) }, () => topicFilter(r)),
      } as Packet;
    default:
      return { cmd } as Packet;
  }
}

/** The fields of a parsed packet that round-trip (mqtt-packet adds `length`, `topic: null`, …). */
export function essence(p: Packet): Record<string, unknown> {
  const a = p as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { cmd: p.cmd };
  for (const k of [
    "protocolId",
    "protocolVersion",
    "clean",
    "keepalive",
    "clientId",
    "username",
    "sessionPresent",
    "returnCode",
    "messageId",
    "granted",
    "unsubscriptions",
  ]) {
    if (a[k] !== undefined && a[k] !== null) out[k] = a[k];
  }
  // mqtt-packet sets qos/dup/retain on every parsed packet; they mean something on PUBLISH only.
  if (p.cmd === "publish")
    Object.assign(out, { topic: a["topic"], qos: a["qos"], dup: a["dup"], retain: a["retain"] });
  for (const k of ["payload", "password"])
    if (a[k] != null) out[k] = Buffer.from(a[k] as Buffer).toString("hex");
  if (a["will"]) {
    const w = a["will"] as Record<string, unknown>;
    out["will"] = {
      topic: w["topic"],
      qos: w["qos"],
      retain: w["retain"],
      payload: Buffer.from(w["payload"] as Buffer).toString("hex"),
    };
  }
  if (a["subscriptions"])
    out["subscriptions"] = (a["subscriptions"] as Array<{ topic: string; qos: number }>).map((s) => ({
      topic: s.topic,
      qos: s.qos,
    }));
  // A QoS 0 PUBLISH has no flags mqtt-packet would echo for dup.
  if (p.cmd === "publish" && out["qos"] === 0) delete out["dup"];
  return out;
}

/** A valid client session: a CONNECT, then `n` client packets, each as its own buffer. */
export function validSession(r: Rand, n: number): Buffer[] {
  const out = [generate(connectOf(r))];
  for (let i = 0; i < n; i++) {
    let p = randomPacket(r, true);
    while (p.cmd === "connect") p = randomPacket(r, true);
    out.push(generate(p));
  }
  return out;
}

function connectOf(r: Rand): Packet {
  for (;;) {
    const p = randomPacket(r, true);
    if (p.cmd === "connect") return p;
  }
}

/** Splits `buf` at 0–`maxCuts` random points (sometimes byte by byte). */
export function randomChunks(r: Rand, buf: Buffer, maxCuts = 8): Buffer[] {
  if (buf.length > 1 && r() < 0.02) return [...buf].map((b) => Buffer.from([b]));
  const cuts = Array.from({ length: int(r, 0, maxCuts) }, () => int(r, 0, buf.length)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of cuts) {
    out.push(buf.subarray(at, c));
    at = c;
  }
  out.push(buf.subarray(at));
  return out;
}

/** One mutation of a packet: bit flips, byte edits in the header and length, inserts, cuts, splices. */
export function mutatePacket(r: Rand, packet: Buffer, other?: Buffer): Buffer {
  const b = Buffer.from(packet);
  const at = () => int(r, 0, Math.max(0, b.length - 1));
  switch (int(r, 0, 9)) {
    case 0: // flip 1–4 bits anywhere
      for (let k = int(r, 1, 4); k > 0 && b.length > 0; k--) b[at()]! ^= 1 << int(r, 0, 7);
      return b;
    case 1: // type and flags
      if (b.length > 0) b[0] = r() < 0.5 ? (b[0]! & 0xf0) | int(r, 0, 15) : int(r, 0, 255);
      return b;
    case 2: // a remaining-length byte
      if (b.length > 1)
        b[int(r, 1, Math.min(4, b.length - 1))] = pick(r, [0x00, 0x01, 0x7f, 0x80, 0xff, int(r, 0, 255)]);
      return b;
    case 3: // a length-prefixed field's length (the two bytes after the fixed header, or anywhere)
      if (b.length > 3) {
        const p = r() < 0.5 ? 2 : int(r, 2, b.length - 2);
        b.writeUInt16BE(pick(r, [0, 1, 0xffff, int(r, 0, 0xffff), b.length]), Math.min(p, b.length - 2));
      }
      return b;
    case 4: // truncate
      return b.subarray(0, int(r, 0, b.length));
    case 5: // insert random bytes
      return Buffer.concat([b.subarray(0, (() => at())()), bytes(r, 16), b.subarray(at())]);
    case 6: // delete a range
      return ((s) => Buffer.concat([b.subarray(0, s), b.subarray(Math.min(b.length, s + int(r, 1, 8)))]))(
        at(),
      );
    case 7: // splice with another packet
      return other ? Buffer.concat([b.subarray(0, at()), other.subarray(int(r, 0, other.length))]) : b;
    case 8: // duplicate a range
      return ((s) =>
        Buffer.concat([
          b.subarray(0, s + 1),
          b.subarray(s, Math.min(b.length, s + int(r, 1, 16))),
          b.subarray(s + 1),
        ]))(at());
    default: // set interesting bytes
      for (let k = int(r, 1, 3); k > 0 && b.length > 0; k--)
        b[at()] = pick(r, [0x00, 0xff, 0x7f, 0x80, 0xc0, 0xed, 0x23, 0x2b]);
      return b;
  }
}

/**
 * One fuzz input for the guarded parser: half random buffers (0–511 bytes; a valid CONNECT header
 * byte 80 % of the time, as mqtt-packet's testRandom), half valid sessions with 1–3 mutated packets.
 */
export function fuzzInput(r: Rand): { kind: "random" | "mutated"; bytes: Buffer } {
  if (r() < 0.5) {
    const buf = bytes(r, 511);
    if (buf.length > 0 && r() < 0.8) buf[0] = r() < 0.7 ? 0x10 : int(r, 1, 15) << 4;
    // Often after a valid CONNECT, so the parser gets past the first packet.
    return { kind: "random", bytes: r() < 0.5 ? Buffer.concat([generate(connectOf(r)), buf]) : buf };
  }
  const session = validSession(r, int(r, 1, 6));
  for (let k = int(r, 1, 3); k > 0; k--) {
    const i = int(r, r() < 0.1 ? 0 : 1, session.length - 1);
    session[i] = mutatePacket(r, session[i]!, pick(r, session));
  }
  return { kind: "mutated", bytes: Buffer.concat(session) };
}

export type Outcome = "packets" | "error" | "needs-more";

export interface GuardedResult {
  outcome: Outcome;
  packets: Packet[];
  /** The guard's violation or the parser's error message. */
  error?: string;
  /** Most bytes the parser held between chunks: the start of an incomplete packet. */
  maxBuffered: number;
}

/**
 * Feeds `chunks` through the gateway's read path: MqttFrameGuard decides per chunk, as
 * GuardedConnection does, and passes clean chunks to a fresh mqtt-packet parser. Stops at the first
 * violation or parser error, as the gateway closes the connection there.
 */
export function feedGuarded(chunks: readonly Buffer[], maxPacketBytes: number): GuardedResult {
  const guard = new MqttFrameGuard(maxPacketBytes);
  const p = parser({ protocolVersion: 4 });
  const packets: Packet[] = [];
  let error: string | undefined;
  p.on("packet", (packet: Packet) => packets.push(packet));
  p.on("error", (err: Error) => {
    error ??= err.message;
  });
  let maxBuffered = 0;
  let buffered = 0;
  for (const chunk of chunks) {
    const violation = guard.scan(chunk);
    if (violation) return { outcome: "error", packets, error: violation, maxBuffered };
    buffered = p.parse(chunk);
    // After an error the parser keeps the rest of the chunk unread; the connection is closed then.
    if (error) return { outcome: "error", packets, error, maxBuffered };
    maxBuffered = Math.max(maxBuffered, buffered);
  }
  return { outcome: buffered > 0 ? "needs-more" : "packets", packets, maxBuffered };
}

/** Limits the inputs run against: small ones make the size check bite often. */
const LIMITS = [64, 512, 4096, 256 * 1024];
/** An input taking longer than this (twice in a row) counts as slow. */
const SLOW_MS = 100;

/** The generator of input `i` of run `seed`: each input is reproducible on its own. */
export function inputRand(seed: number, i: number): Rand {
  return rng((seed + Math.imul(i, 0x9e3779b9)) >>> 0);
}

/** A full garbage collection, without starting node with --expose-gc. */
export function gcNow(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

export interface ParserFuzzFigures {
  seed: number;
  inputs: number;
  random: number;
  mutated: number;
  chunks: number;
  bytes: number;
  outcomes: Record<Outcome, number>;
  packetsParsed: number;
  uncaughtExceptions: number;
  /** Inputs over 100 ms when run again on their own; first tries over 100 ms (machine pauses included). */
  slowInputs: number;
  slowFirstTries: number;
  maxInputMs: number;
  /** Inputs the parser buffered beyond the limit + 5 bytes for. */
  overBuffered: number;
  heapGrowthMb: number;
  seconds: number;
  /** The first few failing inputs: index, what went wrong, the bytes in hex. */
  failures: string[];
}

/**
 * Feeds `inputs` fuzz inputs (fewer if `maxSeconds` runs out) through the guarded parser in random
 * chunk splits, counting exceptions, slow inputs and over-buffering instead of stopping at the first.
 */
export function runParserFuzz(o: { seed: number; inputs: number; maxSeconds: number }): ParserFuzzFigures {
  const gc = gcNow();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const f: ParserFuzzFigures = {
    seed: o.seed,
    inputs: 0,
    random: 0,
    mutated: 0,
    chunks: 0,
    bytes: 0,
    outcomes: { packets: 0, error: 0, "needs-more": 0 },
    packetsParsed: 0,
    uncaughtExceptions: 0,
    slowInputs: 0,
    slowFirstTries: 0,
    maxInputMs: 0,
    overBuffered: 0,
    heapGrowthMb: 0,
    seconds: 0,
    failures: [],
  };
  const fail = (i: number, what: string, bytes: Buffer) => {
    if (f.failures.length < 5) f.failures.push(`input ${i}: ${what}; bytes ${bytes.toString("hex")}`);
  };
  const started = performance.now();
  const deadline = started + o.maxSeconds * 1000;
  for (let i = 0; i < o.inputs; i++) {
    if ((i & 1023) === 0 && performance.now() > deadline) break;
    const r = inputRand(o.seed, i);
    const input = fuzzInput(r);
    const max = pick(r, LIMITS);
    const chunks = randomChunks(r, input.bytes);
    const t0 = performance.now();
    let res: GuardedResult;
    try {
      res = feedGuarded(chunks, max);
    } catch (err) {
      f.uncaughtExceptions++;
      fail(i, `threw ${(err as Error).message}`, input.bytes);
      continue;
    } finally {
      f.inputs++;
    }
    let ms = performance.now() - t0;
    if (ms > SLOW_MS) {
      // Once more on its own: a slow input, not a pause of the machine (GC, other processes).
      f.slowFirstTries++;
      const t1 = performance.now();
      feedGuarded(chunks, max);
      ms = performance.now() - t1;
      if (ms > SLOW_MS) {
        f.slowInputs++;
        fail(i, `took ${ms.toFixed(1)} ms`, input.bytes);
      }
    }
    f.maxInputMs = Math.max(f.maxInputMs, ms);
    if (res.maxBuffered > max + 5) {
      f.overBuffered++;
      fail(i, `the parser held ${res.maxBuffered} bytes with a ${max}-byte limit`, input.bytes);
    }
    f.outcomes[res.outcome]++;
    f[input.kind]++;
    f.packetsParsed += res.packets.length;
    f.chunks += chunks.length;
    f.bytes += input.bytes.length;
  }
  f.seconds = Math.round((performance.now() - started) / 100) / 10;
  f.maxInputMs = Math.round(f.maxInputMs * 100) / 100;
  gc();
  f.heapGrowthMb = Math.round(((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20) * 10) / 10;
  return f;
}
