/**
 * The physical pump of one asset: its thermal nodes and the evaluation of one step's operating
 * point from the duty's pressure nodes (pump-domain.md §6.3 E1–E9).
 *
 * Each step evaluates E1/E3/E4 at every node and time-weights the results, integrates the two
 * thermal nodes (E5) with backward Euler — stable for any step length, so 60 s backfill and 1 s
 * live steps use the same code — and then the slow states E6–E8 from the step's means (§6.1:
 * "slow states updated once per simulated minute from the fast states' averages").
 */
import type { Nodes, PumpSide } from "./duty.js";
import { K_DEP, type StepContext } from "./faults.js";
import type { Health } from "./health.js";
import type { Derived } from "./models.js";
import {
  electricalPower,
  exhaustPressure,
  filterDrop,
  gasPower,
  motorCurrent,
  speedCoefficient,
  ultimatePressure,
  viscosity,
} from "./physics.js";

const R_AIR = 287;
const CP_AIR = 1005;
/** Oil carry-over r_carry ≈ 0.1 %/day, ×100 with a broken filter (E7). */
const CARRY_PER_DAY = 0.001;
/** Bearing heat k_bh·d_b² (E9): ≈+10 K on an RV at d_b = 7.1 mm/s (sim). */
const K_BEARING_HEAT = 6.5;
/** Vibration of a stopped pump (neighbouring machines), mm/s. */
const VIB_STOPPED = 0.05;
/** Inrush: 6 × I_rated for 0.75 s per start (§6.6). */
const INRUSH_FACTOR = 6;
const INRUSH_S = 0.75;
/**
 * Saturation cap: beyond it the element is fully blocked and the oil-mist trap's relief valve
 * (0.3 bar(g), [S11]) would open; the exponential law E4 is not extrapolated further.
 */
const SF_CAP = 1.5;

/** Means of one step (SI units) — also the context the faults see. */
export class OperatingPoint implements StepContext {
  tMs = 0;
  dtS = 0;
  runFrac = 0;
  /** Running seconds within the step. */
  runS = 0;
  pIn = 0;
  pEx = 0;
  /** Mean throughput over the step and while running, Pa·m³/s. */
  q = 0;
  qRun = 0;
  pSh = 0;
  pShRun = 0;
  pEl = 0;
  pElRun = 0;
  /** Mean running current (no inrush), and mean current over the step incl. inrush, A. */
  iRun = 0;
  iMean = 0;
  vib = 0;
  vibRun = 0;
  tb = 0;
  tbShadow = 0;
  tSink = 0;
  s0 = 0;
  pUlt = 0;
  gBody = 1;
  tripNow: "thermal" | "overload" | undefined = undefined;
}

export class Machine {
  /** Body (oil / housing) and motor temperature, °C. */
  tb: number;
  tm: number;
  /** Body temperature at the start of the last step (for the trip delay). */
  tbPrev: number;
  /** Body temperature as it would be with intact cooling (for the F4 `detectable` rule). */
  tbShadow: number;
  /** Baseline vibration v₀, mm/s (re-drawn by an overhaul, §6.8). */
  v0: number;
  opHours: number;
  readonly op = new OperatingPoint();
  /** Exhaust overpressure of the previous step, Pa: E1's back-pressure term uses it (one step lag). */
  private exOver = 0;

  constructor(
    private readonly m: Derived,
    tAmb: number,
    opHours: number,
  ) {
    this.tb = this.tm = this.tbShadow = this.tbPrev = tAmb;
    this.v0 = m.p.v0;
    this.opHours = opHours;
  }

  /** Fills the duty's view of the pump for this step (E1 speed, effective ultimate pressure). */
  pumpSide(pump: PumpSide, h: Health, pAtm: number, canRun: boolean): void {
    pump.pAtm = pAtm;
    pump.pUlt = ultimatePressure(this.m, h.wv, h.q, h.water);
    pump.s0 = speedCoefficient(this.m, h.wv, this.exOver, pAtm);
    pump.qLeak = h.qLeak;
    pump.canRun = canRun;
  }

  /** Evaluates the step from the duty's nodes and integrates the fast states. */
  evaluate(nodes: Nodes, pump: PumpSide, h: Health, tAmb: number, dtS: number): void {
    const m = this.m;
    const pAtm = pump.pAtm;
    const fd = m.oil ? filterDrop(m, h.sf, h.broken) : m.dpClean;
    const pFr = m.p.pFrW * viscosity(m, this.tb) * (1 + 0.15 * (1 - h.q)) * (1 + K_DEP * h.mdep) + h.bindingW;
    let runW = 0;
    let pInW = 0;
    let qW = 0;
    let pExW = 0;
    let pExRunW = 0;
    let pShW = 0;
    let pElW = 0;
    let iW = 0;
    for (let j = 0; j < nodes.n; j++) {
      const w = nodes.w[j]!;
      const pIn = nodes.p[j]!;
      pInW += w * pIn;
      if (nodes.run[j] === 0) {
        pExW += w * pAtm;
        continue;
      }
      const q = pump.s0 * Math.max(0, pIn - pump.pUlt);
      const pEx = exhaustPressure(m, pAtm, fd, q);
      const pSh = pFr + gasPower(m, pIn, q, pEx);
      const pEl = electricalPower(m, pSh);
      runW += w;
      qW += w * q;
      pExW += w * pEx;
      pExRunW += w * pEx;
      pShW += w * pSh;
      pElW += w * pEl;
      iW += w * motorCurrent(m, pEl);
    }
    const op = this.op;
    const inv = runW > 0 ? 1 / runW : 0;
    op.dtS = dtS;
    op.runFrac = Math.min(1, runW);
    op.runS = op.runFrac * dtS;
    op.pIn = pInW;
    op.pEx = pExW;
    op.q = qW;
    op.qRun = qW * inv;
    op.pSh = pShW;
    op.pShRun = pShW * inv;
    op.pEl = pElW;
    op.pElRun = pElW * inv;
    op.iRun = iW * inv;
    const inrushS = Math.min(INRUSH_S * nodes.starts, dtS);
    op.iMean = iW + ((INRUSH_FACTOR * m.p.iRatedA - op.iRun) * inrushS) / dtS;
    op.s0 = pump.s0;
    op.pUlt = pump.pUlt;
    this.exOver = runW > 0 ? pExRunW * inv - pAtm : 0;
    this.thermal(h, tAmb, dtS);
    this.vibration(h);
  }

  /** Two-node thermal model E5, backward Euler with the body–motor coupling taken explicitly. */
  private thermal(h: Health, tAmb: number, dtS: number): void {
    const m = this.m;
    const op = this.op;
    const lowOil = h.level < 0.5 ? 0.5 + h.level : 1; // low oil conducts less heat (E7)
    const tSink = m.water ? m.p.coolantC : tAmb;
    const gGas = (op.q / (R_AIR * (tAmb + 273.15))) * CP_AIR; // ṁ·c_p: the pumped gas carries heat [S5b]
    const pHeat = op.pSh + K_BEARING_HEAT * h.db * h.db * op.runFrac;
    const gN = m.p.gNatWK * lowOil;
    const gBm = m.p.gBodyMotorWK;
    const gasIn = gGas * (tAmb - m.p.dtDisK);
    const gF = m.p.gForcedWK * h.hcool * lowOil;
    const gFs = m.p.gForcedWK * lowOil;
    const cB = m.p.cBodyJK;
    const tbOld = this.tb;
    const tmOld = this.tm;
    this.tbPrev = tbOld;
    this.tb =
      (cB * tbOld + dtS * (pHeat + gF * tSink + gN * tAmb + gasIn + gBm * tmOld)) /
      (cB + dtS * (gF + gN + gGas + gBm));
    this.tbShadow =
      (cB * this.tbShadow + dtS * (pHeat + gFs * tSink + gN * tAmb + gasIn + gBm * tmOld)) /
      (cB + dtS * (gFs + gN + gGas + gBm));
    // The motor fan is the pump's fan on air-cooled pumps; water-cooled pumps keep a TEFC motor.
    const gM = m.p.gMotorWK * (m.water ? 1 : h.hcool) + m.p.gMotorNatWK;
    const cM = m.p.cMotorJK;
    this.tm = (cM * tmOld + dtS * (op.pEl - op.pSh + gM * tAmb + gBm * this.tb)) / (cM + dtS * (gM + gBm));
    op.tb = this.tb;
    op.tbShadow = this.tbShadow;
    op.tSink = tSink;
    op.gBody = gF + gN + gGas + gBm;
  }

  /** Vibration velocity E9 (RMS sum of baseline, load, imbalance, bearing and low-oil parts). */
  private vibration(h: Health): void {
    const m = this.m;
    const op = this.op;
    const load = (m.p.kLoad * this.v0 * op.pShRun) / m.pRated;
    const imb = m.p.kImbMmS * h.mdep;
    const vLow = h.level < 0.5 ? 4 * (0.5 - h.level) : 0; // low oil adds vibration (E7), sim
    op.vibRun = Math.sqrt(this.v0 * this.v0 + load * load + imb * imb + h.db * h.db + vLow * vLow);
    op.vib = op.runFrac * op.vibRun + (1 - op.runFrac) * VIB_STOPPED;
  }

  /** Slow states E6–E8 from this step's means; `kappa` is the process factor κ_proc. */
  age(h: Health, kappa: number): void {
    const m = this.m;
    const op = this.op;
    const runH = op.runS / 3600;
    if (m.oil && m.p.filterLifeH > 0 && runH > 0) {
      const arrh = 2 ** ((this.tb - 85) / 10);
      const rate = (0.3 + (0.7 * op.qRun) / m.qRef) * arrh * (2 - h.q) * kappa * h.filterKappa;
      h.sf = Math.min(SF_CAP, h.sf + (runH / m.p.filterLifeH) * rate);
    }
    h.q = Math.max(0, h.q - (runH / m.p.oilLifeH) * 2 ** ((this.tb - 80) / 10) * kappa * h.oilKappa);
    const carry = m.oil ? CARRY_PER_DAY * (h.broken ? 100 : 1) * op.runFrac : 0;
    h.level = Math.max(0, h.level - ((carry + h.oilLeakPerDay) * op.dtS) / 86_400);
    if (m.oil) h.wv = Math.min(1, h.wv + (runH * (1 + 2 * (1 - h.q)) * h.vaneKappa) / m.p.vaneLifeH);
    this.opHours += runH;
  }
}
