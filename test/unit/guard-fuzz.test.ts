/**
 * The gateway's read path — MqttFrameGuard in front of mqtt-packet's parser — under random and
 * mutated input in random chunk splits, and its properties: generate→parse round trips, the same
 * packets and the same verdict however a stream is split. Seeded: the seed is printed, and
 * PUMPWATCH_FUZZ_SEED=<seed> replays a run (PUMPWATCH_FUZZ_INPUTS changes the count).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { generate, type Packet, parser } from "mqtt-packet";
import { type GuardViolation, MqttFrameGuard } from "../../src/gateway/guard.js";
import {
  essence,
  feedGuarded,
  fuzzInput,
  fuzzSeed,
  randomChunks,
  randomPacket,
  runParserFuzz,
  validSession,
} from "../helpers/mqtt-fuzz.js";
import { int, pick, rng } from "../helpers/random.js";

const SEED = fuzzSeed("PUMPWATCH_FUZZ_SEED");
const INPUTS = Number(process.env["PUMPWATCH_FUZZ_INPUTS"] ?? 100_000);
const PROPERTY_RUNS = 10_000;
/** Limits the verdict property runs against: small ones make the size check bite often. */
const LIMITS = [64, 512, 4096, 256 * 1024];

function parseAll(chunks: readonly Buffer[]): Packet[] {
  const p = parser({ protocolVersion: 4 });
  const out: Packet[] = [];
  p.on("packet", (x: Packet) => out.push(x));
  p.on("error", (err: Error) => {
    throw err;
  });
  for (const c of chunks) p.parse(c);
  return out;
}

function scanVerdict(chunks: readonly Buffer[], max: number): GuardViolation | undefined {
  const g = new MqttFrameGuard(max);
  for (const c of chunks) {
    const v = g.scan(c);
    if (v) return v;
  }
  return undefined;
}

const figures: Record<string, unknown> = { seed: SEED };

after(() => {
  console.log(JSON.stringify({ guardFuzz: figures }));
});

describe(`guarded MQTT parser under fuzz (PUMPWATCH_FUZZ_SEED=${SEED})`, () => {
  it(`${INPUTS.toLocaleString("en")} random and mutated inputs in random chunk splits: no exception, bounded time and buffering`, () => {
    const f = runParserFuzz({ seed: SEED, inputs: INPUTS, maxSeconds: 50 });
    Object.assign(figures, f);
    assert.deepEqual(f.failures, [], `failing inputs (replay with PUMPWATCH_FUZZ_SEED=${SEED})`);
    assert.equal(f.inputs, INPUTS, `only ${f.inputs} inputs within the time limit`);
    assert.equal(f.outcomes.packets + f.outcomes.error + f.outcomes["needs-more"], f.inputs);
    // Every class of ending is reached, so the generator is not stuck in one corner.
    for (const [k, n] of Object.entries(f.outcomes) as Array<[string, number]>)
      assert.ok(n > 0, `no input ended in ${k}`);
    assert.equal(
      f.slowInputs,
      0,
      `${f.slowInputs} inputs took more than 100 ms (slowest ${f.maxInputMs} ms)`,
    );
    assert.ok(f.heapGrowthMb < 20, `heap grew by ${f.heapGrowthMb} MB`);
  });

  it(`generate → parse gives back every packet type (${PROPERTY_RUNS.toLocaleString("en")} packets)`, () => {
    const r = rng(SEED ^ 0x5a5a5a5a);
    const seen = new Set<string>();
    for (let i = 0; i < PROPERTY_RUNS; i++) {
      const p = randomPacket(r);
      const wire = generate(p);
      const [back, ...rest] = parseAll([wire]);
      assert.equal(rest.length, 0);
      assert.ok(back, `packet ${i} (${p.cmd}) did not parse: ${wire.toString("hex")}`);
      assert.deepEqual(essence(back), essence(p), `packet ${i} (${p.cmd}): ${wire.toString("hex")}`);
      seen.add(p.cmd);
    }
    assert.equal(seen.size, 14, `types covered: ${[...seen].join(", ")}`);
    figures["roundTrips"] = PROPERTY_RUNS;
  });

  it(`any chunking of a valid session gives the same packets through the guard (${PROPERTY_RUNS.toLocaleString("en")} sessions)`, () => {
    const r = rng(SEED ^ 0x0c0ffee0);
    for (let i = 0; i < PROPERTY_RUNS; i++) {
      const stream = Buffer.concat(validSession(r, int(r, 1, 8)));
      const whole = feedGuarded([stream], 256 * 1024);
      assert.equal(whole.outcome, "packets", `session ${i}: ${whole.error} ${stream.toString("hex")}`);
      const split = feedGuarded(randomChunks(r, stream, 12), 256 * 1024);
      assert.equal(split.outcome, "packets", `session ${i} split: ${split.error}`);
      assert.deepEqual(split.packets.map(essence), whole.packets.map(essence), `session ${i}`);
    }
    figures["chunkingRuns"] = PROPERTY_RUNS;
  });

  it(`the guard's verdict does not depend on the chunking (${PROPERTY_RUNS.toLocaleString("en")} fuzz inputs)`, () => {
    const r = rng(SEED ^ 0x13579bdf);
    let violations = 0;
    for (let i = 0; i < PROPERTY_RUNS; i++) {
      const { bytes } = fuzzInput(r);
      const max = pick(r, LIMITS);
      const whole = scanVerdict([bytes], max);
      if (whole) violations++;
      assert.equal(
        scanVerdict(randomChunks(r, bytes, 12), max),
        whole,
        `input ${i}: ${bytes.toString("hex")}`,
      );
    }
    assert.ok(violations > 0);
    figures["verdictRuns"] = PROPERTY_RUNS;
  });
});

describe("MqttFrameGuard: lengths and packet ids the parser does not check", () => {
  const connect = generate({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clientId: "pump-0001",
    clean: true,
    keepalive: 60,
  });
  const ping = Buffer.from([0xc0, 0x00]);

  /** The verdict for `stream` split in two at every byte: all must be `expected`. */
  function verdictAtEverySplit(stream: Buffer, expected: GuardViolation | undefined): void {
    for (let cut = 0; cut <= stream.length; cut++) {
      assert.equal(
        scanVerdict([stream.subarray(0, cut), stream.subarray(cut)], 1024),
        expected,
        `split at ${cut}: ${stream.toString("hex")}`,
      );
    }
  }

  const publish = (qos: 0 | 1, messageId: number, topic = "devices/pump-0001/messages/events/") =>
    generate({
      cmd: "publish",
      topic,
      payload: Buffer.from("{}"),
      qos,
      messageId,
      dup: false,
      retain: false,
    });

  it("accepts packet ids from 1 and refuses 0 in PUBLISH, SUBSCRIBE and UNSUBSCRIBE", () => {
    verdictAtEverySplit(
      Buffer.concat([connect, publish(1, 1), publish(1, 65535), publish(0, 0), ping]),
      undefined,
    );
    verdictAtEverySplit(Buffer.concat([connect, publish(1, 0)]), "packet_id_zero");
    // A long topic puts the packet id behind a 2-byte remaining length.
    verdictAtEverySplit(
      Buffer.concat([connect, publish(1, 0, `devices/${"x".repeat(300)}`)]),
      "packet_id_zero",
    );
    const sub = (messageId: number) =>
      generate({ cmd: "subscribe", messageId, subscriptions: [{ topic: "a/#", qos: 1 }] });
    const unsub = (messageId: number) =>
      generate({ cmd: "unsubscribe", messageId, unsubscriptions: ["a/#"] });
    verdictAtEverySplit(Buffer.concat([connect, sub(9), unsub(9)]), undefined);
    verdictAtEverySplit(Buffer.concat([connect, sub(0)]), "packet_id_zero");
    verdictAtEverySplit(Buffer.concat([connect, unsub(0)]), "packet_id_zero");
  });

  it("refuses acknowledgements, PINGREQ and DISCONNECT of the wrong length", () => {
    for (const first of [0x40, 0x50, 0x62, 0x70]) {
      verdictAtEverySplit(Buffer.concat([connect, Buffer.from([first, 0x02, 0x00, 0x01]), ping]), undefined);
      for (const n of [0, 1, 3])
        verdictAtEverySplit(
          Buffer.concat([connect, Buffer.from([first, n]), Buffer.alloc(n, 1), ping]),
          "malformed_packet",
        );
    }
    for (const first of [0xc0, 0xe0]) {
      verdictAtEverySplit(Buffer.concat([connect, Buffer.from([first, 0x01, 0x00])]), "malformed_packet");
    }
  });

  it("refuses a QoS 1 PUBLISH whose packet id would lie outside the packet", () => {
    // Topic length 10, but only 11 body bytes: the id would be read from the next packet.
    const body = Buffer.concat([Buffer.from([0x00, 0x0a]), Buffer.from("devices/ab"), Buffer.from([0x00])]);
    verdictAtEverySplit(
      Buffer.concat([connect, Buffer.from([0x32, body.length]), body, ping]),
      "malformed_packet",
    );
    verdictAtEverySplit(
      Buffer.concat([connect, Buffer.from([0x32, 0x03, 0x00, 0x00, 0x00])]),
      "malformed_packet",
    );
    verdictAtEverySplit(Buffer.concat([connect, Buffer.from([0x30, 0x01, 0x00])]), "malformed_packet");
  });

  it("refuses SUBSCRIBE and UNSUBSCRIBE without a topic filter", () => {
    verdictAtEverySplit(Buffer.concat([connect, Buffer.from([0x82, 0x02, 0x00, 0x01])]), "malformed_packet");
    verdictAtEverySplit(Buffer.concat([connect, Buffer.from([0xa2, 0x02, 0x00, 0x01])]), "malformed_packet");
  });

  it("refuses UNSUBSCRIBE filters that are not well-formed UTF-8 or hold U+0000", () => {
    const unsub = (filter: Buffer) => {
      const body = Buffer.concat([Buffer.from([0x00, 0x05, 0x00, filter.length]), filter]);
      return Buffer.concat([Buffer.from([0xa2, body.length]), body]);
    };
    verdictAtEverySplit(Buffer.concat([connect, unsub(Buffer.from("a/é/€/😀")), ping]), undefined);
    for (const bad of [[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xff], [0x00]]) {
      verdictAtEverySplit(Buffer.concat([connect, unsub(Buffer.from([0x61, ...bad]))]), "invalid_utf8");
    }
    // A filter length running past the packet.
    verdictAtEverySplit(
      Buffer.concat([connect, Buffer.from([0xa2, 0x05, 0x00, 0x05, 0x00, 0x09, 0x61])]),
      "malformed_packet",
    );
  });
});
