import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generate } from "mqtt-packet";
import { type GuardViolation, MqttFrameGuard } from "../../src/gateway/guard.js";

const MAX = 256 * 1024;

const connect = generate({
  cmd: "connect",
  protocolId: "MQTT",
  protocolVersion: 4,
  clientId: "pump-0001",
  clean: false,
  keepalive: 180,
  username: "localhost/pump-0001/?api-version=2021-04-12",
  password: Buffer.from("SharedAccessSignature sr=x&sig=y&se=1"),
});

function publish(payloadBytes: number, topic = "devices/pump-0001/messages/events/%24.mid=m1"): Buffer {
  return generate({
    cmd: "publish",
    topic,
    // 0x10/0x30 bytes look like CONNECT/PUBLISH headers: a guard that lost track of the body would misread them.
    payload: Buffer.alloc(payloadBytes, 0x30),
    qos: 1,
    messageId: 7,
    retain: false,
    dup: false,
  });
}

const subscribe = generate({
  cmd: "subscribe",
  messageId: 8,
  subscriptions: [{ topic: "devices/pump-0001/messages/devicebound/#", qos: 1 }],
});
const pingreq = generate({ cmd: "pingreq" });
const disconnect = generate({ cmd: "disconnect" });

/** A PUBLISH whose whole encoded size (header + length bytes + body) is exactly `total`. */
function publishOfSize(total: number): Buffer {
  let payload = total - publish(0).length;
  for (;;) {
    const p = publish(payload);
    if (p.length === total) return p;
    payload -= p.length - total;
  }
}

interface Verdict {
  violation: GuardViolation | undefined;
  /** Index of the chunk whose scan reported the violation; -1 when none. */
  chunk: number;
}

function scanChunks(chunks: Buffer[], max = MAX): Verdict {
  const guard = new MqttFrameGuard(max);
  for (const [i, c] of chunks.entries()) {
    const violation = guard.scan(c);
    if (violation) return { violation, chunk: i };
  }
  return { violation: undefined, chunk: -1 };
}

/** Index of the byte at which a byte-at-a-time scan reports its violation (-1: none). */
function violationByte(stream: Buffer, max = MAX): Verdict {
  return scanChunks(
    [...stream].map((b) => Buffer.from([b])),
    max,
  );
}

/** Feeds `stream` whole, byte by byte, and split in two at every boundary: every verdict must agree. */
function assertSameVerdictAtEverySplit(
  stream: Buffer,
  expected: GuardViolation | undefined,
  max = MAX,
): void {
  assert.equal(scanChunks([stream], max).violation, expected, "whole stream");
  const bytewise = violationByte(stream, max);
  assert.equal(bytewise.violation, expected, "byte by byte");
  for (let cut = 0; cut <= stream.length; cut++) {
    const v = scanChunks([stream.subarray(0, cut), stream.subarray(cut)], max);
    assert.equal(v.violation, expected, `split at byte ${cut}`);
    if (expected !== undefined) {
      // Reported with the chunk that holds the decisive byte, never later.
      assert.equal(v.chunk, bytewise.chunk < cut ? 0 : 1, `split at byte ${cut}: reported late`);
    }
  }
}

describe("MqttFrameGuard", () => {
  it("accepts a well-formed session however the stream is split", () => {
    const stream = Buffer.concat([connect, subscribe, publish(1000), pingreq, publish(0), disconnect]);
    assertSameVerdictAtEverySplit(stream, undefined);
  });

  it("tracks bodies larger than 127 bytes (multi-byte remaining length) across splits", () => {
    const stream = Buffer.concat([connect, publish(200), publish(20_000), pingreq]);
    assertSameVerdictAtEverySplit(stream, undefined);
  });

  it("refuses an oversize packet with the same verdict at every split", () => {
    const stream = Buffer.concat([connect, publish(100), publishOfSize(MAX + 1)]);
    assertSameVerdictAtEverySplit(
      stream.subarray(0, connect.length + publish(100).length + 10),
      "packet_too_large",
    );
  });

  it("refuses a malformed length with the same verdict at every split", () => {
    const stream = Buffer.concat([connect, pingreq, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])]);
    assertSameVerdictAtEverySplit(stream, "malformed_length");
  });

  it("refuses a first packet that is not CONNECT with the same verdict at every split", () => {
    assertSameVerdictAtEverySplit(Buffer.concat([publish(10), connect]), "first_packet_not_connect");
    assertSameVerdictAtEverySplit(Buffer.concat([subscribe, connect]), "first_packet_not_connect");
  });

  it("refuses a declared oversize length from the fixed header alone, before any body byte", () => {
    // PUBLISH QoS 1 declaring 300 KiB: 0x32, then 307200 as a variable-length integer.
    const header = Buffer.from([0x32, 0x80, 0xe0, 0x12]);
    let n = 0;
    for (let i = 3; i >= 1; i--) n = n * 128 + (header[i]! & 0x7f);
    assert.equal(n, 300 * 1024);
    const guard = new MqttFrameGuard(MAX);
    assert.equal(guard.scan(connect), undefined);
    assert.equal(guard.scan(header), "packet_too_large");

    // Byte by byte: decided on the last length byte, i.e. with zero body bytes seen.
    const v = violationByte(Buffer.concat([connect, header]));
    assert.deepEqual(v, { violation: "packet_too_large", chunk: connect.length + header.length - 1 });
  });

  it("refuses an oversize CONNECT as the first packet", () => {
    const guard = new MqttFrameGuard(MAX);
    // CONNECT declaring 1 MiB (0x80 0x80 0x40 = 1048576).
    assert.equal(guard.scan(Buffer.from([0x10, 0x80, 0x80, 0x40])), "packet_too_large");
  });

  it("accepts a packet of exactly the maximum size and refuses one byte more", () => {
    const exact = publishOfSize(MAX);
    assert.equal(exact.length, MAX);
    assert.equal(scanChunks([connect, exact, pingreq]).violation, undefined);
    const over = publishOfSize(MAX + 1);
    assert.equal(over.length, MAX + 1);
    assert.equal(scanChunks([connect, over]).violation, "packet_too_large");
    // The size counts the fixed header too: a small limit shows the boundary precisely.
    const small = publishOfSize(2000);
    assert.equal(scanChunks([connect, small], 2000).violation, undefined);
    assert.equal(scanChunks([connect, small], 1999).violation, "packet_too_large");
  });

  it("treats a 5-byte remaining length as malformed, but accepts a 4-byte one", () => {
    const guard = new MqttFrameGuard(MAX);
    assert.equal(guard.scan(connect), undefined);
    assert.equal(guard.scan(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])), "malformed_length");
    // Also as the very first packet (a CONNECT header), decided on the 4th length byte.
    assert.deepEqual(violationByte(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f])), {
      violation: "malformed_length",
      chunk: 4,
    });
    // Four length bytes is the legal maximum (268435455): fine when the limit allows it.
    const big = new MqttFrameGuard(512 * 1024 * 1024);
    assert.equal(big.scan(connect), undefined);
    assert.equal(big.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])), undefined);
  });

  it("checks only the first packet for CONNECT", () => {
    assert.equal(scanChunks([connect, publish(5), connect]).violation, undefined);
    assert.equal(scanChunks([pingreq]).violation, "first_packet_not_connect");
    assert.equal(scanChunks([Buffer.from([0x00, 0x00])]).violation, "first_packet_not_connect");
  });
});
