import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PumpwatchError } from "../core/errors.js";
import { deriveDeviceKey, isBase64Key } from "../core/keys.js";
import type { Sample } from "../core/sample.js";
import { Backfiller } from "./backfill.js";
import { AUTH_BACKOFF, backoffDelay, NETWORK_BACKOFF } from "./backoff.js";
import { DEFAULT_PACKET_LIMITS, type PacketBody, type PacketLimits, splitIntoPackets } from "./batch.js";
import { type Clock, realClock } from "./clock.js";
import { type Assignment, provision } from "./dps.js";
import { isAuthRefusal, parseHostPort } from "./endpoint.js";
import { HubSession } from "./hub.js";
import type { AgentEvents, AgentOptions, AgentStats, AgentStatus } from "./options.js";
import { type PacketQueue, SqliteQueue } from "./queue.js";
import { Sampler } from "./sampler.js";
import { Sender } from "./sender.js";
import { type AgentState, loadState, QUEUE_FILE, saveState } from "./state.js";
import { type AgentSettings, DEFAULT_SETTINGS } from "./twin.js";
import { TwinSync } from "./twin-sync.js";

export type { AgentEvents, AgentOptions, AgentStats, AgentStatus };

/** Renew the SAS token 25 % of its lifetime before expiry, like the SDK's 45 of 60 minutes (§1.3). */
const RENEW_MARGIN = 0.25;
/** Longest a renewal or close waits for in-flight PUBACKs before cutting the connection. */
const DRAIN_MS = 5000;

/**
 * The device agent of one box: provisions through DPS (or uses the cached assignment), keeps one
 * MQTT session to the hub alive (token renewal, back-off with full jitter), applies the twin's
 * desired intervals, reads its sensor source and sends batches through an on-disk store-and-forward
 * queue. docs/device-agent.md describes the behaviour and its guarantees.
 */
export class DeviceAgent extends EventEmitter<AgentEvents> {
  readonly #o: AgentOptions;
  readonly #clock: Clock;
  readonly #deviceKey: string;
  readonly #limits: PacketLimits;
  readonly #random: () => number;
  readonly #twin: TwinSync;
  #status: AgentStatus = "stopped";
  #queue: PacketQueue | undefined;
  #sender: Sender | undefined;
  #sampler: Sampler | undefined;
  #backfill: Backfiller | undefined;
  #state: AgentState = {};
  #session: HubSession | undefined;
  #abort: AbortController | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #authFailures = 0;
  #renewing = false;
  /** Set while closing: nothing reconnects; called when the last session has closed. */
  #closing: (() => void) | undefined;
  #stats = { deliveredPackets: 0, deliveredSamples: 0, connects: 0, provisions: 0 };

  constructor(o: AgentOptions) {
    super();
    if ((o.key === undefined) === (o.groupKey === undefined)) {
      throw new PumpwatchError(
        "BAD_REQUEST",
        "give exactly one of key (individual) or groupKey (group enrollment)",
      );
    }
    const given = (o.key ?? o.groupKey)!;
    if (!isBase64Key(given))
      throw new PumpwatchError("BAD_REQUEST", "the key must be base64, as enrollment prints it");
    parseHostPort(o.provisioningHost);
    this.#o = o;
    this.#clock = o.clock ?? realClock;
    this.#deviceKey = o.key ?? deriveDeviceKey(given, o.registrationId);
    this.#limits = { ...DEFAULT_PACKET_LIMITS, ...o.packetLimits };
    this.#random = o.random ?? Math.random;
    this.#twin = new TwinSync({
      base: { ...DEFAULT_SETTINGS, ...o.settings },
      signals: o.source?.signals ?? [],
      queueStats: () => this.#queue?.stats(),
      report: (patch) => this.#session?.report(patch) ?? false,
      persist: (desired) => {
        this.#state = { ...this.#state, desired };
        this.#save();
      },
      apply: (settings, rejected) => {
        const { sampleMs, sendMs } = this.#intervals();
        this.#sampler?.setIntervals(sampleMs, sendMs);
        this.emit("settings", settings, rejected);
      },
      statsReportMs: (o.statsReportSec ?? 300) * 1000,
    });
  }

  get status(): AgentStatus {
    return this.#status;
  }

  get settings(): AgentSettings {
    return this.#twin.settings;
  }

  stats(): AgentStats {
    return {
      status: this.#status,
      deviceId: this.#state.assignment?.deviceId,
      settings: this.settings,
      queue: this.#queue?.stats() ?? { packets: 0, bytes: 0, droppedPackets: 0, droppedSamples: 0 },
      inflight: this.#sender?.inflight ?? 0,
      buffered: this.#sampler?.buffered ?? 0,
      ...this.#stats,
    };
  }

  /** Opens the queue, starts sampling and connects in the background. Throws if the state folder is unusable. */
  start(): void {
    if (this.#status !== "stopped") return;
    const o = this.#o;
    mkdirSync(o.stateDir, { recursive: true });
    const queue =
      o.queue && "push" in o.queue ? o.queue : new SqliteQueue(join(o.stateDir, QUEUE_FILE), o.queue ?? {});
    this.#queue = queue;
    const window = o.window ?? 8;
    this.#sender = new Sender(queue, window, {
      delivered: (p) => this.#onDelivered(p.samples),
      idle: () => (this.#renewing ? this.#session?.end() : this.#twin.idle()),
    });
    this.#backfill = new Backfiller(queue, window, (p) => this.#push(p));
    const identity = {
      idScope: o.idScope,
      registrationId: o.registrationId,
      provisioningHost: o.provisioningHost,
    };
    const state = loadState(o.stateDir);
    // A box moved to another identity must not use the old one's assignment or settings.
    this.#state = JSON.stringify(state.identity) === JSON.stringify(identity) ? state : { identity };
    if (this.#state.desired) this.#twin.restore(this.#state.desired);
    if (o.source) {
      this.#sampler = new Sampler(this.#clock, o.source, this.#intervals(), (s) => this.#enqueue(s));
      this.#sampler.start();
    }
    this.#status = "waiting";
    this.#connect();
  }

  /**
   * Sends historical samples with their original timestamps through the same queue, as fast as the
   * in-flight window allows. Resolves once every packet of it was acknowledged (or dropped by a full
   * queue); rejects if the agent closes first, when the part not yet queued is not sent.
   */
  backfill(samples: readonly Sample[]): Promise<void> {
    if (!this.#backfill || !this.#active()) {
      return Promise.reject(new PumpwatchError("CONFLICT", "start the agent before a backfill"));
    }
    const { packets, oversized } = splitIntoPackets(samples, this.#limits);
    if (oversized > 0)
      this.emit("warning", new Error(`${oversized} samples too large for one packet skipped`));
    const done = this.#backfill.add(packets);
    this.#sender?.pump();
    return done;
  }

  /** Queues what was read, says goodbye to the hub (waiting briefly for PUBACKs) and closes the queue. */
  async close(): Promise<void> {
    if (this.#status === "stopped" || this.#closing) return;
    this.#closing = () => {};
    this.#sampler?.stop();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#renewTimer);
    this.#abort?.abort();
    const session = this.#session;
    if (session) {
      await new Promise<void>((resolve) => {
        this.#closing = resolve;
        session.end();
        clearTimeout(this.#drainTimer);
        this.#drainTimer = setTimeout(() => session.destroy(), DRAIN_MS);
      });
    }
    clearTimeout(this.#drainTimer);
    this.#sender?.detach();
    this.#backfill?.abort();
    this.#queue?.close();
    this.#status = "stopped";
    this.#closing = undefined;
  }

  #active(): boolean {
    return this.#closing === undefined && this.#status !== "stopped";
  }

  #intervals(): { sampleMs: number; sendMs: number } {
    const s = this.#twin.settings;
    return { sampleMs: Math.round(s.sampleIntervalSec * 1000), sendMs: Math.round(s.sendIntervalSec * 1000) };
  }

  #enqueue(samples: Sample[]): void {
    const { packets, oversized } = splitIntoPackets(samples, this.#limits);
    if (oversized > 0)
      this.emit("warning", new Error(`${oversized} samples too large for one packet skipped`));
    for (const p of packets) this.#push(p);
    this.#sender?.pump();
  }

  /** Queues one packet under a fresh message id; returns its seq, undefined if it could not be queued. */
  #push(p: PacketBody): number | undefined {
    try {
      const { seq, droppedSamples } = this.#queue!.push(randomUUID(), p.body, p.samples);
      if (droppedSamples > 0) this.emit("dropped", droppedSamples);
      return seq;
    } catch (err) {
      // Disk full or the file is gone: these samples are lost, and the operator must know.
      this.emit("warning", new Error(`cannot queue ${p.samples} samples: ${(err as Error).message}`));
      return undefined;
    }
  }

  #onDelivered(samples: number): void {
    this.#stats.deliveredPackets++;
    this.#stats.deliveredSamples += samples;
    this.emit("delivered", samples);
    if (this.#backfill?.pending && !this.#closing) {
      this.#backfill.feed();
      this.#sender?.pump();
    }
    this.#twin.delivered();
  }

  /** One connection attempt: provision if there is no assignment, then CONNECT to the hub. */
  #connect(): void {
    if (!this.#active()) return;
    const assignment = this.#state.assignment;
    if (assignment) {
      this.#openSession(assignment);
      return;
    }
    this.#status = "provisioning";
    this.#abort = new AbortController();
    const { host, port } = parseHostPort(this.#o.provisioningHost);
    provision({
      host,
      port,
      idScope: this.#o.idScope,
      registrationId: this.#o.registrationId,
      deviceKey: this.#deviceKey,
      ca: this.#o.ca,
      payload: this.#o.provisioningPayload,
      signal: this.#abort.signal,
    }).then(
      (a) => {
        if (!this.#active()) return;
        this.#stats.provisions++;
        this.#state = { ...this.#state, assignment: { ...a, at: new Date().toISOString() } };
        this.#save();
        this.emit("provisioned", { ...a, cached: false });
        this.#openSession(a);
      },
      (err: PumpwatchError) => {
        if (!this.#active()) return;
        const delay = err.code === "UNAVAILABLE" ? this.#networkDelay() : this.#authDelay(false);
        this.#retry(`provisioning: ${err.message}`, delay);
      },
    );
  }

  #openSession(a: Assignment): void {
    this.#status = "connecting";
    const o = this.#o;
    try {
      this.#session = new HubSession(
        {
          assignedHub: a.assignedHub,
          deviceId: a.deviceId,
          deviceKey: this.#deviceKey,
          ca: o.ca,
          tokenLifetimeSec: o.tokenLifetimeSec ?? 3600,
          keepaliveSec: o.keepaliveSec ?? 60,
          connectTimeoutMs: o.connectTimeoutMs ?? 30_000,
          twinTimeoutMs: o.twinTimeoutMs ?? 30_000,
        },
        {
          connected: () => this.#onConnected(a),
          closed: (err) => this.#onClosed(err),
          twin: (desired) => this.#twin.twin(desired),
          desiredPatch: (patch) => this.#twin.patch(patch),
          twinError: (status, body) =>
            this.emit("warning", new Error(`twin request failed (${status}): ${body}`)),
        },
      );
    } catch (err) {
      // A cached assignment that cannot even be parsed: provision again.
      this.#forgetAssignment();
      this.#retry(`bad assignment: ${(err as Error).message}`, this.#networkDelay());
    }
  }

  #onConnected(a: Assignment): void {
    this.#status = "connected";
    this.#attempt = 0;
    this.#authFailures = 0;
    this.#renewing = false;
    this.#stats.connects++;
    this.#twin.connected();
    const session = this.#session!;
    this.#sender!.attach((mid, body, done) => session.publish(mid, body, done));
    // From the token's real expiry: `se` is whole seconds, so up to 1 s shorter than asked.
    const marginMs = (this.#o.tokenLifetimeSec ?? 3600) * 1000 * RENEW_MARGIN;
    clearTimeout(this.#renewTimer);
    this.#renewTimer = setTimeout(
      () => this.#renew(),
      Math.max(session.expiresAtMs - Date.now() - marginMs, 0),
    );
    this.emit("connected", { deviceId: a.deviceId, assignedHub: a.assignedHub });
  }

  /** New token, new CONNECT, as the SDK renews (§1.3): first let in-flight packets get their PUBACK. */
  #renew(): void {
    const session = this.#session;
    if (this.#status !== "connected" || !session) return;
    this.#renewing = true;
    clearTimeout(this.#drainTimer);
    this.#drainTimer = setTimeout(() => session.destroy(), DRAIN_MS);
    this.#sender!.pause();
  }

  #onClosed(err: (Error & { code?: unknown }) | undefined): void {
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#drainTimer);
    this.#session = undefined;
    this.#sender?.detach();
    if (this.#closing) {
      this.#closing();
      return;
    }
    if (this.#renewing) {
      this.#renewing = false;
      this.#connect();
      return;
    }
    if (isAuthRefusal(err)) {
      // The hub refuses the cached credentials (device re-created, keys rotated, moved to another
      // hub): provision again at once; if the fresh assignment is refused too, wait long (§5.2).
      this.#forgetAssignment();
      this.#retry(`hub refused the connection: ${err!.message}`, this.#authDelay(true));
      return;
    }
    this.#retry(err ? err.message : "connection closed", this.#networkDelay());
  }

  #networkDelay(): number {
    return backoffDelay(this.#attempt++, this.#o.backoff ?? NETWORK_BACKOFF, this.#random);
  }

  /**
   * The slow back-off after refused credentials; `immediateFirst`: the first refusal since the last
   * good connection retries at once, because it re-provisions and a fresh assignment may well work.
   */
  #authDelay(immediateFirst: boolean): number {
    const n = this.#authFailures++;
    if (n === 0 && immediateFirst) return 0;
    return backoffDelay(Math.max(n - 1, 0), this.#o.authBackoff ?? AUTH_BACKOFF, this.#random);
  }

  #retry(reason: string, delayMs: number): void {
    this.#status = "waiting";
    this.emit("disconnected", { reason, retryInMs: delayMs });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connect(), delayMs);
  }

  #forgetAssignment(): void {
    this.#state = { ...this.#state, assignment: undefined };
    this.#save();
  }

  #save(): void {
    try {
      saveState(this.#o.stateDir, this.#state);
    } catch (err) {
      this.emit("warning", new Error(`cannot save agent state: ${(err as Error).message}`));
    }
  }
}
