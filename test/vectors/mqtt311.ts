/**
 * MQTT 3.1.1 conformance and violation vectors for the device-facing gateway, written from the
 * normative statements of the OASIS standard (mqtt-v3.1.1-os, Appendix B) in the layout of
 * Mosquitto's test/broker data: a name, the statement, the bytes a client sends and what the
 * gateway must answer — a packet, silence on an open connection, or a close without an answer.
 *
 * Expectations follow the gateway's documented policy (docs/architecture.md, docs/azure-compatibility.md):
 * Azure IoT Hub-compatible, so QoS 2 publishes close the connection, subscriptions are granted QoS 1
 * at most, only the device's own documented topics are served, and refusals are CONNACK 5. Where
 * that policy departs from the statement, `note` says how.
 */

/** What a vector knows of the device it connects as. */
export interface VectorContext {
  /** The device the connection authenticates as (its client id). */
  deviceId: string;
  /** Another registered device that is not connected. */
  otherDeviceId: string;
  /** User name and SAS password of `deviceId`, as the Azure SDK sends them. */
  username: string;
  password: string;
  /** The gateway's maximum packet size (header included). */
  maxPacketBytes: number;
  /** A fresh `$.mid` for telemetry. */
  mid(): string;
}

/**
 * `pre-connect`: the bytes are the first on a fresh TLS connection. `connected`: they follow a valid
 * CONNECT of `deviceId` that was answered CONNACK 0.
 */
export type Phase = "pre-connect" | "connected";

export type Expect =
  /** The server closes the connection without sending anything [MQTT-4.8.0-1]. */
  | { kind: "close" }
  /** A CONNACK with this return code; any code but 0 is followed by a close. */
  | { kind: "connack"; returnCode: number }
  | { kind: "puback"; messageId: number }
  | { kind: "pubrel"; messageId: number }
  | { kind: "pubcomp"; messageId: number }
  | { kind: "suback"; messageId: number; granted: number[] }
  | { kind: "unsuback"; messageId: number }
  | { kind: "pingresp" }
  /** A PUBLISH from the server whose topic starts with `topicPrefix` (twin responses). */
  | { kind: "publish"; topicPrefix: string }
  /** No answer, and the connection stays open (checked with PINGREQ → PINGRESP). */
  | { kind: "silent" };

export interface Vector {
  name: string;
  /** Normative statement id, e.g. "MQTT-3.1.2-1"; a section (§2.2.3) where the text has none. */
  statement: string;
  phase: Phase;
  bytes(ctx: VectorContext): Buffer;
  expect: Expect;
  /** Where the gateway's documented policy departs from the statement, or why it applies. */
  note?: string;
}

// ---------------------------------------------------------------------------------------------
// Encoders: every field by hand, so a vector can break any one of them.

/** Remaining length as the variable-length integer of §2.2.3 (shortest form). */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A 16-bit big-endian integer (§1.5.2). */
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** A length-prefixed string or binary field (§1.5.3). */
export function str(s: string | Buffer): Buffer {
  const b = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  return Buffer.concat([u16(b.length), b]);
}

/** A whole packet: first byte, remaining length (shortest form unless `length` is given), body. */
export function frame(first: number, body: Buffer = Buffer.alloc(0), length?: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first]), length ?? varint(body.length), body]);
}

export interface ConnectFields {
  protocolName?: string | Buffer;
  level?: number;
  /** The connect-flags byte as sent; computed from the fields present when absent. */
  flags?: number;
  clean?: boolean;
  keepalive?: number;
  clientId?: string | Buffer;
  will?: { topic: string | Buffer; payload?: Buffer; qos?: number; retain?: boolean };
  username?: string | Buffer;
  password?: string | Buffer;
  /** Bytes appended after the last field. */
  trailing?: Buffer;
}

/** CONNECT body (§3.1.2, §3.1.3); the fields present are the ones given. */
export function connectBody(f: ConnectFields): Buffer {
  let flags = 0;
  if (f.clean ?? true) flags |= 0x02;
  if (f.will) flags |= 0x04 | ((f.will.qos ?? 0) << 3) | (f.will.retain ? 0x20 : 0);
  if (f.password !== undefined) flags |= 0x40;
  if (f.username !== undefined) flags |= 0x80;
  const parts = [
    str(f.protocolName ?? "MQTT"),
    Buffer.from([f.level ?? 4, f.flags ?? flags]),
    u16(f.keepalive ?? 60),
    str(f.clientId ?? ""),
  ];
  if (f.will) parts.push(str(f.will.topic), str(f.will.payload ?? Buffer.from("{}")));
  if (f.username !== undefined) parts.push(str(f.username));
  if (f.password !== undefined) parts.push(str(f.password));
  if (f.trailing) parts.push(f.trailing);
  return Buffer.concat(parts);
}

/** A CONNECT of the context's device with valid credentials, changed by `f`. */
export function deviceConnect(ctx: VectorContext, f: ConnectFields = {}, first = 0x10): Buffer {
  return frame(
    first,
    connectBody({ clientId: ctx.deviceId, username: ctx.username, password: ctx.password, ...f }),
  );
}

export interface PublishFields {
  topic: string | Buffer;
  payload?: Buffer;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  messageId?: number;
}

/** PUBLISH (§3.3); the packet id is written for QoS > 0 only. */
export function publish(p: PublishFields, length?: Buffer): Buffer {
  const qos = p.qos ?? 1;
  const first = 0x30 | (p.dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0);
  const body = Buffer.concat([
    str(p.topic),
    qos > 0 ? u16(p.messageId ?? 1) : Buffer.alloc(0),
    p.payload ?? Buffer.alloc(0),
  ]);
  return frame(first, body, length);
}

/** SUBSCRIBE (§3.8): filters with their requested-QoS byte as sent. */
export function subscribe(
  messageId: number,
  filters: Array<[string | Buffer, number]>,
  first = 0x82,
): Buffer {
  const body = Buffer.concat([u16(messageId), ...filters.flatMap(([f, q]) => [str(f), Buffer.from([q])])]);
  return frame(first, body);
}

/** UNSUBSCRIBE (§3.10). */
export function unsubscribe(messageId: number, filters: Array<string | Buffer>, first = 0xa2): Buffer {
  return frame(first, Buffer.concat([u16(messageId), ...filters.map((f) => str(f))]));
}

export function telemetryTopic(deviceId: string, mid: string): string {
  return `devices/${deviceId}/messages/events/%24.mid=${encodeURIComponent(mid)}`;
}

export function sampleBody(): Buffer {
  return Buffer.from(
    JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 0.8, running: 1 } }),
  );
}

/** A valid QoS 1 telemetry PUBLISH of the context's device. */
function telemetry(ctx: VectorContext, messageId = 1, extra: Partial<PublishFields> = {}): Buffer {
  return publish({
    topic: telemetryTopic(ctx.deviceId, ctx.mid()),
    payload: sampleBody(),
    messageId,
    ...extra,
  });
}

function c2dFilter(ctx: VectorContext): string {
  return `devices/${ctx.deviceId}/messages/devicebound/#`;
}

// ---------------------------------------------------------------------------------------------
// The vectors.

const hex = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;
const CLOSE: Expect = { kind: "close" };
const SILENT: Expect = { kind: "silent" };

/**
 * Malformed UTF-8 (and U+0000) as it appears inside a string field. Each is placed after a valid
 * prefix so that only the encoding is at fault [MQTT-1.5.3-1], [MQTT-1.5.3-2].
 */
export const BAD_UTF8: ReadonlyArray<{ what: string; bytes: number[]; statement: string }> = [
  { what: "a lone continuation byte 0x80", bytes: [0x80], statement: "MQTT-1.5.3-1" },
  { what: "a 2-byte lead without continuation (C3 28)", bytes: [0xc3, 0x28], statement: "MQTT-1.5.3-1" },
  { what: "a truncated 3-byte sequence (E2 82)", bytes: [0xe2, 0x82], statement: "MQTT-1.5.3-1" },
  { what: "an overlong NUL (C0 80)", bytes: [0xc0, 0x80], statement: "MQTT-1.5.3-1" },
  { what: "an overlong slash (E0 80 AF)", bytes: [0xe0, 0x80, 0xaf], statement: "MQTT-1.5.3-1" },
  { what: "a high surrogate U+D800 (ED A0 80)", bytes: [0xed, 0xa0, 0x80], statement: "MQTT-1.5.3-1" },
  { what: "a low surrogate U+DFFF (ED BF BF)", bytes: [0xed, 0xbf, 0xbf], statement: "MQTT-1.5.3-1" },
  {
    what: "a code point above U+10FFFF (F4 90 80 80)",
    bytes: [0xf4, 0x90, 0x80, 0x80],
    statement: "MQTT-1.5.3-1",
  },
  { what: "the byte 0xFF", bytes: [0xff], statement: "MQTT-1.5.3-1" },
  { what: "the byte 0xFE", bytes: [0xfe], statement: "MQTT-1.5.3-1" },
  {
    what: "a 5-byte sequence (F8 88 80 80 80)",
    bytes: [0xf8, 0x88, 0x80, 0x80, 0x80],
    statement: "MQTT-1.5.3-1",
  },
  { what: "U+0000", bytes: [0x00], statement: "MQTT-1.5.3-2" },
];

function withBad(prefix: string, bad: readonly number[], suffix = ""): Buffer {
  return Buffer.concat([Buffer.from(prefix), Buffer.from(bad), Buffer.from(suffix)]);
}

/** A valid body for each client packet type, used when only the first byte is under test. */
function bodyFor(type: number, ctx: VectorContext): Buffer {
  switch (type) {
    case 1:
      return connectBody({ clientId: ctx.deviceId, username: ctx.username, password: ctx.password });
    case 2: // CONNACK: session present 0, return code 0
      return Buffer.from([0x00, 0x00]);
    case 3:
      return Buffer.concat([str(telemetryTopic(ctx.deviceId, ctx.mid())), sampleBody()]);
    case 8:
      return Buffer.concat([u16(5), str(c2dFilter(ctx)), Buffer.from([1])]);
    case 9: // SUBACK granting QoS 1
      return Buffer.concat([u16(5), Buffer.from([1])]);
    case 10:
      return Buffer.concat([u16(5), str(c2dFilter(ctx))]);
    case 4:
    case 5:
    case 6:
    case 7:
    case 11:
      return u16(7);
    default: // PINGREQ, PINGRESP, DISCONNECT, reserved 0 and 15
      return Buffer.alloc(0);
  }
}

const TYPE_NAMES = [
  "reserved type 0",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "reserved type 15",
];

/** Flags each fixed header must carry (table 2.2); undefined for PUBLISH, whose flags mean something. */
const REQUIRED_FLAGS: ReadonlyArray<number | undefined> = [
  undefined, // reserved: every value is a violation
  0,
  0,
  undefined,
  0,
  0,
  2,
  0,
  2,
  0,
  2,
  0,
  0,
  0,
  0,
  undefined, // reserved
];

const FLAG_STATEMENT: Record<number, string> = {
  6: "MQTT-3.6.1-1",
  8: "MQTT-3.8.1-1",
  10: "MQTT-3.10.1-1",
  14: "MQTT-3.14.1-1",
};

/** Every wrong fixed-header flag value of every packet type with reserved flags [MQTT-2.2.2-1/2]. */
function reservedFlagVectors(): Vector[] {
  const out: Vector[] = [];
  for (const type of [1, 4, 5, 6, 7, 8, 10, 12, 14]) {
    for (let flags = 0; flags < 16; flags++) {
      if (flags === REQUIRED_FLAGS[type]) continue;
      const first = (type << 4) | flags;
      out.push({
        name: `${TYPE_NAMES[type]} with fixed-header flags ${flags.toString(2).padStart(4, "0")} (${hex(first)})`,
        statement: FLAG_STATEMENT[type] ? `MQTT-2.2.2-2, ${FLAG_STATEMENT[type]}` : "MQTT-2.2.2-2",
        phase: type === 1 ? "pre-connect" : "connected",
        bytes: (ctx) => frame(first, bodyFor(type, ctx)),
        expect: CLOSE,
      });
    }
  }
  return out;
}

/** Packets only a server sends, and the reserved types, sent by a client: every flag value. */
function wrongDirectionVectors(): Vector[] {
  const out: Vector[] = [];
  for (const type of [2, 9, 11, 13, 0, 15]) {
    for (let flags = 0; flags < 16; flags++) {
      const first = (type << 4) | flags;
      const reserved = type === 0 || type === 15;
      out.push({
        name: `${TYPE_NAMES[type]} from the client, flags ${flags.toString(2).padStart(4, "0")} (${hex(first)})`,
        statement: reserved
          ? "§2.2.1 (table 2.1: reserved, forbidden), MQTT-4.8.0-1"
          : "§2.2.1 (direction), MQTT-4.8.0-1",
        phase: "connected",
        bytes: (ctx) => frame(first, bodyFor(type, ctx)),
        expect: CLOSE,
        ...(reserved ? {} : { note: "a server-to-client packet from a client is a protocol violation" }),
      });
    }
  }
  return out;
}

/**
 * Packets that cannot be valid whatever follows, declaring a body that never comes: closed from the
 * fixed header at once, not after the body or a timeout (Mosquitto 2.0.21: "RESERVED packet not
 * quickly disconnected").
 */
function hopelessHeaderVectors(): Vector[] {
  const out: Vector[] = [];
  for (const type of [0, 2, 9, 11, 13, 15, 4, 5, 6, 7, 12, 14]) {
    const first = (type << 4) | (REQUIRED_FLAGS[type] ?? 0);
    out.push({
      name: `${TYPE_NAMES[type]} (${hex(first)}) declaring 100 body bytes that never come`,
      statement:
        type === 0 || type === 15 || [2, 9, 11, 13].includes(type)
          ? "§2.2.1, MQTT-4.8.0-1"
          : "§2.2.3, MQTT-4.8.0-1",
      phase: "connected",
      bytes: () => Buffer.from([first, 100]),
      expect: CLOSE,
      note: "the type or the length alone is a violation",
    });
  }
  return out;
}

/** Every packet type but CONNECT as the first packet [MQTT-3.1.0-1]. */
function firstPacketVectors(): Vector[] {
  const out: Vector[] = [];
  for (let type = 0; type < 16; type++) {
    if (type === 1) continue;
    const first = (type << 4) | (REQUIRED_FLAGS[type] ?? (type === 3 ? 0x02 : 0));
    out.push({
      name: `${TYPE_NAMES[type]} (${hex(first)}) as the first packet`,
      statement: "MQTT-3.1.0-1",
      phase: "pre-connect",
      bytes: (ctx) => frame(first, bodyFor(type, ctx)),
      expect: CLOSE,
    });
  }
  return out;
}

/** Remaining-length encodings (§2.2.3): five bytes, the maximum, non-minimal forms, mismatches. */
function lengthVectors(): Vector[] {
  const five = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01]);
  const fiveZero = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x00]);
  const max = Buffer.from([0xff, 0xff, 0xff, 0x7f]); // 268,435,455
  const out: Vector[] = [];
  for (const [type, first, phase] of [
    [1, 0x10, "pre-connect"],
    [3, 0x32, "connected"],
    [3, 0x30, "connected"],
    [4, 0x40, "connected"],
    [6, 0x62, "connected"],
    [8, 0x82, "connected"],
    [10, 0xa2, "connected"],
    [12, 0xc0, "connected"],
    [14, 0xe0, "connected"],
  ] as const) {
    const name = `${TYPE_NAMES[type]} (${hex(first)})`;
    out.push(
      {
        name: `${name} with a 5-byte remaining length (ff ff ff ff 01)`,
        statement: "§2.2.3 (at most four bytes), MQTT-4.8.0-1",
        phase,
        bytes: () => Buffer.concat([Buffer.from([first]), five, Buffer.alloc(16)]),
        expect: CLOSE,
      },
      {
        name: `${name} with a 5-byte encoding of zero (80 80 80 80 00)`,
        statement: "§2.2.3 (at most four bytes), MQTT-4.8.0-1",
        phase,
        bytes: () => Buffer.concat([Buffer.from([first]), fiveZero]),
        expect: CLOSE,
      },
      {
        name: `${name} declaring the largest length, 268,435,455 (ff ff ff 7f)`,
        statement: "§2.2.3, MQTT-4.8.0-1",
        phase,
        bytes: () => Buffer.concat([Buffer.from([first]), max, Buffer.alloc(64)]),
        expect: CLOSE,
        note: "above the gateway's maximum packet size, refused from the fixed header before any body byte",
      },
    );
  }
  out.push(
    {
      name: "CONNECT declaring one byte more than the maximum packet size",
      statement: "§2.2.3, MQTT-4.8.0-1",
      phase: "pre-connect",
      bytes: (ctx) => Buffer.concat([Buffer.from([0x10]), varint(ctx.maxPacketBytes), Buffer.alloc(32)]),
      expect: CLOSE,
    },
    {
      name: "PUBLISH of exactly the maximum packet size is acknowledged",
      statement: "§2.2.3, MQTT-3.3.4-1",
      phase: "connected",
      bytes: (ctx) => publishOfSize(ctx, ctx.maxPacketBytes, 41),
      expect: { kind: "puback", messageId: 41 },
      note: "the payload is too large for telemetry: acknowledged and quarantined",
    },
    {
      name: "PUBLISH one byte larger than the maximum packet size",
      statement: "§2.2.3, MQTT-4.8.0-1",
      phase: "connected",
      bytes: (ctx) => publishOfSize(ctx, ctx.maxPacketBytes + 1, 42),
      expect: CLOSE,
    },
    {
      name: "PUBLISH with a 3-byte remaining length (20,000-byte payload)",
      statement: "§2.2.3, MQTT-3.3.4-1",
      phase: "connected",
      bytes: (ctx) =>
        publish({
          topic: telemetryTopic(ctx.deviceId, ctx.mid()),
          payload: Buffer.alloc(20_000, 0x20),
          messageId: 43,
        }),
      expect: { kind: "puback", messageId: 43 },
    },
    {
      name: "PINGREQ with a non-minimal 2-byte encoding of zero (80 00)",
      statement: "§2.2.3",
      phase: "connected",
      bytes: () => Buffer.from([0xc0, 0x80, 0x00]),
      expect: { kind: "pingresp" },
      note: "3.1.1 does not require the shortest encoding (MQTT 5 does, [MQTT-1.5.5-1]); the value decides",
    },
    {
      name: "PUBLISH with a non-minimal 4-byte remaining length",
      statement: "§2.2.3, MQTT-3.3.4-1",
      phase: "connected",
      bytes: (ctx) => {
        const p = telemetry(ctx, 44);
        const body = p.subarray(2);
        const n = body.length;
        return Buffer.concat([Buffer.from([0x32, 0x80 | (n & 0x7f), 0x80 | (n >> 7), 0x80, 0x00]), body]);
      },
      expect: { kind: "puback", messageId: 44 },
      note: "3.1.1 does not require the shortest encoding; the value decides",
    },
  );
  // Lengths that disagree with what the packet type carries.
  for (const [type, first, bodyLen] of [
    [4, 0x40, 0],
    [4, 0x40, 1],
    [4, 0x40, 3],
    [5, 0x50, 0],
    [5, 0x50, 1],
    [6, 0x62, 1],
    [6, 0x62, 4],
    [7, 0x70, 0],
    [7, 0x70, 3],
    [12, 0xc0, 1],
    [12, 0xc0, 2],
    [14, 0xe0, 1],
    [14, 0xe0, 2],
  ] as const) {
    out.push({
      name: `${TYPE_NAMES[type]} (${hex(first)}) with remaining length ${bodyLen}, followed by a PINGREQ`,
      statement: `§${type === 12 ? "3.12.1" : type === 14 ? "3.14.1" : `3.${type}.1`} (remaining length ${type >= 12 ? 0 : 2}), MQTT-4.8.0-1`,
      phase: "connected",
      // The PINGREQ behind it gives a parser that reads past the end something to read.
      bytes: () => Buffer.concat([frame(first, Buffer.alloc(bodyLen, 0x01)), Buffer.from([0xc0, 0x00])]),
      expect: CLOSE,
    });
  }
  out.push(
    {
      name: "PUBLISH QoS 1 without room for its packet id, followed by a PINGREQ",
      statement: "MQTT-2.3.1-1, MQTT-4.8.0-1",
      phase: "connected",
      bytes: (ctx) => {
        const topic = str(telemetryTopic(ctx.deviceId, ctx.mid()));
        return Buffer.concat([frame(0x32, topic), Buffer.from([0xc0, 0x00])]);
      },
      expect: CLOSE,
      note: "the parser would take the packet id from the next packet's bytes",
    },
    {
      name: "PUBLISH QoS 1 with one byte of packet id, followed by a PINGREQ",
      statement: "MQTT-2.3.1-1, MQTT-4.8.0-1",
      phase: "connected",
      bytes: (ctx) => {
        const topic = str(telemetryTopic(ctx.deviceId, ctx.mid()));
        return Buffer.concat([
          frame(0x32, Buffer.concat([topic, Buffer.from([0x00])])),
          Buffer.from([0xc0, 0x00]),
        ]);
      },
      expect: CLOSE,
    },
    {
      name: "PUBLISH whose topic length runs past the remaining length",
      statement: "MQTT-3.3.2-1, MQTT-4.8.0-1",
      phase: "connected",
      bytes: () =>
        Buffer.concat([
          frame(0x30, Buffer.concat([u16(200), Buffer.from("devices/")])),
          Buffer.from([0xc0, 0x00]),
        ]),
      expect: CLOSE,
    },
    {
      name: "PUBLISH with remaining length 1",
      statement: "MQTT-3.3.2-1, MQTT-4.8.0-1",
      phase: "connected",
      bytes: () => Buffer.concat([frame(0x30, Buffer.from([0x00])), Buffer.from([0xc0, 0x00])]),
      expect: CLOSE,
    },
    {
      name: "PUBLISH with remaining length 0",
      statement: "MQTT-3.3.2-1, MQTT-4.8.0-1",
      phase: "connected",
      bytes: () => Buffer.concat([frame(0x30), Buffer.from([0xc0, 0x00])]),
      expect: CLOSE,
    },
    {
      name: "SUBSCRIBE with remaining length 1, followed by a PINGREQ",
      statement: "MQTT-2.3.1-1, MQTT-4.8.0-1",
      phase: "connected",
      bytes: () => Buffer.concat([frame(0x82, Buffer.from([0x00])), Buffer.from([0xc0, 0x00])]),
      expect: CLOSE,
    },
    {
      name: "UNSUBSCRIBE with remaining length 1, followed by a PINGREQ",
      statement: "MQTT-2.3.1-1, MQTT-4.8.0-1",
      phase: "connected",
      bytes: () => Buffer.concat([frame(0xa2, Buffer.from([0x00])), Buffer.from([0xc0, 0x00])]),
      expect: CLOSE,
    },
    {
      name: "CONNECT with remaining length 8 (cut inside the connect flags)",
      statement: "MQTT-3.1.4-1",
      phase: "pre-connect",
      bytes: (ctx) =>
        Buffer.concat([frame(0x10, deviceConnect(ctx).subarray(2, 10)), Buffer.from([0xc0, 0x00])]),
      expect: CLOSE,
    },
    {
      name: "CONNECT whose client id length runs past the remaining length",
      statement: "MQTT-3.1.3-3, MQTT-3.1.4-1",
      phase: "pre-connect",
      bytes: () =>
        frame(
          0x10,
          Buffer.concat([str("MQTT"), Buffer.from([4, 0x02]), u16(60), u16(300), Buffer.from("abc")]),
        ),
      expect: CLOSE,
    },
  );
  return out;
}

/** A telemetry PUBLISH whose whole encoding is `total` bytes. */
function publishOfSize(ctx: VectorContext, total: number, messageId: number): Buffer {
  const topic = telemetryTopic(ctx.deviceId, ctx.mid());
  const bare = publish({ topic, messageId }).length;
  let payload = total - bare;
  for (;;) {
    const p = publish({ topic, messageId, payload: Buffer.alloc(payload, 0x20) });
    if (p.length === total) return p;
    payload -= p.length - total;
  }
}

function connectVectors(): Vector[] {
  const pre = (
    name: string,
    statement: string,
    bytes: (ctx: VectorContext) => Buffer,
    expect: Expect,
    note?: string,
  ): Vector => ({
    name: `CONNECT: ${name}`,
    statement,
    phase: "pre-connect",
    bytes,
    expect,
    ...(note ? { note } : {}),
  });
  const refused: Expect = { kind: "connack", returnCode: 5 };
  const ok: Expect = { kind: "connack", returnCode: 0 };
  const out: Vector[] = [
    pre("a valid CONNECT is accepted", "MQTT-3.1.4-4, MQTT-3.2.2-3", (ctx) => deviceConnect(ctx), ok),
    pre(
      "keep-alive 0 is accepted (the gateway applies its cap)",
      "MQTT-3.1.2-24",
      (ctx) => deviceConnect(ctx, { keepalive: 0 }),
      ok,
    ),
    pre(
      "keep-alive 65535 is accepted (the gateway applies its cap)",
      "MQTT-3.1.2-24",
      (ctx) => deviceConnect(ctx, { keepalive: 65535 }),
      ok,
    ),
    pre("clean session 0 is accepted", "MQTT-3.1.2-4", (ctx) => deviceConnect(ctx, { clean: false }), ok),
  ];
  for (const name of ["MQTs", "mqtt", "MQIsdp", "", "MQTT\u0000", "MQTTT", "MQ"]) {
    out.push(
      pre(
        `protocol name ${JSON.stringify(name)} with level 4`,
        "MQTT-3.1.2-1",
        (ctx) => deviceConnect(ctx, { protocolName: name }),
        CLOSE,
      ),
    );
  }
  for (const level of [0, 1, 2, 3, 5, 6, 0x83, 0x84, 0x85, 0xff]) {
    out.push(
      pre(
        `protocol level ${level} (${hex(level)})`,
        "MQTT-3.1.2-2",
        (ctx) =>
          deviceConnect(ctx, { level, ...(level === 3 || level === 0x83 ? { protocolName: "MQIsdp" } : {}) }),
        CLOSE,
        "the gateway speaks MQTT 3.1.1 only and closes at once; the statement asks for CONNACK 1 first",
      ),
    );
  }
  const userPassWill = 0x80 | 0x40;
  out.push(
    pre(
      "reserved connect flag (bit 0) set",
      "MQTT-3.1.2-3",
      (ctx) => deviceConnect(ctx, { flags: userPassWill | 0x02 | 0x01 }),
      CLOSE,
    ),
    pre(
      "Will QoS 1 without the Will flag",
      "MQTT-3.1.2-11, MQTT-3.1.2-13",
      (ctx) => deviceConnect(ctx, { flags: userPassWill | 0x02 | 0x08 }),
      CLOSE,
    ),
    pre(
      "Will QoS 2 without the Will flag",
      "MQTT-3.1.2-13",
      (ctx) => deviceConnect(ctx, { flags: userPassWill | 0x02 | 0x10 }),
      CLOSE,
    ),
    pre(
      "Will QoS 3 without the Will flag",
      "MQTT-3.1.2-13",
      (ctx) => deviceConnect(ctx, { flags: userPassWill | 0x02 | 0x18 }),
      CLOSE,
    ),
    pre(
      "Will Retain without the Will flag",
      "MQTT-3.1.2-15",
      (ctx) => deviceConnect(ctx, { flags: userPassWill | 0x02 | 0x20 }),
      CLOSE,
    ),
    pre(
      "Will flag set but no Will topic and message in the payload",
      "MQTT-3.1.2-9",
      (ctx) => deviceConnect(ctx, { flags: userPassWill | 0x02 | 0x04 }),
      CLOSE,
    ),
    pre(
      "Will QoS 3 with the Will flag",
      "MQTT-3.1.2-14",
      (ctx) => deviceConnect(ctx, { will: { topic: telemetryTopic(ctx.deviceId, "will"), qos: 3 } }),
      CLOSE,
    ),
    pre(
      "Will QoS 2 on the device's telemetry topic",
      "MQTT-3.1.2-14",
      (ctx) => deviceConnect(ctx, { will: { topic: telemetryTopic(ctx.deviceId, "will"), qos: 2 } }),
      CLOSE,
      "no QoS 2 on IoT Hub: a QoS 2 Will is refused like a QoS 2 PUBLISH",
    ),
    pre(
      "Will QoS 1 on the device's telemetry topic is accepted",
      "MQTT-3.1.2-8, MQTT-3.1.2-14",
      (ctx) => deviceConnect(ctx, { will: { topic: telemetryTopic(ctx.deviceId, "will"), qos: 1 } }),
      ok,
    ),
    pre(
      "Will topic with a wildcard (#)",
      "MQTT-3.3.2-2 (the Will is published as a PUBLISH)",
      (ctx) => deviceConnect(ctx, { will: { topic: `devices/${ctx.deviceId}/messages/events/#`, qos: 1 } }),
      CLOSE,
    ),
    pre(
      "Will topic with a wildcard (+)",
      "MQTT-3.3.2-2 (the Will is published as a PUBLISH)",
      (ctx) => deviceConnect(ctx, { will: { topic: "devices/+/messages/events/", qos: 0 } }),
      CLOSE,
    ),
    pre(
      "empty Will topic",
      "MQTT-4.7.3-1",
      (ctx) => deviceConnect(ctx, { will: { topic: "", qos: 0 } }),
      CLOSE,
    ),
    pre(
      "Will topic of another device",
      "MQTT-3.3.5-2",
      (ctx) => deviceConnect(ctx, { will: { topic: telemetryTopic(ctx.otherDeviceId, "will"), qos: 1 } }),
      CLOSE,
      "a Will may only go to the device's own telemetry topic, as on IoT Hub",
    ),
    pre(
      "Will topic outside the device's topics",
      "MQTT-3.3.5-2",
      (ctx) => deviceConnect(ctx, { will: { topic: "hello/world", qos: 0 } }),
      CLOSE,
    ),
    pre(
      "password without the user name flag",
      "MQTT-3.1.2-22",
      (ctx) => frame(0x10, connectBody({ clientId: ctx.deviceId, password: ctx.password })),
      CLOSE,
    ),
    pre(
      "user name flag set, user name missing",
      "MQTT-3.1.2-19",
      (ctx) => frame(0x10, connectBody({ clientId: ctx.deviceId, flags: 0x80 | 0x02 })),
      CLOSE,
    ),
    pre(
      "password flag set, password missing",
      "MQTT-3.1.2-21",
      (ctx) => frame(0x10, connectBody({ clientId: ctx.deviceId, username: ctx.username, flags: 0xc2 })),
      CLOSE,
    ),
    pre(
      "no user name and no password (handler must not crash)",
      "MQTT-3.1.2-18, MQTT-3.1.2-20",
      (ctx) => frame(0x10, connectBody({ clientId: ctx.deviceId })),
      refused,
    ),
    pre(
      "user name without password",
      "MQTT-3.1.2-20",
      (ctx) => frame(0x10, connectBody({ clientId: ctx.deviceId, username: ctx.username })),
      refused,
    ),
    pre("empty password", "MQTT-3.1.2-21", (ctx) => deviceConnect(ctx, { password: "" }), refused),
    pre("empty user name", "MQTT-3.1.2-19", (ctx) => deviceConnect(ctx, { username: "" }), refused),
    pre(
      "binary garbage as password",
      "MQTT-3.1.3-11",
      (ctx) => deviceConnect(ctx, { password: Buffer.from([0xff, 0x00, 0xfe]) }),
      refused,
    ),
    pre(
      "empty client id with clean session 0",
      "MQTT-3.1.3-8",
      (ctx) => deviceConnect(ctx, { clientId: "", clean: false }),
      refused,
      "the statement asks for CONNACK 2; the gateway refuses every client id but the device id with CONNACK 5, as IoT Hub",
    ),
    pre(
      "empty client id with clean session 1",
      "MQTT-3.1.3-6, MQTT-3.1.3-9",
      (ctx) => deviceConnect(ctx, { clientId: "", clean: true }),
      refused,
      "the server may assign an id; IoT Hub requires the device id",
    ),
    pre(
      "client id of another device",
      "MQTT-3.1.3-9",
      (ctx) => deviceConnect(ctx, { clientId: ctx.otherDeviceId }),
      refused,
    ),
    pre(
      "client id of 23 characters [0-9a-zA-Z] that is not the device id",
      "MQTT-3.1.3-5",
      (ctx) => deviceConnect(ctx, { clientId: "abcdefghijklmnopqrstuvw" }),
      refused,
    ),
    pre(
      "client id with a byte order mark in front (not stripped)",
      "MQTT-1.5.3-3",
      (ctx) => deviceConnect(ctx, { clientId: `\uFEFF${ctx.deviceId}` }),
      refused,
    ),
    pre(
      "client id with a control character U+0001",
      "§1.5.3",
      (ctx) => deviceConnect(ctx, { clientId: `${ctx.deviceId}\u0001` }),
      refused,
    ),
    pre(
      "client id of 4,000 characters",
      "MQTT-3.1.3-5",
      (ctx) => deviceConnect(ctx, { clientId: "d".repeat(4000) }),
      refused,
    ),
    pre(
      "user name naming a module",
      "MQTT-3.1.3-11",
      (ctx) => deviceConnect(ctx, { username: ctx.username.replace("/?", "/m1/?") }),
      refused,
    ),
    pre(
      "CONNECT with a byte after the password",
      "MQTT-3.1.4-1",
      (ctx) => deviceConnect(ctx, { trailing: Buffer.from([0x00]) }),
      ok,
      "mqtt-packet ignores bytes after the last field; 3.1.1 has no statement on them and the fields are intact",
    ),
  );
  // Malformed UTF-8 and U+0000 in each CONNECT string field: closed without a CONNACK.
  for (const bad of BAD_UTF8) {
    out.push(
      pre(
        `client id with ${bad.what}`,
        `${bad.statement}, MQTT-3.1.3-4`,
        (ctx) => deviceConnect(ctx, { clientId: withBad(ctx.deviceId, bad.bytes) }),
        CLOSE,
      ),
      pre(
        `user name with ${bad.what}`,
        `${bad.statement}, MQTT-3.1.3-11`,
        (ctx) => deviceConnect(ctx, { username: withBad(ctx.username, bad.bytes) }),
        CLOSE,
      ),
      pre(
        `Will topic with ${bad.what}`,
        `${bad.statement}, MQTT-3.1.3-10`,
        (ctx) =>
          deviceConnect(ctx, {
            will: { topic: withBad(telemetryTopic(ctx.deviceId, "w"), bad.bytes), qos: 1 },
          }),
        CLOSE,
      ),
    );
  }
  out.push({
    name: "a second CONNECT on the same connection",
    statement: "MQTT-3.1.0-2",
    phase: "connected",
    bytes: (ctx) => deviceConnect(ctx),
    expect: CLOSE,
  });
  out.push({
    name: "a second CONNECT with another client id",
    statement: "MQTT-3.1.0-2",
    phase: "connected",
    bytes: (ctx) => deviceConnect(ctx, { clientId: ctx.otherDeviceId }),
    expect: CLOSE,
  });
  return out;
}

function publishVectors(): Vector[] {
  const con = (
    name: string,
    statement: string,
    bytes: (ctx: VectorContext) => Buffer,
    expect: Expect,
    note?: string,
  ): Vector => ({
    name: `PUBLISH: ${name}`,
    statement,
    phase: "connected",
    bytes,
    expect,
    ...(note ? { note } : {}),
  });
  const out: Vector[] = [
    con("QoS 1 telemetry is acknowledged", "MQTT-3.3.4-1, MQTT-4.3.2-2", (ctx) => telemetry(ctx, 11), {
      kind: "puback",
      messageId: 11,
    }),
    con("QoS 1 telemetry with packet id 65535", "MQTT-2.3.1-1", (ctx) => telemetry(ctx, 65535), {
      kind: "puback",
      messageId: 65535,
    }),
    con("QoS 0 telemetry is not answered", "MQTT-3.3.4-1", (ctx) => telemetry(ctx, 0, { qos: 0 }), SILENT),
    con("QoS 1 with DUP set is acknowledged", "MQTT-3.3.1-1", (ctx) => telemetry(ctx, 12, { dup: true }), {
      kind: "puback",
      messageId: 12,
    }),
    con(
      "QoS 1 with RETAIN set is acknowledged",
      "MQTT-3.3.1-5",
      (ctx) => telemetry(ctx, 13, { retain: true }),
      { kind: "puback", messageId: 13 },
      "IoT Hub does not retain: the flag only travels with the message",
    ),
    con(
      "QoS 1 with DUP and RETAIN set is acknowledged",
      "MQTT-3.3.1-1",
      (ctx) => telemetry(ctx, 14, { dup: true, retain: true }),
      { kind: "puback", messageId: 14 },
    ),
    con(
      "QoS 0 with DUP set",
      "MQTT-3.3.1-2",
      (ctx) => telemetry(ctx, 0, { qos: 0, dup: true }),
      SILENT,
      "the statement binds the sender; the receiver has nothing to do",
    ),
    con("QoS 1 with packet id 0", "MQTT-2.3.1-1", (ctx) => telemetry(ctx, 0), CLOSE),
    con("QoS 1 with packet id 0 and DUP", "MQTT-2.3.1-1", (ctx) => telemetry(ctx, 0, { dup: true }), CLOSE),
    con(
      "twin GET at QoS 0 is answered on the twin response topic",
      "MQTT-3.3.4-1",
      () => publish({ topic: "$iothub/twin/GET/?$rid=7", payload: Buffer.from(" "), qos: 0 }),
      {
        kind: "publish",
        topicPrefix: "$iothub/twin/res/200/?$rid=7",
      },
    ),
  ];
  for (const [dup, retain] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const flags = `${dup ? " DUP" : ""}${retain ? " RETAIN" : ""}`;
    out.push(
      con(
        `QoS 2${flags} to the device's own telemetry topic`,
        "MQTT-3.3.4-1",
        (ctx) => telemetry(ctx, 21, { qos: 2, dup, retain }),
        CLOSE,
        "IoT Hub closes the connection on QoS 2 instead of PUBREC",
      ),
      con(
        `QoS 3${flags} (both QoS bits set)`,
        "MQTT-3.3.1-4",
        (ctx) => telemetry(ctx, 22, { qos: 3, dup, retain }),
        CLOSE,
      ),
    );
  }
  for (const [what, topic] of [
    ["#", () => "#"],
    ["+", () => "+"],
    ["a '+' device level", () => "devices/+/messages/events/"],
    ["a trailing '#'", (ctx: VectorContext) => `devices/${ctx.deviceId}/messages/events/#`],
    ["'+' in the property bag", (ctx: VectorContext) => `devices/${ctx.deviceId}/messages/events/a=+`],
    ["'#' in the property bag", (ctx: VectorContext) => `devices/${ctx.deviceId}/messages/events/a=#`],
  ] as const) {
    for (const qos of [0, 1]) {
      out.push(
        con(
          `QoS ${qos} topic name with ${what}`,
          "MQTT-3.3.2-2, MQTT-4.7.1-1",
          (ctx) => publish({ topic: topic(ctx), payload: sampleBody(), qos, messageId: 23 }),
          CLOSE,
        ),
      );
    }
  }
  out.push(
    con(
      "QoS 0 empty topic name",
      "MQTT-4.7.3-1",
      () => publish({ topic: "", payload: sampleBody(), qos: 0 }),
      CLOSE,
    ),
    con(
      "QoS 1 empty topic name",
      "MQTT-4.7.3-1",
      () => publish({ topic: "", payload: sampleBody(), qos: 1, messageId: 24 }),
      CLOSE,
    ),
    con(
      "topic name of 65,535 bytes outside the device's topics",
      "MQTT-4.7.3-3",
      () => publish({ topic: "devices/".padEnd(65535, "a"), qos: 1, messageId: 25 }),
      CLOSE,
      "the longest topic a string can hold",
    ),
    con(
      "topic of another device",
      "MQTT-3.3.5-2",
      (ctx) =>
        publish({ topic: telemetryTopic(ctx.otherDeviceId, "x"), payload: sampleBody(), messageId: 26 }),
      CLOSE,
      "IoT Hub closes; the statement allows a close",
    ),
    con(
      "topic outside the documented ones",
      "MQTT-3.3.5-2",
      () => publish({ topic: "hello/world", payload: sampleBody(), messageId: 27 }),
      CLOSE,
    ),
    con(
      "$SYS topic",
      "MQTT-3.3.5-2, MQTT-4.7.2-1",
      () => publish({ topic: "$SYS/broker/load", payload: sampleBody(), qos: 0 }),
      CLOSE,
    ),
    con(
      "DPS register topic on a hub connection",
      "MQTT-3.3.5-2",
      () =>
        publish({
          topic: "$dps/registrations/PUT/iotdps-register/?$rid=1",
          payload: Buffer.from("{}"),
          qos: 0,
        }),
      CLOSE,
    ),
    con(
      "telemetry topic spelled with a capital letter",
      "MQTT-4.7.3-4",
      (ctx) =>
        publish({ topic: `Devices/${ctx.deviceId}/messages/events/`, payload: sampleBody(), messageId: 28 }),
      CLOSE,
      "topics are compared without normalisation",
    ),
    con(
      "telemetry topic with a control character U+0001",
      "§1.5.3, MQTT-3.3.5-2",
      (ctx) =>
        publish({
          topic: withBad(telemetryTopic(ctx.deviceId, "c"), [0x01]),
          payload: sampleBody(),
          messageId: 29,
        }),
      CLOSE,
    ),
    con(
      "telemetry topic with a valid non-ASCII character (é)",
      "MQTT-3.3.5-2",
      (ctx) =>
        publish({ topic: `${telemetryTopic(ctx.deviceId, "c")}&k=é`, payload: sampleBody(), messageId: 30 }),
      CLOSE,
      "the Azure grammar is printable ASCII; UTF-8 is percent-encoded",
    ),
  );
  for (const bad of BAD_UTF8) {
    for (const qos of [0, 1]) {
      out.push(
        con(
          `QoS ${qos} topic name with ${bad.what}`,
          `${bad.statement}, MQTT-3.3.2-1`,
          (ctx) =>
            publish({
              topic: withBad(telemetryTopic(ctx.deviceId, "u"), bad.bytes),
              payload: sampleBody(),
              qos,
              messageId: 31,
            }),
          CLOSE,
        ),
      );
    }
  }
  return out;
}

function subscribeVectors(): Vector[] {
  const con = (
    name: string,
    statement: string,
    bytes: (ctx: VectorContext) => Buffer,
    expect: Expect,
    note?: string,
  ): Vector => ({
    name: `SUBSCRIBE: ${name}`,
    statement,
    phase: "connected",
    bytes,
    expect,
    ...(note ? { note } : {}),
  });
  const out: Vector[] = [
    con(
      "own cloud-to-device filter at QoS 1",
      "MQTT-3.8.4-1, MQTT-3.9.3-1",
      (ctx) => subscribe(51, [[c2dFilter(ctx), 1]]),
      { kind: "suback", messageId: 51, granted: [1] },
    ),
    con(
      "own cloud-to-device filter at QoS 0",
      "MQTT-3.8.4-1",
      (ctx) => subscribe(52, [[c2dFilter(ctx), 0]]),
      { kind: "suback", messageId: 52, granted: [0] },
    ),
    con(
      "own cloud-to-device filter at QoS 2 is granted QoS 1",
      "MQTT-3.8.4-5",
      (ctx) => subscribe(53, [[c2dFilter(ctx), 2]]),
      { kind: "suback", messageId: 53, granted: [1] },
      "IoT Hub grants at most QoS 1",
    ),
    con("twin response filter", "MQTT-3.8.4-1", () => subscribe(54, [["$iothub/twin/res/#", 0]]), {
      kind: "suback",
      messageId: 54,
      granted: [0],
    }),
    con(
      "twin desired-properties filter",
      "MQTT-3.8.4-1",
      () => subscribe(55, [["$iothub/twin/PATCH/properties/desired/#", 0]]),
      { kind: "suback", messageId: 55, granted: [0] },
    ),
    con("direct-method filter", "MQTT-3.8.4-1", () => subscribe(56, [["$iothub/methods/POST/#", 0]]), {
      kind: "suback",
      messageId: 56,
      granted: [0],
    }),
    con(
      "three filters in one SUBSCRIBE, answered in order",
      "MQTT-3.8.4-4, MQTT-3.9.3-1",
      (ctx) =>
        subscribe(57, [
          ["$iothub/methods/POST/#", 0],
          [c2dFilter(ctx), 2],
          ["$iothub/twin/res/#", 1],
        ]),
      { kind: "suback", messageId: 57, granted: [0, 1, 1] },
    ),
    con("packet id 0", "MQTT-2.3.1-1", (ctx) => subscribe(0, [[c2dFilter(ctx), 1]]), CLOSE),
    con("no topic filter at all", "MQTT-3.8.3-3", () => frame(0x82, u16(58)), CLOSE),
    con(
      "filter without its requested-QoS byte",
      "MQTT-3.8.3-1, MQTT-4.8.0-1",
      (ctx) => frame(0x82, Buffer.concat([u16(59), str(c2dFilter(ctx))])),
      CLOSE,
    ),
    con(
      "filter length running past the packet",
      "MQTT-3.8.3-1, MQTT-4.8.0-1",
      () => frame(0x82, Buffer.concat([u16(60), u16(400), Buffer.from("devices/")])),
      CLOSE,
    ),
    con("empty topic filter", "MQTT-4.7.3-1", () => subscribe(61, [["", 0]]), CLOSE),
    con(
      "filter #",
      "MQTT-3.8.4-1",
      () => subscribe(62, [["#", 0]]),
      CLOSE,
      "outside the device's own filters: IoT Hub closes",
    ),
    con("filter +/#", "MQTT-3.8.4-1", () => subscribe(63, [["+/#", 0]]), CLOSE),
    con(
      "another device's cloud-to-device filter",
      "MQTT-3.8.4-1",
      (ctx) => subscribe(64, [[`devices/${ctx.otherDeviceId}/messages/devicebound/#`, 1]]),
      CLOSE,
    ),
    con(
      "'#' not at the end (a/#/b)",
      "MQTT-4.7.1-2",
      (ctx) => subscribe(65, [[`devices/${ctx.deviceId}/#/b`, 0]]),
      CLOSE,
    ),
    con(
      "'+' not a whole level (dev+)",
      "MQTT-4.7.1-3",
      () => subscribe(66, [["devices/dev+/messages/devicebound/#", 0]]),
      CLOSE,
    ),
    con("$SYS filter", "MQTT-4.7.2-1", () => subscribe(67, [["$SYS/#", 0]]), CLOSE),
    con(
      "a good filter followed by a foreign one",
      "MQTT-3.8.4-1",
      (ctx) =>
        subscribe(68, [
          [c2dFilter(ctx), 1],
          ["#", 0],
        ]),
      CLOSE,
    ),
    con(
      "DPS response filter on a hub connection",
      "MQTT-3.8.4-1",
      () => subscribe(69, [["$dps/registrations/res/#", 0]]),
      CLOSE,
    ),
  ];
  for (const q of [3, 0x04, 0x05, 0x40, 0x80, 0x81, 0xfc, 0xff]) {
    out.push(
      con(
        `requested-QoS byte ${hex(q)}`,
        "MQTT-3.8.3-4",
        (ctx) => subscribe(70, [[c2dFilter(ctx), q]]),
        CLOSE,
        "reserved bits set or QoS not 0, 1 or 2: malformed",
      ),
    );
  }
  for (const bad of BAD_UTF8) {
    out.push(
      con(
        `topic filter with ${bad.what}`,
        `${bad.statement}, MQTT-3.8.3-1`,
        (ctx) =>
          subscribe(71, [[withBad(`devices/${ctx.deviceId}/messages/devicebound/`, bad.bytes, "#"), 1]]),
        CLOSE,
      ),
    );
  }
  return out;
}

function unsubscribeVectors(): Vector[] {
  const con = (
    name: string,
    statement: string,
    bytes: (ctx: VectorContext) => Buffer,
    expect: Expect,
    note?: string,
  ): Vector => ({
    name: `UNSUBSCRIBE: ${name}`,
    statement,
    phase: "connected",
    bytes,
    expect,
    ...(note ? { note } : {}),
  });
  const out: Vector[] = [
    con(
      "own filter (not subscribed) is answered",
      "MQTT-3.10.4-4, MQTT-3.10.4-5",
      (ctx) => unsubscribe(81, [c2dFilter(ctx)]),
      { kind: "unsuback", messageId: 81 },
    ),
    con("twin response filter is answered", "MQTT-3.10.4-4", () => unsubscribe(82, ["$iothub/twin/res/#"]), {
      kind: "unsuback",
      messageId: 82,
    }),
    con(
      "two filters are answered with one UNSUBACK",
      "MQTT-3.10.4-6",
      (ctx) => unsubscribe(83, [c2dFilter(ctx), "$iothub/methods/POST/#"]),
      { kind: "unsuback", messageId: 83 },
    ),
    con("packet id 0", "MQTT-2.3.1-1", (ctx) => unsubscribe(0, [c2dFilter(ctx)]), CLOSE),
    con("no topic filter at all", "MQTT-3.10.3-2", () => frame(0xa2, u16(84)), CLOSE),
    con("empty topic filter", "MQTT-4.7.3-1", () => unsubscribe(85, [""]), CLOSE),
    con(
      "filter length running past the packet",
      "MQTT-3.10.3-1, MQTT-4.8.0-1",
      () => frame(0xa2, Buffer.concat([u16(86), u16(300), Buffer.from("devices/")])),
      CLOSE,
    ),
    con("'#' not at the end", "MQTT-4.7.1-2", () => unsubscribe(87, ["a/#/b"]), CLOSE),
  ];
  for (const bad of BAD_UTF8) {
    out.push(
      con(
        `topic filter with ${bad.what}`,
        `${bad.statement}, MQTT-3.10.3-1`,
        (ctx) => unsubscribe(88, [withBad(`devices/${ctx.deviceId}/messages/devicebound/`, bad.bytes, "#")]),
        CLOSE,
      ),
    );
  }
  return out;
}

function otherVectors(): Vector[] {
  return [
    {
      name: "PINGREQ is answered with PINGRESP",
      statement: "MQTT-3.12.4-1",
      phase: "connected",
      bytes: () => Buffer.from([0xc0, 0x00]),
      expect: { kind: "pingresp" },
    },
    {
      name: "DISCONNECT: the server closes the connection",
      statement: "MQTT-3.14.4-1, MQTT-3.14.4-3",
      phase: "connected",
      bytes: () => Buffer.from([0xe0, 0x00]),
      expect: CLOSE,
    },
    {
      name: "PUBACK for a packet id never sent is ignored",
      statement: "MQTT-4.3.2-1",
      phase: "connected",
      bytes: () => frame(0x40, u16(9)),
      expect: SILENT,
    },
    {
      name: "PUBCOMP for a packet id never sent is ignored",
      statement: "MQTT-4.3.3-1",
      phase: "connected",
      bytes: () => frame(0x70, u16(9)),
      expect: SILENT,
    },
    {
      name: "PUBREL for a packet id never received is completed",
      statement: "MQTT-4.3.3-2",
      phase: "connected",
      bytes: () => frame(0x62, u16(9)),
      expect: { kind: "pubcomp", messageId: 9 },
    },
    {
      name: "PUBREC for a packet id never sent is released",
      statement: "MQTT-4.3.3-1",
      phase: "connected",
      bytes: () => frame(0x50, u16(9)),
      expect: { kind: "pubrel", messageId: 9 },
      note: "the gateway never sends QoS 2; the answer is harmless and the connection stays",
    },
  ];
}

/** The whole table. */
export const VECTORS: readonly Vector[] = [
  ...reservedFlagVectors(),
  ...wrongDirectionVectors(),
  ...hopelessHeaderVectors(),
  ...firstPacketVectors(),
  ...lengthVectors(),
  ...connectVectors(),
  ...publishVectors(),
  ...subscribeVectors(),
  ...unsubscribeVectors(),
  ...otherVectors(),
];

/** The statement ids a table covers, each with its number of vectors. */
export function statementCoverage(vectors: readonly Vector[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of vectors) {
    for (const id of v.statement.match(/MQTT-[0-9.]+-[0-9]+/g) ?? [])
      counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })));
}
