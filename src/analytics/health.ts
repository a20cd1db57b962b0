/**
 * Pump and fleet health (issue 5 item 6; pump-domain.md §3 "Health indices": a fleet traffic-light
 * view). Pure and deterministic: the same inputs always give the same report, time comes only from
 * `now`.
 *
 * A pump's report is a list of named, user-readable checks, each pass / warn / fail / no-data, built
 * from what the analyzer already decided — active alarms, forecasts (§4.6), residual z-scores against
 * the learned normal (§4.2) and the anomaly detector (§4.4) — plus the data connection:
 *
 * | id | label | sources |
 * |---|---|---|
 * | connection | Data connection | time since the last data vs. `offlineAfterMs`; `offline` alarm |
 * | temperatures | Temperatures | `rule:oilTemperature…`, `rule:motorTemperature…`, `rule:ambientTemperature…`, their `sensor:` alarms, z of those signals |
 * | exhaust | Exhaust pressure / filter | `rule:exhaustPressure…`, `forecast:exhaustFilter`, the exhaustFilter forecast, z of exhaustPressure |
 * | oil | Oil | `forecast:oil`, the oil forecast |
 * | bearings | Bearings / vibration | `rule:vibration…`, `forecast:bearing`, the bearing forecast, z of vibration |
 * | power | Power & current | `rule:motorCurrent…`, `rule:power…`, their `sensor:` alarms, z of those signals |
 * | pattern | Operating pattern | `anomaly` alarm, anomaly score, and any alarm no other check claims |
 * | service | Service due | `forecast:service`, the service forecast |
 *
 * A check's status is the worst of its sources: an active alarm fails (severity alarm) or warns
 * (warning); a forecast warns when due or at warning severity and fails when overdue or at alarm
 * severity ("insufficient-data" adds nothing); a residual |z| ≥ {@link Z_WARN} or an anomaly score
 * > 1 (a detector control limit exceeded, see detector.ts) warns. Limit-rule checks pass once data
 * has arrived (the rules run from the first sample); forecast-only checks (oil, service) and the
 * pattern check (needs a learned baseline) have no data until their source does.
 */
import type { Forecast, ForecastId, HealthCheck, HealthReport } from "./types.js";

/** |z| at or above which a residual makes its check warn (the usual 3σ control limit, §4.3). */
export const Z_WARN = 3;

export interface PumpHealthInput {
  /** Evaluation time, epoch ms. */
  now: number;
  /** Time data was last received, epoch ms; null if never. */
  lastDataTs: number | null;
  offlineAfterMs: number;
  activeAlarms: readonly { type: string; severity: "warning" | "alarm" }[];
  forecasts: readonly Forecast[];
  /** Latest residual z-scores by signal; null before the baseline is learned. */
  residualZ: Record<string, number> | null;
  baselineReady: boolean;
  /** Latest anomaly-detector score (> 1: a control limit exceeded); null when not evaluated. */
  anomalyScore: number | null;
}

type Status = HealthCheck["status"];
type CheckId =
  | "connection"
  | "temperatures"
  | "exhaust"
  | "oil"
  | "bearings"
  | "power"
  | "pattern"
  | "service";

/** What a check is about: its label, score weight, and which signals and forecasts feed it. */
interface CheckDef {
  id: CheckId;
  label: string;
  /** Multiplies the score penalty; a critical check's fail also caps the score. */
  weight: number;
  critical: boolean;
  signals: readonly string[];
  forecast: ForecastId | null;
  /** The check passes on the limit rules as soon as data arrives. */
  ruleBacked: boolean;
}

/**
 * The checks in report order. Weights: protection-relevant checks (connection — nothing else is
 * trustworthy without it —, temperatures, bearings, power: the pump's own trips, §6.3 E12) weigh
 * 1 and are critical; slow-wear checks (exhaust filter, oil) 0.7; the anomaly detector and service
 * reminders 0.5, since they ask for a look rather than report a fault.
 */
const CHECKS: readonly CheckDef[] = [
  {
    id: "connection",
    label: "Data connection",
    weight: 1,
    critical: true,
    signals: [],
    forecast: null,
    ruleBacked: false,
  },
  {
    id: "temperatures",
    label: "Temperatures",
    weight: 1,
    critical: true,
    signals: ["oilTemperature", "motorTemperature", "ambientTemperature"],
    forecast: null,
    ruleBacked: true,
  },
  {
    id: "exhaust",
    label: "Exhaust pressure / filter",
    weight: 0.7,
    critical: false,
    signals: ["exhaustPressure"],
    forecast: "exhaustFilter",
    ruleBacked: true,
  },
  { id: "oil", label: "Oil", weight: 0.7, critical: false, signals: [], forecast: "oil", ruleBacked: false },
  {
    id: "bearings",
    label: "Bearings / vibration",
    weight: 1,
    critical: true,
    signals: ["vibration"],
    forecast: "bearing",
    ruleBacked: true,
  },
  {
    id: "power",
    label: "Power & current",
    weight: 1,
    critical: true,
    signals: ["motorCurrent", "power"],
    forecast: null,
    ruleBacked: true,
  },
  {
    id: "pattern",
    label: "Operating pattern",
    weight: 0.5,
    critical: false,
    signals: [],
    forecast: null,
    ruleBacked: false,
  },
  {
    id: "service",
    label: "Service due",
    weight: 0.5,
    critical: false,
    signals: [],
    forecast: "service",
    ruleBacked: false,
  },
];

/** Score penalties per check at weight 1, and the cap after a critical fail. */
const WARN_PENALTY = 15;
const FAIL_PENALTY = 40;
const CRITICAL_FAIL_CAP = 40;

/**
 * Health of one pump: the eight checks above and a score 0–100 (null when every check is no-data):
 * start at 100, subtract 15 × weight per warning and 40 × weight per failed check, clamp at 0, and
 * cap at 40 when a critical check (connection, temperatures, bearings, power) fails; rounded to an
 * integer. So one warning costs 7.5–15 points, a failed filter 28, and a pump with any
 * protection-relevant failure never scores above 40.
 */
export function pumpHealth(input: PumpHealthInput): HealthReport {
  const alarmsByCheck = groupAlarms(input.activeAlarms);
  const checks = CHECKS.map((def) => {
    const findings = [
      ...(def.id === "connection" ? [connectionFinding(input)] : []),
      ...(def.id === "pattern" ? [patternFinding(input)] : []),
      ...(alarmsByCheck.get(def.id) ?? []).map(alarmFinding),
      ...forecastFindings(def, input.forecasts),
      ...residualFindings(def, input.residualZ),
    ];
    if (def.ruleBacked && input.lastDataTs !== null)
      findings.push({ status: "pass", text: "no limit exceeded" });
    return toCheck(def, findings);
  });
  return { score: score(checks), checks };
}

/** One piece of evidence for a check. */
interface Finding {
  status: Status;
  text: string;
}

const RANK: Record<Status, number> = { "no-data": 0, pass: 1, warn: 2, fail: 3 };

/** Worst status wins; the detail lists the findings of that status (or says why there is no data). */
function toCheck(def: CheckDef, findings: readonly Finding[]): HealthCheck {
  const worst = findings.reduce<Status>((s, f) => (RANK[f.status] > RANK[s] ? f.status : s), "no-data");
  const texts = [...new Set(findings.filter((f) => f.status === worst).map((f) => f.text))];
  const detail = texts.length > 0 ? capitalise(texts.join("; ")) + "." : "No data yet.";
  return { id: def.id, label: def.label, status: worst, detail };
}

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** The check an alarm type belongs to (see the table in the module comment). */
function checkOfAlarm(type: string): CheckId {
  if (type === "offline") return "connection";
  if (type === "anomaly") return "pattern";
  const [kind, name = ""] = type.split(":", 2);
  if (kind === "forecast") return CHECKS.find((c) => c.forecast === name)?.id ?? "pattern";
  if (kind === "rule" || kind === "sensor")
    return CHECKS.find((c) => c.signals.some((s) => name.startsWith(s)))?.id ?? "pattern";
  return "pattern";
}

function groupAlarms(alarms: PumpHealthInput["activeAlarms"]): Map<CheckId, PumpHealthInput["activeAlarms"]> {
  const out = new Map<CheckId, { type: string; severity: "warning" | "alarm" }[]>();
  for (const a of [...alarms].sort((x, y) => x.type.localeCompare(y.type))) {
    const id = checkOfAlarm(a.type);
    out.set(id, [...(out.get(id) ?? []), a]);
  }
  return out;
}

function alarmFinding(a: { type: string; severity: "warning" | "alarm" }): Finding {
  return {
    status: a.severity === "alarm" ? "fail" : "warn",
    text: `${a.severity} active: ${describeAlarm(a.type)}`,
  };
}

/** Plain words for an alarm type: `rule:oilTemperatureHigh` → "oil temperature high". */
function describeAlarm(type: string): string {
  const [kind, name = ""] = type.split(":", 2);
  const words = name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  if (kind === "rule") return words;
  if (kind === "sensor") return `${words} sensor fault`;
  if (kind === "forecast") return `${words} forecast`;
  return type;
}

function connectionFinding(input: PumpHealthInput): Finding {
  if (input.lastDataTs === null) return { status: "no-data", text: "no data received yet" };
  const age = Math.max(0, input.now - input.lastDataTs);
  if (age > input.offlineAfterMs)
    return {
      status: "fail",
      text: `no data for ${formatAge(age)} (offline after ${formatAge(input.offlineAfterMs)})`,
    };
  return { status: "pass", text: `last data ${formatAge(age)} ago` };
}

function patternFinding(input: PumpHealthInput): Finding {
  if (!input.baselineReady || input.anomalyScore === null)
    return { status: "no-data", text: "still learning this pump's normal behaviour" };
  if (input.anomalyScore > 1)
    return { status: "warn", text: "the operating pattern is outside what was learned as normal" };
  return { status: "pass", text: "the operating pattern matches what was learned as normal" };
}

function forecastFindings(def: CheckDef, forecasts: readonly Forecast[]): Finding[] {
  return forecasts.filter((f) => f.id === def.forecast).map(forecastFinding);
}

function forecastFinding(f: Forecast): Finding {
  const byStatus: Record<Forecast["status"], Status> = {
    ok: "pass",
    degrading: "pass",
    due: "warn",
    overdue: "fail",
    "insufficient-data": "no-data",
  };
  const bySeverity: Status = f.severity === "alarm" ? "fail" : f.severity === "warning" ? "warn" : "no-data";
  const status = RANK[bySeverity] > RANK[byStatus[f.status]] ? bySeverity : byStatus[f.status];
  return { status, text: f.recommendation || `${f.label}: ${f.status}` };
}

function residualFindings(def: CheckDef, z: Record<string, number> | null): Finding[] {
  if (!z) return [];
  return def.signals
    .filter((s) => Number.isFinite(z[s]))
    .map((s) => {
      const v = z[s]!;
      const words = s.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
      return Math.abs(v) >= Z_WARN
        ? { status: "warn", text: `${words} deviates from its learned normal (z = ${v.toFixed(1)})` }
        : { status: "pass", text: `${words} within its learned normal` };
    });
}

/** "45 s", "12 min", "3 h 20 min", "2 d 4 h". */
function formatAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  return h % 24 === 0 ? `${h / 24} d` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** The documented score of {@link pumpHealth}. */
function score(checks: readonly HealthCheck[]): number | null {
  if (checks.every((c) => c.status === "no-data")) return null;
  let s = 100;
  let criticalFail = false;
  for (const c of checks) {
    const def = CHECKS.find((d) => d.id === c.id)!;
    if (c.status === "warn") s -= WARN_PENALTY * def.weight;
    if (c.status === "fail") {
      s -= FAIL_PENALTY * def.weight;
      criticalFail ||= def.critical;
    }
  }
  s = Math.max(0, s);
  return Math.round(criticalFail ? Math.min(s, CRITICAL_FAIL_CAP) : s);
}

// ---------------------------------------------------------------------------------------------

export interface FleetHealth {
  /** Blend of the pump scores (see {@link fleetHealth}); null when no pump has a score. */
  score: number | null;
  pumps: number;
  /** Pumps whose worst check passes, warns, fails; pumps without any data. */
  ok: number;
  warning: number;
  alarm: number;
  noData: number;
  /** Up to {@link WORST_SHOWN} lowest-scoring pumps, lowest first (ties by device id). */
  worst: { deviceId: string; score: number }[];
}

export const WORST_SHOWN = 5;
/** The fleet score is at most this far above its worst pump. */
const FLEET_WORST_MARGIN = 30;

/**
 * Fleet traffic light: counts pumps by their worst check, and a score that is the mean of the pump
 * scores but at most the worst pump's score + 30, rounded, so one failing pump among many healthy
 * ones still shows (a plain mean of 99 × 100 and 1 × 0 would read 99).
 */
export function fleetHealth(reports: readonly { deviceId: string; report: HealthReport }[]): FleetHealth {
  const scored = reports
    .filter(
      (r): r is { deviceId: string; report: HealthReport & { score: number } } => r.report.score !== null,
    )
    .map((r) => ({ deviceId: r.deviceId, score: r.report.score }))
    .sort((a, b) => a.score - b.score || a.deviceId.localeCompare(b.deviceId));
  const count = (level: FleetLevel): number => reports.filter((r) => fleetLevel(r.report) === level).length;
  let fleetScore: number | null = null;
  if (scored.length > 0) {
    const mean = scored.reduce((a, r) => a + r.score, 0) / scored.length;
    fleetScore = Math.round(Math.min(mean, scored[0]!.score + FLEET_WORST_MARGIN));
  }
  return {
    score: fleetScore,
    pumps: reports.length,
    ok: count("ok"),
    warning: count("warning"),
    alarm: count("alarm"),
    noData: count("noData"),
    worst: scored.slice(0, WORST_SHOWN),
  };
}

type FleetLevel = "ok" | "warning" | "alarm" | "noData";

function fleetLevel(report: HealthReport): FleetLevel {
  if (report.score === null) return "noData";
  if (report.checks.some((c) => c.status === "fail")) return "alarm";
  if (report.checks.some((c) => c.status === "warn")) return "warning";
  return "ok";
}
