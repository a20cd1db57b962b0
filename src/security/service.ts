import { createHmac } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { Counter, type Registry } from "prom-client";
import { isValidId } from "../core/keys.js";
import type { SecurityEvent, SecurityStore } from "../store/ports.js";
import {
  BurstCounter,
  DeviceBaselines,
  DistinctCounter,
  type Finding,
  type SecurityKind,
  type SecurityThresholds,
} from "./detectors.js";

/** Where a failed authentication was seen. */
export type AuthChannel = "mqtt" | "dps" | "login";

export interface SecurityMonitorOptions {
  store: SecurityStore;
  thresholds: SecurityThresholds;
  /** Key of the source-address hash (derived from the master key: stable per installation). */
  hashKey: Buffer;
  /** The app's metrics registry: `pumpwatch_security_events_total{kind,severity}` is added to it. */
  registry: Registry;
  /** A new episode was recorded (notifications); failures are reported to `onError`. */
  onOpened?: (event: SecurityEvent) => Promise<void> | void;
  onError?: (err: unknown, what: string) => void;
  now?: () => number;
  /** How often accumulated counts are written; default 5 s. A new episode is written at once. */
  flushMs?: number;
}

interface Pending {
  finding: Finding;
  at: number;
  /** Not yet written at all: written at once, not at the next tick. */
  fresh: boolean;
}

const PRUNE_EVERY_MS = 3_600_000;

/**
 * The watched cloud (docs/security.md § Monitoring): the gateway, DPS, the login route and ingest
 * report what they see; the detectors (detectors.ts) turn bursts and departures from a device's own
 * baseline into findings; findings become security events in the store, one per detector, subject
 * and episode, with their count. The first finding of an episode is written at once, further counts
 * are summed in memory and written every `flushMs`, so a flood costs a few writes. Source addresses
 * are never kept: a keyed hash names the source and the network prefix is the most that is stored.
 */
export class SecurityMonitor {
  readonly #o: SecurityMonitorOptions;
  readonly #t: SecurityThresholds;
  readonly #now: () => number;
  readonly #auth: BurstCounter;
  readonly #quarantine: BurstCounter;
  readonly #dpsRequests: BurstCounter;
  readonly #dpsIds: DistinctCounter;
  readonly #baselines: DeviceBaselines;
  readonly #pending = new Map<string, Pending>();
  /** When each (kind, subject) was last written. */
  readonly #written = new Map<string, number>();
  readonly #events: Counter<"kind" | "severity">;
  readonly #report = (f: Finding) => this.#add(f);
  #flushing: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #lastPrune = 0;
  #closed = false;

  constructor(o: SecurityMonitorOptions) {
    this.#o = o;
    this.#t = o.thresholds;
    this.#now = o.now ?? Date.now;
    const w = this.#t.windowSec * 1000;
    const gap = this.#t.episodeGapSec * 1000;
    this.#auth = new BurstCounter(w, gap, this.#t.maxTracked);
    this.#quarantine = new BurstCounter(w, gap, this.#t.maxTracked);
    this.#dpsRequests = new BurstCounter(w, gap, this.#t.maxTracked);
    this.#dpsIds = new DistinctCounter(w, gap, this.#t.maxTracked);
    this.#baselines = new DeviceBaselines(this.#t);
    this.#events =
      (o.registry.getSingleMetric("pumpwatch_security_events_total") as Counter<"kind" | "severity">) ??
      new Counter({
        name: "pumpwatch_security_events_total",
        help: "Security events opened (one per detector, subject and episode) by kind and severity",
        labelNames: ["kind", "severity"] as const,
        registers: [o.registry],
      });
  }

  start(): void {
    this.#timer = setInterval(() => this.#kick(), this.#o.flushMs ?? 5000);
    this.#timer.unref();
  }

  /** Writes what is pending and stops. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#kick();
    await this.idle();
  }

  /** Settles when everything observed so far is written. */
  async idle(): Promise<void> {
    while (this.#flushing || this.#pending.size > 0) {
      if (!this.#flushing) this.#kick();
      await this.#flushing;
    }
  }

  /** A refused CONNECT, DPS request or API login from `remote`, naming `deviceId` when it did. */
  authFailed(channel: AuthChannel, remote: string | undefined, deviceId?: string): void {
    if (!this.#t.enabled) return;
    const at = this.#now();
    const src = this.source(remote);
    const n = this.#auth.hit(src.subject, at, this.#t.authFailuresPerSource);
    if (n > 0) {
      this.#add({
        kind: "auth_failures",
        subject: src.subject,
        deviceId: null,
        network: src.network,
        severity: "alarm",
        count: n,
        detail: n > 1 ? `${n} failed authentications (${channel}) within ${this.#t.windowSec} s` : "",
      });
    }
    if (deviceId === undefined || channel === "login") return;
    const id = isValidId(deviceId) ? deviceId : "(invalid id)";
    const m = this.#auth.hit(`device:${id}`, at, this.#t.authFailuresPerDevice);
    if (m > 0) {
      this.#add({
        kind: "auth_failures",
        subject: `device:${id}`,
        deviceId: isValidId(deviceId) ? deviceId : null,
        network: src.network,
        severity: "alarm",
        count: m,
        detail:
          m > 1
            ? `${m} failed authentications (${channel}) as this device within ${this.#t.windowSec} s`
            : "",
      });
    }
  }

  /**
   * One telemetry packet after ingest checked it (every transport): its device, size, and whether it
   * was quarantined. Cheap: a map lookup and arithmetic unless something is found.
   */
  packet(deviceId: string, bytes: number, quarantined: boolean): void {
    if (!this.#t.enabled) return;
    const at = this.#now();
    this.#baselines.packet(deviceId, bytes, at, this.#report);
    if (!quarantined) return;
    const n = this.#quarantine.hit(`device:${deviceId}`, at, this.#t.quarantinePerDevice);
    if (n > 0) {
      this.#add({
        kind: "quarantine_spike",
        subject: `device:${deviceId}`,
        deviceId,
        network: null,
        severity: "warning",
        count: n,
        detail: n > 1 ? `${n} packets quarantined within ${this.#t.windowSec} s` : "",
      });
    }
    const f = this.#quarantine.hit("fleet", at, this.#t.quarantineFleet);
    if (f > 0) {
      this.#add({
        kind: "quarantine_spike",
        subject: "fleet",
        deviceId: null,
        network: null,
        severity: "alarm",
        count: f,
        detail: f > 1 ? `${f} packets of the fleet quarantined within ${this.#t.windowSec} s` : "",
      });
    }
  }

  /** A device connected after authenticating. */
  deviceConnected(deviceId: string): void {
    if (this.#t.enabled) this.#baselines.connected(deviceId, this.#now(), this.#report);
  }

  forgetDevice(deviceId: string): void {
    this.#baselines.forget(deviceId);
  }

  /** A DPS request from `remote` and its answer's status (401: refused; 404, 400: unknown or invalid). */
  dpsRequest(remote: string | undefined, registrationId: string, status: number): void {
    if (!this.#t.enabled) return;
    const at = this.#now();
    const src = this.source(remote);
    const n = this.#dpsRequests.hit(src.subject, at, this.#t.dpsRequestsPerSource);
    if (n > 0) {
      this.#add({
        kind: "dps_flood",
        subject: src.subject,
        deviceId: null,
        network: src.network,
        severity: "warning",
        count: n,
        detail: n > 1 ? `${n} provisioning requests within ${this.#t.windowSec} s` : "",
      });
    }
    if (status < 400 || status >= 500) return;
    if (status === 401) this.authFailed("dps", remote);
    const ids = this.#dpsIds.add(src.subject, registrationId, at, this.#t.dpsIdsPerSource);
    if (ids > 0) {
      this.#add({
        kind: "dps_enumeration",
        subject: src.subject,
        deviceId: null,
        network: src.network,
        severity: "alarm",
        count: ids,
        detail: ids > 1 ? `${ids} different registration ids refused within ${this.#t.windowSec} s` : "",
      });
    }
  }

  /**
   * The stored name of a source address: `source:` and 16 hex digits of HMAC-SHA256 under the
   * installation's key — the same address gives the same name, the name gives no address — and its
   * network prefix (IPv4 /24, IPv6 /48), enough for a firewall rule and not a person's address.
   */
  source(remote: string | undefined): { subject: string; network: string | null } {
    if (!remote) return { subject: "source:unknown", network: null };
    const addr = remote.startsWith("::ffff:") && isIPv4(remote.slice(7)) ? remote.slice(7) : remote;
    const hash = createHmac("sha256", this.#o.hashKey).update(addr).digest("hex").slice(0, 16);
    return { subject: `source:${hash}`, network: networkOf(addr) };
  }

  #add(f: Finding): void {
    const key = `${f.kind}\u0000${f.subject}`;
    const at = this.#now();
    const p = this.#pending.get(key);
    if (p) {
      p.finding.count += f.count;
      p.at = at;
      if (f.detail) p.finding.detail = f.detail;
      if (f.severity === "alarm") p.finding.severity = "alarm";
      return;
    }
    if (this.#pending.size >= this.#t.maxTracked) return;
    // Written within the episode gap already: the count waits for the next tick.
    const fresh = !(
      (this.#written.get(key) ?? Number.NEGATIVE_INFINITY) >=
      at - this.#t.episodeGapSec * 1000
    );
    this.#pending.set(key, { finding: { ...f }, at, fresh });
    if (fresh) this.#kick(true);
  }

  #kick(freshOnly = false): void {
    if (this.#flushing) {
      this.#again = true;
      return;
    }
    this.#flushing = this.#flush(freshOnly)
      .catch((err: unknown) => this.#o.onError?.(err, "recording security events"))
      .finally(() => {
        this.#flushing = undefined;
        if (this.#again) {
          this.#again = false;
          this.#kick(!this.#closed);
        }
      });
  }

  async #flush(freshOnly: boolean): Promise<void> {
    const gapMs = this.#t.episodeGapSec * 1000;
    for (const [key, p] of [...this.#pending]) {
      if (freshOnly && !p.fresh) continue;
      this.#pending.delete(key);
      if (this.#written.size >= this.#t.maxTracked) this.#written.clear();
      this.#written.set(key, p.at);
      const { event, opened } = await this.#o.store.recordSecurityEvent({ ...p.finding, at: p.at }, gapMs);
      if (!opened) continue;
      this.#events.inc({ kind: event.kind as SecurityKind, severity: event.severity });
      try {
        await this.#o.onOpened?.(event);
      } catch (err) {
        this.#o.onError?.(err, "announcing a security event");
      }
    }
    const now = this.#now();
    if (!freshOnly && now - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      await this.#o.store.pruneSecurityEvents(now - this.#t.retentionDays * 86_400_000);
    }
  }
}

/** IPv4 /24 or IPv6 /48 of an address, in CIDR notation; null for anything else. */
export function networkOf(addr: string): string | null {
  if (isIPv4(addr)) return `${addr.split(".").slice(0, 3).join(".")}.0/24`;
  if (!isIPv6(addr)) return null;
  const [head = "", tail = ""] = addr.split("::", 2);
  const h = head ? head.split(":") : [];
  const t = addr.includes("::") ? (tail ? tail.split(":") : []) : [];
  const groups = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return `${groups
    .slice(0, 3)
    .map((g) => (Number.parseInt(g || "0", 16) || 0).toString(16))
    .join(":")}::/48`;
}
