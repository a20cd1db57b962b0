/**
 * Fault catalogue (pump-domain.md §6.7): onset, progression law, `detectable` proxy and
 * functional-failure condition of each simulated fault, and which maintenance action (§6.8)
 * repairs it.
 *
 * `detectable` follows §6.1: the first time the fault's noise-free effect on a monitored signal
 * exceeds 3σ of that signal's noise (sensors.noiseSigma) at the current operating point. The
 * effect is computed from the model's own terms (e.g. the filter's share of exhaust pressure),
 * not by running a fault-free twin; for cooling faults a shadow body temperature with intact
 * cooling is integrated alongside, because their effect is dynamic.
 */
import type { Health, MaintenanceAction } from "./health.js";
import type { Derived } from "./models.js";
import { filterDrop } from "./physics.js";
import type { Rng } from "./rng.js";
import { noiseSigma, type SensorFaultKind, type Sensors } from "./sensors.js";
import { SIGNALS, Sig, type SignalName } from "./signals.js";

export const FAULT_TYPES = [
  "exhaustFilterSaturation",
  "filterBreakthrough",
  "oilAgeing",
  "oilLeak",
  "coolingFailure",
  "leak",
  "bearingDegradation",
  "deposits",
  "vaneWear",
  "motorOverload",
  "sensorStuck",
  "sensorSpike",
  "sensorDrift",
] as const;

export type FaultType = (typeof FAULT_TYPES)[number];

/** Catalogue entry: §6.7 id, the repairing action, and whether the pump must be oil-sealed. */
export interface FaultInfo {
  code: string;
  repairedBy: MaintenanceAction;
  oilSealedOnly: boolean;
}

export const FAULT_CATALOGUE: Readonly<Record<FaultType, FaultInfo>> = {
  exhaustFilterSaturation: { code: "F1", repairedBy: "exhaustFilterChange", oilSealedOnly: true },
  filterBreakthrough: { code: "F1b", repairedBy: "exhaustFilterChange", oilSealedOnly: true },
  oilAgeing: { code: "F2", repairedBy: "oilChange", oilSealedOnly: false },
  oilLeak: { code: "F3", repairedBy: "oilChange", oilSealedOnly: false },
  coolingFailure: { code: "F4", repairedBy: "coolingRepair", oilSealedOnly: false },
  leak: { code: "F6", repairedBy: "leakRepair", oilSealedOnly: false },
  bearingDegradation: { code: "F7", repairedBy: "overhaul", oilSealedOnly: false },
  deposits: { code: "F8", repairedBy: "overhaul", oilSealedOnly: false },
  vaneWear: { code: "F9", repairedBy: "overhaul", oilSealedOnly: true },
  motorOverload: { code: "F10", repairedBy: "overhaul", oilSealedOnly: false },
  sensorStuck: { code: "S1", repairedBy: "sensorReplacement", oilSealedOnly: false },
  sensorSpike: { code: "S2", repairedBy: "sensorReplacement", oilSealedOnly: false },
  sensorDrift: { code: "S3", repairedBy: "sensorReplacement", oilSealedOnly: false },
};

/** One scheduled fault with every parameter resolved (defaults applied by the scenario loader). */
export interface FaultSpec {
  id: string;
  type: FaultType;
  /** Onset, epoch ms. */
  atMs: number;
  /** Rate multiplier κ on the law's rate (F1 E6, F2 E7, F9 E8). */
  kappa: number;
  /** F3: oil loss, fraction of nominal per day. */
  ratePerDay: number;
  /** F4: remaining cooling health h_cool; F10: extra load as a fraction of rated power. */
  severity: number;
  /** F4, F6, F10: hours to reach full severity (0 = step). */
  rampHours: number;
  /** F6: leak throughput as a fraction of the duty's working throughput. */
  fraction: number;
  /** F7: P-F interval, running h from d_b ≈ 0 to 7.1 mm/s; undefined = drawn lognormal(1500 h, 0.5). */
  pfHours: number | undefined;
  /** F7, F8: share of the interval already elapsed at onset (0…1), for pre-existing damage. */
  progress: number;
  /** F8: running hours until deposits reach 1 (zone C/D imbalance, +20 % friction power). */
  hoursToFailure: number;
  /** S1–S3: the affected signal. */
  signal: SignalName | undefined;
  /** S3: drift, signal units per hour. S2: spike height (0 = signal default). */
  amount: number;
  /** S2: spike probability per reading. */
  probability: number;
}

/** Operating point of the current step, as the faults see it (SI units). */
export interface StepContext {
  tMs: number;
  dtS: number;
  runFrac: number;
  /** Mean inlet pressure, Pa; mean throughput while running, Pa·m³/s. */
  pIn: number;
  qRun: number;
  /** Mean electrical power while running, W; mean running current, A. */
  pElRun: number;
  /** Vibration while running, mm/s. */
  vibRun: number;
  tb: number;
  tbShadow: number;
  tSink: number;
  s0: number;
  pUlt: number;
  /** Total heat conductance of the body node incl. gas, W/K. */
  gBody: number;
  /** Trip that happened in this step, if any. */
  tripNow: "thermal" | "overload" | undefined;
}

/** F7 law: d_b = d₀·(e^{β·t} − 1), reaching the failure level after the P-F interval (E9). */
export const BEARING_D0 = 0.05;
export const BEARING_FAIL = 7.1;
/** Model-domain caps past functional failure (a real pump seizes or trips first). */
const BEARING_CAP = 2 * BEARING_FAIL;
const DEPOSITS_CAP = 1.5;
/** F8: friction multiplier 1 + K_DEP·m_dep (E3): +20 % electrical power on a claw at m = 1. */
export const K_DEP = 0.8;

const SENSOR_KIND: Partial<Record<FaultType, SensorFaultKind>> = {
  sensorStuck: "stuck",
  sensorSpike: "spike",
  sensorDrift: "drift",
};

function sigmaPowerW(w: number): number {
  return noiseSigma(Sig.power, w / 1000) * 1000;
}

function sigmaInletPa(p: number): number {
  return 100 * noiseSigma(Sig.inletPressure, p / 100);
}

/** Runtime state of one scheduled fault. */
export class Fault {
  readonly code: string;
  started = false;
  ended = false;
  detectable = false;
  failed = false;
  /** Running hours since onset (plus the pre-existing share for F7/F8). */
  runH = 0;
  /** Health value at onset the effect is measured against (s_f, q_oil, w_v). */
  ref = 0;
  readonly pfHours: number;
  readonly beta: number;
  readonly sensorKind: SensorFaultKind | undefined;
  readonly sig: number;

  constructor(
    readonly spec: FaultSpec,
    rng: Rng,
  ) {
    this.code = FAULT_CATALOGUE[spec.type].code;
    // Drawn even when given, so overriding one fault's P-F never shifts another fault's draw.
    const drawn = 1500 * Math.exp(0.5 * rng.normal());
    this.pfHours = spec.pfHours ?? drawn;
    this.beta = Math.log(BEARING_FAIL / BEARING_D0 + 1) / this.pfHours;
    this.sensorKind = SENSOR_KIND[spec.type];
    this.sig = spec.signal === undefined ? -1 : SIGNALS.indexOf(spec.signal);
  }

  /** Onset: applies step changes and rate multipliers. */
  start(h: Health, sensors: Sensors, tMs: number): void {
    const s = this.spec;
    this.started = true;
    switch (s.type) {
      case "exhaustFilterSaturation":
        this.ref = h.sf;
        h.filterKappa *= s.kappa;
        break;
      case "filterBreakthrough":
        this.ref = h.sf;
        h.broken = true;
        break;
      case "oilAgeing":
        this.ref = h.q;
        h.oilKappa *= s.kappa;
        break;
      case "oilLeak":
        h.oilLeakPerDay += s.ratePerDay;
        break;
      case "vaneWear":
        this.ref = h.wv;
        h.vaneKappa *= s.kappa;
        break;
      case "bearingDegradation":
        this.runH = s.progress * this.pfHours;
        break;
      case "deposits":
        this.runH = s.progress * s.hoursToFailure;
        break;
      default:
        if (this.sensorKind) sensors.setFault(this.sig, this.sensorKind, tMs, s.amount, s.probability);
    }
  }

  /** Repair: undoes the multipliers; fault-driven states vanish with the next step. */
  end(h: Health, sensors: Sensors): void {
    const s = this.spec;
    this.ended = true;
    if (s.type === "exhaustFilterSaturation") h.filterKappa /= s.kappa;
    else if (s.type === "filterBreakthrough") h.broken = false;
    else if (s.type === "oilAgeing") h.oilKappa /= s.kappa;
    else if (s.type === "oilLeak") h.oilLeakPerDay = Math.max(0, h.oilLeakPerDay - s.ratePerDay);
    else if (s.type === "vaneWear") h.vaneKappa /= s.kappa;
    else if (this.sensorKind) sensors.clearFault(this.sig, this.sensorKind);
  }

  /** Adds this fault's contribution to the fault-driven health states for the step at tMs. */
  apply(h: Health, tMs: number, workingThroughput: number, pRatedW: number): void {
    const s = this.spec;
    const ramp = s.rampHours > 0 ? Math.min(1, (tMs - s.atMs) / (s.rampHours * 3_600_000)) : 1;
    switch (s.type) {
      case "coolingFailure":
        h.hcool = Math.min(h.hcool, 1 - (1 - s.severity) * ramp);
        break;
      case "leak":
        h.qLeak += s.fraction * workingThroughput * ramp;
        break;
      case "motorOverload":
        h.bindingW += s.severity * pRatedW * ramp;
        break;
      case "bearingDegradation":
        h.db = Math.max(h.db, Math.min(BEARING_CAP, BEARING_D0 * (Math.exp(this.beta * this.runH) - 1)));
        break;
      case "deposits":
        h.mdep = Math.max(h.mdep, Math.min(DEPOSITS_CAP, this.runH / s.hoursToFailure));
        break;
      default:
        break;
    }
  }

  /** Size of the noise-free effect in units of the affected signal's noise σ (§6.1). */
  effectZ(m: Derived, h: Health, c: StepContext, sensors: Sensors, truth: Float64Array): number {
    const s = this.spec;
    const qRel = c.qRun / m.qRef;
    const sigEx = 100 * noiseSigma(Sig.exhaustPressure, 0);
    if (this.sensorKind) return sensors.faultEffectZ(this.sig, this.sensorKind, c.tMs, truth[this.sig]!);
    if (c.runFrac <= 0) return 0;
    switch (s.type) {
      case "exhaustFilterSaturation":
        return ((filterDrop(m, h.sf, h.broken) - filterDrop(m, this.ref, h.broken)) * qRel) / sigEx;
      case "filterBreakthrough":
        return (0.8 * filterDrop(m, h.sf, false) * qRel) / sigEx;
      case "oilAgeing": {
        const dSh = m.p.pFrW * 0.15 * (this.ref - h.q); // E3 friction term
        return Math.max(dSh / c.gBody / 0.1, dSh / m.p.etaM / sigmaPowerW(c.pElRun));
      }
      case "oilLeak":
        return h.level < 0.5 ? ((c.tb - c.tSink) * (1 / (0.5 + h.level) - 1)) / 0.1 : 0;
      case "coolingFailure":
        return (c.tb - c.tbShadow) / 0.1;
      case "leak":
        return h.qLeak / c.s0 / sigmaInletPa(c.pIn);
      case "bearingDegradation":
      case "deposits": {
        const part = s.type === "deposits" ? m.p.kImbMmS * h.mdep : h.db;
        const dv = c.vibRun - Math.sqrt(Math.max(0, c.vibRun * c.vibRun - part * part));
        const zv = dv / (0.05 * c.vibRun);
        return s.type === "deposits"
          ? Math.max(zv, (m.p.pFrW * K_DEP * h.mdep) / m.p.etaM / sigmaPowerW(c.pElRun))
          : zv;
      }
      case "vaneWear": {
        const wearNow = 1 + 9 * h.wv * h.wv;
        const wearRef = 1 + 9 * this.ref * this.ref;
        return (wearNow - wearRef) / wearRef / 0.03; // base pressure change vs 3 % Pirani noise
      }
      case "motorOverload":
        return h.bindingW / m.p.etaM / sigmaPowerW(c.pElRun);
      default:
        return 0;
    }
  }

  /** True once the functional-failure condition of the catalogue holds. */
  hasFailed(h: Health, c: StepContext): boolean {
    switch (this.spec.type) {
      case "exhaustFilterSaturation":
        return h.sf >= 1; // red field at reference throughput
      case "filterBreakthrough":
        return h.level < 0.5; // oil carried over (§6.7: < 50 % after ≈5 days)
      case "oilAgeing":
        return h.q <= 0;
      case "oilLeak":
        return h.level <= 0.25; // starvation; the temperature effect starts at 0.5 (E7)
      case "coolingFailure":
        return c.tripNow === "thermal";
      case "bearingDegradation":
        return h.db >= BEARING_FAIL;
      case "deposits":
        return h.mdep >= 1;
      case "vaneWear":
        return h.wv >= 1;
      case "motorOverload":
        return c.tripNow === "overload";
      default:
        return false; // leaks and sensor faults have no functional failure of their own
    }
  }
}
