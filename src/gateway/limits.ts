import type { Server, Socket } from "node:net";

/**
 * Rate limits of the device-facing side (docs/configuration.md § Limits, docs/security-limits.md):
 * token buckets per device (messages and bytes), per source address (new connections) and for
 * provisioning. Pure and clock-injected; memory is bounded by `maxKeys` per limiter.
 */

/**
 * A token bucket that may go into debt: `take` always succeeds and answers how long the caller must
 * wait until the balance is back at zero. Shaping (waiting that long) gives exactly `ratePerSec`
 * sustained after a burst of `burst`.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(ratePerSec: number, burst: number, now: number) {
    if (!(ratePerSec > 0 && burst >= 1)) throw new RangeError("token bucket needs rate > 0 and burst ≥ 1");
    this.#rate = ratePerSec / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#rate);
      this.#at = now;
    }
  }

  /** Milliseconds until `n` tokens would be available, without taking them. */
  waitFor(n: number, now: number): number {
    this.#refill(now);
    return this.#tokens >= n ? 0 : (n - this.#tokens) / this.#rate;
  }

  /** Takes `n` tokens (the balance may go negative); returns the wait until it is ≥ 0 again. */
  take(n: number, now: number): number {
    this.#refill(now);
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : -this.#tokens / this.#rate;
  }

  /** Takes `n` tokens only when they are there. */
  tryTake(n: number, now: number): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Full again: nothing to remember. */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#burst;
  }
}

/**
 * Buckets by key with bounded memory: beyond `maxKeys`, full buckets (keys that went quiet) are
 * dropped first, then the oldest. A dropped key starts again with a full bucket.
 */
export class KeyedBuckets {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(ratePerSec: number, burst: number, maxKeys = 100_000) {
    this.#rate = ratePerSec;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#buckets.size;
  }

  get(key: string, now: number): TokenBucket {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.#maxKeys) this.#evict(now);
      b = new TokenBucket(this.#rate, this.#burst, now);
      this.#buckets.set(key, b);
    }
    return b;
  }

  #evict(now: number): void {
    for (const [k, b] of this.#buckets) if (b.isFull(now)) this.#buckets.delete(k);
    while (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}

/** The `limits` config keys this module reads. */
export interface RateLimitConfig {
  deviceMessagesPerSec: number;
  deviceMessageBurst: number;
  deviceBytesPerSec: number;
  deviceByteBurst: number;
  throttleMaxDelayMs: number;
  connectionsPerIpPerSec: number;
  connectionBurstPerIp: number;
}

/** What `DeviceThrottle.admit` decided for one packet. */
export type Admission = { delayMs: number } | { refused: "rate_limited" };

/**
 * Per-device message and byte budgets (IoT Hub throttles per device and shapes traffic rather than
 * dropping it). A packet within budget goes on at once; over budget it is delayed — the PUBACK comes
 * later, and since the broker reads a connection's next bytes only after the packets it has are
 * answered, the device is slowed without costing other devices anything. A packet that would have to
 * wait longer than `throttleMaxDelayMs` closes the connection instead (`rate_limited`): the device
 * sends far above its budget, without waiting for PUBACKs.
 */
export class DeviceThrottle {
  readonly #o: RateLimitConfig;
  readonly #messages: KeyedBuckets;
  readonly #bytes: KeyedBuckets;
  readonly #now: () => number;

  constructor(o: RateLimitConfig, now: () => number = Date.now) {
    this.#o = o;
    this.#messages = new KeyedBuckets(o.deviceMessagesPerSec, o.deviceMessageBurst);
    this.#bytes = new KeyedBuckets(o.deviceBytesPerSec, o.deviceByteBurst);
    this.#now = now;
  }

  admit(deviceId: string, bytes: number): Admission {
    const now = this.#now();
    const m = this.#messages.get(deviceId, now);
    const b = this.#bytes.get(deviceId, now);
    // A packet larger than the byte burst can never fit: it waits only for the bucket to be full.
    const n = Math.min(bytes, this.#o.deviceByteBurst);
    const wait = Math.max(m.waitFor(1, now), b.waitFor(n, now));
    if (wait > this.#o.throttleMaxDelayMs) return { refused: "rate_limited" };
    return { delayMs: Math.ceil(Math.max(m.take(1, now), b.take(n, now))) };
  }
}

/**
 * New connections per source address on a listener, checked on accept before any TLS work: over
 * budget, the socket is destroyed at once and `onLimited` is called (at most once per address per
 * `logEveryMs`, with the count since the last call, so a storm makes a few log lines, not one each).
 * Returns the function that removes the check. Disabled when `ratePerSec` is 0.
 */
export function limitConnectionRate(
  server: Server,
  o: { ratePerSec: number; burst: number; logEveryMs?: number; now?: () => number },
  onRefused: () => void,
  onLimited: (info: { remote: string; refused: number }) => void,
): () => void {
  if (o.ratePerSec <= 0) return () => {};
  const now = o.now ?? Date.now;
  const logEveryMs = o.logEveryMs ?? 10_000;
  const buckets = new KeyedBuckets(o.ratePerSec, o.burst);
  const reported = new Map<string, { at: number; refused: number }>();
  const onConnection = (socket: Socket) => {
    const remote = socket.remoteAddress ?? "unknown";
    const t = now();
    if (buckets.get(remote, t).tryTake(1, t)) return;
    socket.destroy();
    onRefused();
    const r = reported.get(remote);
    if (r && t - r.at < logEveryMs) {
      r.refused++;
      return;
    }
    if (reported.size >= 10_000) reported.clear();
    reported.set(remote, { at: t, refused: 0 });
    onLimited({ remote, refused: (r?.refused ?? 0) + 1 });
  };
  // Before the TLS layer's own listener, so a refused socket costs no handshake.
  server.prependListener("connection", onConnection);
  return () => server.off("connection", onConnection);
}

/**
 * Caps the first packet (the CONNECT, checked by the frame guard to be one) below the general packet
 * limit, from its fixed header, before its body is buffered: an unauthenticated peer may not make the
 * server hold `maxPacketBytes` for the connect timeout. Detaches after the first header.
 */
export function limitConnectSize(
  socket: {
    prependListener(e: "data", l: (c: Buffer) => void): unknown;
    off(e: "data", l: (c: Buffer) => void): unknown;
    destroy(): void;
  },
  maxConnectBytes: number,
  onViolation: (reason: "connect_too_large") => void,
): void {
  let seen = 0;
  let length = 0;
  let multiplier = 1;
  const onData = (chunk: Buffer) => {
    for (const byte of chunk) {
      if (seen++ === 0) continue; // fixed header byte: its type is the frame guard's to check
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      // A continuation in the fourth byte is the guard's malformed_length; stop looking.
      if (byte & 0x80 && seen < 5) continue;
      socket.off("data", onData);
      if (seen + length > maxConnectBytes) {
        onViolation("connect_too_large");
        socket.destroy();
      }
      return;
    }
  };
  socket.prependListener("data", onData);
}
