import type { Metrics } from "../core/metrics.js";
import type { CommitOutcome, CommitUnit, Device, TelemetryStore } from "../store/ports.js";
import type { DeviceDirectory } from "./directory.js";
import { type DecodeOptions, decodeTelemetry } from "./telemetry.js";

/** One telemetry packet as a transport received it, before any check. */
export interface IncomingPacket {
  transport: "mqtt" | "https";
  /** The device the connection or request authenticated as. */
  authDeviceId: string;
  /** The device the topic or URL names. */
  topicDeviceId: string;
  topic: string;
  /** `$.mid` from the property bag or the IoTHub-MessageId header. */
  messageId: string | undefined;
  payload: Buffer;
  receivedAt: number;
}

/**
 * Called once per packet after its group commit: only then may the transport acknowledge it.
 * `reason` is set for quarantined packets ("code: text").
 */
export type IngestCallback = (err: Error | null, outcome?: CommitOutcome, reason?: string) => void;

/**
 * Whether a device's data may be collected right now (its company's contract is active). The
 * tenancy part supplies the real policy; the default allows every enabled device.
 */
export interface CollectionPolicy {
  /** Returns undefined when allowed, else the reason it is not. */
  refusal(device: Device): string | undefined;
}

/** See `Ingest.onPacket`. */
export type PacketListener = (deviceId: string, bytes: number, quarantined: boolean) => void;

export const allowAll: CollectionPolicy = { refusal: () => undefined };

/**
 * The commit point of a group: resolves with one outcome per unit once the units are durable, and
 * only then are the packets acknowledged. Rejecting fails the whole group (no acknowledgement).
 */
export type CommitFn = (units: CommitUnit[]) => Promise<CommitOutcome[]>;

export interface IngestOptions {
  store: TelemetryStore;
  /**
   * Replaces `store.commit` as the commit point: with a bus, the gateway appends the units to the
   * JetStream ingest log (src/scale/roles.ts) and the ingest workers store them later.
   */
  commit?: CommitFn;
  directory: DeviceDirectory;
  metrics: Metrics;
  policy?: CollectionPolicy;
  /** Longest a packet waits for its group commit. */
  commitDelayMs: number;
  maxFutureMs: number;
  maxSamplesPerPacket: number;
  /** Largest group commit. */
  maxBatch?: number;
}

interface Pending {
  unit: CommitUnit;
  transport: string;
  reason: string | undefined;
  cb: IngestCallback;
}

const MESSAGE_ID_MAX = 128;

/**
 * The seed's per-packet check, then a durable group commit, then the acknowledgement: each packet is
 * decoded and validated, authorised, and queued; queued packets are committed together within
 * `commitDelayMs`, and only then are their callbacks (which write the PUBACK) called. Failing packets
 * are committed to the quarantine with their reason and acknowledged too, so no poison message makes
 * a box retry forever.
 */
export class Ingest {
  readonly #o: IngestOptions;
  readonly #policy: CollectionPolicy;
  readonly #maxBatch: number;
  readonly #commit: CommitFn;
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #committing = false;
  #listeners: ((units: CommitUnit[]) => void)[] = [];
  #packetListeners: PacketListener[] = [];

  constructor(o: IngestOptions) {
    this.#o = o;
    this.#policy = o.policy ?? allowAll;
    this.#maxBatch = o.maxBatch ?? 1000;
    this.#commit = o.commit ?? ((units) => o.store.commit(units));
  }

  /** Packets accepted but not yet committed. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Subscribes to committed, stored units (analytics, live stream). Listener errors are isolated. */
  onCommitted(listener: (units: CommitUnit[]) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Subscribes to every checked packet, before its commit: the authenticated device, the payload size
   * and whether it goes to the quarantine (security monitoring). Called synchronously per packet, so
   * a listener must be cheap; its errors are isolated.
   */
  onPacket(listener: PacketListener): void {
    this.#packetListeners.push(listener);
  }

  submit(p: IncomingPacket, cb: IngestCallback): void {
    const unit = this.#check(p);
    for (const listener of this.#packetListeners) {
      try {
        listener(p.authDeviceId, p.payload.length, unit.kind === "quarantine");
      } catch {
        // Watching must never stall ingest.
      }
    }
    const reason = unit.kind === "quarantine" ? unit.reasonCode : undefined;
    this.#queue.push({ unit, transport: p.transport, reason, cb });
    this.#o.metrics.pendingPackets.set(this.#queue.length);
    this.#schedule();
  }

  /** Waits until everything submitted so far is committed. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#committing) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  #check(p: IncomingPacket): CommitUnit {
    const quarantine = (reasonCode: string, reason: string): CommitUnit => ({
      kind: "quarantine",
      deviceId: p.authDeviceId,
      messageId: p.messageId ?? null,
      receivedAt: p.receivedAt,
      transport: p.transport,
      topic: p.topic,
      reasonCode,
      reason,
      payload: p.payload,
    });
    const decoded = decodeTelemetry(p.payload, {
      nowMs: p.receivedAt,
      maxFutureMs: this.#o.maxFutureMs,
      maxSamples: this.#o.maxSamplesPerPacket,
    } satisfies DecodeOptions);
    if (!decoded.ok) return quarantine(decoded.code, decoded.reason);
    if (p.topicDeviceId !== p.authDeviceId) {
      return quarantine(
        "foreign_topic",
        `packet names device ${p.topicDeviceId} but was sent by ${p.authDeviceId}`,
      );
    }
    const device = this.#o.directory.peek(p.authDeviceId);
    if (!device) return quarantine("unknown_device", `device ${p.authDeviceId} is not registered`);
    if (!device.enabled) return quarantine("device_disabled", `device ${p.authDeviceId} is disabled`);
    const refusal = this.#policy.refusal(device);
    if (refusal) return quarantine("collection_not_allowed", refusal);
    if (p.messageId === undefined || p.messageId === "") {
      return quarantine(
        "missing_message_id",
        "packet has no message id ($.mid property / IoTHub-MessageId header)",
      );
    }
    if (p.messageId.length > MESSAGE_ID_MAX) {
      return quarantine("bad_message_id", `message id longer than ${MESSAGE_ID_MAX} characters`);
    }
    return {
      kind: "accept",
      deviceId: device.id,
      messageId: p.messageId,
      receivedAt: p.receivedAt,
      samples: decoded.samples,
    };
  }

  #schedule(): void {
    if (this.#committing) return;
    if (this.#queue.length >= this.#maxBatch) {
      this.#clearTimer();
      void this.#flush();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.#flush();
      }, this.#o.commitDelayMs);
    }
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #flush(): Promise<void> {
    if (this.#committing || this.#queue.length === 0) return;
    this.#committing = true;
    const batch = this.#queue.splice(0, this.#maxBatch);
    const { metrics } = this.#o;
    const end = metrics.commitSeconds.startTimer();
    let outcomes: CommitOutcome[] | undefined;
    let failure: Error | null = null;
    try {
      outcomes = await this.#commit(batch.map((b) => b.unit));
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      metrics.commitFailures.inc();
    }
    end();
    metrics.commitBatch.observe(batch.length);
    metrics.pendingPackets.set(this.#queue.length);
    this.#committing = false;
    if (outcomes) this.#settle(batch, outcomes);
    else for (const b of batch) b.cb(failure);
    if (this.#queue.length > 0) this.#schedule();
  }

  #settle(batch: Pending[], outcomes: CommitOutcome[]): void {
    const stored: CommitUnit[] = [];
    let samples = 0;
    for (let i = 0; i < batch.length; i++) {
      const b = batch[i]!;
      const outcome = outcomes[i]!;
      this.#o.metrics.packets.inc({ transport: b.transport, outcome, reason: b.reason ?? "" });
      if (outcome === "stored" && b.unit.kind === "accept") {
        stored.push(b.unit);
        samples += b.unit.samples.length;
      }
      b.cb(
        null,
        outcome,
        b.unit.kind === "quarantine" ? `${b.unit.reasonCode}: ${b.unit.reason}` : undefined,
      );
    }
    this.#o.metrics.samples.inc(samples);
    if (stored.length > 0) {
      for (const listener of this.#listeners) {
        try {
          listener(stored);
        } catch {
          // A failing consumer (analytics, live stream) must never stall ingest.
        }
      }
    }
  }
}
