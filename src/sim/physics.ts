/**
 * The pump's algebraic equations (pump-domain.md §6.3 E1, E3, E4). Pure functions over SI
 * units (Pa, m³/s, W) so tests can check them without running a duty.
 */
import type { Derived } from "./models.js";

/**
 * Effective pumping-speed coefficient S₀′ of E1 in m³/s, such that throughput is
 * `Q = S₀′·(p − p_ult,eff)` — the `S·(1 − p_ult/p)` form multiplied out, which keeps the gas
 * balance (E2) linear in p so it can be solved exactly.
 */
export function speedCoefficient(m: Derived, vaneWear: number, exhaustOverPa: number, pAtm: number): number {
  const bp = 1 - (m.p.kBp * Math.max(0, exhaustOverPa)) / pAtm;
  // A clogged exhaust cuts flow (Busch's clogging symptom [S5]); floor keeps the pump a pump.
  return m.sNom * (1 - 0.15 * vaneWear) * Math.max(0.2, bp);
}

/** Effective ultimate pressure p_ult,eff of E1, Pa: wear, old oil and water in oil raise it. */
export function ultimatePressure(m: Derived, vaneWear: number, oilQuality: number, water: number): number {
  const wear = 1 + 9 * vaneWear * vaneWear;
  if (!m.oil) return m.pUlt * wear;
  return m.pUlt * wear * (1 + 2 * (1 - oilQuality)) + 2500 * water;
}

/**
 * Exhaust-filter drop at reference throughput, Pa (E4): Δp_clean·exp(k_f·s_f), reaching the red
 * value exactly at s_f = 1; a broken-through element keeps 20 % of it [S5].
 */
export function filterDrop(m: Derived, saturation: number, broken: boolean): number {
  const dp = m.dpClean * Math.exp(m.kF * saturation);
  return broken ? 0.2 * dp : dp;
}

/** Exhaust pressure at throughput q, Pa (E4): the filter term scales with Q/Q_ref. */
export function exhaustPressure(m: Derived, pAtm: number, filterDropPa: number, q: number): number {
  return pAtm + m.dpLine + (filterDropPa * q) / m.qRef;
}

/**
 * Gas compression power, W (E3). Oil-sealed pumps (exhaust valve): isothermal `Q·ln(p_ex/p)/η_c`,
 * maximal near p_ex/e ≈ 373 mbar [S9]. Dry pumps with built-in ratio V_i add the under/over-
 * compression work `|p_ex − V_i·p|·S_nom/V_i`, which keeps their power nearly flat at low
 * inlet pressure while the heat-carrying gas flow vanishes [S4].
 */
export function gasPower(m: Derived, pIn: number, q: number, pEx: number): number {
  if (m.p.vi <= 0) {
    return q > 0 && pEx > pIn ? (q * Math.log(pEx / pIn)) / m.p.etaC : 0;
  }
  const pComp = Math.min(m.p.vi * pIn, pEx);
  const compression = q > 0 && pComp > pIn ? (q * Math.log(pComp / pIn)) / m.p.etaC : 0;
  return compression + Math.abs(pEx - m.p.vi * pIn) * m.sOverVi;
}

/** Viscosity factor ν(T) of E3: cold oil raises friction [S9]. */
export function viscosity(m: Derived, bodyC: number): number {
  return 1 + m.p.cNu * Math.max(0, m.p.tRefC - bodyC);
}

/** Electrical power from shaft power, W (E3): motor efficiency plus iron losses. */
export function electricalPower(m: Derived, shaftW: number): number {
  return shaftW / m.p.etaM + m.pM0;
}

/**
 * Motor current, A (E3): `√(I_a² + I_r²)` with the reactive part `i₀·I_rated + k_r·I_a`, so a
 * running motor never draws less than its magnetising current (20–50 % of rated, [S27]).
 */
export function motorCurrent(m: Derived, electricW: number): number {
  const ia = electricW / m.sqrt3U;
  const ir = m.iMag + m.kR * ia;
  return Math.sqrt(ia * ia + ir * ir);
}
