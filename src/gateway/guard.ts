import { isUtf8 } from "node:buffer";
import { Duplex } from "node:stream";

/** Why the guard closed a connection. */
export type GuardViolation =
  | "packet_too_large"
  | "malformed_length"
  | "first_packet_not_connect"
  | "malformed_packet"
  | "forbidden_packet_type"
  | "packet_id_zero"
  | "invalid_utf8";

const CONNECT = 1;
const PUBLISH = 3;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;
/** Reserved (0, 15) and server-to-client types: CONNACK, SUBACK, UNSUBACK, PINGRESP (table 2.1). */
const NOT_FROM_CLIENTS: ReadonlySet<number> = new Set([0, 2, 9, 11, 13, 15]);

/**
 * Remaining length of the packets that carry exactly a packet id (PUBACK, PUBREC, PUBREL, PUBCOMP:
 * §3.4.1–3.7.1) or nothing (PINGREQ §3.12.1, DISCONNECT §3.14.1). mqtt-packet reads a packet id
 * past the end of a shorter packet, out of the next one, and ignores a longer one's extra bytes.
 */
const EXACT_LENGTH: ReadonlyMap<number, number> = new Map([
  [4, 2],
  [5, 2],
  [6, 2],
  [7, 2],
  [12, 0],
  [14, 0],
]);

/**
 * Frames the raw MQTT byte stream before the parser sees it, enforcing what the parser lacks:
 * a maximum packet size decided from the fixed header, **before** the body is buffered, and
 * CONNECT as the first packet [MQTT-3.1.0-1]. The parser (mqtt-packet) would otherwise buffer a
 * declared 256 MiB body byte by byte. It also refuses lengths that do not fit the packet type and
 * packet id 0, and checks UNSUBSCRIBE filters (`#startBody`). Only counters are kept, plus the body
 * of an UNSUBSCRIBE: at most the maximum packet size per connection.
 */
export class MqttFrameGuard {
  readonly #max: number;
  #state: "header" | "length" | "body" = "header";
  #type = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;
  #packets = 0;
  #first = 0;
  /** Bytes of the current body already scanned. */
  #bodyPos = 0;
  /** A 16-bit field of the body being read: PUBLISH topic length, then the packet id. */
  #field: "topicLength" | "packetId" | undefined;
  #fieldAt = 0;
  #fieldBytes = 0;
  #fieldValue = 0;
  /** The body of an UNSUBSCRIBE (at most the maximum packet size), checked when complete. */
  #collected: Buffer[] | undefined;

  constructor(maxPacketBytes: number) {
    this.#max = maxPacketBytes;
  }

  /** Scans a chunk; returns a violation as soon as one is seen, else undefined. */
  scan(chunk: Buffer): GuardViolation | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === "body") {
        const take = Math.min(this.#remaining, chunk.length - i);
        const bad = this.#inspect(chunk, i, take);
        if (bad) return bad;
        this.#collected?.push(Buffer.from(chunk.subarray(i, i + take)));
        this.#remaining -= take;
        this.#bodyPos += take;
        i += take;
        if (this.#remaining === 0) {
          const end = this.#endOfBody();
          if (end) return end;
          this.#state = "header";
        }
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#state === "header") {
        this.#first = byte;
        this.#type = byte >> 4;
        if (this.#packets === 0 && this.#type !== CONNECT) return "first_packet_not_connect";
        // Reserved types and packets only a server sends close at once, not after a declared body
        // has arrived (Mosquitto 2.0.21: "RESERVED packet not quickly disconnected") [MQTT-4.8.0-1].
        if (NOT_FROM_CLIENTS.has(this.#type)) return "forbidden_packet_type";
        this.#state = "length";
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      // Remaining length: at most four bytes, 7 bits each, continuation in the top bit (§2.2.3).
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes === 4) return "malformed_length";
        continue;
      }
      // 1 header byte + length bytes + body.
      if (1 + this.#lengthBytes + this.#length > this.#max) return "packet_too_large";
      const bad = this.#startBody();
      if (bad) return bad;
      this.#packets++;
      this.#remaining = this.#length;
      this.#state = this.#remaining > 0 ? "body" : "header";
    }
    return undefined;
  }

  /**
   * Checks a packet's declared length against its type before the body, and chooses what of the
   * body to read: the packet id that must not be 0 [MQTT-2.3.1-1], the topic filters of an
   * UNSUBSCRIBE, which no authorization hook sees, that must be well-formed UTF-8 without U+0000
   * [MQTT-1.5.3-1], [MQTT-1.5.3-2].
   */
  #startBody(): GuardViolation | undefined {
    const exact = EXACT_LENGTH.get(this.#type);
    if (exact !== undefined && this.#length !== exact) return "malformed_packet";
    this.#bodyPos = 0;
    this.#field = undefined;
    this.#fieldBytes = 0;
    this.#fieldValue = 0;
    this.#collected = undefined;
    if (this.#type === PUBLISH && (this.#first & 0x06) !== 0) {
      // Topic length, topic, packet id.
      if (this.#length < 4) return "malformed_packet";
      this.#field = "topicLength";
      this.#fieldAt = 0;
    } else if (this.#type === PUBLISH) {
      if (this.#length < 2) return "malformed_packet";
    } else if (this.#type === SUBSCRIBE || this.#type === UNSUBSCRIBE) {
      // Packet id and at least one filter: its length (and a QoS byte for SUBSCRIBE) [MQTT-3.8.3-3],
      // [MQTT-3.10.3-2].
      if (this.#length < (this.#type === SUBSCRIBE ? 5 : 4)) return "malformed_packet";
      this.#field = "packetId";
      this.#fieldAt = 0;
      if (this.#type === UNSUBSCRIBE) this.#collected = [];
    }
    return undefined;
  }

  /** Reads the 16-bit fields chosen by `#startBody` from `take` body bytes at `chunk[start]`. */
  #inspect(chunk: Buffer, start: number, take: number): GuardViolation | undefined {
    while (this.#field !== undefined) {
      const at = this.#fieldAt + this.#fieldBytes;
      if (at >= this.#bodyPos + take) return undefined;
      this.#fieldValue = (this.#fieldValue << 8) | chunk[start + at - this.#bodyPos]!;
      if (++this.#fieldBytes < 2) continue;
      const value = this.#fieldValue;
      this.#fieldBytes = 0;
      this.#fieldValue = 0;
      if (this.#field === "topicLength") {
        // The packet id follows the topic and must lie inside the packet.
        if (2 + value + 2 > this.#length) return "malformed_packet";
        this.#field = "packetId";
        this.#fieldAt = 2 + value;
      } else {
        this.#field = undefined;
        if (value === 0) return "packet_id_zero";
      }
    }
    return undefined;
  }

  #endOfBody(): GuardViolation | undefined {
    if (!this.#collected) return undefined;
    const body = Buffer.concat(this.#collected);
    this.#collected = undefined;
    for (let pos = 2; pos < body.length; ) {
      if (pos + 2 > body.length) return "malformed_packet";
      const end = pos + 2 + body.readUInt16BE(pos);
      if (end > body.length) return "malformed_packet";
      const filter = body.subarray(pos + 2, end);
      if (!isUtf8(filter) || filter.includes(0)) return "invalid_utf8";
      pos = end;
    }
    return undefined;
  }
}

/**
 * A duplex that passes an MQTT connection through an `MqttFrameGuard`: what the broker reads has
 * been checked, what it writes goes straight to the socket. A violation destroys the socket and
 * calls `onViolation`.
 */
export class GuardedConnection extends Duplex {
  readonly socket: Duplex & { remoteAddress?: string | undefined };
  readonly #guard: MqttFrameGuard;

  constructor(
    socket: Duplex & { remoteAddress?: string | undefined },
    maxPacketBytes: number,
    onViolation: (v: GuardViolation) => void,
  ) {
    super({ allowHalfOpen: false });
    this.socket = socket;
    this.#guard = new MqttFrameGuard(maxPacketBytes);
    socket.on("data", (chunk: Buffer) => {
      const violation = this.#guard.scan(chunk);
      if (violation) {
        onViolation(violation);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed) {
      cb(new Error("connection closed"));
      return;
    }
    this.socket.write(chunk, cb);
  }

  /**
   * mqtt-packet corks the stream and writes a packet in pieces (a PUBACK is two 2-byte writes), and
   * aedes writes a client's PUBACKs of one group commit in the same tick. Passing the corked pieces
   * on as one write makes one TLS record and one syscall for all of them, as aedes gets when it
   * writes to a TLS socket directly, instead of one per piece (measured in docs/benchmarks.md).
   */
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed) {
      cb(new Error("connection closed"));
      return;
    }
    this.socket.write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
