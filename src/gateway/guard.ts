import { Duplex } from "node:stream";

/** Why the guard closed a connection. */
export type GuardViolation = "packet_too_large" | "malformed_length" | "first_packet_not_connect";

const CONNECT = 1;

/**
 * Frames the raw MQTT byte stream before the parser sees it, enforcing what the parser lacks:
 * a maximum packet size decided from the fixed header, **before** the body is buffered, and
 * CONNECT as the first packet [MQTT-3.1.0-1]. The parser (mqtt-packet) would otherwise buffer a
 * declared 256 MiB body byte by byte. Only counters are kept: constant memory per connection.
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

  constructor(maxPacketBytes: number) {
    this.#max = maxPacketBytes;
  }

  /** Scans a chunk; returns a violation as soon as one is seen, else undefined. */
  scan(chunk: Buffer): GuardViolation | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === "body") {
        const take = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) this.#state = "header";
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#state === "header") {
        this.#type = byte >> 4;
        if (this.#packets === 0 && this.#type !== CONNECT) return "first_packet_not_connect";
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
      this.#packets++;
      this.#remaining = this.#length;
      this.#state = this.#remaining > 0 ? "body" : "header";
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
