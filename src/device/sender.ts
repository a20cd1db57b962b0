import type { PacketQueue, QueuedPacket } from "./queue.js";

/** Publishes one packet at QoS 1 and calls `done` on its PUBACK, or with an error when it never comes. */
export type Publish = (mid: string, body: string, done: (err?: Error) => void) => void;

export interface SenderEvents {
  /** A packet was acknowledged and removed from the queue. */
  delivered(packet: QueuedPacket): void;
  /** Nothing is in flight any more (after `pause`, or the queue ran empty). */
  idle(): void;
}

/**
 * Drains the queue over one connection at a time, oldest first, with at most `window` packets
 * waiting for their PUBACK: the gateway answers only after its group commit, so the window is what
 * "at a rate the gateway accepts" means. A packet leaves the queue only on its PUBACK. After a
 * reconnect everything still queued is sent again from the head with its original message id, and
 * the gateway's de-duplication makes that exactly-once.
 */
export class Sender {
  readonly #queue: PacketQueue;
  readonly #window: number;
  readonly #events: SenderEvents;
  #publish: Publish | undefined;
  /** Bumped on every attach/detach, so acknowledgements of an old connection are ignored. */
  #generation = 0;
  /** Highest seq sent on this connection. */
  #cursor = 0;
  #inflight = 0;
  #paused = false;

  constructor(queue: PacketQueue, window: number, events: SenderEvents) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError("window must be an integer ≥ 1");
    this.#queue = queue;
    this.#window = window;
    this.#events = events;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Starts sending over a new connection, from the head of the queue. */
  attach(publish: Publish): void {
    this.#generation++;
    this.#publish = publish;
    this.#cursor = 0;
    this.#inflight = 0;
    this.#paused = false;
    this.pump();
  }

  /** The connection is gone: whatever was in flight stays queued for the next one. */
  detach(): void {
    this.#generation++;
    this.#publish = undefined;
    this.#inflight = 0;
  }

  /** Stops sending new packets (before a token renewal); `idle` fires when in-flight ones are acknowledged. */
  pause(): void {
    this.#paused = true;
    if (this.#inflight === 0) this.#events.idle();
  }

  /** Sends queued packets while the window has room. Call after queueing new packets. */
  pump(): void {
    const publish = this.#publish;
    if (!publish || this.#paused) return;
    const room = this.#window - this.#inflight;
    if (room <= 0) return;
    const generation = this.#generation;
    for (const p of this.#queue.peek(this.#cursor, room)) {
      this.#cursor = p.seq;
      this.#inflight++;
      publish(p.mid, p.body, (err) => this.#acked(generation, p, err));
      // A publish may fail synchronously and detach us.
      if (generation !== this.#generation) return;
    }
  }

  #acked(generation: number, p: QueuedPacket, err: Error | undefined): void {
    if (generation !== this.#generation) return;
    // Without a PUBACK the packet stays queued; the connection's close re-sends it from the head.
    if (err) return;
    this.#inflight--;
    // Stored by the gateway even if a full queue dropped it meanwhile (then it is also counted as dropped).
    this.#queue.remove(p.seq);
    this.#events.delivered(p);
    if (this.#paused) {
      if (this.#inflight === 0) this.#events.idle();
      return;
    }
    this.pump();
    if (this.#inflight === 0) this.#events.idle();
  }
}
