/**
 * Hidden health states of one pump (pump-domain.md §6.2) and the maintenance actions that reset
 * them (§6.8).
 *
 * Two kinds of state: *accumulating* states (filter saturation, oil quality and level, vane wear)
 * integrate E6–E8 and persist until maintenance; *fault-driven* states (bearing damage, deposits,
 * cooling health, leak, binding) are recomputed every step from the active faults, so ending a
 * fault (a repair) restores them without extra bookkeeping.
 */

/** Maintenance actions of §6.8 plus the repairs the extra faults need. */
export const MAINTENANCE_ACTIONS = [
  /** Oil + oil-filter change: q_oil = 1, L_oil = 1, water = 0. */
  "oilChange",
  /** Exhaust-filter change: s_f = 0 (also replaces a broken-through element). */
  "exhaustFilterChange",
  /** Bearing replacement / overhaul: d_b = m_dep = w_v = 0, new vibration baseline ±20 %. */
  "overhaul",
  /** Fan repair / cooling restored: h_cool = 1. */
  "coolingRepair",
  /** Leak found and fixed: Q_leak = 0. */
  "leakRepair",
  /** Sensor replaced: ends sensor faults on `signal` (all signals if omitted), new bias. */
  "sensorReplacement",
  /** Reset after a protective trip only (every action above also resets a trip). */
  "restart",
] as const;

export type MaintenanceAction = (typeof MAINTENANCE_ACTIONS)[number];

/** Initial hidden states an asset may start with (scenario `initial`). */
export interface InitialState {
  filterSaturation: number;
  oilQuality: number;
  oilLevel: number;
  vaneWear: number;
  operatingHours: number;
}

export const DEFAULT_INITIAL: InitialState = {
  filterSaturation: 0,
  oilQuality: 1,
  oilLevel: 1,
  vaneWear: 0,
  operatingHours: 0,
};

export class Health {
  // accumulating states
  /** s_f: 0 new … 1 red limit at reference flow. */
  sf: number;
  /** q_oil: 1 fresh … 0 end of life. */
  q: number;
  /** L_oil: fraction of nominal level. */
  level: number;
  /** w_v: vane / clearance wear 0…1. */
  wv: number;
  /** w_h2o: water in oil (E7); kept 0 — the humid batch duty D4 is not implemented. */
  water = 0;
  /** Exhaust filter broken through (F1b). */
  broken = false;

  // rate multipliers set by active faults (products, restored on repair)
  filterKappa = 1;
  oilKappa = 1;
  vaneKappa = 1;
  /** Oil leak rate, fraction of nominal per day (F3). */
  oilLeakPerDay = 0;

  // fault-driven states, recomputed every step
  /** d_b: bearing-damage vibration, mm/s. */
  db = 0;
  /** m_dep: deposits / imbalance 0…1. */
  mdep = 0;
  /** h_cool: cooling health, 1 = ok. */
  hcool = 1;
  /** Q_leak: Pa·m³/s. */
  qLeak = 0;
  /** Extra mechanical load from binding (F10), W. */
  bindingW = 0;

  constructor(init: InitialState) {
    this.sf = init.filterSaturation;
    this.q = init.oilQuality;
    this.level = init.oilLevel;
    this.wv = init.vaneWear;
  }

  /** Clears the fault-driven states before the active faults reapply them for a step. */
  beginStep(): void {
    this.db = 0;
    this.mdep = 0;
    this.hcool = 1;
    this.qLeak = 0;
    this.bindingW = 0;
  }

  /** Applies the accumulating-state part of a maintenance action (§6.8). */
  maintain(action: MaintenanceAction): void {
    switch (action) {
      case "oilChange":
        this.q = 1;
        this.level = 1;
        this.water = 0;
        break;
      case "exhaustFilterChange":
        this.sf = 0;
        this.broken = false;
        break;
      case "overhaul":
        this.wv = 0;
        break;
      default:
        break;
    }
  }
}
