/**
 * D2 — chamber packaging cycle (pump-domain.md §6.5): each period the chamber is vented, the
 * valve opens, the pump evacuates chamber + manifold to the set point (or a timeout), holds for
 * sealing, and the valve closes; between cycles the pump only sees the manifold, i.e. runs near
 * ultimate. Defaults: 50 L chamber, 2 L manifold, 5 mbar, 5 s hold, 30 s period (2 cycles/min),
 * shifts 06:00–22:00 Mon–Fri → evacuation ≈9–10 s with RV100.
 *
 * Every cycle starts from the same state (vented chamber, manifold at equilibrium), so one cycle
 * is solved analytically per step and its pieces are weighted by their overlap with the step.
 */
import { type Duty, expMean, type Nodes, type PumpSide, type Schedule, scheduleOn } from "./duty.js";

/** D2 parameters. */
export interface PackagingParams {
  chamberL: number;
  manifoldL: number;
  setpointHpa: number;
  holdS: number;
  periodS: number;
  /** Evacuation gives up after this long (set point missed, e.g. a dry claw above its p_ult). */
  timeoutS: number;
  schedule?: Schedule | undefined;
}

/** Largest pressure decay per piece, in units of k·Δt; keeps the piece-mean approximation within ~2 %. */
const MAX_DECAY_PER_PIECE = 0.7;
const MAX_PIECES = 16;

export class PackagingDuty implements Duty {
  readonly kind = "packaging";
  readonly workingThroughput: number;
  // One cycle as pieces [start, end) with their mean pressure; the last piece is the closed phase.
  private readonly start = new Float64Array(MAX_PIECES + 1);
  private readonly end = new Float64Array(MAX_PIECES + 1);
  private readonly mean = new Float64Array(MAX_PIECES + 1);
  private pieces = 0;
  private evacS = 0;
  private wasRunning = true;

  constructor(
    private readonly params: PackagingParams,
    private readonly utcOffsetHours: number,
  ) {
    // Air removed per cycle from a vented chamber, per second of cycle.
    this.workingThroughput = (101_325 * params.chamberL) / 1000 / params.periodS;
  }

  step(tMs: number, dtS: number, pump: PumpSide, out: Nodes): void {
    out.reset();
    out.evacS = Number.NaN;
    const on = scheduleOn(this.params.schedule, tMs, this.utcOffsetHours);
    const idle = !on && this.params.schedule?.offMode === "idle";
    const running = pump.canRun && (on || idle);
    if (running && !this.wasRunning) out.starts = 1;
    this.wasRunning = running;
    const pMan = Math.min(pump.pAtm, pump.pUlt + pump.qLeak / pump.s0);
    if (!running) {
      out.add(1, pump.pAtm, false);
      return;
    }
    if (!on) {
      out.add(1, pMan, true); // D6: idling at ultimate outside the shift
      return;
    }
    this.solveCycle(pump, pMan);
    out.evacS = this.evacS;
    const period = this.params.periodS;
    const t0 = tMs / 1000;
    const phase = ((t0 % period) + period) % period;
    let remaining = dtS;
    if (phase > 0) {
      const to = Math.min(period, phase + remaining);
      this.addRange(phase, to, 1, dtS, out);
      remaining -= to - phase;
    }
    const full = Math.floor(remaining / period + 1e-9);
    if (full > 0) {
      this.addRange(0, period, full, dtS, out);
      remaining -= full * period;
    }
    if (remaining > 1e-9) this.addRange(0, remaining, 1, dtS, out);
  }

  /** Solves one cycle for the current pump state into the piece arrays. */
  private solveCycle(pump: PumpSide, pMan: number): void {
    const p = this.params;
    const vCh = p.chamberL / 1000;
    const vMan = p.manifoldL / 1000;
    const v = vCh + vMan;
    const k = pump.s0 / v;
    const pEq = pMan;
    // Venting the chamber then opening the valve mixes atmosphere into the evacuated manifold.
    const p0 = (pump.pAtm * vCh + pMan * vMan) / v;
    const sp = p.setpointHpa * 100;
    let tEv: number;
    if (p0 <= sp) tEv = 0;
    else if (sp > pEq) tEv = Math.log((p0 - pEq) / (sp - pEq)) / k;
    else tEv = Number.POSITIVE_INFINITY;
    tEv = Math.min(tEv, p.timeoutS, p.periodS);
    this.evacS = tEv;
    const tOpen = Math.min(tEv + p.holdS, p.periodS);
    const n = Math.min(MAX_PIECES, Math.max(2, Math.ceil((k * tOpen) / MAX_DECAY_PER_PIECE)));
    const dur = tOpen / n;
    for (let j = 0; j < n; j++) {
      const a = j * dur;
      this.start[j] = a;
      this.end[j] = a + dur;
      this.mean[j] = expMean(pEq + (p0 - pEq) * Math.exp(-k * a), pEq, k, dur);
    }
    this.start[n] = tOpen;
    this.end[n] = p.periodS;
    this.mean[n] = pMan; // the manifold alone settles within ~0.1 s (V_man/S)
    this.pieces = n + 1;
  }

  /** Adds the pieces overlapping cycle time [a, b), `mult` times, as nodes weighted by overlap/dt. */
  private addRange(a: number, b: number, mult: number, dtS: number, out: Nodes): void {
    for (let j = 0; j < this.pieces; j++) {
      const ov = Math.min(b, this.end[j]!) - Math.max(a, this.start[j]!);
      if (ov > 1e-12) out.add((mult * ov) / dtS, this.mean[j]!, true);
    }
  }
}
