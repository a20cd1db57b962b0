import type { Config } from "../core/config.js";
import type { SecuritySeverity } from "../store/ports.js";

/** The detector thresholds (config `security`, docs/configuration.md). */
export type SecurityThresholds = Config["security"];

/** Kinds of security events, one per detector and what it watches (docs/security.md § Monitoring). */
export const SECURITY_KINDS = [
  "auth_failures",
  "device_rate",
  "device_payload",
  "device_churn",
  "quarantine_spike",
  "dps_enumeration",
  "dps_flood",
] as const;
export type SecurityKind = (typeof SECURITY_KINDS)[number];

/** What a detector saw about one subject; `count` observations to add to its episode. */
export interface Finding {
  kind: SecurityKind;
  /** `device:<id>`, `source:<keyed hash>` or `fleet`. */
  subject: string;
  deviceId: string | null;
  network: string | null;
  severity: SecuritySeverity;
  count: number;
  detail: string;
}

/**
 * Counts per key over a sliding window, estimated from two fixed buckets (the previous bucket weighted
 * by how much of it still lies in the window): O(1) per hit, no timestamps kept. A key whose count
 * crossed the threshold stays "hot" until `gapMs` pass without a hit, so an attack is reported once
 * with the count at the crossing, then one by one. Keys are bounded: beyond `max`, the least recently
 * hit is forgotten.
 */
export class BurstCounter {
  readonly #windowMs: number;
  readonly #gapMs: number;
  readonly #max: number;
  readonly #keys = new Map<string, { start: number; cur: number; prev: number; hotUntil: number }>();

  constructor(windowMs: number, gapMs: number, max: number) {
    this.#windowMs = windowMs;
    this.#gapMs = gapMs;
    this.#max = max;
  }

  /** Counts a hit; returns how many observations to report (0: below the threshold). */
  hit(key: string, at: number, threshold: number): number {
    let s = this.#keys.get(key);
    if (s) this.#keys.delete(key);
    else {
      s = { start: at, cur: 0, prev: 0, hotUntil: 0 };
      if (this.#keys.size >= this.#max) this.#keys.delete(this.#keys.keys().next().value!);
    }
    this.#keys.set(key, s);
    const w = this.#windowMs;
    if (at >= s.start + w) {
      const windows = Math.floor((at - s.start) / w);
      s.prev = windows === 1 ? s.cur : 0;
      s.cur = 0;
      s.start += windows * w;
    }
    s.cur++;
    if (s.hotUntil >= at) {
      s.hotUntil = at + this.#gapMs;
      return 1;
    }
    const estimate = s.cur + s.prev * (1 - (at - s.start) / w);
    if (estimate < threshold) return 0;
    s.hotUntil = at + this.#gapMs;
    return Math.round(estimate);
  }

  get size(): number {
    return this.#keys.size;
  }
}

/** Distinct values per key within a fixed window (enumeration), bounded like BurstCounter. */
export class DistinctCounter {
  readonly #windowMs: number;
  readonly #gapMs: number;
  readonly #max: number;
  readonly #keys = new Map<string, { start: number; seen: Set<string>; hotUntil: number }>();

  constructor(windowMs: number, gapMs: number, max: number) {
    this.#windowMs = windowMs;
    this.#gapMs = gapMs;
    this.#max = max;
  }

  /** Notes `value` for `key`; returns how many observations to report (0: below the threshold). */
  add(key: string, value: string, at: number, threshold: number): number {
    let s = this.#keys.get(key);
    if (s) this.#keys.delete(key);
    else {
      s = { start: at, seen: new Set(), hotUntil: 0 };
      if (this.#keys.size >= this.#max) this.#keys.delete(this.#keys.keys().next().value!);
    }
    this.#keys.set(key, s);
    if (at >= s.start + this.#windowMs) {
      s.start = at;
      s.seen.clear();
    }
    if (s.hotUntil >= at) {
      s.hotUntil = at + this.#gapMs;
      return s.seen.has(value) ? 0 : 1;
    }
    // Only up to the threshold need be remembered: a set never grows beyond it.
    s.seen.add(value);
    if (s.seen.size < threshold) return 0;
    s.hotUntil = at + this.#gapMs;
    s.seen.clear();
    return threshold;
  }
}

interface DeviceState {
  start: number;
  packets: number;
  connects: number;
  /** Completed windows since the device was first seen. */
  windows: number;
  rateAvg: number;
  churnAvg: number;
  sizeAvg: number;
  sizeN: number;
  rateHotUntil: number;
  sizeHotUntil: number;
  churnHotUntil: number;
}

/** Windows after which a silent device's averages are simply zero (avoids long decay loops). */
const MAX_DECAY_WINDOWS = 1000;

/**
 * A device behaving unlike itself: its packets and connections per window and its packet size, each
 * against its own exponentially weighted average (weight `alpha`), judged only after a warm-up. An
 * anomalous window or packet does not teach the average, so a slow ramp is learned and a sudden jump
 * is not. Per packet: one map lookup and a few arithmetic operations.
 */
export class DeviceBaselines {
  readonly #t: SecurityThresholds;
  readonly #w: number;
  readonly #gapMs: number;
  readonly #devices = new Map<string, DeviceState>();

  constructor(t: SecurityThresholds) {
    this.#t = t;
    this.#w = t.windowSec * 1000;
    this.#gapMs = t.episodeGapSec * 1000;
  }

  /** One telemetry packet of `bytes` from the device; a finding when it is unlike the device. */
  packet(deviceId: string, bytes: number, at: number, out: (f: Finding) => void): void {
    const s = this.#state(deviceId, at);
    s.packets++;
    const t = this.#t;
    if (s.windows >= t.warmupWindows) {
      const limit = Math.max(t.rateFactor * s.rateAvg, t.rateMin);
      if (s.rateHotUntil >= at) {
        s.rateHotUntil = at + this.#gapMs;
        out(this.#finding("device_rate", deviceId, 1, "warning", ""));
      } else if (s.packets > limit) {
        s.rateHotUntil = at + this.#gapMs;
        out(
          this.#finding(
            "device_rate",
            deviceId,
            s.packets,
            "warning",
            `${s.packets} packets within ${t.windowSec} s, its own average is ${s.rateAvg.toFixed(1)}`,
          ),
        );
      }
    }
    const sizeLimit = Math.max(t.sizeFactor * s.sizeAvg, t.sizeMinBytes);
    if (s.sizeN >= t.warmupPackets && bytes > sizeLimit) {
      const first = s.sizeHotUntil < at;
      s.sizeHotUntil = at + this.#gapMs;
      out(
        this.#finding(
          "device_payload",
          deviceId,
          1,
          "warning",
          first ? `packet of ${bytes} bytes, its own average is ${Math.round(s.sizeAvg)} bytes` : "",
        ),
      );
      return;
    }
    s.sizeAvg = s.sizeN === 0 ? bytes : s.sizeAvg + t.alpha * (bytes - s.sizeAvg);
    s.sizeN++;
  }

  /** The device connected (after authentication). */
  connected(deviceId: string, at: number, out: (f: Finding) => void): void {
    const s = this.#state(deviceId, at);
    s.connects++;
    const t = this.#t;
    if (s.windows < t.warmupWindows) return;
    if (s.churnHotUntil >= at) {
      s.churnHotUntil = at + this.#gapMs;
      out(this.#finding("device_churn", deviceId, 1, "warning", ""));
    } else if (s.connects > Math.max(t.churnFactor * s.churnAvg, t.churnMin)) {
      s.churnHotUntil = at + this.#gapMs;
      out(
        this.#finding(
          "device_churn",
          deviceId,
          s.connects,
          "warning",
          `${s.connects} connections within ${t.windowSec} s, its own average is ${s.churnAvg.toFixed(1)}`,
        ),
      );
    }
  }

  /** Forgets a device (deleted, or its company's data purged). */
  forget(deviceId: string): void {
    this.#devices.delete(deviceId);
  }

  #state(deviceId: string, at: number): DeviceState {
    let s = this.#devices.get(deviceId);
    if (!s) {
      s = {
        start: at,
        packets: 0,
        connects: 0,
        windows: 0,
        rateAvg: 0,
        churnAvg: 0,
        sizeAvg: 0,
        sizeN: 0,
        rateHotUntil: 0,
        sizeHotUntil: 0,
        churnHotUntil: 0,
      };
      this.#devices.set(deviceId, s);
      return s;
    }
    if (at < s.start + this.#w) return s;
    const a = this.#t.alpha;
    // Close the current window; a window that was anomalous does not teach the average.
    const learn = (avg: number, v: number, hot: boolean) =>
      s!.windows === 0 ? v : hot ? avg : avg + a * (v - avg);
    s.rateAvg = learn(s.rateAvg, s.packets, s.rateHotUntil >= at);
    s.churnAvg = learn(s.churnAvg, s.connects, s.churnHotUntil >= at);
    s.windows++;
    // Windows without any traffic count as zeros.
    const empty = Math.floor((at - s.start) / this.#w) - 1;
    if (empty > 0) {
      const k = Math.min(empty, MAX_DECAY_WINDOWS);
      const decay = (1 - a) ** k;
      s.rateAvg *= decay;
      s.churnAvg *= decay;
      s.windows += k;
    }
    s.start += (empty + 1) * this.#w;
    s.packets = 0;
    s.connects = 0;
    return s;
  }

  #finding(
    kind: SecurityKind,
    deviceId: string,
    count: number,
    severity: SecuritySeverity,
    detail: string,
  ): Finding {
    return { kind, subject: `device:${deviceId}`, deviceId, network: null, severity, count, detail };
  }
}
