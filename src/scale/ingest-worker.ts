import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  type NatsConnection,
  nanos,
} from "nats";
import type { CommitOutcome, CommitUnit, TelemetryStore } from "../store/ports.js";
import { CONSUMER_NOT_FOUND, DEFAULT_STREAM, decodeUnit, isApiError, watchFetch } from "./jetstream.js";

export const DEFAULT_CONSUMER = "pumpwatch-ingest";

export interface IngestWorkerOptions {
  /** The worker's NATS connection; the caller owns it (and closes it after `stop()`). */
  nc: NatsConnection;
  store: TelemetryStore;
  /** Default PUMPWATCH_INGEST. */
  stream?: string;
  /** Durable consumer shared by all ingest workers; default "pumpwatch-ingest". */
  consumer?: string;
  /**
   * How long JetStream waits for a delivered unit's ack before handing it to another worker
   * (a worker that died holding it); default 30 s. Must exceed the slowest commit.
   */
  ackWaitMs?: number;
  /** Units delivered and not yet acked, over all workers of the consumer; default 4 × maxBatch. */
  maxAckPending?: number;
  /** Most units per store commit (and per pull request); default 500. */
  maxBatch?: number;
  /** After the first unit of a batch arrived, how long to wait for more; default 50 ms. */
  batchWindowMs?: number;
  /** Lifetime of one pull request (≥ 1000, the client's minimum); bounds `stop()`; default 1000 ms. */
  fetchExpiresMs?: number;
  /** Redelivery delay (nak) after a failed commit, and pause after a failed pull; default 1000 ms. */
  retryDelayMs?: number;
  /** Failures (commit, pull, undecodable message); the worker carries on. */
  onError?: (err: Error) => void;
}

/** Counters since start, for metrics and tests. */
export interface IngestWorkerStats {
  batches: number;
  messages: number;
  /** Messages JetStream delivered more than once (a worker died, an ack was lost, a nak). */
  redelivered: number;
  stored: number;
  duplicates: number;
  quarantined: number;
  commitFailures: number;
  /** Messages that were not a commit unit; terminated (never redelivered). */
  undecodable: number;
}

/**
 * An ingest worker: reads commit units from the JetStream ingest log through a durable pull consumer
 * shared by any number of workers, commits each batch to the telemetry store in one `commit()` call
 * and acks the batch's messages only afterwards. A worker that dies before acking leaves its units to
 * be redelivered (after `ackWaitMs`) to another; a failed commit naks them (after `retryDelayMs`).
 * Either way a unit may reach the store twice, and the store's device/message-id de-duplication —
 * which outlives JetStream's window — stores it once: at-least-once delivery, exactly-once storage.
 */
export class IngestWorker {
  readonly stats: IngestWorkerStats = {
    batches: 0,
    messages: 0,
    redelivered: 0,
    stored: 0,
    duplicates: 0,
    quarantined: 0,
    commitFailures: 0,
    undecodable: 0,
  };
  readonly #o: IngestWorkerOptions;
  readonly #consumer: Consumer;
  readonly #maxBatch: number;
  readonly #windowMs: number;
  readonly #expiresMs: number;
  readonly #retryMs: number;
  #listeners: ((units: CommitUnit[]) => void)[] = [];
  #stopping = false;
  #loop: Promise<void> = Promise.resolve();

  private constructor(o: IngestWorkerOptions, consumer: Consumer) {
    this.#o = o;
    this.#consumer = consumer;
    this.#maxBatch = o.maxBatch ?? 500;
    this.#windowMs = o.batchWindowMs ?? 50;
    this.#expiresMs = Math.max(1000, o.fetchExpiresMs ?? 1000);
    this.#retryMs = o.retryDelayMs ?? 1000;
  }

  /** Ensures the durable consumer and starts pulling. Rejects when the stream does not exist. */
  static async start(o: IngestWorkerOptions): Promise<IngestWorker> {
    const stream = o.stream ?? DEFAULT_STREAM;
    const name = o.consumer ?? DEFAULT_CONSUMER;
    const maxBatch = o.maxBatch ?? 500;
    const settings = {
      ack_wait: nanos(o.ackWaitMs ?? 30_000),
      max_ack_pending: o.maxAckPending ?? 4 * maxBatch,
    };
    const jsm = await o.nc.jetstreamManager();
    try {
      await jsm.consumers.info(stream, name);
      await jsm.consumers.update(stream, name, settings);
    } catch (err) {
      if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err;
      // Two workers starting together both land here; adding an identical durable is idempotent.
      await jsm.consumers.add(stream, {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        max_deliver: -1,
        ...settings,
      });
    }
    const worker = new IngestWorker(o, await o.nc.jetstream().consumers.get(stream, name));
    worker.#loop = worker.#run();
    return worker;
  }

  /** Subscribes to committed, newly stored accepted units (analytics, live stream); errors are isolated. */
  onCommitted(listener: (units: CommitUnit[]) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Stops pulling: the pull request in flight is run to its end (at most `fetchExpiresMs`), every unit
   * it delivered is committed and acked, and the acks are flushed to the server.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    if (!this.#o.nc.isClosed()) await this.#o.nc.flush().catch(() => {});
  }

  #error(err: unknown): void {
    this.#o.onError?.(err instanceof Error ? err : new Error(String(err)));
  }

  async #run(): Promise<void> {
    while (!this.#stopping && !this.#o.nc.isClosed()) {
      try {
        await this.#drainFetch();
      } catch (err) {
        if (this.#o.nc.isClosed()) return;
        this.#error(err);
        await new Promise((r) => setTimeout(r, this.#retryMs));
      }
    }
  }

  /**
   * One pull request for up to maxBatch units, cut into batches: a batch is closed `batchWindowMs`
   * after its first unit arrived, or when full. The iterator is always read to its end, so no
   * delivered unit is left behind unprocessed (it would wait out ack_wait).
   */
  async #drainFetch(): Promise<void> {
    const messages = await this.#consumer.fetch({ max_messages: this.#maxBatch, expires: this.#expiresMs });
    const watch = watchFetch(messages, this.#expiresMs + 5000);
    try {
      await this.#drain(messages, watch);
    } finally {
      watch.done();
    }
  }

  async #drain(messages: ConsumerMessages, watch: { touch(): void; done(): void }): Promise<void> {
    const it = messages[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<JsMsg>> | undefined;
    for (;;) {
      const first = await (next ?? it.next());
      next = undefined;
      if (first.done) return;
      watch.touch();
      const batch = [first.value];
      let timer: NodeJS.Timeout | undefined;
      const windowClosed = new Promise<"closed">((r) => {
        timer = setTimeout(() => r("closed"), this.#windowMs);
      });
      let ended = false;
      while (batch.length < this.#maxBatch) {
        next ??= it.next();
        const r = await Promise.race([next, windowClosed]);
        if (r === "closed") break;
        next = undefined;
        if (r.done) {
          ended = true;
          break;
        }
        watch.touch();
        batch.push(r.value);
      }
      clearTimeout(timer);
      // The commit may take longer than the watch allows; the pull request is not waited on meanwhile.
      watch.done();
      await this.#process(batch);
      if (ended) return;
      watch.touch();
    }
  }

  async #process(msgs: JsMsg[]): Promise<void> {
    const units: CommitUnit[] = [];
    const carriers: JsMsg[] = [];
    for (const m of msgs) {
      if (m.redelivered) this.stats.redelivered++;
      try {
        units.push(decodeUnit(m.data));
        carriers.push(m);
      } catch (err) {
        // Not ours or corrupt: redelivering it cannot help, and it must not block the partition.
        this.stats.undecodable++;
        this.#settle(() => m.term(`undecodable: ${(err as Error).message}`));
        this.#error(new Error(`ingest worker: undecodable message seq ${m.seq}: ${(err as Error).message}`));
      }
    }
    this.stats.messages += msgs.length;
    if (units.length === 0) return;
    let outcomes: CommitOutcome[];
    try {
      outcomes = await this.#o.store.commit(units);
    } catch (err) {
      this.stats.commitFailures++;
      for (const m of carriers) this.#settle(() => m.nak(this.#retryMs));
      this.#error(err);
      return;
    }
    // Only now: an ack before the commit returned could lose the unit if this process died.
    for (const m of carriers) this.#settle(() => m.ack());
    this.stats.batches++;
    this.#tally(units, outcomes);
  }

  /** Acks, naks and terms throw once the connection is closed; the server redelivers then anyway. */
  #settle(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (!this.#o.nc.isClosed()) this.#error(err);
    }
  }

  #tally(units: CommitUnit[], outcomes: CommitOutcome[]): void {
    const stored: CommitUnit[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome === "stored") {
        this.stats.stored++;
        stored.push(units[i]!);
      } else if (outcome === "duplicate") this.stats.duplicates++;
      else this.stats.quarantined++;
    });
    if (stored.length === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener(stored);
      } catch {
        // A failing consumer (analytics, live stream) must never stall ingest.
      }
    }
  }
}
