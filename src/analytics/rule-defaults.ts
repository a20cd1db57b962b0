/**
 * Default limit rules per pump model, derived from the published limits in pump-domain.md §1.3,
 * §1.6, §2.2 and §6.4 (via src/sim/models.ts). Debounce values follow §4.7: ≥ 20 s on-delay for
 * temperature contacts [S3], 1–3 K deadband for temperatures, 2–5 % of span for pressures.
 *
 * Design choices (est. where the notes give no number):
 * - Temperature: the ALARM fires at the model's warning temperature (§6.4), the WARNING 5 K
 *   earlier, so both come before the pump's own trip (bodyTripC).
 * - Vibration: ISO 10816-1 class I C/D (4.5 mm/s) is the alarm. The B/C boundary (1.8 mm/s) is
 *   the warning unless the model's own baseline under load (v₀·(1 + k_load)) already exceeds it;
 *   then the warning is 1.75·v₀ so that a healthy pump does not warn permanently.
 * - Motor current: warning at 1.05 × rated (RV100 peaks at ≈104 % in the service-factor region,
 *   §6.4), alarm at 1.15 × rated (LIMITS.overloadTripFactor, F10).
 * - Power: warning at 1.1 × and alarm at 1.15 × the rated electrical power P_rated/η_m (CLAW100
 *   draws ≈1.05 × at atmospheric inlet, §6.4, so a tighter warning would fire on a healthy pump).
 * - Exhaust pressure: oil-sealed pumps with a filter warn at 70 % of the red filter drop and alarm
 *   at the red drop (LIMITS.exhaustWarnFraction, E4); dry pumps (silencer) warn at 0.2 bar(g) and
 *   alarm at 0.3 bar(g), the oil-mist-trap relief pressure [S11].
 * - Oil/housing temperature rate: warm-up from cold legitimately rises 2–3 K/min (τ ≈ 17–24 min,
 *   §6.4), so the rate rule only runs after 30 min of running (§1.3 warm-up) and warns at
 *   1 K/min, alarms at 2 K/min (cooling loss raises T at ≈ P/C ≈ 2 K/min).
 * - Ambient: rotary vanes are limited to 38 °C ambient without extra oil cooling [S6].
 */
import { LIMITS, MODELS, type ModelName } from "../sim/models.js";
import type { RuleDef } from "./rules.js";

const ATM_HPA = 1013.25;

const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** The fields a rule takes when neither the model defaults nor an override give them. */
export const RULE_FIELD_DEFAULTS: Readonly<Omit<RuleDef, "id" | "signal" | "kind" | "warning" | "alarm">> = {
  enabled: true,
  onDelaySec: 30,
  offDelaySec: 60,
  deadband: 0,
  reAlarmSec: 4 * 3600,
  windowSec: 300,
  minRunSec: 0,
};

function base(
  id: string,
  signal: string,
  kind: RuleDef["kind"],
  warning: number | null,
  alarm: number | null,
  rest: Partial<RuleDef>,
): RuleDef {
  return { id, signal, kind, warning, alarm, ...RULE_FIELD_DEFAULTS, ...rest };
}

/**
 * Rules for a pump of unknown model: only limits that hold for any industrial vacuum pump — motor
 * frame temperature, ambient, and vibration by ISO 10816-1 class II (medium machines: B/C 2.8, C/D
 * 7.1 mm/s), which is less strict than class I because the machine size is unknown.
 */
function genericRules(): RuleDef[] {
  return [
    motorTemperatureRule(),
    base("vibrationHigh", "vibration", "high", 2.8, 7.1, { onDelaySec: 60, offDelaySec: 120, deadband: 0.2 }),
    ...ambientRules(),
  ];
}

/** Motor frame: insulation class F motors are commonly limited to 100 °C frame temperature (est.). */
function motorTemperatureRule(): RuleDef {
  return base("motorTemperatureHigh", "motorTemperature", "high", 90, 100, {
    onDelaySec: 60,
    offDelaySec: 120,
    deadband: 2,
  });
}

function ambientRules(): RuleDef[] {
  return [
    base("ambientTemperatureHigh", "ambientTemperature", "high", 38, 45, {
      onDelaySec: 300,
      offDelaySec: 300,
      deadband: 1,
    }),
    base("ambientTemperatureLow", "ambientTemperature", "low", 5, 0, {
      onDelaySec: 300,
      offDelaySec: 300,
      deadband: 1,
    }),
  ];
}

/** Builds the default rule list of one model, or the generic list for null (fresh objects on every call). */
export function buildDefaultRules(model: ModelName | null): RuleDef[] {
  if (model === null) return genericRules();
  const info = MODELS[model];
  const p = info.params;
  const iWarn = round(p.iRatedA * Math.max(LIMITS.overloadWarnFactor, 1.05));
  const iAlarm = round(p.iRatedA * LIMITS.overloadTripFactor);
  const pElRated = p.pRatedKw / p.etaM;
  // Tolerance: RV100's 1.2·1.5 is exactly the B/C boundary and keeps the ISO warning.
  const vibWarn = p.v0 * (1 + p.kLoad) > LIMITS.vibrationBC + 1e-6 ? round(1.75 * p.v0) : LIMITS.vibrationBC;
  const filter = p.filterLifeH > 0;
  const exWarn = filter
    ? round(ATM_HPA + p.dpLineHpa + LIMITS.exhaustWarnFraction * p.dpRedHpa, 0)
    : round(ATM_HPA + 200, 0);
  const exAlarm = filter ? round(ATM_HPA + p.dpLineHpa + p.dpRedHpa, 0) : round(ATM_HPA + 300, 0);

  const rules: RuleDef[] = [
    base("oilTemperatureHigh", "oilTemperature", "high", p.bodyWarnC - 5, p.bodyWarnC, {
      onDelaySec: 30,
      offDelaySec: 120,
      deadband: 2,
    }),
    base("oilTemperatureRise", "oilTemperature", "rise", 1, 2, {
      onDelaySec: 60,
      offDelaySec: 300,
      deadband: 0.3,
      windowSec: 300,
      minRunSec: 1800,
    }),
    motorTemperatureRule(),
    base("motorCurrentHigh", "motorCurrent", "high", iWarn, iAlarm, {
      onDelaySec: 60,
      offDelaySec: 120,
      deadband: round(0.02 * p.iRatedA),
    }),
    base("powerHigh", "power", "high", round(1.1 * pElRated), round(1.15 * pElRated), {
      onDelaySec: 60,
      offDelaySec: 120,
      deadband: round(0.02 * pElRated),
    }),
    // Vibration RMS is noisy (±5 % per reading) and bearing trends are slow: a longer on-delay and a
    // 30-min off-delay keep a value hovering at the limit from chattering.
    base("vibrationHigh", "vibration", "high", vibWarn, LIMITS.vibrationCD, {
      onDelaySec: 300,
      offDelaySec: 1800,
      deadband: 0.3,
    }),
    base("exhaustPressureHigh", "exhaustPressure", "high", exWarn, exAlarm, {
      onDelaySec: 60,
      offDelaySec: 120,
      // ≈ 3 % of the 0–2000 hPa span (§4.7: 2–5 % of span for pressures).
      deadband: 20,
    }),
    ...ambientRules(),
  ];
  return rules;
}
