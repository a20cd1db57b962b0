/**
 * Operating-state segmentation of one pump (pump-domain.md §4.1): every statistic downstream is
 * conditional on whether the pump runs, is warm and moves gas, so this runs before anything else.
 *
 * Pure: no I/O, no wall clock; time comes only from the samples' `ts`, which may arrive at any
 * interval (10 s live, 60 s backfill means). Samples that are not newer than the last one are
 * ignored (`update` returns null).
 *
 * - Running: the `running` flag when present; otherwise power (or current) above a run threshold,
 *   with hysteresis so a pump idling near the threshold does not chatter (§4.1 item 1).
 * - Warm-up: the first 3 τ_thermal of running (§4.1 item 2). τ comes from the model's body node,
 *   C_b / (G_forced + G_nat) (§6.3 E5). A stop shorter than τ keeps the pump warm, so an on/off
 *   receiver pump (§6.5 D3) is not put back into warm-up at every start.
 * - Evacuating: inlet pressure far above the pump's recent running base and falling (§4.1 item 3).
 *   The base is a running minimum that relaxes slowly upwards, so it follows a process change.
 * - Loaded: inlet pressure well above that base, or power above 60 % of rated (§3 load hours).
 *   One-minute backfill means of a packaging duty average over several cycles: they never look
 *   like an evacuation and count as loaded when their power or mean inlet pressure says so.
 */
import type { Sample } from "../core/sample.js";
import { MODEL_NAMES, MODELS, type ModelName } from "../sim/models.js";
import type { OperatingState, Segment } from "./types.js";

export interface SegmentOptions {
  /** A gap between samples longer than this counts as missing data (dtSec = 0), s. */
  maxGapSec: number;
  /** Warm-up lasts this many thermal time constants of running. */
  warmupTaus: number;
  /** Thermal time constant τ, s (default: from the model, 20 min → 1 h warm-up for an unknown model). */
  thermalTauSec: number;
  /** Run threshold on electrical power, kW (used when `running` is absent). */
  runPowerKw: number;
  /** Run threshold on motor current, A (used when neither `running` nor `power` is present). */
  runCurrentA: number;
  /** A running pump is classified stopped only below this fraction of the run thresholds (hysteresis). */
  offFraction: number;
  /** Evacuating when inlet pressure exceeds this multiple of the running base and falls. */
  evacuationFactor: number;
  /** Loaded when inlet pressure exceeds this multiple of the running base (§3). */
  loadFactor: number;
  /** Loaded when power exceeds this fraction of rated power (§3); ignored when rated power is unknown. */
  loadPowerFraction: number;
  /** Rated power, kW (default: from the model; 0 = unknown). */
  ratedPowerKw: number;
  /**
   * Ultimate pressure of the model, hPa (0 = unknown). For a known model, loaded also when the inlet
   * is more than `loadMinHpa` above it — throughput Q ∝ p_in − p_ult (§6.3 E1), so 10 hPa is ≈ 1 % of
   * the reference throughput. A pump held at a working pressure (continuous duty) has a running base
   * near that pressure, yet moves gas all the time.
   */
  ultimateHpa: number;
  loadMinHpa: number;
  /** The running base pressure relaxes upwards by a factor e per this much running time, s. */
  baseRelaxSec: number;
}

/** Thermal time constant of the model's body node C_b/(G_forced + G_nat) in s (§6.3 E5, §6.4). */
export function thermalTauSec(model: ModelName | null): number {
  if (model === null) return 1200;
  const p = MODELS[model].params;
  return p.cBodyJK / (p.gForcedWK + p.gNatWK);
}

/** Defaults for a model: run thresholds at ≈ 1.2 × no-load current (i₀ = 0.3·I_rated) and 10 % of rated power. */
export function defaultSegmentOptions(model: ModelName | null): SegmentOptions {
  const p = model === null ? null : MODELS[model].params;
  return {
    maxGapSec: 600,
    warmupTaus: 3,
    thermalTauSec: thermalTauSec(model),
    runPowerKw: p ? 0.1 * p.pRatedKw : 0.2,
    runCurrentA: p ? 0.36 * p.iRatedA : 1,
    offFraction: 0.7,
    evacuationFactor: 5,
    loadFactor: 10,
    loadPowerFraction: 0.6,
    ratedPowerKw: p ? p.pRatedKw : 0,
    ultimateHpa: p ? p.pUltHpa : 0,
    loadMinHpa: 10,
    baseRelaxSec: 6 * 3600,
  };
}

/** Serialised state of a {@link Segmenter}; NaN is stored as null. */
export interface SegmenterJSON {
  v: 1;
  model: ModelName | null;
  options: SegmentOptions;
  lastTs: number | null;
  running: boolean;
  runningSince: number | null;
  warmSince: number | null;
  stoppedSince: number | null;
  base: number | null;
  lastInlet: number | null;
}

/** A known model name or null (unknown model), as stored in serialised states. */
export function isModel(m: unknown): m is ModelName | null {
  return m === null || MODEL_NAMES.includes(m as ModelName);
}

const toNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
const toNaN = (v: number | null): number => (v === null ? Number.NaN : v);

export class Segmenter {
  readonly options: SegmentOptions;
  private lastTs = Number.NaN;
  private running = false;
  private runningSince = Number.NaN;
  /** Start of the current warm period (survives stops shorter than τ). */
  private warmSince = Number.NaN;
  private stoppedSince = Number.NaN;
  /** Running base inlet pressure, hPa: a minimum that relaxes upwards with `baseRelaxSec`. */
  private base = Number.NaN;
  private lastInlet = Number.NaN;

  constructor(
    readonly model: ModelName | null,
    options: Partial<SegmentOptions> = {},
  ) {
    this.options = { ...defaultSegmentOptions(model), ...options };
  }

  update(sample: Sample): Segment | null {
    const { ts, values } = sample;
    if (ts <= this.lastTs) return null;
    const o = this.options;
    const gapSec = Number.isNaN(this.lastTs) ? 0 : (ts - this.lastTs) / 1000;
    const dtSec = gapSec > o.maxGapSec ? 0 : gapSec;
    const first = Number.isNaN(this.lastTs);
    this.lastTs = ts;

    const wasRunning = this.running;
    this.running = this.classifyRunning(values);
    const started = this.running && !wasRunning && !first;
    if (this.running && !wasRunning) this.onStart(ts);
    if (!this.running && wasRunning) this.onStop(ts);

    const p = values["inletPressure"];
    const inlet = p !== undefined && Number.isFinite(p) ? p : Number.NaN;
    const baseBefore = this.base;
    if (this.running && !Number.isNaN(inlet)) this.updateBase(inlet, dtSec);
    const evacuating =
      this.running && inlet > o.evacuationFactor * baseBefore && inlet < this.lastInlet && !started;
    if (!Number.isNaN(inlet)) this.lastInlet = inlet;

    const thermalSteady = this.running && ts - this.warmSince >= o.warmupTaus * o.thermalTauSec * 1000;
    const loaded = this.running && this.isLoaded(inlet, values["power"]);
    let state: OperatingState = "running";
    if (!this.running) state = "stopped";
    else if (evacuating) state = "evacuating";
    else if (!thermalSteady) state = "warmup";
    return {
      ts,
      state,
      dtSec,
      running: this.running,
      runningSince: this.runningSince,
      started,
      thermalSteady,
      loaded,
    };
  }

  /** `running` flag if present, else power, else current (with hysteresis); no information keeps the state. */
  private classifyRunning(values: Record<string, number>): boolean {
    const flag = values["running"];
    if (flag !== undefined && Number.isFinite(flag)) return flag >= 0.5;
    const o = this.options;
    const hyst = this.running ? o.offFraction : 1;
    const power = values["power"];
    if (power !== undefined && Number.isFinite(power)) return power > o.runPowerKw * hyst;
    const current = values["motorCurrent"];
    if (current !== undefined && Number.isFinite(current)) return current > o.runCurrentA * hyst;
    return this.running;
  }

  private onStart(ts: number): void {
    this.runningSince = ts;
    const coolSec = (ts - this.stoppedSince) / 1000;
    // A pump stopped for less than τ is still warm (NaN: never stopped before → cold start).
    if (!(coolSec < this.options.thermalTauSec) || Number.isNaN(this.warmSince)) this.warmSince = ts;
  }

  private onStop(ts: number): void {
    this.runningSince = Number.NaN;
    this.stoppedSince = ts;
  }

  private updateBase(inlet: number, dtSec: number): void {
    const relaxed = Number.isNaN(this.base) ? inlet : this.base * Math.exp(dtSec / this.options.baseRelaxSec);
    this.base = Math.min(inlet, relaxed);
  }

  private isLoaded(inlet: number, power: number | undefined): boolean {
    const o = this.options;
    if (inlet > o.loadFactor * this.base) return true;
    if (o.ultimateHpa > 0 && inlet - o.ultimateHpa > o.loadMinHpa) return true;
    return o.ratedPowerKw > 0 && power !== undefined && power > o.loadPowerFraction * o.ratedPowerKw;
  }

  toJSON(): SegmenterJSON {
    return {
      v: 1,
      model: this.model,
      options: { ...this.options },
      lastTs: toNull(this.lastTs),
      running: this.running,
      runningSince: toNull(this.runningSince),
      warmSince: toNull(this.warmSince),
      stoppedSince: toNull(this.stoppedSince),
      base: toNull(this.base),
      lastInlet: toNull(this.lastInlet),
    };
  }

  /** @throws TypeError when `json` is not a state written by {@link toJSON}. */
  static fromJSON(json: unknown): Segmenter {
    const j = json as Partial<SegmenterJSON> | null;
    if (j?.v !== 1 || !isModel(j.model) || typeof j.options !== "object" || typeof j.running !== "boolean")
      throw new TypeError("Segmenter.fromJSON: not a segmenter state");
    const s = new Segmenter(j.model, j.options);
    s.lastTs = toNaN(j.lastTs ?? null);
    s.running = j.running;
    s.runningSince = toNaN(j.runningSince ?? null);
    s.warmSince = toNaN(j.warmSince ?? null);
    s.stoppedSince = toNaN(j.stoppedSince ?? null);
    s.base = toNaN(j.base ?? null);
    s.lastInlet = toNaN(j.lastInlet ?? null);
    return s;
  }
}
