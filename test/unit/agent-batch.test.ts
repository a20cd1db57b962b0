import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Sample } from "../../src/core/sample.js";
import { encodeSample, splitIntoPackets } from "../../src/device/batch.js";
import { parseHostPort } from "../../src/device/endpoint.js";
import { telemetryTopic } from "../../src/device/hub.js";
import { CONSTANT_VALUES } from "../../src/device/sources.js";
import { parsePublishTopic } from "../../src/gateway/topics.js";
import { decodeTelemetry } from "../../src/ingest/telemetry.js";

const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);

function samples(n: number, values: Record<string, number> = { oilTemperature: 62.5, running: 1 }): Sample[] {
  return Array.from({ length: n }, (_, i) => ({ ts: T0 + i * 250, values }));
}

describe("telemetry batching", () => {
  it("encodes a sample with an ISO-8601 UTC millisecond timestamp", () => {
    assert.equal(
      encodeSample({ ts: T0 + 250, values: { inletPressure: 0.8 } }),
      '{"ts":"2026-11-27T09:00:00.250Z","values":{"inletPressure":0.8}}',
    );
  });

  it("produces the batch form of docs/telemetry.md in original order", () => {
    const { packets } = splitIntoPackets(samples(3));
    assert.equal(packets.length, 1);
    const doc = JSON.parse(packets[0]!.body) as { samples: { ts: string }[] };
    assert.deepEqual(Object.keys(doc), ["samples"]);
    assert.deepEqual(
      doc.samples.map((s) => Date.parse(s.ts)),
      [T0, T0 + 250, T0 + 500],
    );
    assert.equal(packets[0]!.samples, 3);
  });

  it("splits by the per-packet sample limit", () => {
    const { packets } = splitIntoPackets(samples(25), { maxSamples: 10, maxBytes: 1 << 20 });
    assert.deepEqual(
      packets.map((p) => p.samples),
      [10, 10, 5],
    );
  });

  it("keeps every packet within the byte limit, without losing or reordering samples", () => {
    const maxBytes = 1000;
    const input = samples(123);
    const { packets, oversized } = splitIntoPackets(input, { maxSamples: 10_000, maxBytes });
    assert.equal(oversized, 0);
    assert.ok(packets.length > 1);
    for (const p of packets)
      assert.ok(Buffer.byteLength(p.body) <= maxBytes, `${Buffer.byteLength(p.body)} bytes`);
    const ts = packets.flatMap((p) =>
      (JSON.parse(p.body) as { samples: { ts: string }[] }).samples.map((s) => Date.parse(s.ts)),
    );
    assert.deepEqual(
      ts,
      input.map((s) => s.ts),
    );
  });

  it("fills a packet exactly up to the byte limit", () => {
    const one = Buffer.byteLength(encodeSample(samples(1)[0]!));
    const maxBytes = `{"samples":[]}`.length + 3 * one + 2;
    const { packets } = splitIntoPackets(samples(4), { maxSamples: 100, maxBytes });
    assert.deepEqual(
      packets.map((p) => p.samples),
      [3, 1],
    );
    assert.equal(Buffer.byteLength(packets[0]!.body), maxBytes);
  });

  it("skips and counts a sample too large for any packet", () => {
    const big: Sample = {
      ts: T0,
      values: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`signal${i}`, i])),
    };
    const { packets, oversized } = splitIntoPackets([samples(1)[0]!, big], { maxSamples: 10, maxBytes: 200 });
    assert.equal(oversized, 1);
    assert.deepEqual(
      packets.map((p) => p.samples),
      [1],
    );
  });

  it("is accepted by the server's telemetry decoder with every sample intact", () => {
    const { packets } = splitIntoPackets(samples(5, { ...CONSTANT_VALUES }));
    const decoded = decodeTelemetry(Buffer.from(packets[0]!.body), {
      nowMs: T0,
      maxFutureMs: 300_000,
      maxSamples: 10_000,
    });
    assert.ok(decoded.ok, JSON.stringify(decoded));
    assert.deepEqual(decoded.samples, samples(5, { ...CONSTANT_VALUES }));
  });
});

describe("agent topics and endpoints", () => {
  it("names the message id, content type and encoding in the telemetry property bag", () => {
    const topic = telemetryTopic("pump-1", "4f1c-mid");
    assert.equal(
      topic,
      "devices/pump-1/messages/events/%24.mid=4f1c-mid&%24.ct=application%2Fjson&%24.ce=utf-8",
    );
    const parsed = parsePublishTopic(topic);
    assert.equal(parsed?.kind, "telemetry");
    assert.equal(parsed?.kind === "telemetry" && parsed.properties.get("$.mid"), "4f1c-mid");
  });

  it("reads host and port of a DPS endpoint or assigned hub", () => {
    assert.deepEqual(parseHostPort("localhost:40197"), { host: "localhost", port: 40197 });
    assert.deepEqual(parseHostPort("pumps.example.com"), { host: "pumps.example.com", port: 8883 });
    assert.deepEqual(parseHostPort("[::1]:9000"), { host: "::1", port: 9000 });
    assert.throws(() => parseHostPort("host:99999"));
    assert.throws(() => parseHostPort("a:b:c"));
  });
});
