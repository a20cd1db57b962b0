/**
 * Duty profiles (pump-domain.md §6.5): what the process asks of the pump over one step.
 *
 * A duty does not return one pressure but a few weighted "nodes" (weight, inlet pressure,
 * running) that describe the distribution of the inlet pressure within the step. The asset
 * evaluates the non-linear pump equations at each node and averages, so a 60 s backfill step
 * over two packaging cycles gets the right mean power without 1 s integration (§6.10: "per
 * minute compute the duty-averaged quantities analytically"). The gas balance E2 is linear in p
 * (see physics.speedCoefficient), so every duty solves it exactly — no step-size limit.
 */
import { localHour, localWeekday } from "./environment.js";
import type { Rng } from "./rng.js";

/** What the duty needs to know about the pump in this step (SI units). */
export interface PumpSide {
  /** Speed coefficient S₀′, m³/s: throughput Q = S₀′·(p − pUlt). */
  s0: number;
  /** Effective ultimate pressure, Pa. */
  pUlt: number;
  /** Atmospheric pressure, Pa. */
  pAtm: number;
  /** Leak into the vacuum side, Pa·m³/s (F6). */
  qLeak: number;
  /** False while a protective trip stops the pump (E12). */
  canRun: boolean;
}

const MAX_NODES = 96;

/** Reusable node list filled by a duty each step; weights sum to 1. */
export class Nodes {
  n = 0;
  readonly w = new Float64Array(MAX_NODES);
  readonly p = new Float64Array(MAX_NODES);
  readonly run = new Uint8Array(MAX_NODES);
  /** Motor starts within the step. */
  starts = 0;
  /** Duration of the last evacuation, s (packaging duty), else NaN. */
  evacS = Number.NaN;

  reset(): void {
    this.n = 0;
    this.starts = 0;
  }

  add(weight: number, p: number, running: boolean): void {
    if (weight <= 0) return;
    const i = this.n < MAX_NODES ? this.n++ : MAX_NODES - 1; // overflow folds into the last node
    this.w[i] = weight;
    this.p[i] = p;
    this.run[i] = running ? 1 : 0;
  }
}

/** Weekly operating schedule (shifts). */
export interface Schedule {
  /** Days the plant runs, 0 = Sunday … 6 = Saturday. */
  days: readonly number[];
  /** Local start and end hour, e.g. 6 and 22 (end may be 24). */
  fromHour: number;
  toHour: number;
  /** Outside the schedule: "stop" the pump, or leave it "idle" at ultimate (D6). */
  offMode: "stop" | "idle";
}

/** True when the schedule is on at tMs. `undefined` means 24/7. */
export function scheduleOn(s: Schedule | undefined, tMs: number, utcOffsetHours: number): boolean {
  if (!s) return true;
  if (!s.days.includes(localWeekday(tMs, utcOffsetHours))) return false;
  const h = localHour(tMs, utcOffsetHours);
  return h >= s.fromHour && h < s.toHour;
}

/** One duty profile instance, owning its process state. */
export interface Duty {
  readonly kind: "continuous" | "packaging" | "receiver";
  /**
   * Typical process throughput, Pa·m³/s; leaks (F6) are given as a fraction of it, as in the
   * catalogue's "Q_leak 0.02–0.5·Q at working pressure" (§6.7).
   */
  readonly workingThroughput: number;
  /** Fills `out` with the nodes of the step [tMs, tMs + dtS·1000). */
  step(tMs: number, dtS: number, pump: PumpSide, out: Nodes): void;
}

/** Mean of p(t) = pEq + (p0 − pEq)·e^(−k·t) over [0, T]. */
export function expMean(p0: number, pEq: number, k: number, T: number): number {
  const x = k * T;
  if (x < 1e-9) return p0;
  return pEq + ((p0 - pEq) * (1 - Math.exp(-x))) / x;
}

/** D1 parameters. */
export interface ContinuousParams {
  /** Operating inlet pressure of the healthy pump, hPa (e.g. 50 extrusion degassing, 200). */
  pressureHpa: number;
  /** Relative process variability, σ of the AR(1) factor (0.1, §6.5). */
  variability: number;
  /** Correlation time of the variability, s (300, sim). */
  correlationS: number;
  schedule?: Schedule | undefined;
}

/**
 * D1 — continuous process at set pressure: Q_process = Q₀·(1 + 0.1·AR(1)) with Q₀ chosen so a
 * healthy pump sits at the set pressure; the gas balance settles within seconds (V/S), so the
 * step uses its equilibrium p = p_ult + (Q + Q_leak)/S₀′. A leak or a worn pump moves p.
 */
export class ContinuousDuty implements Duty {
  readonly kind = "continuous";
  readonly workingThroughput: number;
  private x: number;
  private wasRunning = true;

  constructor(
    private readonly params: ContinuousParams,
    sNom: number,
    pUltNominal: number,
    private readonly utcOffsetHours: number,
    private readonly rng: Rng,
  ) {
    this.workingThroughput = sNom * Math.max(0, params.pressureHpa * 100 - pUltNominal);
    this.x = rng.normal();
  }

  step(tMs: number, dtS: number, pump: PumpSide, out: Nodes): void {
    out.reset();
    const a = Math.exp(-dtS / this.params.correlationS);
    this.x = a * this.x + Math.sqrt(1 - a * a) * this.rng.normal();
    const on = scheduleOn(this.params.schedule, tMs, this.utcOffsetHours);
    const idle = !on && this.params.schedule?.offMode === "idle";
    const running = pump.canRun && (on || idle);
    if (running && !this.wasRunning) out.starts = 1;
    this.wasRunning = running;
    if (!running) {
      out.add(1, pump.pAtm, false); // stopped pump: inlet vents to atmosphere
      return;
    }
    const q = on ? this.workingThroughput * Math.max(0, 1 + this.params.variability * this.x) : 0;
    const p = pump.pUlt + (q + pump.qLeak) / pump.s0;
    out.add(1, Math.min(p, pump.pAtm), true);
  }
}
