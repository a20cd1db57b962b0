/**
 * Sensor sanity (pump-domain.md §4.1 item 5): a broken sensor is a `sensor:<signal>` warning, not a
 * machine alarm, so the technician replaces a PT100 instead of opening a pump.
 *
 * - **Stuck** (S1): the value has not changed at all for `stuckMs` (≥ `stuckSamples` readings) while
 *   the pump runs. Real analogue signals always carry noise, so an exactly repeated value means a
 *   frozen transmitter or a broken wire the box keeps reporting. Clears on the first change.
 * - **Spikes** (S2): a jump of more than `spikeZ` typical steps that reverses at the next reading
 *   (first differences, scale from an exponentially weighted mean of |Δ|). `spikesToRaise` spikes
 *   within an hour raise the warning; it clears after `spikeQuietMs` without one.
 *
 * Pure: time only from sample timestamps; JSON round trip through toJSON/fromJSON.
 */
import type { Sample } from "../core/sample.js";
import { RESIDUAL_SIGNALS } from "./baseline.js";
import type { Segment } from "./types.js";

/**
 * Signals that always carry measurement noise while the pump runs: the pump's health signals, the
 * same list (and order) as the residual models' RESIDUAL_SIGNALS.
 */
export const SANITY_SIGNALS = RESIDUAL_SIGNALS;

export interface SanityOptions {
  stuckMs: number;
  stuckSamples: number;
  spikeZ: number;
  spikesToRaise: number;
  spikeQuietMs: number;
}

export const DEFAULT_SANITY: Readonly<SanityOptions> = {
  stuckMs: 60 * 60_000,
  stuckSamples: 30,
  spikeZ: 12,
  spikesToRaise: 3,
  spikeQuietMs: 6 * 3_600_000,
};

export interface SanityTransition {
  signal: string;
  kind: "raise" | "clear";
  /** Fault catalogue code of the finding: S1 stuck, S2 spikes. */
  fault: "S1" | "S2";
  message: string;
}

interface Track {
  last: number;
  /** Change before the last reading (for the reversal test). */
  lastDiff: number;
  /** EW mean of |Δ| (the typical step). */
  scale: number;
  steps: number;
  sameSince: number;
  sameCount: number;
  spikes: number[];
  stuck: boolean;
  spiking: boolean;
}

const LABEL: Record<string, string> = {
  inletPressure: "inlet pressure",
  exhaustPressure: "exhaust pressure",
  oilTemperature: "oil temperature",
  motorTemperature: "motor temperature",
  motorCurrent: "motor current",
  power: "power",
  vibration: "vibration",
};

export class SensorSanity {
  readonly #o: SanityOptions;
  #tracks: Record<string, Track> = {};

  constructor(options: Partial<SanityOptions> = {}) {
    this.#o = { ...DEFAULT_SANITY, ...options };
  }

  update(sample: Sample, seg: Segment): SanityTransition[] {
    const out: SanityTransition[] = [];
    for (const signal of SANITY_SIGNALS) {
      const v = sample.values[signal];
      if (v === undefined) continue;
      const t = this.#tracks[signal];
      if (!t) {
        this.#tracks[signal] = newTrack(v, sample.ts);
        continue;
      }
      this.#stuck(signal, t, v, sample.ts, seg.running, out);
      if (seg.state === "running") this.#spike(signal, t, v, sample.ts, out);
      else t.lastDiff = 0;
      t.last = v;
    }
    return out;
  }

  #stuck(signal: string, t: Track, v: number, ts: number, running: boolean, out: SanityTransition[]): void {
    if (v !== t.last || !running) {
      t.sameSince = ts;
      t.sameCount = 0;
      if (t.stuck && v !== t.last) {
        t.stuck = false;
        out.push({
          signal,
          kind: "clear",
          fault: "S1",
          message: `${LABEL[signal]} sensor reads changing values again`,
        });
      }
      return;
    }
    t.sameCount++;
    if (!t.stuck && t.sameCount >= this.#o.stuckSamples && ts - t.sameSince >= this.#o.stuckMs) {
      t.stuck = true;
      out.push({
        signal,
        kind: "raise",
        fault: "S1",
        message: `${LABEL[signal]} has read exactly ${v} for ${Math.round((ts - t.sameSince) / 60_000)} min while the pump runs: sensor stuck or disconnected — check the sensor and its cable`,
      });
    }
  }

  #spike(signal: string, t: Track, v: number, ts: number, out: SanityTransition[]): void {
    const d = v - t.last;
    const prev = t.lastDiff;
    const big = (x: number) => t.steps >= 30 && Math.abs(x) > this.#o.spikeZ * t.scale && t.scale > 0;
    if (big(prev) && Math.sign(d) === -Math.sign(prev) && Math.abs(d) > 0.5 * Math.abs(prev)) {
      t.spikes.push(ts);
      t.lastDiff = 0;
    } else {
      t.lastDiff = d;
      // A spike's own steps stay out of the scale.
      if (!big(d)) {
        t.scale = t.steps === 0 ? Math.abs(d) : 0.98 * t.scale + 0.02 * Math.abs(d);
        t.steps++;
      }
    }
    t.spikes = t.spikes.filter((s) => ts - s < this.#o.spikeQuietMs);
    const lastHour = t.spikes.filter((s) => ts - s < 3_600_000).length;
    if (!t.spiking && lastHour >= this.#o.spikesToRaise) {
      t.spiking = true;
      out.push({
        signal,
        kind: "raise",
        fault: "S2",
        message: `${LABEL[signal]} shows ${lastHour} implausible spikes within an hour: loose contact or interference — check the sensor, its cable and shielding`,
      });
    } else if (t.spiking && t.spikes.length === 0) {
      t.spiking = false;
      out.push({
        signal,
        kind: "clear",
        fault: "S2",
        message: `${LABEL[signal]}: no spikes for ${this.#o.spikeQuietMs / 3_600_000} h`,
      });
    }
  }

  toJSON(): { o: SanityOptions; tracks: Record<string, Track> } {
    return { o: this.#o, tracks: this.#tracks };
  }

  static fromJSON(json: unknown): SensorSanity {
    const j = json as { o: SanityOptions; tracks: Record<string, Track> };
    const s = new SensorSanity(j.o);
    s.#tracks = structuredClone(j.tracks);
    return s;
  }
}

function newTrack(v: number, ts: number): Track {
  return {
    last: v,
    lastDiff: 0,
    scale: 0,
    steps: 0,
    sameSince: ts,
    sameCount: 0,
    spikes: [],
    stuck: false,
    spiking: false,
  };
}
