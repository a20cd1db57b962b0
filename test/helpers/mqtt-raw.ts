/**
 * Raw MQTT over TLS for protocol tests: a socket that sends arbitrary bytes and collects what the
 * server answers (parsed with mqtt-packet) and when it closed. No MQTT client logic at all, so a
 * test can send what no client library would.
 */
import net from "node:net";
import tls from "node:tls";
import { type Packet, parser } from "mqtt-packet";

/** Rejects when `p` does not settle within `ms`; the timer never outlives the wait. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where a raw connection goes: the MQTT port and the CA that signed the server certificate. */
export interface RawTarget {
  port: number;
  ca: string;
}

/** A socket speaking raw MQTT bytes: collects the packets the server sends and when it closed. */
export class RawClient {
  /** A TLS socket, except from `openPlain`. */
  readonly socket: tls.TLSSocket;
  readonly opened = Date.now();
  /** Milliseconds from open to close. */
  readonly closed: Promise<number>;
  /** The TLS session ticket the server sent, to resume with on the next connection. */
  tlsSession: Buffer | undefined;
  /** Set when the server sent bytes the client-side parser could not read. */
  unreadable: Error | undefined;
  #packets: Packet[] = [];
  #wake: (() => void) | undefined;
  #isClosed = false;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    const p = parser({ protocolVersion: 4 });
    p.on("packet", (packet: Packet) => {
      this.#packets.push(packet);
      this.#wake?.();
    });
    p.on("error", (err: Error) => {
      this.unreadable = err;
    });
    socket.on("data", (chunk: Buffer) => p.parse(chunk));
    // Resets are expected when the server drops a violating connection.
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#isClosed = true;
        this.#wake?.();
        resolve(Date.now() - this.opened);
      }),
    );
  }

  /**
   * A TLS connection to the MQTT port, resolved after the handshake. `session` resumes an earlier
   * TLS session (see `tlsSession`), which spares both sides the certificate work of a full handshake.
   */
  static async open(target: RawTarget, timeoutMs = 5000, session?: Buffer): Promise<RawClient> {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: target.port,
      ca: target.ca,
      servername: "localhost",
      ...(session ? { session } : {}),
    });
    const client = new RawClient(socket);
    socket.once("session", (s: Buffer) => {
      client.tlsSession = s;
    });
    try {
      await within(
        new Promise<void>((resolve, reject) => {
          socket.once("secureConnect", () => resolve());
          socket.once("error", reject);
        }),
        timeoutMs,
        "the TLS handshake",
      );
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return client;
  }

  /** A bare TCP connection to the MQTT port, for what a client does before (or instead of) TLS. */
  static async openPlain(target: RawTarget, timeoutMs = 5000): Promise<RawClient> {
    const socket = net.connect({ host: "127.0.0.1", port: target.port });
    // Only the socket methods of net.Socket are used on a plain connection.
    const client = new RawClient(socket as tls.TLSSocket);
    try {
      await within(
        new Promise<void>((resolve, reject) => {
          socket.once("connect", () => resolve());
          socket.once("error", reject);
        }),
        timeoutMs,
        "the TCP connection",
      );
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return client;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Packets received and not yet taken by `next`. */
  pending(): Packet[] {
    return this.#packets.splice(0);
  }

  /** The next packet from the server; rejects if the connection closes first. */
  async next(ms = 3000): Promise<Packet> {
    const deadline = Date.now() + ms;
    for (;;) {
      const p = this.#packets.shift();
      if (p) return p;
      if (this.#isClosed) throw new Error("connection closed before the expected packet");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${ms} ms`);
      await within(
        new Promise<void>((resolve) => {
          this.#wake = resolve;
        }),
        left,
        "a packet",
      ).finally(() => {
        this.#wake = undefined;
      });
    }
  }

  /** Waits for the server to close the connection; returns ms since open. */
  async expectClosed(ms: number, what: string): Promise<number> {
    return within(this.closed, ms, `the server to close the connection (${what})`);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
