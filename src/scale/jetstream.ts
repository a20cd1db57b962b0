import { createHash } from "node:crypto";
import {
  type ConsumerMessages,
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "nats";
import type { CommitUnit } from "../store/ports.js";

/**
 * The ingest log on NATS JetStream (issue 8, "commit point on the bus"): a gateway appends each
 * checked packet (a CommitUnit) to a replicated, file-backed stream and may send the PUBACK once
 * JetStream acknowledged the publish — that PubAck is the commit point, as the PostgreSQL/SQLite
 * commit is in the embedded default. Ingest workers (./ingest-worker.ts) then write the units to the
 * telemetry store idempotently.
 *
 * De-duplication happens twice: JetStream drops a publish whose `Nats-Msg-Id` it saw within the
 * stream's `duplicate_window` (a gateway retrying after a lost PubAck), and the telemetry store drops a
 * device/message id it stored within `limits.dedupDays` (a device re-sending after a lost PUBACK, or
 * anything older than the window).
 */

export const DEFAULT_STREAM = "PUMPWATCH_INGEST";
export const DEFAULT_SUBJECT_PREFIX = "pumpwatch.ingest";
export const DEFAULT_PARTITIONS = 16;

export interface JetStreamLogOptions {
  /** NATS servers, e.g. ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]. */
  servers: string[];
  /** Stream name; default PUMPWATCH_INGEST. */
  stream?: string;
  /** Units go to `<prefix>.<partition>`; the stream binds `<prefix>.>`. Default "pumpwatch.ingest". */
  subjectPrefix?: string;
  /** Partitions (subjects) a device id is hashed onto; default 16. Changing it re-homes devices. */
  partitions?: number;
  /**
   * Stream replicas; default 1 (a single server). Use 3 in production: a PubAck then means a quorum
   * of servers holds the unit (NATS JetStream, "Replication").
   */
  replicas?: number;
  /** JetStream's publish de-duplication window; default 2 minutes. */
  duplicateWindowMs?: number;
  /** Oldest unit the stream keeps (the buffer for an outage of all ingest workers); default 7 days. */
  maxAgeMs?: number;
  /** Longest an append waits for its PubAck; default 5 s. */
  publishTimeoutMs?: number;
  /** Connection name shown by the server's monitoring. */
  name?: string;
}

/** What goes on the bus: one unit, versioned for rolling upgrades. Quarantine payloads are base64. */
type WireUnit =
  | ({ v: 1 } & Extract<CommitUnit, { kind: "accept" }>)
  | ({ v: 1 } & Omit<Extract<CommitUnit, { kind: "quarantine" }>, "payload"> & { payload: string });

/** Serialises a unit for the bus. */
export function encodeUnit(unit: CommitUnit): Uint8Array {
  const wire: WireUnit =
    unit.kind === "accept" ? { v: 1, ...unit } : { v: 1, ...unit, payload: unit.payload.toString("base64") };
  return Buffer.from(JSON.stringify(wire));
}

/** Parses a unit from the bus; throws on anything that is not one (a foreign or corrupt message). */
export function decodeUnit(data: Uint8Array): CommitUnit {
  const w = JSON.parse(
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"),
  ) as WireUnit;
  if (w === null || typeof w !== "object" || w.v !== 1) throw new Error("not a pumpwatch commit unit (v1)");
  if (w.kind === "accept") {
    if (typeof w.deviceId !== "string" || typeof w.messageId !== "string" || !Array.isArray(w.samples)) {
      throw new Error("malformed accept unit");
    }
    return {
      kind: "accept",
      deviceId: w.deviceId,
      messageId: w.messageId,
      receivedAt: w.receivedAt,
      samples: w.samples,
    };
  }
  if (w.kind === "quarantine" && typeof w.payload === "string") {
    const { v: _v, payload, ...rest } = w;
    return { ...rest, payload: Buffer.from(payload, "base64") };
  }
  throw new Error("malformed commit unit");
}

/**
 * FNV-1a (32 bit) of the device id's UTF-8 bytes, mod `partitions`: stable across processes,
 * machines and releases, so every unit of one pump lands on the same subject (in publish order) and
 * a partitioned consumer (analytics) sees each pump in order.
 */
export function partitionOf(deviceId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(deviceId, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

/**
 * The JetStream de-duplication id of a unit: "<deviceId>/<messageId>" for accepted packets (the same
 * key the store de-duplicates on), else a hash of the whole unit (quarantined packets may lack a
 * message id; a gateway retrying the same unit gets the same id, a device re-sending gets a new one).
 */
export function dedupIdOf(unit: CommitUnit, encoded?: Uint8Array): string {
  if (unit.kind === "accept") return `${unit.deviceId}/${unit.messageId}`;
  return `q/${createHash("sha256")
    .update(encoded ?? encodeUnit(unit))
    .digest("base64url")}`;
}

/** The stream configuration `JetStreamLog.open` ensures. */
export function streamConfig(o: JetStreamLogOptions): Partial<StreamConfig> & { name: string } {
  return {
    name: o.stream ?? DEFAULT_STREAM,
    subjects: [`${o.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX}.>`],
    storage: StorageType.File,
    // Limits, not WorkQueue/Interest: the ingest workers and the analytics read the same units
    // through their own durable consumers, and a unit must outlive an outage of either.
    retention: RetentionPolicy.Limits,
    num_replicas: o.replicas ?? 1,
    duplicate_window: nanos(o.duplicateWindowMs ?? 120_000),
    max_age: nanos(o.maxAgeMs ?? 7 * 24 * 3600_000),
  };
}

/** JetStream API error code "consumer not found". */
export const CONSUMER_NOT_FOUND = 10014;

/** Whether `err` is a JetStream API error with this code. */
export function isApiError(err: unknown, code: number): boolean {
  return (err as { api_error?: { err_code?: number } }).api_error?.err_code === code;
}

/** JetStream API error code "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

/** Creates the stream, or brings an existing one to `config` (storage type cannot change). */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (err) {
    if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== STREAM_NAME_IN_USE) throw err;
    await jsm.streams.update(config.name, config);
  }
}

/** The gateway side of the ingest log: appends units and resolves on JetStream's PubAck. */
export class JetStreamLog {
  readonly nc: NatsConnection;
  readonly stream: string;
  readonly #js: JetStreamClient;
  readonly #prefix: string;
  readonly #partitions: number;
  readonly #timeout: number;

  private constructor(nc: NatsConnection, o: JetStreamLogOptions) {
    this.nc = nc;
    this.stream = o.stream ?? DEFAULT_STREAM;
    this.#js = nc.jetstream();
    this.#prefix = o.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
    this.#partitions = o.partitions ?? DEFAULT_PARTITIONS;
    this.#timeout = o.publishTimeoutMs ?? 5000;
  }

  /** Connects and ensures the stream. Rejects when no server is reachable or JetStream is off. */
  static async open(o: JetStreamLogOptions): Promise<JetStreamLog> {
    const partitions = o.partitions ?? DEFAULT_PARTITIONS;
    if (!Number.isInteger(partitions) || partitions < 1)
      throw new Error("partitions must be a positive integer");
    const nc = await connect({ servers: o.servers, name: o.name ?? "pumpwatch-ingest-log" });
    try {
      await ensureStream(await nc.jetstreamManager(), streamConfig(o));
    } catch (err) {
      await nc.close();
      throw err;
    }
    return new JetStreamLog(nc, o);
  }

  /** The subject a device's units are published on. */
  subjectOf(deviceId: string | null): string {
    return `${this.#prefix}.${partitionOf(deviceId ?? "", this.#partitions)}`;
  }

  /**
   * Publishes the unit and resolves once JetStream stored it (on `replicas` servers): only then may
   * the gateway acknowledge the packet. A duplicate within the window resolves too — the first copy
   * is stored. Rejects on timeout or when the stream is unavailable; then the packet is not committed
   * and must not be acknowledged.
   */
  async append(unit: CommitUnit): Promise<void> {
    const data = encodeUnit(unit);
    // msgID becomes the Nats-Msg-Id header; expect.streamName fails the publish if another
    // stream has bound the subject (a misconfiguration that would otherwise commit elsewhere).
    await this.#js.publish(this.subjectOf(unit.deviceId), data, {
      msgID: dedupIdOf(unit, data),
      expect: { streamName: this.stream },
      timeout: this.#timeout,
    });
  }

  /** Waits for outstanding publishes, then closes the connection. */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain();
  }
}

/**
 * Ends a pull request the server stopped answering — its server died with the request, and the
 * client waits for its end while heartbeats are paused across the reconnect — by stopping the
 * fetch with an error once nothing arrived for `ms`; the caller then fetches anew. `touch` on each
 * message, `done` when the fetch ended.
 */
export function watchFetch(messages: ConsumerMessages, ms: number): { touch(): void; done(): void } {
  let timer: NodeJS.Timeout;
  const arm = () => {
    timer = setTimeout(() => messages.stop(new Error(`pull request unanswered for ${ms} ms`)), ms);
  };
  arm();
  return {
    touch() {
      clearTimeout(timer);
      arm();
    },
    done: () => clearTimeout(timer),
  };
}
