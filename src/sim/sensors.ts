/**
 * The sensor layer of one box (pump-domain.md §6.6): fixed per-sensor bias, white noise,
 * quantisation, dropouts (single signals, whole samples, bursts of 1–30 min) and the sensor
 * faults S1–S3 (stuck, spikes, drift) of §6.7. Works on the noise-free truth row of the asset.
 *
 * Not modelled: sensor lag (5 s, shorter than any emitted interval), duplicates and clock skew
 * (transport defects — the device agent's business, not the sensors').
 */
import type { Rng } from "./rng.js";
import { N_SIGNALS, SIGNAL_BOUNDS, SIGNALS, Sig } from "./signals.js";

/** Sensor-layer settings of one asset. */
export interface SensorOptions {
  /** True: exact readings — no bias, noise, quantisation or dropouts (sensor faults still apply). */
  ideal: boolean;
  /** Probability that a whole reading is lost (0.001, §6.6 "message loss p = 0.1 %"). */
  sampleLoss: number;
  /** Probability that one signal of a reading is missing (0.0005, sim). */
  signalLoss: number;
  /** Rate of outage bursts of 1–30 min, per day (0.01, §6.6). */
  burstsPerDay: number;
}

export const DEFAULT_SENSORS: SensorOptions = {
  ideal: false,
  sampleLoss: 0.001,
  signalLoss: 0.0005,
  burstsPerDay: 0.01,
};

/** Kinds of sensor fault (S1 stuck, S2 spikes, S3 drift). */
export type SensorFaultKind = "stuck" | "spike" | "drift";

/** Decimal places each signal is quantised to (PT100 0.1 °C, 0.1 hPa, 0.01 A, 1 W, 0.01 mm/s). */
const DECIMALS: readonly number[] = [1, 1, 1, 1, 1, 2, 3, 2, 2, 0];
/** Default spike height per signal, in its unit (sim): clearly implausible, still within bounds. */
export const DEFAULT_SPIKE: readonly number[] = [300, 300, 40, 40, 20, 5, 3, 5, 0, 0];

function roundTo(v: number, decimals: number): number {
  const f = decimals === 0 ? 1 : decimals === 1 ? 10 : decimals === 2 ? 100 : 1000;
  return Math.round(v * f) / f;
}

/**
 * Standard deviation of one reading's white noise at value v (§6.6); used for the ground truth's
 * `detectable` rule (effect > 3σ, §6.1).
 */
export function noiseSigma(sig: number, v: number): number {
  switch (sig) {
    case Sig.inletPressure:
      return v >= 10 ? 3.3 : Math.max(1e-4, 0.03 * v); // 0.3 % of 1100 hPa FS; Pirani 3 % below 10
    case Sig.exhaustPressure:
      return 2;
    case Sig.ambientTemperature:
      return 0.2;
    case Sig.oilTemperature:
    case Sig.motorTemperature:
      return 0.1;
    case Sig.motorCurrent:
    case Sig.power:
      return Math.max(0.005, 0.005 * v);
    case Sig.vibration:
      return Math.max(0.01, 0.05 * v);
    case Sig.operatingHours:
      return 0.01;
    default:
      return 0.5;
  }
}

export class Sensors {
  /** Indices (into SIGNALS) of the signals this box has. */
  readonly present: Uint8Array;
  private readonly bias = new Float64Array(N_SIGNALS);
  private readonly stuck = new Float64Array(N_SIGNALS).fill(Number.NaN);
  private readonly stuckArmed = new Uint8Array(N_SIGNALS);
  private readonly driftPerH = new Float64Array(N_SIGNALS);
  private readonly driftSince = new Float64Array(N_SIGNALS);
  private readonly spikeProb = new Float64Array(N_SIGNALS);
  private readonly spikeSize = new Float64Array(N_SIGNALS);
  private readonly spikeCount = new Uint32Array(N_SIGNALS);
  private burstUntil = Number.NEGATIVE_INFINITY;
  private lastTs = Number.NaN;

  constructor(
    signals: readonly string[],
    private readonly opts: SensorOptions,
    private readonly rng: Rng,
  ) {
    this.present = Uint8Array.from(signals.map((s) => SIGNALS.indexOf(s as (typeof SIGNALS)[number])));
    for (let i = 0; i < N_SIGNALS; i++) this.bias[i] = rng.between(-1, 1);
  }

  /**
   * Reads all present sensors at tMs from the truth row into `out` (NaN = missing). Returns how
   * many values are present; 0 means the whole reading is lost.
   */
  measure(tMs: number, truth: Float64Array, out: Float64Array): number {
    const dtS = Number.isNaN(this.lastTs) ? 0 : (tMs - this.lastTs) / 1000;
    this.lastTs = tMs;
    out.fill(Number.NaN);
    const o = this.opts;
    if (!o.ideal) {
      if (tMs < this.burstUntil) return 0;
      if (this.rng.uniform() < (o.burstsPerDay * dtS) / 86_400) {
        this.burstUntil = tMs + this.rng.between(60_000, 1_800_000);
        return 0;
      }
      if (this.rng.uniform() < o.sampleLoss) return 0;
    }
    let count = 0;
    for (let k = 0; k < this.present.length; k++) {
      const i = this.present[k]!;
      let m = o.ideal ? truth[i]! : this.noisy(i, truth[i]!);
      if (this.stuckArmed[i] === 1) {
        this.stuck[i] = m;
        this.stuckArmed[i] = 0;
      }
      if (!Number.isNaN(this.stuck[i]!)) m = this.stuck[i]!;
      if (this.driftPerH[i] !== 0) m += (this.driftPerH[i]! * (tMs - this.driftSince[i]!)) / 3_600_000;
      if (this.spikeProb[i]! > 0 && this.rng.uniform() < this.spikeProb[i]!) {
        m += this.spikeSize[i]!;
        this.spikeCount[i]!++;
      }
      const b = SIGNAL_BOUNDS[SIGNALS[i]!];
      m = Math.min(b[1], Math.max(b[0], m));
      if (!o.ideal && o.signalLoss > 0 && this.rng.uniform() < o.signalLoss) continue;
      out[i] = m;
      count++;
    }
    return count;
  }

  /** One reading of signal i with bias, noise and quantisation (§6.6 table). */
  private noisy(i: number, v: number): number {
    const b = this.bias[i]!;
    let m: number;
    switch (i) {
      case Sig.inletPressure:
        m = v >= 10 ? v + 3.3 * this.rng.normal() : v * (1 + 0.15 * b + 0.03 * this.rng.normal());
        return v >= 10 ? roundTo(m, 1) : roundTo(m, 3);
      case Sig.exhaustPressure:
        m = v + 12 * b + 2 * this.rng.normal();
        break;
      case Sig.oilTemperature:
      case Sig.motorTemperature:
        // IEC 60751 class B tolerance ±(0.3 + 0.005·|T|) as a fixed bias.
        m = v + b * (0.3 + 0.005 * Math.abs(v)) + 0.1 * this.rng.normal();
        break;
      case Sig.ambientTemperature:
        m = v + b * (0.3 + 0.005 * Math.abs(v)) + 0.2 * this.rng.normal();
        break;
      case Sig.motorCurrent:
      case Sig.power:
        m = v * (1 + 0.01 * b + 0.005 * this.rng.normal());
        break;
      case Sig.vibration:
        m = v * (1 + 0.1 * b + 0.05 * this.rng.normal());
        break;
      case Sig.operatingHours:
        return Math.floor(v * 100) / 100; // a counter: truncated, never ahead
      default:
        return v >= 0.5 ? 1 : 0; // running flag
    }
    return roundTo(m, DECIMALS[i]!);
  }

  /** Starts a sensor fault on signal i at tMs. */
  setFault(i: number, kind: SensorFaultKind, tMs: number, amount: number, probability: number): void {
    if (kind === "stuck")
      this.stuckArmed[i] = 1; // freezes at the next reading's value
    else if (kind === "drift") {
      this.driftPerH[i] = amount;
      this.driftSince[i] = tMs;
    } else {
      this.spikeProb[i] = probability;
      this.spikeSize[i] = amount === 0 ? DEFAULT_SPIKE[i]! : amount;
    }
  }

  /** Ends a sensor fault (sensor replaced); a new sensor comes with a new bias. */
  clearFault(i: number, kind: SensorFaultKind | undefined): void {
    if (kind === undefined || kind === "stuck") {
      this.stuck[i] = Number.NaN;
      this.stuckArmed[i] = 0;
    }
    if (kind === undefined || kind === "drift") this.driftPerH[i] = 0;
    if (kind === undefined || kind === "spike") this.spikeProb[i] = 0;
    if (kind === undefined) this.bias[i] = this.rng.between(-1, 1);
  }

  /** Size of a sensor fault's effect in noise σ at truth value v (for the `detectable` event). */
  faultEffectZ(i: number, kind: SensorFaultKind, tMs: number, v: number): number {
    const sigma = noiseSigma(i, v);
    if (kind === "stuck") return Number.isNaN(this.stuck[i]!) ? 0 : Math.abs(v - this.stuck[i]!) / sigma;
    if (kind === "drift")
      return Math.abs((this.driftPerH[i]! * (tMs - this.driftSince[i]!)) / 3_600_000) / sigma;
    return this.spikeCount[i]! > 0 ? Number.POSITIVE_INFINITY : 0;
  }
}
