/**
 * Pump parameter sets (pump-domain.md §6.4) and the constants derived from them.
 *
 * Values are the document's "(sim)" defaults, chosen there to reproduce sourced behaviour: RV
 * temperature rise 40/80 K [S10], power maximum at 300–400 mbar [S9], claw thermal limit ≈100 hPa
 * [S4], screw trip at 85 °C [S3]. Motor-node constants are not in §6.4; they are chosen so motor
 * frames run at 50–80 °C with τ ≈ 20–40 min (§1.3, §6.2). A scenario may override any number.
 */

export const MODEL_NAMES = ["RV100", "SCREW100", "CLAW100"] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** User-facing parameters of one pump model, in engineering units. */
export interface PumpParams {
  /** Nominal pumping speed at 50 Hz, m³/h. */
  sNomM3h: number;
  /** Ultimate pressure of a new pump, hPa. */
  pUltHpa: number;
  /** Built-in volume ratio V_i of dry pumps (E3); 0 for oil-sealed pumps with exhaust valve. */
  vi: number;
  /** Rated shaft power kW, supply voltage V, rated current A. */
  pRatedKw: number;
  voltage: number;
  iRatedA: number;
  /** Friction power at the reference temperature, W (E3). */
  pFrW: number;
  etaC: number;
  etaM: number;
  /** Body node: heat capacity J/K, forced (fan/coolant) and natural conductance W/K (E5). */
  cBodyJK: number;
  gForcedWK: number;
  gNatWK: number;
  /** Coolant temperature for water-cooled pumps, °C (SCREW100: 50 °C loop, §6.4). */
  coolantC: number;
  /** Discharge-gas temperature rise ΔT_dis, K (0 oil-sealed, ≈20 dry; E5). */
  dtDisK: number;
  /** Motor node: heat capacity, fan-cooled and natural conductance, body–motor coupling. */
  cMotorJK: number;
  gMotorWK: number;
  gMotorNatWK: number;
  gBodyMotorWK: number;
  /** Exhaust: constant line + mist drop, clean-filter (or silencer) drop at Q_ref, red value, hPa (E4). */
  dpLineHpa: number;
  dpCleanHpa: number;
  dpRedHpa: number;
  /** Back-pressure sensitivity of pumping speed k_bp (E1). */
  kBp: number;
  /** Exhaust-filter life at reference conditions, running h (E6); 0 = no oil-mist filter. */
  filterLifeH: number;
  /** Oil life at 80 °C, running h (E7). */
  oilLifeH: number;
  /** Vane / clearance wear life, running h (E8). */
  vaneLifeH: number;
  /** Baseline vibration v₀ mm/s, load and imbalance coefficients (E9). */
  v0: number;
  kLoad: number;
  kImbMmS: number;
  /** Reference temperature and viscosity coefficient of ν(T) (E3). */
  tRefC: number;
  cNu: number;
  /** Body temperature warning and trip limits, °C (§6.4 row "Warning / trip temperature"). */
  bodyWarnC: number;
  bodyTripC: number;
}

/** Qualitative properties that decide which equations apply. */
export interface ModelInfo {
  name: ModelName;
  label: string;
  lubrication: "oilSealed" | "dry";
  cooling: "air" | "water";
  params: PumpParams;
}

const RV100: ModelInfo = {
  name: "RV100",
  label: "R5-like oil-lubricated rotary vane, 100 m³/h, air-cooled",
  lubrication: "oilSealed",
  cooling: "air",
  params: {
    sNomM3h: 100,
    pUltHpa: 0.1,
    vi: 0,
    pRatedKw: 2.2,
    voltage: 400,
    iRatedA: 4.7,
    pFrW: 1000,
    etaC: 0.85,
    etaM: 0.85,
    cBodyJK: 40_000,
    gForcedWK: 24,
    gNatWK: 4,
    coolantC: 0,
    dtDisK: 0,
    cMotorJK: 25_000,
    gMotorWK: 12,
    gMotorNatWK: 3,
    gBodyMotorWK: 3,
    dpLineHpa: 20,
    dpCleanHpa: 50,
    dpRedHpa: 500,
    kBp: 0.3,
    filterLifeH: 4000,
    oilLifeH: 2000,
    vaneLifeH: 20_000,
    v0: 1.2,
    kLoad: 0.5,
    kImbMmS: 4.5,
    tRefC: 50,
    cNu: 0.012,
    bodyWarnC: 100,
    bodyTripC: 110,
  },
};

const SCREW100: ModelInfo = {
  name: "SCREW100",
  label: "COBRA-like dry screw, 110 m³/h, water-cooled",
  lubrication: "dry",
  cooling: "water",
  params: {
    ...RV100.params,
    sNomM3h: 110,
    pUltHpa: 0.01,
    vi: 5,
    pRatedKw: 4,
    iRatedA: 8,
    pFrW: 900,
    etaC: 0.7,
    etaM: 0.88,
    cBodyJK: 90_000,
    gForcedWK: 110,
    gNatWK: 10,
    coolantC: 50,
    dtDisK: 20,
    cMotorJK: 40_000,
    gMotorWK: 20,
    gMotorNatWK: 4,
    gBodyMotorWK: 4,
    // A silencer instead of a filter: "35 mbar silencer" at Q_ref (§6.4), no saturation.
    dpLineHpa: 5,
    dpCleanHpa: 30,
    dpRedHpa: 30,
    filterLifeH: 0,
    oilLifeH: 8000,
    v0: 1.5,
    bodyWarnC: 80,
    bodyTripC: 85,
  },
};

const CLAW100: ModelInfo = {
  name: "CLAW100",
  label: "MINK-like dry claw, 100 m³/h, air-cooled",
  lubrication: "dry",
  cooling: "air",
  params: {
    ...RV100.params,
    pUltHpa: 30,
    vi: 2.5,
    pFrW: 450,
    etaC: 0.75,
    etaM: 0.86,
    cBodyJK: 45_000,
    gForcedWK: 13,
    gNatWK: 3,
    // Weak body–motor coupling (separate motor on a lantern): keeps §6.4's housing temperatures.
    gBodyMotorWK: 1,
    dtDisK: 20,
    dpLineHpa: 5,
    dpCleanHpa: 30,
    dpRedHpa: 30,
    filterLifeH: 0,
    oilLifeH: 8000,
    v0: 2.2,
    bodyWarnC: 110,
    bodyTripC: 120,
  },
};

export const MODELS: Readonly<Record<ModelName, ModelInfo>> = { RV100, SCREW100, CLAW100 };

/** Names of the overridable numeric parameters (for the scenario schema). */
export const PARAM_NAMES = Object.keys(RV100.params) as (keyof PumpParams)[];

/**
 * Published limits used by the demo and by tests as warning/alarm thresholds (§1.6, §2.2, §6.4,
 * §6.7): ISO 10816-1 class I vibration zones, body temperature limits, motor current.
 */
export const LIMITS = {
  /** ISO 10816-1 class I zone boundaries, mm/s RMS (§1.6; stricter C/D value as §1.6 decides). */
  vibrationAB: 0.71,
  vibrationBC: 1.8,
  vibrationCD: 4.5,
  /** Motor overload: warning above rated current, alarm/trip above 1.15 × rated (F10, E12). */
  overloadWarnFactor: 1.0,
  overloadTripFactor: 1.15,
  /** Exhaust-filter warning at 70 % of the red drop at reference throughput (F1). */
  exhaustWarnFraction: 0.7,
} as const;

/** Model constants in SI units plus derived coefficients, computed once per asset. */
export interface Derived {
  info: ModelInfo;
  p: PumpParams;
  oil: boolean;
  water: boolean;
  /** Nominal speed, m³/s. */
  sNom: number;
  /** Ultimate pressure, Pa. */
  pUlt: number;
  /** Reference throughput Q_ref = p_atm·S_nom, Pa·m³/s (E4). */
  qRef: number;
  /** Filter exponent k_f = ln(Δp_red/Δp_clean) (E4). */
  kF: number;
  dpLine: number;
  dpClean: number;
  /** Iron losses P_m0 = 3 % of rated, W (E3). */
  pM0: number;
  pRated: number;
  /** √3·U for the active current. */
  sqrt3U: number;
  /** Reactive-current slope k_r chosen so that I(rated load) = I_rated (E3). */
  kR: number;
  /** No-load magnetising current i₀·I_rated, A (i₀ = 0.3, [S27]). */
  iMag: number;
  /** Under/over-compression coefficient S_nom/V_i, m³/s (E3, dry pumps). */
  sOverVi: number;
}

export const P_ATM_REF = 101_325;

/** Builds the derived constants for a model with optional parameter overrides. */
export function deriveModel(name: ModelName, overrides: Partial<PumpParams> = {}): Derived {
  const info = MODELS[name];
  const p: PumpParams = { ...info.params, ...overrides };
  const sNom = p.sNomM3h / 3600;
  const pRated = p.pRatedKw * 1000;
  const pM0 = 0.03 * pRated;
  const sqrt3U = Math.sqrt(3) * p.voltage;
  const iMag = 0.3 * p.iRatedA;
  const iaRated = (pRated / p.etaM + pM0) / sqrt3U;
  const irRated = Math.sqrt(Math.max(0, p.iRatedA * p.iRatedA - iaRated * iaRated));
  return {
    info,
    p,
    oil: info.lubrication === "oilSealed",
    water: info.cooling === "water",
    sNom,
    pUlt: p.pUltHpa * 100,
    qRef: P_ATM_REF * sNom,
    kF: p.dpRedHpa > p.dpCleanHpa ? Math.log(p.dpRedHpa / p.dpCleanHpa) : 0,
    dpLine: p.dpLineHpa * 100,
    dpClean: p.dpCleanHpa * 100,
    pM0,
    pRated,
    sqrt3U,
    kR: Math.max(0, (irRated - iMag) / iaRated),
    iMag,
    sOverVi: p.vi > 0 ? sNom / p.vi : 0,
  };
}
