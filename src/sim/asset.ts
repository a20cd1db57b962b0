/**
 * One simulated pump with its box: model, duty, environment, health, faults, maintenance and
 * sensors (pump-domain.md §6.1), advanced on a fixed time grid.
 *
 * The physical trajectory depends only on the seed and the grid (`stepMs`), never on how often
 * or when `read` is called: reads aggregate the grid steps completed since the previous read.
 * A step: maintenance and fault onsets due → environment → fault-driven health states → duty
 * nodes (E2) → machine (E1, E3–E9) → ageing (E6–E8) → protective trips (E12) → ground truth.
 */
import type { Sample } from "../core/sample.js";
import { type Duty, Nodes, type PumpSide } from "./duty.js";
import type { Environment } from "./environment.js";
import { FAULT_CATALOGUE, type Fault } from "./faults.js";
import { Health, type InitialState, type MaintenanceAction } from "./health.js";
import { Machine } from "./machine.js";
import { type Derived, LIMITS, type ModelName } from "./models.js";
import type { Sensors } from "./sensors.js";
import { Agg, N_SIGNALS, N_TRUTH, SIGNALS, Sig, TRUTH_AGG, Tru } from "./signals.js";
import type { SensorSource } from "./source.js";
import type { TruthEvent, TruthSink } from "./truth.js";

/** One scheduled maintenance action. */
export interface MaintenanceSpec {
  atMs: number;
  action: MaintenanceAction;
  signal?: string | undefined;
}

/** Everything a SimAsset is built from (times resolved, defaults applied; see scenario.ts). */
export interface AssetParts {
  id: string;
  companyId: string;
  model: ModelName;
  derived: Derived;
  signals: readonly string[];
  env: Environment;
  duty: Duty;
  sensors: Sensors;
  initial: InitialState;
  faults: Fault[];
  maintenance: MaintenanceSpec[];
  /** Base κ_proc of E6/E7 for this process (1 clean … 4 dirty). */
  processKappa: number;
  /** Random stream for maintenance outcomes (new vibration baseline). */
  rng: { normal(): number };
}

/** Pre-roll before the first step so temperatures start in equilibrium with the duty. */
const PREROLL_S = 12 * 3600;
const PREROLL_STEP_S = 300;

export class SimAsset implements SensorSource {
  readonly id: string;
  readonly companyId: string;
  readonly model: ModelName;
  readonly signals: readonly string[];
  /** Truth of the last grid step, in TRUTH_FIELDS order. */
  readonly last = new Float64Array(N_TRUTH).fill(Number.NaN);
  /** Events not yet handed out (fleet.backfill drains them; live reads pass them to the sink). */
  readonly events: TruthEvent[] = [];
  /** Sink for live ground truth, or undefined. */
  sink: TruthSink | undefined;
  /** Grid step of live reads, ms. */
  stepMs: number;

  private readonly m: Derived;
  private readonly parts: AssetParts;
  private readonly h: Health;
  private readonly nodes = new Nodes();
  private readonly pump: PumpSide = { s0: 0, pUlt: 0, pAtm: 0, qLeak: 0, canRun: true };
  private readonly machine: Machine;
  private t: number;
  private tripped: "thermal" | "overload" | undefined;
  private overTempS = 0;
  private overCurS = 0;
  private maintIdx = 0;
  private warming = false;
  private readonly acc = new Float64Array(N_TRUTH);
  private accS = 0;
  private lastRead = Number.NEGATIVE_INFINITY;
  private readonly row = new Float64Array(N_TRUTH);
  private readonly meas = new Float64Array(N_SIGNALS);

  constructor(parts: AssetParts, beginMs: number, stepMs: number) {
    this.parts = parts;
    this.id = parts.id;
    this.companyId = parts.companyId;
    this.model = parts.model;
    this.signals = parts.signals;
    this.m = parts.derived;
    this.h = new Health(parts.initial);
    this.machine = new Machine(this.m, parts.env.tAmb, parts.initial.operatingHours);
    this.stepMs = stepMs;
    parts.maintenance.sort((a, b) => a.atMs - b.atMs);
    // Warm up on the duty without faults, ageing or events, then begin at beginMs.
    this.warming = true;
    this.t = beginMs - PREROLL_S * 1000;
    while (this.t < beginMs) this.step(Math.min(PREROLL_STEP_S, (beginMs - this.t) / 1000));
    this.warming = false;
    this.t = beginMs;
    this.lastRead = beginMs;
  }

  /** Current simulation time (end of the last grid step), epoch ms. */
  get time(): number {
    return this.t;
  }

  /**
   * Reads the box at `ts` (see SensorSource): advances the grid to `ts`, aggregates the steps since
   * the previous read, applies the sensor layer, and hands truth row and pending events to the sink.
   * @throws RangeError if `ts` is earlier than the previous read.
   */
  read(ts: number): Sample | undefined {
    if (ts < this.lastRead) {
      throw new RangeError(`${this.id}: read(${ts}) is earlier than the previous read (${this.lastRead})`);
    }
    this.advanceTo(ts);
    const row = this.row;
    if (this.accS > 0) {
      for (let i = 0; i < N_TRUTH; i++)
        row[i] = TRUTH_AGG[i] === Agg.Mean ? this.acc[i]! / this.accS : this.acc[i]!;
    } else {
      row.set(this.last);
      row[Tru.starts] = 0;
    }
    this.acc.fill(0);
    this.accS = 0;
    this.lastRead = ts;
    const n = this.parts.sensors.measure(ts, row, this.meas);
    const sink = this.sink;
    if (sink) {
      for (const e of this.events) sink.event(e);
      this.events.length = 0;
      sink.truth(this.id, ts, row);
    }
    if (n === 0) return undefined;
    const values: Record<string, number> = {};
    for (let i = 0; i < N_SIGNALS; i++) {
      const v = this.meas[i]!;
      if (!Number.isNaN(v)) values[SIGNALS[i]!] = v;
    }
    return { ts, values };
  }

  /** Advances whole grid steps up to ts, accumulating them for the next read. */
  advanceTo(ts: number): void {
    const dtS = this.stepMs / 1000;
    while (this.t + this.stepMs <= ts) {
      this.step(dtS);
      for (let i = 0; i < N_TRUTH; i++) {
        const agg = TRUTH_AGG[i];
        const v = this.last[i]!;
        if (agg === Agg.Mean) this.acc[i]! += v * dtS;
        else if (agg === Agg.Sum) this.acc[i]! += v;
        else this.acc[i] = v;
      }
      this.accS += dtS;
    }
  }

  /**
   * Backfill primitive: one step of dtS, then the sensors read its truth into `meas` (NaN =
   * missing). Returns the number of values present. Discards the live read accumulation.
   */
  stepAndMeasure(dtS: number, meas: Float64Array): number {
    this.step(dtS);
    this.acc.fill(0);
    this.accS = 0;
    this.lastRead = this.t;
    return this.parts.sensors.measure(this.t, this.last, meas);
  }

  /** Advances the asset by one step of dtS seconds (the core of the simulator). */
  private step(dtS: number): void {
    const p = this.parts;
    const h = this.h;
    const mc = this.machine;
    const tEnd = this.t + dtS * 1000;
    if (!this.warming) this.beginStep();
    p.env.step(tEnd, dtS);
    h.beginStep();
    if (!this.warming) {
      for (const f of p.faults)
        if (f.started && !f.ended) f.apply(h, this.t, p.duty.workingThroughput, this.m.pRated);
    }
    mc.pumpSide(this.pump, h, p.env.pAtm, this.tripped === undefined);
    p.duty.step(this.t, dtS, this.pump, this.nodes);
    mc.evaluate(this.nodes, this.pump, h, p.env.tAmb, dtS);
    const op = mc.op;
    op.tMs = tEnd;
    if (!this.warming) {
      mc.age(h, p.processKappa);
      for (const f of p.faults) if (f.started && !f.ended) f.runH += op.runS / 3600;
      this.protect(dtS, op.runS, op.iRun);
    }
    const L = this.last;
    L[Sig.inletPressure] = op.pIn / 100;
    L[Sig.exhaustPressure] = op.pEx / 100;
    L[Sig.oilTemperature] = mc.tb; // temperatures: value at the reading (τ ≥ 10 min ≫ step)
    L[Sig.motorTemperature] = mc.tm;
    L[Sig.ambientTemperature] = p.env.tAmb;
    L[Sig.motorCurrent] = op.iMean;
    L[Sig.power] = op.pEl / 1000;
    L[Sig.vibration] = op.vib;
    L[Sig.running] = op.runFrac;
    L[Tru.filterSaturation] = h.sf;
    L[Tru.oilQuality] = h.q;
    L[Tru.oilLevel] = h.level;
    L[Tru.vaneWear] = h.wv;
    L[Tru.bearingDamage] = h.db;
    L[Tru.deposits] = h.mdep;
    L[Tru.coolingHealth] = h.hcool;
    L[Tru.leakThroughput] = h.qLeak * 10; // Pa·m³/s → hPa·L/s
    L[Tru.atmosphericPressure] = p.env.pAtm / 100;
    L[Tru.throughput] = op.q * 10;
    L[Tru.shaftPower] = op.pSh / 1000;
    L[Tru.evacuationTime] = this.nodes.evacS;
    L[Tru.starts] = this.nodes.starts;
    this.t = tEnd;
    if (!this.warming) this.endStep();
    L[Sig.operatingHours] = mc.opHours;
    L[Tru.tripped] = this.tripped === undefined ? 0 : 1;
  }

  /** Maintenance due and fault onsets at the start of the step. */
  private beginStep(): void {
    const p = this.parts;
    while (this.maintIdx < p.maintenance.length && p.maintenance[this.maintIdx]!.atMs <= this.t) {
      this.maintain(p.maintenance[this.maintIdx++]!);
    }
    for (const f of p.faults) {
      if (!f.started && f.spec.atMs <= this.t) {
        f.start(this.h, p.sensors, this.t);
        this.emit({ kind: "onset", ...faultTag(f), ts: this.t });
      }
    }
  }

  /** Detection and failure of active faults, with the step's context. */
  private endStep(): void {
    const c = this.machine.op;
    for (const f of this.parts.faults) {
      if (!f.started || f.ended) continue;
      if (!f.detectable && f.effectZ(this.m, this.h, c, this.parts.sensors, this.last) > 3) {
        f.detectable = true;
        this.emit({ kind: "detectable", ...faultTag(f), ts: this.t });
      }
      if (!f.failed && f.hasFailed(this.h, c)) {
        f.failed = true;
        this.emit({ kind: "failure", ...faultTag(f), ts: this.t });
      }
    }
    c.tripNow = undefined;
  }

  /** Protective trips (E12): body over its trip limit > 20 s [S3], current > 1.15·I_rated > 60 s. */
  private protect(dtS: number, runS: number, iRun: number): void {
    const m = this.m;
    // Time above the trip limit, interpolating the body temperature linearly within the step.
    const { tb, tbPrev } = this.machine;
    const lim = m.p.bodyTripC;
    if (tb <= lim) this.overTempS = 0;
    else this.overTempS += tbPrev >= lim ? dtS : (dtS * (tb - lim)) / (tb - tbPrev);
    this.overCurS = iRun > LIMITS.overloadTripFactor * m.p.iRatedA ? this.overCurS + runS : 0;
    if (this.tripped !== undefined) return;
    const reason = this.overTempS >= 20 ? "thermal" : this.overCurS >= 60 ? "overload" : undefined;
    if (reason === undefined) return;
    this.tripped = reason;
    this.machine.op.tripNow = reason;
    // The trip stops the pump at the end of this step; no automatic restart [S51].
    this.emit({ kind: "trip", reason, ts: this.t + dtS * 1000 });
  }

  private maintain(spec: MaintenanceSpec): void {
    const p = this.parts;
    this.emit({
      kind: "maintenance",
      action: spec.action,
      ts: this.t,
      ...(spec.signal ? { signal: spec.signal } : {}),
    });
    this.h.maintain(spec.action);
    // A new bearing set gives a new baseline, ±20 % (§6.8).
    if (spec.action === "overhaul") this.machine.v0 = this.m.p.v0 * Math.max(0.6, 1 + 0.1 * p.rng.normal());
    if (spec.action === "sensorReplacement") {
      for (let i = 0; i < N_SIGNALS; i++)
        if (!spec.signal || SIGNALS[i] === spec.signal) p.sensors.clearFault(i, undefined);
    }
    for (const f of p.faults) {
      if (!f.started || f.ended || FAULT_CATALOGUE[f.spec.type].repairedBy !== spec.action) continue;
      if (spec.action === "sensorReplacement" && spec.signal && f.spec.signal !== spec.signal) continue;
      f.end(this.h, p.sensors);
      this.emit({ kind: "repair", ...faultTag(f), ts: this.t });
    }
    if (this.tripped !== undefined) {
      this.tripped = undefined;
      this.overTempS = this.overCurS = 0;
      this.emit({ kind: "restart", ts: this.t });
    }
  }

  private emit(e: Omit<TruthEvent, "assetId">): void {
    this.events.push({ ...e, assetId: this.id } as TruthEvent);
  }
}

function faultTag(f: Fault): Pick<TruthEvent, "faultId" | "fault" | "code" | "signal"> {
  return f.spec.signal
    ? { faultId: f.spec.id, fault: f.spec.type, code: f.code, signal: f.spec.signal }
    : { faultId: f.spec.id, fault: f.spec.type, code: f.code };
}
