/**
 * Names, units and layout of what the simulator emits.
 *
 * Telemetry signals are the built-in signals of docs/telemetry.md with their fixed units, so a
 * simulated box needs no model-specific signal declarations. Ground-truth rows carry the
 * noise-free value of every signal under the same name plus the hidden health states of
 * pump-domain.md §6.2 (§6.10: "emit ground truth in the same schema as telemetry").
 */

/** Telemetry signals in column order. */
export const SIGNALS = [
  "inletPressure",
  "exhaustPressure",
  "oilTemperature",
  "motorTemperature",
  "ambientTemperature",
  "motorCurrent",
  "power",
  "vibration",
  "operatingHours",
  "running",
] as const;

export type SignalName = (typeof SIGNALS)[number];

/** Column index of each signal in {@link SIGNALS} and in the first ten truth fields. */
export const Sig = {
  inletPressure: 0,
  exhaustPressure: 1,
  oilTemperature: 2,
  motorTemperature: 3,
  ambientTemperature: 4,
  motorCurrent: 5,
  power: 6,
  vibration: 7,
  operatingHours: 8,
  running: 9,
} as const satisfies Record<SignalName, number>;

/**
 * Plausibility bounds of docs/telemetry.md (inclusive). Sensor readings are clamped to them so
 * a simulated spike is an implausible-but-valid value rather than a quarantined message.
 */
export const SIGNAL_BOUNDS: Readonly<Record<SignalName, readonly [number, number]>> = {
  inletPressure: [0, 2000],
  exhaustPressure: [0, 2000],
  oilTemperature: [-50, 300],
  motorTemperature: [-50, 300],
  ambientTemperature: [-50, 300],
  motorCurrent: [0, 1000],
  power: [0, 1000],
  vibration: [0, 200],
  operatingHours: [0, 1e6],
  running: [0, 1],
};

/**
 * Ground-truth fields in column order: the ten signals (noise-free means over the interval;
 * `running` is the running fraction 0…1 there) followed by hidden states.
 */
export const TRUTH_FIELDS = [
  ...SIGNALS,
  /** Exhaust-filter saturation s_f, 0 new … 1 red-field limit at reference flow (§6.2, E6). */
  "filterSaturation",
  /** Oil quality q_oil, 1 fresh … 0 end of life (E7). */
  "oilQuality",
  /** Oil level L_oil, fraction of nominal (E7). */
  "oilLevel",
  /** Vane / clearance wear w_v 0…1 (E8). */
  "vaneWear",
  /** Bearing-damage vibration contribution d_b, mm/s (E9). */
  "bearingDamage",
  /** Deposit / imbalance level m_dep, 0…1 (F8). */
  "deposits",
  /** Cooling health h_cool, 1 = ok (F4/F4b). */
  "coolingHealth",
  /** Leak throughput Q_leak, hPa·L/s (F6). */
  "leakThroughput",
  /** Atmospheric pressure, hPa (§6.5 environment). */
  "atmosphericPressure",
  /** Gas throughput through the pump Q = p·S, hPa·L/s. */
  "throughput",
  /** Shaft power P_sh, kW (E3). */
  "shaftPower",
  /** Duration of the last chamber evacuation, s (packaging duty only, else NaN). */
  "evacuationTime",
  /** Motor starts within the interval (receiver duty, restarts after stops). */
  "starts",
  /** 1 while a protective trip (E12) keeps the pump stopped. */
  "tripped",
] as const;

export type TruthField = (typeof TRUTH_FIELDS)[number];

/** Column index of each hidden truth field. */
export const Tru = {
  filterSaturation: 10,
  oilQuality: 11,
  oilLevel: 12,
  vaneWear: 13,
  bearingDamage: 14,
  deposits: 15,
  coolingHealth: 16,
  leakThroughput: 17,
  atmosphericPressure: 18,
  throughput: 19,
  shaftPower: 20,
  evacuationTime: 21,
  starts: 22,
  tripped: 23,
} as const;

export const N_SIGNALS = SIGNALS.length;
export const N_TRUTH = TRUTH_FIELDS.length;

/** How a truth field is aggregated over several simulation steps into one reading. */
export const Agg = {
  /** Time-weighted mean (physical signals). */
  Mean: 0,
  /** Value at the end of the interval (counters, slowly changing states). */
  Last: 1,
  /** Sum (event counts). */
  Sum: 2,
} as const;

/** Aggregation per truth field, in {@link TRUTH_FIELDS} order. */
export const TRUTH_AGG: Uint8Array = (() => {
  const agg = new Uint8Array(N_TRUTH).fill(Agg.Last);
  for (let i = 0; i < Sig.operatingHours; i++) agg[i] = Agg.Mean;
  agg[Sig.running] = Agg.Mean;
  agg[Tru.atmosphericPressure] = Agg.Mean;
  agg[Tru.throughput] = Agg.Mean;
  agg[Tru.shaftPower] = Agg.Mean;
  agg[Tru.starts] = Agg.Sum;
  return agg;
})();
