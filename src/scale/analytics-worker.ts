import { randomUUID } from "node:crypto";
import {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  ErrorCode,
  type JsMsg,
  type KV,
  type NatsConnection,
  NatsError,
  nanos,
  type Subscription,
} from "nats";
import type { AnalyticsDelegate, AnalyticsService } from "../analytics/service.js";
import type { EventBus } from "../core/bus.js";
import { PumpwatchError, type ErrorCode as PwErrorCode } from "../core/errors.js";
import type { CommitUnit } from "../store/ports.js";
import {
  CONSUMER_NOT_FOUND,
  DEFAULT_PARTITIONS,
  DEFAULT_STREAM,
  DEFAULT_SUBJECT_PREFIX,
  decodeUnit,
  isApiError,
  partitionOf,
  watchFetch,
} from "./jetstream.js";
import { decodeJson, encodeJson, openBucket } from "./nats-util.js";

/**
 * Analytics of a scale-out (issue 8, docs/scale-out.md): each pump's units are analysed in order, by
 * one worker at a time, and another worker takes over when it dies.
 *
 * The ingest log's subjects are partitions (`<prefix>.<n>`, a pump always on the same one). A worker
 * holds a lease per partition in a key-value bucket whose entries expire after `leaseMs` unless
 * renewed; live workers register as members and each takes its fair share (partitions ÷ members),
 * releasing extras when more workers join. Per leased partition it reads the partition's own durable
 * consumer, feeds the units to its AnalyticsService, waits for them to be analysed, writes the
 * analyzer states back and only then acks. A worker that dies leaves its partitions' leases to expire;
 * their next owner resumes each pump from the saved state and the units not yet acked are delivered
 * again — the analyzer skips samples not newer than its last, so a unit analysed twice counts once.
 *
 * Maintenance and rule changes from the api processes reach the owner as NATS requests on
 * `<ns>.analytics.cmd.<partition>` ({@link remoteAnalytics}).
 */

export interface AnalyticsWorkerOptions {
  nc: NatsConnection;
  /** Subject namespace of the installation ("pumpwatch" for the default stream). */
  ns: string;
  /** Key-value bucket of the partition leases. */
  bucket: string;
  analytics: AnalyticsService;
  /** Connectivity announced by the gateways reaches the owner of the pump. */
  bus: EventBus;
  stream?: string;
  subjectPrefix?: string;
  partitions?: number;
  /** Replicas of the lease bucket (as the stream's). */
  replicas?: number;
  /** A lease not renewed for this long is free; default 10 s (failover time). */
  leaseMs?: number;
  /** How long JetStream waits for an ack before delivering again; default 30 s. */
  ackWaitMs?: number;
  /** Most units per analysed batch; default 500. */
  maxBatch?: number;
  /** Devices of a partition, to load when taking it over (offline detection of silent pumps). */
  devicesOf?: (partition: number) => Promise<string[]>;
  onError?: (err: Error) => void;
  /** Taking over or releasing a partition. */
  onLease?: (partition: number, held: boolean) => void;
}

type Command =
  | {
      op: "maintenance";
      deviceId: string;
      entry: { action: string; ts?: number; note?: string };
      actor: string;
    }
  | { op: "rules"; deviceId: string; overrides: unknown };

type Reply = { ok: true; result: unknown } | { ok: false; code: PwErrorCode; message: string };

interface Held {
  revision: number;
  stopping: boolean;
  loop: Promise<void>;
  cmd: Subscription;
}

export class AnalyticsWorker {
  readonly id = randomUUID();
  /** Units analysed and batches acked since start. */
  readonly stats = { units: 0, batches: 0, redelivered: 0, takeovers: 0 };
  readonly #o: AnalyticsWorkerOptions;
  readonly #kv: KV;
  readonly #held = new Map<number, Held>();
  readonly #partitions: number;
  readonly #leaseMs: number;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> = Promise.resolve();
  #renewedAt = 0;
  #stopped = false;
  #unsubscribe: () => void;

  private constructor(o: AnalyticsWorkerOptions, kv: KV) {
    this.#o = o;
    this.#kv = kv;
    this.#partitions = o.partitions ?? DEFAULT_PARTITIONS;
    this.#leaseMs = o.leaseMs ?? 10_000;
    this.#unsubscribe = o.bus.subscribe("connectivity", (e) => {
      if (this.#held.has(partitionOf(e.deviceId, this.#partitions)))
        o.analytics.noteConnectivity(e.deviceId, e.connected, e.at);
    });
  }

  static async start(o: AnalyticsWorkerOptions): Promise<AnalyticsWorker> {
    const leaseMs = o.leaseMs ?? 10_000;
    const kv = await openBucket(o.nc, o.bucket, { replicas: o.replicas ?? 1, history: 1, ttl: leaseMs });
    const w = new AnalyticsWorker(o, kv);
    await w.#rebalance();
    w.#schedule();
    return w;
  }

  /** Partitions this worker holds now. */
  get owned(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  /** Finishes the batches in hand, writes back, and frees its leases for the others at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
    await Promise.all(this.owned.map((p) => this.#release(p, true)));
    this.#unsubscribe();
    await this.#kv.delete(`member.${this.id}`).catch(() => {});
  }

  #error(err: unknown): void {
    this.#o.onError?.(err instanceof Error ? err : new Error(String(err)));
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#round = this.#rebalance().catch((err) => this.#error(err));
      this.#round.finally(() => this.#schedule());
    }, this.#leaseMs / 3);
  }

  /** One lease round: renew, then take or give partitions towards this worker's fair share. */
  async #rebalance(): Promise<void> {
    if (this.#stopped) return;
    await this.#renew();
    let members = 0;
    for await (const _ of await this.#kv.keys("member.*")) members++;
    const share = Math.ceil(this.#partitions / Math.max(1, members));
    for (const p of this.owned.slice(share)) await this.#release(p, true);
    if (this.#held.size >= share) return;
    // Start at a different partition per worker, so that workers starting together spread out.
    const offset = Number.parseInt(this.id.slice(0, 8), 16) % this.#partitions;
    for (let i = 0; i < this.#partitions && this.#held.size < share; i++) {
      const p = (offset + i) % this.#partitions;
      if (this.#held.has(p)) continue;
      let revision: number;
      try {
        revision = await this.#kv.create(leaseKey(p), encodeJson(this.id));
      } catch {
        continue; // held by another worker
      }
      await this.#take(p, revision);
      // Taking over (a warm-up, a consumer) takes time: keep the other leases alive meanwhile.
      if (Date.now() - this.#renewedAt > this.#leaseMs / 3) await this.#renew();
    }
  }

  /** Renews membership and every lease held; a lease that cannot be renewed is given up. */
  async #renew(): Promise<void> {
    this.#renewedAt = Date.now();
    await this.#kv.put(`member.${this.id}`, encodeJson(Date.now()));
    for (const [p, h] of this.#held) {
      try {
        h.revision = await this.#kv.update(leaseKey(p), encodeJson(this.id), h.revision);
      } catch (err) {
        // Expired and taken by another worker, or the bucket is unreachable: either way stop
        // analysing it; the analysis so far is written back for whoever holds it next.
        this.#error(err);
        await this.#release(p, false);
      }
    }
  }

  async #take(p: number, revision: number): Promise<void> {
    const held: Held = {
      revision,
      stopping: false,
      loop: Promise.resolve(),
      cmd: this.#o.nc.subscribe(`${this.#o.ns}.analytics.cmd.${p}`, {
        callback: (_e, m) => void this.#command(m),
      }),
    };
    // Held before the warm-up: the pumps of the partition are this worker's from now on.
    this.#held.set(p, held);
    try {
      const consumer = await this.#consumer(p);
      if (this.#o.devicesOf) await this.#o.analytics.warmUp(await this.#o.devicesOf(p));
      held.loop = this.#consume(consumer, p, held);
    } catch (err) {
      this.#error(err);
      await this.#release(p, true);
      return;
    }
    this.stats.takeovers++;
    this.#o.onLease?.(p, true);
  }

  /** Whether this worker analyses the pump now. */
  holds(deviceId: string): boolean {
    return this.#held.has(partitionOf(deviceId, this.#partitions));
  }

  async #release(p: number, free: boolean): Promise<void> {
    const held = this.#held.get(p);
    if (!held) return;
    held.stopping = true;
    held.cmd.unsubscribe();
    await held.loop;
    this.#held.delete(p);
    await this.#o.analytics.evict((id) => partitionOf(id, this.#partitions) === p);
    if (free) await this.#kv.delete(leaseKey(p), { previousSeq: held.revision }).catch(() => {});
    this.#o.onLease?.(p, false);
  }

  /**
   * The partition's durable consumer, (re)created to deliver from the first unit not yet acked. A
   * pull consumer hands out later units while earlier ones wait for redelivery (after `ack_wait`)
   * from a worker that died or a batch that failed; analysed out of order, a pump's later samples
   * would make the analyzer skip the earlier ones. Only the lease holder reads the consumer, so
   * starting it afresh at the ack floor is safe and keeps the log order.
   */
  async #consumer(p: number): Promise<Consumer> {
    const stream = this.#o.stream ?? DEFAULT_STREAM;
    const name = `pumpwatch-analytics-${p}`;
    const jsm = await this.#o.nc.jetstreamManager();
    const maxBatch = this.#o.maxBatch ?? 500;
    const info = await jsm.consumers.info(stream, name).catch((err) => {
      if (isApiError(err, CONSUMER_NOT_FOUND)) return undefined;
      throw err;
    });
    // Nothing delivered and unacked: it already starts at the first unit not acked.
    if (info && info.num_ack_pending === 0) return this.#o.nc.jetstream().consumers.get(stream, name);
    if (info) await jsm.consumers.delete(stream, name);
    await jsm.consumers.add(stream, {
      durable_name: name,
      filter_subject: `${this.#o.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX}.${p}`,
      ack_policy: AckPolicy.Explicit,
      ...(info && info.ack_floor.stream_seq > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: info.ack_floor.stream_seq + 1 }
        : { deliver_policy: DeliverPolicy.All }),
      max_deliver: -1,
      ack_wait: nanos(this.#o.ackWaitMs ?? 30_000),
      max_ack_pending: 2 * maxBatch,
    });
    return this.#o.nc.jetstream().consumers.get(stream, name);
  }

  /** The partition's units in log order: analyse a batch, write the states back, ack it. */
  async #consume(first: Consumer, p: number, held: Held): Promise<void> {
    const maxBatch = this.#o.maxBatch ?? 500;
    let consumer = first;
    while (!held.stopping && !this.#o.nc.isClosed()) {
      const batch: JsMsg[] = [];
      try {
        const msgs = await consumer.fetch({ max_messages: maxBatch, expires: 1000 });
        const watch = watchFetch(msgs, 6000);
        try {
          for await (const m of msgs) {
            watch.touch();
            batch.push(m);
            if (batch.length >= maxBatch) break;
          }
        } finally {
          watch.done();
        }
        if (batch.length === 0) continue;
        const units: CommitUnit[] = [];
        for (const m of batch) {
          if (m.redelivered) this.stats.redelivered++;
          try {
            units.push(decodeUnit(m.data));
          } catch (err) {
            this.#error(err); // not a unit: the ingest workers terminate it; nothing to analyse
          }
        }
        this.#o.analytics.enqueue(units);
        await this.#o.analytics.drain();
        await this.#o.analytics.flush();
        for (const m of batch) m.ack();
        this.stats.units += units.length;
        this.stats.batches++;
      } catch (err) {
        if (this.#o.nc.isClosed()) return;
        this.#error(err);
        // Start again at the first unacked unit, in order (see #consumer).
        await new Promise((r) => setTimeout(r, 1000));
        if (held.stopping) return;
        try {
          consumer = await this.#consumer(p);
        } catch (e) {
          this.#error(e);
        }
      }
    }
  }

  async #command(msg: { data: Uint8Array; respond(data: Uint8Array): boolean }): Promise<void> {
    let reply: Reply;
    try {
      const cmd = decodeJson<Command>(msg.data);
      const result =
        cmd.op === "maintenance"
          ? await this.#o.analytics.logMaintenance(cmd.deviceId, cmd.entry, cmd.actor)
          : await this.#o.analytics.setRuleOverrides(cmd.deviceId, cmd.overrides);
      reply = { ok: true, result };
    } catch (err) {
      reply =
        err instanceof PumpwatchError
          ? { ok: false, code: err.code, message: err.message }
          : { ok: false, code: "INTERNAL", message: "analytics failed; see the analytics worker's log" };
      if (!(err instanceof PumpwatchError)) this.#error(err);
    }
    msg.respond(encodeJson(reply));
  }
}

function leaseKey(p: number): string {
  return `lease.${p}`;
}

/** The api side: maintenance and rule changes sent to the worker owning the pump's partition. */
export function remoteAnalytics(
  nc: NatsConnection,
  ns: string,
  partitions: number,
  timeoutMs = 10_000,
): AnalyticsDelegate {
  const ask = async <T>(cmd: Command): Promise<T> => {
    let data: Uint8Array;
    try {
      data = (
        await nc.request(`${ns}.analytics.cmd.${partitionOf(cmd.deviceId, partitions)}`, encodeJson(cmd), {
          timeout: timeoutMs,
        })
      ).data;
    } catch (err) {
      if (
        err instanceof NatsError &&
        (err.code === ErrorCode.NoResponders || err.code === ErrorCode.Timeout)
      ) {
        throw new PumpwatchError(
          "UNAVAILABLE",
          "no analytics worker holds this pump right now (one takes over within seconds); retry, " +
            "and check that processes with --role analytics (or all) are running",
        );
      }
      throw err;
    }
    const reply = decodeJson<Reply>(data);
    if (!reply.ok) throw new PumpwatchError(reply.code, reply.message);
    return reply.result as T;
  };
  return {
    logMaintenance: (deviceId, entry, actor) =>
      ask({ op: "maintenance", deviceId, entry: stripUndefined(entry), actor }),
    setRuleOverrides: (deviceId, overrides) => ask({ op: "rules", deviceId, overrides }),
  };
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return JSON.parse(JSON.stringify(o));
}
