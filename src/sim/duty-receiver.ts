/**
 * D3 — central vacuum with a receiver, on/off control (pump-domain.md §6.5, §1.5): N users
 * switch on and off at random (two-state Markov chains) and draw air through orifices, the pump
 * starts above p_high and stops below p_low, with a minimum off time. Leaks (F6) raise the duty
 * and the number of starts per hour.
 *
 * Users are modelled as conductances, Q = C·(p_atm − p), so the receiver balance
 * `V·dp/dt = C·(p_atm − p) + Q_leak − S₀′·(p − p_ult)·run` is linear and the switching instants
 * are solved exactly within a step of any length. The §6.5 default of 500 L gives ≈60 starts/h
 * at a useful duty with a 100 m³/h pump; 2000 L (sim) gives the stated 4–15 starts/h.
 */
import { type Duty, expMean, type Nodes, type PumpSide, type Schedule, scheduleOn } from "./duty.js";
import type { Rng } from "./rng.js";

/** D3 parameters. */
export interface ReceiverParams {
  receiverL: number;
  lowHpa: number;
  highHpa: number;
  users: number;
  /** Mean air demand as a fraction of the healthy pump's throughput at mid pressure (0.35). */
  demand: number;
  /** Mean on and off durations of one user, s. */
  userOnS: number;
  userOffS: number;
  minOffS: number;
  schedule?: Schedule | undefined;
}

/** Switching events handled per step; more would mean a receiver far too small for the pump. */
const MAX_EVENTS = 40;

export class ReceiverDuty implements Duty {
  readonly kind = "receiver";
  readonly workingThroughput: number;
  private readonly cUser: number;
  private readonly userOn: Uint8Array;
  private readonly v: number;
  private pr: number;
  private on = true;
  private offFor = 0;
  private cachedDt = -1;
  private pOnToOff = 0;
  private pOffToOn = 0;

  constructor(
    private readonly params: ReceiverParams,
    sNom: number,
    pUltNominal: number,
    private readonly utcOffsetHours: number,
    private readonly rng: Rng,
  ) {
    const pMid = ((params.lowHpa + params.highHpa) / 2) * 100;
    this.workingThroughput = params.demand * sNom * Math.max(0, pMid - pUltNominal);
    const onFrac = params.userOnS / (params.userOnS + params.userOffS);
    this.cUser = this.workingThroughput / (params.users * onFrac * (101_325 - pMid));
    this.userOn = new Uint8Array(params.users);
    for (let i = 0; i < params.users; i++) this.userOn[i] = rng.uniform() < onFrac ? 1 : 0;
    this.v = params.receiverL / 1000;
    this.pr = params.highHpa * 100;
  }

  step(tMs: number, dtS: number, pump: PumpSide, out: Nodes): void {
    out.reset();
    const p = this.params;
    this.toggleUsers(dtS);
    let nOn = 0;
    for (let i = 0; i < p.users; i++) nOn += this.userOn[i]!;
    const c = nOn * this.cUser;
    const canRun = pump.canRun && scheduleOn(p.schedule, tMs, this.utcOffsetHours);
    if (!canRun) this.on = false;
    const low = p.lowHpa * 100;
    const high = p.highHpa * 100;
    let remaining = dtS;
    for (let ev = 0; ev < MAX_EVENTS && remaining > 1e-9; ev++) {
      const running = this.on;
      const s = running ? pump.s0 : 0;
      const denom = c + s;
      const linear = denom < 1e-12;
      const pEq = linear ? 0 : (c * pump.pAtm + pump.qLeak + s * pump.pUlt) / denom;
      const k = denom / this.v;
      const rise = pump.qLeak / this.v; // Pa/s when nothing flows but the leak
      let tE = Number.POSITIVE_INFINITY;
      if (running) {
        if (this.pr <= low) tE = 0;
        else if (pEq < low) tE = Math.log((this.pr - pEq) / (low - pEq)) / k;
      } else if (canRun) {
        let tHigh = Number.POSITIVE_INFINITY;
        if (this.pr >= high) tHigh = 0;
        else if (linear) tHigh = rise > 0 ? (high - this.pr) / rise : tHigh;
        else if (pEq > high) tHigh = Math.log((this.pr - pEq) / (high - pEq)) / k;
        tE = Math.max(tHigh, p.minOffS - this.offFor);
      }
      const seg = Math.min(remaining, tE);
      if (seg > 0) {
        const mean = linear ? this.pr + (rise * seg) / 2 : expMean(this.pr, pEq, k, seg);
        out.add(seg / dtS, Math.min(mean, pump.pAtm), running);
        this.pr = linear ? this.pr + rise * seg : pEq + (this.pr - pEq) * Math.exp(-k * seg);
        this.pr = Math.min(pump.pAtm, Math.max(pump.pUlt, this.pr));
        if (!running) this.offFor += seg;
        remaining -= seg;
      }
      if (tE <= seg + 1e-12) {
        this.on = !running;
        if (this.on) out.starts++;
        else this.offFor = 0;
      }
    }
    if (remaining > 1e-9) out.add(remaining / dtS, this.pr, this.on);
  }

  /** Each user flips state with the exact two-state Markov probability for dt (one flip per step). */
  private toggleUsers(dtS: number): void {
    if (dtS !== this.cachedDt) {
      this.cachedDt = dtS;
      this.pOnToOff = 1 - Math.exp(-dtS / this.params.userOnS);
      this.pOffToOn = 1 - Math.exp(-dtS / this.params.userOffS);
    }
    for (let i = 0; i < this.params.users; i++) {
      const u = this.rng.uniform();
      if (this.userOn[i] === 1) {
        if (u < this.pOnToOff) this.userOn[i] = 0;
      } else if (u < this.pOffToOn) this.userOn[i] = 1;
    }
  }
}
