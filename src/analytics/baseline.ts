/**
 * Per-pump residual models: each health signal against the pump's own learned normal at the same
 * operating point (pump-domain.md §4.2, "normalise first, detect second", §2.3).
 *
 * Pure: no I/O, no wall clock. Every signal is learned over a commissioning window (default the
 * first 48 running hours, §4.2 "first 24–72 running hours") and then frozen: a frozen baseline does
 * not slowly learn a slow fault. `rebaseline` starts a new window for some signals (after
 * maintenance, §6.8; {@link rebaselineSignals} says which).
 *
 * Operating-point normalisation, all as "robust binned regression": the points (x, y) of the window
 * are binned on x, a piecewise-linear curve runs through the bins' (median x, median y), and σ per
 * bin is 1.4826·MAD of the residuals around that curve (floored by the sensor resolution). Bins
 * with too few points are skipped, so their neighbours (or, with no full bin, the global median)
 * stand in. Outside the learned x range by more than a margin a signal is not evaluated.
 * - exhaustPressure, power, motorCurrent, vibration: x = log10(inlet pressure) (§4.2
 *   non-parametric alternative: the throughput and gas-work dependence on p_in).
 * - oilTemperature, motorTemperature: y = T − T̄_amb, x = P̄, where P̄ and T̄_amb are power and
 *   ambient temperature low-passed with the node's thermal time constant (§6.3 E5: a first-order
 *   node settles at ΔT ≈ R_th·P), so on/off duties with short stops are modelled too.
 * - inletPressure ("base pressure" at the same duty): y = log10(p_in), one bin; a leak (F6) gives a
 *   positive residual. Its residual is reported in hPa, its z on the log scale.
 *
 * Evaluated (and learned) only in the `running` state (thermal steady state, not evacuating, not the
 * start sample). Residuals come one sample late: a sample is used only once the next sample shows
 * the pump still running, because a 1-minute mean that straddles a stop mixes running and stopped
 * (§4.1 transient masks). `Residuals.ts` is the evaluated sample's time.
 *
 * Memory is bounded: during commissioning each signal keeps at most `bufferSize` points (when full,
 * every second point is dropped and only every second new point is kept, so the buffer stays a
 * uniform sample of the window); a frozen signal keeps only its curve (≤ one knot per bin).
 */
import type { Sample } from "../core/sample.js";
import { MODELS, type ModelName } from "../sim/models.js";
import { median } from "./detector.js";
import { isModel, thermalTauSec } from "./segment.js";
import type { MaintenanceAction, Residuals, Segment } from "./types.js";

/** Signals with a residual model, in a fixed order. */
export const RESIDUAL_SIGNALS = [
  "inletPressure",
  "exhaustPressure",
  "oilTemperature",
  "motorTemperature",
  "motorCurrent",
  "power",
  "vibration",
] as const;

export type ResidualSignal = (typeof RESIDUAL_SIGNALS)[number];

/**
 * Signals whose normal changes with a maintenance action (§6.8), so their residual models must be
 * learned again: oil change → temperatures and power (viscosity); exhaust filter → exhaust pressure
 * and the electrical load; overhaul and sensor replacement → everything; cooling repair, leak repair
 * and restart restore the old normal (leak repair: the base pressure is re-learned in case the
 * "normal" included a small leak).
 */
export function rebaselineSignals(action: MaintenanceAction): string[] {
  switch (action) {
    case "oilChange":
      return ["oilTemperature", "motorTemperature", "power"];
    case "exhaustFilterChange":
      return ["exhaustPressure", "power", "motorCurrent"];
    case "leakRepair":
      return ["inletPressure"];
    case "overhaul":
    case "sensorReplacement":
      return [...RESIDUAL_SIGNALS];
    case "coolingRepair":
    case "restart":
      return [];
  }
}

export interface ResidualOptions {
  /** Running hours of the commissioning window after start and after each rebaseline. */
  commissioningHours: number;
  /** Max (x, y) points kept per signal during commissioning. */
  bufferSize: number;
  /** A bin needs this many points to get its own knot. */
  minBinCount: number;
  /** Bin width on log10(inlet pressure / hPa), decades. */
  logBinWidth: number;
  /** Evaluate up to this far outside the learned log10(inlet pressure) range, decades. */
  logMargin: number;
  /** Bin width on the low-passed power of the thermal models, kW. */
  heatBinKw: number;
  /** Evaluate up to this far outside the learned low-passed power range, kW. */
  heatMarginKw: number;
  /** Thermal time constants of the body (oil) and motor nodes while running, s (default: from the model). */
  bodyTauSec: number;
  motorTauSec: number;
  /** The same while stopped: fan off, natural convection only (C/G_nat), s. */
  bodyCoolTauSec: number;
  motorCoolTauSec: number;
  /** Lower bound of σ per signal in the residual's unit (inletPressure: decades), ≈ sensor resolution. */
  sigmaFloor: Record<ResidualSignal, number>;
  /**
   * Heat sink of the body node: the share of ambient in it (G_nat/(G_forced+G_nat) for a
   * water-cooled pump, 1 for an air-cooled one) and the coolant temperature for the rest (°C). A
   * water-cooled screw follows its cooling loop, not the weather, so referencing it to ambient would
   * turn seasonal swings into residuals (§6.3 E5).
   */
  bodyAmbientShare: number;
  coolantC: number;
}

/** The body node's heat sink (see ResidualOptions.bodyAmbientShare). */
function bodySink(model: ModelName | null): { share: number; coolantC: number } {
  const p = model === null ? null : MODELS[model].params;
  if (!p || !(p.coolantC > 0)) return { share: 1, coolantC: 0 };
  return { share: p.gNatWK / (p.gNatWK + p.gForcedWK), coolantC: p.coolantC };
}

/** Running and stopped (natural convection) time constants of the motor node and the stopped one of the body, s (§6.3 E5). */
function nodeTaus(model: ModelName | null): { motor: number; motorCool: number; bodyCool: number } {
  if (model === null) return { motor: 1200, motorCool: 4800, bodyCool: 4800 };
  const p = MODELS[model].params;
  return {
    motor: p.cMotorJK / (p.gMotorWK + p.gMotorNatWK),
    motorCool: p.cMotorJK / p.gMotorNatWK,
    bodyCool: p.cBodyJK / p.gNatWK,
  };
}

export function defaultResidualOptions(model: ModelName | null): ResidualOptions {
  const taus = nodeTaus(model);
  const sink = bodySink(model);
  return {
    bodyAmbientShare: sink.share,
    coolantC: sink.coolantC,
    commissioningHours: 48,
    bufferSize: 2048,
    minBinCount: 20,
    logBinWidth: 0.1,
    logMargin: 0.3,
    heatBinKw: 0.05,
    heatMarginKw: 0.3,
    bodyTauSec: thermalTauSec(model),
    motorTauSec: taus.motor,
    bodyCoolTauSec: taus.bodyCool,
    motorCoolTauSec: taus.motorCool,
    // Floors: sensor resolution, plus the slow weather-driven wander that a 48-h window cannot
    // sample (§6.5: atmospheric pressure σ ≈ 10 hPa over ≈ 2 days, which the absolute exhaust
    // sensor follows and which moves the compression work ln(p_ex/p_in) and so power and current
    // by ≈ 1 %; ambient AR(1) noise, which the temperatures follow with their lag).
    sigmaFloor: {
      inletPressure: 0.005,
      exhaustPressure: 20,
      oilTemperature: 0.5,
      motorTemperature: 0.8,
      motorCurrent: 0.05,
      power: 0.03,
      vibration: 0.01,
    },
  };
}

/** One knot of a learned curve: bin median of x and y, robust σ of the residuals there. */
export interface Knot {
  x: number;
  y: number;
  s: number;
}

/** Serialised learner of one signal. */
export interface LearnerJSON {
  /** Learns only from samples at or after this time (the (re)baseline time), epoch ms. */
  since: number;
  runSec: number;
  /** Interleaved x, y of the commissioning buffer (empty once frozen). */
  buf: number[];
  stride: number;
  skip: number;
  /** The frozen curve, null while learning. */
  knots: Knot[] | null;
}

/** Bounded commissioning buffer plus, once frozen, the binned curve of one signal. */
class Learner {
  constructor(
    private s: LearnerJSON,
    private readonly o: ResidualOptions,
  ) {}

  static fresh(since: number, o: ResidualOptions): Learner {
    return new Learner({ since, runSec: 0, buf: [], stride: 1, skip: 0, knots: null }, o);
  }

  get since(): number {
    return this.s.since;
  }

  get frozen(): boolean {
    return this.s.knots !== null;
  }

  addRunTime(dtSec: number): void {
    if (!this.frozen) this.s.runSec += dtSec;
  }

  /** Adds a commissioning point (decimating when full) and freezes once the window is complete. */
  learn(x: number, y: number, binWidth: number, floor: number): void {
    const s = this.s;
    if (s.skip > 0) s.skip--;
    else {
      s.buf.push(x, y);
      s.skip = s.stride - 1;
      if (s.buf.length / 2 >= this.o.bufferSize) {
        s.buf = s.buf.filter((_, i) => i % 4 < 2);
        s.stride *= 2;
      }
    }
    if (s.runSec >= this.o.commissioningHours * 3600) {
      const knots = fitCurve(s.buf, binWidth, this.o.minBinCount, floor);
      if (knots) {
        s.knots = knots;
        s.buf = [];
      }
    }
  }

  /** Expected y and σ at x, or null when not frozen or x lies beyond the learned range ± margin. */
  expect(x: number, margin: number): { y: number; s: number } | null {
    const k = this.s.knots;
    if (k === null || x < k[0]!.x - margin || x > k[k.length - 1]!.x + margin) return null;
    return interpolate(k, x);
  }

  toJSON(): LearnerJSON {
    return { ...this.s, buf: [...this.s.buf], knots: this.s.knots?.map((k) => ({ ...k })) ?? null };
  }
}

/**
 * Piecewise-linear interpolation of y and σ between knots (sorted by x). Outside, y continues along
 * the chord from the first to the last knot (stabler than the end segment's slope; a leak moves the
 * inlet pressure past the learned range, and power keeps rising with it) and σ stays constant.
 */
const finite = (x: number | undefined | null): x is number => typeof x === "number" && Number.isFinite(x);

function interpolate(k: readonly Knot[], x: number): { y: number; s: number } {
  const first = k[0]!;
  const last = k[k.length - 1]!;
  if (x <= first.x || x >= last.x) {
    const slope = last.x > first.x ? (last.y - first.y) / (last.x - first.x) : 0;
    const end = x <= first.x ? first : last;
    return { y: end.y + slope * (x - end.x), s: end.s };
  }
  let i = 1;
  while (k[i]!.x < x) i++;
  const a = k[i - 1]!;
  const b = k[i]!;
  const f = (x - a.x) / (b.x - a.x);
  return { y: a.y + f * (b.y - a.y), s: a.s + f * (b.s - a.s) };
}

/**
 * Robust binned regression over interleaved (x, y) points: knots at the bins' medians, σ per bin
 * from the MAD of residuals around the piecewise-linear curve (at least half the global σ and the
 * floor). Null when no bin and not the whole set has `minCount` points.
 */
function fitCurve(buf: readonly number[], binWidth: number, minCount: number, floor: number): Knot[] | null {
  const bins = new Map<number, { xs: number[]; ys: number[] }>();
  for (let i = 0; i < buf.length; i += 2) {
    const key = Math.floor(buf[i]! / binWidth);
    let b = bins.get(key);
    if (!b) {
      b = { xs: [], ys: [] };
      bins.set(key, b);
    }
    b.xs.push(buf[i]!);
    b.ys.push(buf[i + 1]!);
  }
  let groups = [...bins.entries()]
    .filter(([, b]) => b.xs.length >= minCount)
    .sort(([a], [b]) => a - b)
    .map(([, b]) => b);
  if (groups.length === 0) {
    if (buf.length / 2 < minCount) return null;
    groups = [{ xs: buf.filter((_, i) => i % 2 === 0), ys: buf.filter((_, i) => i % 2 === 1) }];
  }
  const knots: Knot[] = groups.map((g) => ({ x: median(g.xs), y: median(g.ys), s: 0 }));
  const resid = (g: { xs: number[]; ys: number[] }) => g.ys.map((y, i) => y - interpolate(knots, g.xs[i]!).y);
  const mad = (r: number[]) => 1.4826 * median(r.map(Math.abs));
  const perBin = groups.map(resid);
  const global = mad(perBin.flat());
  for (const [i, k] of knots.entries()) k.s = Math.max(mad(perBin[i]!), 0.5 * global, floor);
  return knots;
}

/** Inputs of one sample's residual evaluation, kept until the next sample confirms it. */
interface Pending {
  ts: number;
  /** Per signal [x, y, observed value]. */
  points: Partial<Record<ResidualSignal, [number, number, number]>>;
}

export interface ResidualModelJSON {
  v: 1;
  model: ModelName | null;
  options: ResidualOptions;
  learners: Record<ResidualSignal, LearnerJSON>;
  /** Low-passed power (kW) and ambient temperature (°C) for the body and motor nodes; null = not yet. */
  filters: { pBody: number | null; aBody: number | null; pMotor: number | null; aMotor: number | null };
  pending: Pending | null;
}

type FilterKey = keyof ResidualModelJSON["filters"];

export class ResidualModel {
  readonly options: ResidualOptions;
  private learners: Record<ResidualSignal, Learner>;
  private filters: Record<FilterKey, number | null> = {
    pBody: null,
    aBody: null,
    pMotor: null,
    aMotor: null,
  };
  private pending: Pending | null = null;

  constructor(
    readonly model: ModelName | null,
    options: Partial<ResidualOptions> = {},
  ) {
    this.options = { ...defaultResidualOptions(model), ...options };
    this.learners = Object.fromEntries(
      RESIDUAL_SIGNALS.map((s) => [s, Learner.fresh(0, this.options)]),
    ) as Record<ResidualSignal, Learner>;
  }

  /**
   * Feeds one sample with its segment (samples in time order). Returns the residuals of the
   * previous sample when this one confirms the pump kept running, else null (also while learning).
   */
  update(sample: Sample, seg: Segment): Residuals | null {
    this.updateFilters(sample.values, seg);
    if (seg.running)
      for (const l of Object.values(this.learners)) if (seg.ts >= l.since) l.addRunTime(seg.dtSec);
    const confirmed = this.pending !== null && seg.running && seg.dtSec > 0 ? this.pending : null;
    this.pending = seg.state === "running" && !seg.started ? this.points(sample) : null;
    return confirmed ? this.evaluate(confirmed) : null;
  }

  /** True when `signal` (or, without an argument, at least one signal) has a frozen baseline. */
  isReady(signal?: string): boolean {
    if (signal === undefined) return Object.values(this.learners).some((l) => l.frozen);
    return this.learners[signal as ResidualSignal]?.frozen ?? false;
  }

  /** Starts a new commissioning window at `ts` for `signals` (default: all). */
  rebaseline(ts: number, signals: readonly string[] = RESIDUAL_SIGNALS): void {
    for (const s of signals) {
      if (s in this.learners) this.learners[s as ResidualSignal] = Learner.fresh(ts, this.options);
    }
  }

  /**
   * Low-passes power and ambient temperature with each node's time constant: the fan-cooled τ
   * while running, the slower natural-convection τ while stopped (§6.3 E5), so T − T̄_amb ≈ a + b·P̄
   * holds for on/off duties too.
   */
  private updateFilters(values: Record<string, number>, seg: Segment): void {
    const o = this.options;
    const power = seg.running ? values["power"] : 0;
    const ambient = values["ambientTemperature"];
    this.lowPass("pBody", power, seg.running ? o.bodyTauSec : o.bodyCoolTauSec, seg.dtSec);
    this.lowPass("pMotor", power, seg.running ? o.motorTauSec : o.motorCoolTauSec, seg.dtSec);
    this.lowPass("aBody", ambient, o.bodyTauSec, seg.dtSec);
    this.lowPass("aMotor", ambient, o.motorTauSec, seg.dtSec);
  }

  private lowPass(key: FilterKey, v: number | undefined, tau: number, dtSec: number): void {
    if (v === undefined || !Number.isFinite(v)) return;
    const prev = this.filters[key];
    // dtSec = 0 is the first sample or a sample after a gap: restart the filter at the value.
    const a = prev === null || dtSec === 0 ? 1 : 1 - Math.exp(-dtSec / tau);
    this.filters[key] = prev === null ? v : prev + a * (v - prev);
  }

  /** Regression points of one sample: [x, y, raw value] per evaluable signal. */
  private points(sample: Sample): Pending {
    const v = sample.values;
    const points: Pending["points"] = {};
    const p = v["inletPressure"];
    if (finite(p)) {
      const lx = Math.log10(Math.max(p, 1e-3));
      points.inletPressure = [0, lx, p];
      for (const s of ["exhaustPressure", "power", "motorCurrent", "vibration"] as const) {
        const y = v[s];
        if (finite(y)) points[s] = [lx, y, y];
      }
    }
    const f = this.filters;
    const oil = v["oilTemperature"];
    if (finite(oil) && finite(f.pBody) && finite(f.aBody)) {
      const o = this.options;
      const sink = o.bodyAmbientShare * f.aBody + (1 - o.bodyAmbientShare) * o.coolantC;
      points.oilTemperature = [f.pBody, oil - sink, oil];
    }
    const mot = v["motorTemperature"];
    if (finite(mot) && finite(f.pMotor) && finite(f.aMotor))
      points.motorTemperature = [f.pMotor, mot - f.aMotor, mot];
    return { ts: sample.ts, points };
  }

  /** Learns from or evaluates each signal of a confirmed sample. */
  private evaluate(p: Pending): Residuals | null {
    const o = this.options;
    const residual: Record<string, number> = {};
    const z: Record<string, number> = {};
    for (const [name, pt] of Object.entries(p.points) as [ResidualSignal, [number, number, number]][]) {
      const l = this.learners[name];
      if (p.ts < l.since) continue;
      const [x, y, raw] = pt;
      const thermal = name === "oilTemperature" || name === "motorTemperature";
      const binWidth = name === "inletPressure" ? 1 : thermal ? o.heatBinKw : o.logBinWidth;
      if (!l.frozen) {
        l.learn(x, y, binWidth, o.sigmaFloor[name]);
        continue;
      }
      const e = l.expect(x, thermal ? o.heatMarginKw : o.logMargin);
      if (e === null) continue;
      z[name] = (y - e.y) / e.s;
      residual[name] = name === "inletPressure" ? raw - 10 ** e.y : y - e.y;
    }
    return Object.keys(z).length > 0 ? { ts: p.ts, residual, z } : null;
  }

  toJSON(): ResidualModelJSON {
    return {
      v: 1,
      model: this.model,
      options: { ...this.options, sigmaFloor: { ...this.options.sigmaFloor } },
      learners: Object.fromEntries(
        RESIDUAL_SIGNALS.map((s) => [s, this.learners[s].toJSON()]),
      ) as ResidualModelJSON["learners"],
      filters: { ...this.filters },
      pending: this.pending && { ...this.pending, points: structuredClone(this.pending.points) },
    };
  }

  /** @throws TypeError when `json` is not a state written by {@link toJSON}. */
  static fromJSON(value: unknown): ResidualModel {
    const json = value as ResidualModelJSON | null;
    if (json?.v !== 1 || !isModel(json.model) || typeof json.learners !== "object" || !json.filters)
      throw new TypeError("ResidualModel.fromJSON: not a residual model state");
    const m = new ResidualModel(json.model, json.options);
    m.learners = Object.fromEntries(
      RESIDUAL_SIGNALS.map((s) => [s, new Learner(structuredClone(json.learners[s]), m.options)]),
    ) as Record<ResidualSignal, Learner>;
    m.filters = { ...json.filters };
    m.pending = json.pending && structuredClone(json.pending);
    return m;
  }
}
