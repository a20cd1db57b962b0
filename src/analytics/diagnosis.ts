/**
 * First diagnostic layer: the fault-signature matrix (pump-domain.md §6.9, §2.3). Several faults
 * share symptoms (F1 and F6 both raise power, F3 and F4 both raise the oil temperature), so the
 * cause is read from the *pattern* of residuals across signals, not from one signal.
 *
 * Each fault has an expected direction per signal (2 = ↑↑, 1 = ↑, 0.5 = ↑ small, 0 = no clear
 * change, negative = ↓; absent = not part of the signature). The observed standardised residuals
 * are mapped to the same scale (a dead zone of 1.5 σ so noise does not vote, saturating at 2), and
 * each fault is scored by the cosine between the two over the signals both have, times the square
 * root of the share of the signature that could be observed (a fault whose key signal is missing
 * cannot win on the rest), plus a prior from the alarm type that triggered the diagnosis (a limit
 * rule on the exhaust pressure points at the exhaust filter, §4.8). Pure, no state.
 */
import type { Diagnosis, Segment } from "./types.js";

/** Signals of the matrix (the residual signals of ./baseline.ts). */
export const SIGNATURE_SIGNALS = [
  "oilTemperature",
  "motorTemperature",
  "inletPressure",
  "exhaustPressure",
  "power",
  "motorCurrent",
  "vibration",
] as const;

export type SignatureSignal = (typeof SIGNATURE_SIGNALS)[number];

export type Signature = Partial<Record<SignatureSignal, number>>;

/** Short names of the catalogue faults (§2.1, §6.7) and the sensor faults. */
export const FAULT_NAMES: Readonly<Record<string, string>> = {
  F1: "exhaust filter saturation",
  F1b: "exhaust filter broken through",
  F2: "oil ageing",
  F3: "low oil level",
  F4: "cooling failure",
  F5: "inlet filter clogging",
  F6: "leak into the vacuum system",
  F7: "bearing wear",
  F8: "rotor deposits / imbalance",
  F9: "vane wear",
  F10: "motor overload",
  F12: "water in the oil",
  S1: "stuck sensor",
  S2: "sensor spikes",
  S3: "sensor drift",
  unknown: "unknown cause",
};

/**
 * Expected residual direction per signal: §6.9, read in residual space (at the same operating
 * point, ./baseline.ts). Where §6.9's raw direction only follows from the operating point moving,
 * the residual shows something else: a leak (F6) raises power and temperature because the inlet
 * pressure rises, but at the same inlet pressure and power the extra gas carries heat away (§6.3
 * E5), so its oil residual is slightly negative. F12's "T_b ↓" is a cause, an absolutely cold pump
 * (§4.8: base-pressure step with T_oil < 60 °C), so it is a condition on the value, not a residual
 * direction. F10 from §2.1: current above rated with power and motor temperature up. F4: power
 * "– (slightly ↓ as the hotter oil thins)".
 */
export const FAULT_SIGNATURES: Readonly<Record<string, Signature>> = {
  F1: { oilTemperature: 0.5, inletPressure: 0, exhaustPressure: 2, power: 1, motorCurrent: 1, vibration: 0 },
  F1b: {
    oilTemperature: 0,
    inletPressure: 0,
    exhaustPressure: -2,
    power: -1,
    motorCurrent: -1,
    vibration: 0,
  },
  F2: { oilTemperature: 1, inletPressure: 1, exhaustPressure: 0, power: 1, motorCurrent: 0.5, vibration: 0 },
  F3: { oilTemperature: 2, inletPressure: 1, exhaustPressure: 0, power: 0, motorCurrent: 0, vibration: 0.5 },
  F4: {
    oilTemperature: 2,
    motorTemperature: 1,
    inletPressure: 0,
    exhaustPressure: 0,
    power: -0.5,
    motorCurrent: 0,
    vibration: 0,
  },
  F5: {
    oilTemperature: 0,
    inletPressure: -1,
    exhaustPressure: -1,
    power: -1,
    motorCurrent: -1,
    vibration: 0,
  },
  F6: { oilTemperature: -0.5, inletPressure: 2, exhaustPressure: 0, power: 0, motorCurrent: 0, vibration: 0 },
  F7: {
    oilTemperature: 0.5,
    inletPressure: 0,
    exhaustPressure: 0,
    power: 0.5,
    motorCurrent: 0.5,
    vibration: 2,
  },
  F8: { oilTemperature: 1, inletPressure: 0, exhaustPressure: 0, power: 2, motorCurrent: 2, vibration: 1 },
  F9: { oilTemperature: 0, inletPressure: 1, exhaustPressure: 0, power: 0, motorCurrent: 0, vibration: 0.5 },
  F10: { motorTemperature: 1, exhaustPressure: 0, power: 1, motorCurrent: 2, vibration: 0 },
  F12: { inletPressure: 2, exhaustPressure: 0, power: 0, motorCurrent: 0, vibration: 0 },
};

/** What to do, in plain language (§2.2 maintenance criteria, §4.8). */
export const FAULT_ACTIONS: Readonly<Record<string, string>> = {
  F1: "Replace the exhaust filter (oil-mist separator); check the oil level and the gas-ballast valve.",
  F1b: "Check the exhaust filter for a crack or a missing O-ring and replace it; check the oil level (oil is carried over).",
  F2: "Change the oil and the oil filter; shorten the oil-change interval if the oil is dark or milky.",
  F3: "Check the oil level with the pump stopped and top up; look for a leak or a broken exhaust filter.",
  F4: "Check the fan, clean the cooling grilles, check the ambient temperature and the cooling water.",
  F5: "Clean or replace the inlet filter / screen.",
  F6: "Look for a leak: hoses, gaskets, valves and chamber seals; check for a changed process gas load.",
  F7: "Plan a bearing replacement; check the vibration trend and listen for bearing noise.",
  F8: "Inspect and clean the rotors (process deposits); check the balance.",
  F9: "Inspect the vanes for wear and replace them; check the ultimate pressure.",
  F10: "Check the motor load: exhaust back pressure, oil viscosity, mechanical binding and the supply phases.",
  F12: "Run the pump warm with the gas ballast open to purge the water; change the oil if it is milky.",
  S1: "The sensor reading is frozen: check the sensor and its wiring.",
  S2: "The sensor gives spikes: check the sensor, its wiring and shielding.",
  S3: "The sensor reading drifts: compare with a reference instrument and recalibrate or replace it.",
  unknown:
    "Unusual behaviour that matches no known fault pattern: inspect the pump and review its recent trends.",
};

/** Trigger-type priors added to a fault's score (alarm type → fault → bonus). */
const TRIGGER_PRIORS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  "rule:exhaustPressureHigh": { F1: 0.5 },
  "forecast:exhaustFilter": { F1: 0.5 },
  "rule:oilTemperatureRise": { F4: 0.4, F3: 0.1 },
  "rule:oilTemperatureHigh": { F4: 0.3, F3: 0.2, F2: 0.1 },
  "rule:motorTemperatureHigh": { F10: 0.3, F4: 0.2 },
  "rule:motorCurrentHigh": { F10: 0.5 },
  "rule:powerHigh": { F10: 0.4, F8: 0.1 },
  // Rising vibration is a bearing (F7) or deposits (F8); the power residual tells them apart.
  "rule:vibrationHigh": { F7: 0.3, F8: 0.2 },
  "forecast:bearing": { F7: 0.3, F8: 0.2 },
  "anomaly:inletStep": { F6: 0.5 },
  "forecast:oil": { F2: 0.5 },
};

/** Below this score the cause is reported as unknown. */
const MIN_SCORE = 0.35;

export interface DiagnosisInput {
  /** Alarm type that asks for the diagnosis, e.g. "rule:oilTemperatureRise", "anomaly", "sensor:power". */
  trigger: string;
  /** Latest standardised residuals per signal (./baseline.ts). */
  z: Record<string, number>;
  /** Current operating state: an overload during warm-up points at cold, viscous oil. */
  segment?: Segment | null;
  /** Latest raw values: water in the oil (F12) is only considered with an oil temperature < 60 °C (§4.8). */
  values?: Record<string, number>;
}

/** Observed residual on the signature scale: dead zone 1.5 σ, saturating towards ±2. */
function level(z: number): number {
  const excess = Math.max(0, Math.abs(z) - 1.5);
  return Math.sign(z) * 2 * Math.tanh(excess / 5);
}

/** Cosine between a signature and the observed levels, discounted by the unobservable share. */
export function signatureScore(sig: Signature, z: Record<string, number>): number {
  let dot = 0;
  let ss = 0;
  let oo = 0;
  let total = 0;
  for (const [signal, s] of Object.entries(sig)) {
    total += s * s;
    const zi = z[signal];
    if (zi === undefined || !Number.isFinite(zi)) continue;
    const o = level(zi);
    dot += s * o;
    ss += s * s;
    oo += o * o;
  }
  if (ss === 0 || oo === 0) return 0;
  return (dot / Math.sqrt(ss * oo)) * Math.sqrt(ss / total);
}

function result(code: string, confidence: number, action = FAULT_ACTIONS[code]!): Diagnosis {
  const c = Math.round(Math.min(1, Math.max(0, confidence)) * 100) / 100;
  return { code, cause: FAULT_NAMES[code]!, confidence: c, action };
}

/**
 * A `sensor:<signal>` trigger: spikes when that residual is extreme, drift when moderate, else stuck.
 * `sensor:<signal>:S1` / `:S2` name the finding of the sanity checks directly.
 */
function sensorDiagnosis(spec: string, z: Record<string, number>): Diagnosis {
  const [signal = spec, named] = spec.split(":");
  const zi = Math.abs(z[signal] ?? 0);
  const code = named === "S1" || named === "S2" ? named : zi >= 8 ? "S2" : zi >= 3 ? "S3" : "S1";
  return result(code, 0.7, `${signal}: ${FAULT_ACTIONS[code]}`);
}

/** Most likely cause of a deviation (§6.9 matrix plus trigger priors). */
export function diagnose(input: DiagnosisInput): Diagnosis {
  const { trigger, z } = input;
  if (trigger.startsWith("sensor:")) return sensorDiagnosis(trigger.slice("sensor:".length), z);
  const priors = TRIGGER_PRIORS[trigger] ?? {};
  let best = "unknown";
  let bestScore = MIN_SCORE;
  for (const [code, sig] of Object.entries(FAULT_SIGNATURES)) {
    if (code === "F12" && !((input.values?.["oilTemperature"] ?? Number.POSITIVE_INFINITY) < 60)) continue;
    const score = signatureScore(sig, z) + (priors[code] ?? 0);
    if (score > bestScore) {
      best = code;
      bestScore = score;
    }
  }
  if (best === "F10" && input.segment?.state === "warmup")
    return result(
      best,
      bestScore,
      `Cold start: ${FAULT_ACTIONS.F10!} Let the pump warm up before loading it.`,
    );
  if (best === "unknown") return priorOnly(priors);
  return result(best, bestScore);
}

/**
 * No residual pattern to go by (e.g. before the pump's normal is learned): the alarm type's own
 * most likely cause, with its prior as the confidence, rather than "unknown".
 */
function priorOnly(priors: Readonly<Record<string, number>>): Diagnosis {
  let best = "unknown";
  let bestPrior = 0;
  for (const [code, p] of Object.entries(priors)) {
    if (p > bestPrior) {
      best = code;
      bestPrior = p;
    }
  }
  return result(best, bestPrior);
}
