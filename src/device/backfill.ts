import { PumpwatchError } from "../core/errors.js";
import type { PacketBody } from "./batch.js";
import type { PacketQueue } from "./queue.js";

interface Job {
  packets: PacketBody[];
  next: number;
  lastSeq: number;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Feeds historical packets into the queue only as fast as they leave it: a backfill of a month must
 * neither fill the disk nor push live data out of a bounded queue, yet the sender must never wait.
 * So about two windows of backfill packets are kept queued; each delivery tops them up.
 */
export class Backfiller {
  readonly #queue: PacketQueue;
  readonly #ahead: number;
  readonly #push: (p: PacketBody) => number | undefined;
  #jobs: Job[] = [];

  /** `push` queues one packet and returns its seq (undefined if it could not be queued). */
  constructor(queue: PacketQueue, window: number, push: (p: PacketBody) => number | undefined) {
    this.#queue = queue;
    this.#ahead = 2 * window;
    this.#push = push;
  }

  get pending(): boolean {
    return this.#jobs.length > 0;
  }

  /** Resolves once every packet was acknowledged (or dropped by a full queue). */
  add(packets: PacketBody[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#jobs.push({ packets, next: 0, lastSeq: 0, resolve, reject });
      this.feed();
    });
  }

  /** Tops up the queue; call after each delivery. */
  feed(): void {
    let job = this.#jobs[0];
    while (job) {
      while (job.next < job.packets.length && this.#queue.stats().packets < this.#ahead) {
        job.lastSeq = this.#push(job.packets[job.next++]!) ?? job.lastSeq;
      }
      if (job.next < job.packets.length) return;
      // The queue is FIFO: once its head is past the job's last packet, all of it is gone.
      const head = this.#queue.headSeq();
      if (head !== undefined && head <= job.lastSeq) return;
      this.#jobs.shift();
      job.resolve();
      job = this.#jobs[0];
    }
  }

  /** The agent closes: the part not yet queued is not sent. */
  abort(): void {
    for (const j of this.#jobs.splice(0)) {
      j.reject(
        new PumpwatchError(
          "UNAVAILABLE",
          `agent closed; ${j.packets.length - j.next} backfill packets not queued`,
        ),
      );
    }
  }
}
