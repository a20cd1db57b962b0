/**
 * Contracts between the per-pump analytics parts (issue 5, docs/analytics.md): what the operating
 * state segmentation, the residual models, the forecasts, the KPI accumulator, the health checks and
 * the diagnosis hand each other, and what the analyzer hands the alarm lifecycle.
 *
 * Everything here is pure data: no I/O, no wall clock. Time comes only from sample timestamps
 * (epoch ms). Every stateful part serialises to plain JSON so a restart resumes where it stopped.
 */
import type { MaintenanceAction } from "../sim/health.js";
import type { KpiHourRecord, MaintenanceRecord } from "../store/ports.js";

export type { MaintenanceAction };

/**
 * Operating state of a pump (pump-domain.md §4.1):
 * - `stopped`: motor off;
 * - `warmup`: running, but not yet in thermal steady state (thermal statistics are not learned or
 *   evaluated);
 * - `evacuating`: running and pulling down from high inlet pressure (inlet pressure well above the
 *   pump's own working level and falling), e.g. the first seconds of a packaging cycle;
 * - `running`: running in (thermal) steady state at its operating point.
 */
export type OperatingState = "stopped" | "warmup" | "evacuating" | "running";

/** What the segmentation says about one sample. */
export interface Segment {
  ts: number;
  state: OperatingState;
  /** Seconds since the previous sample, capped (a gap longer than the cap counts as missing data: 0). */
  dtSec: number;
  running: boolean;
  /** Start of the current run (epoch ms), NaN while stopped. */
  runningSince: number;
  /** A stopped → running transition happened at this sample. */
  started: boolean;
  /** Running in thermal steady state (past warm-up). */
  thermalSteady: boolean;
  /** Running and moving gas (load hours, pump-domain.md §3): inlet pressure well above base. */
  loaded: boolean;
}

/**
 * Residuals of the health signals against the pump's own learned normal at the same operating point
 * (pump-domain.md §4.2). `residual` in the signal's unit (observed − expected), `z` standardised by
 * the baseline's robust σ. A signal is absent when it cannot be evaluated for this sample (not
 * measured, not learned yet, wrong operating state).
 */
export interface Residuals {
  ts: number;
  residual: Record<string, number>;
  z: Record<string, number>;
}

/** Most likely cause of a deviation, from the fault-signature matrix (pump-domain.md §6.9). */
export interface Diagnosis {
  /** Fault catalogue code (F1, F2, …, S1 for a sensor fault) or "unknown". */
  code: string;
  /** Short name, e.g. "exhaust filter saturation". */
  cause: string;
  /** 0–1, how well the observed pattern matches the signature. */
  confidence: number;
  /** What to do, in plain language. */
  action: string;
}

import type { AlarmSeverity } from "../store/ports.js";

export type { AlarmSeverity };

/**
 * A transition reported by the analyzer for one alarm type of one pump. There is at most one alarm
 * per (pump, type); `raise` on an active alarm changes its severity/message (escalation or
 * de-escalation), `clear` ends the episode.
 *
 * Alarm types: `rule:<ruleId>` (limit rules), `anomaly` (multivariate residual detector, inlet
 * steps), `forecast:<forecastId>` (predicted limit crossing), `trip` (stopped by its own protection
 * during an alarm), `offline` (box silent), `sensor:<signal>` (sensor sanity).
 */
export interface AlarmTransition {
  deviceId: string;
  type: string;
  kind: "raise" | "clear";
  severity: AlarmSeverity;
  ts: number;
  /** Plain-language sentence naming the value and the limit or the deviation. */
  message: string;
  /** Signals that drove it (for the anomaly detector: ordered by contribution). */
  signals: string[];
  diagnosis: Diagnosis | null;
}

/** Identifier of a forecast (pump-domain.md §4.6, issue 5 item 4). */
export type ForecastId = "exhaustFilter" | "oil" | "bearing" | "service";

/**
 * A predicted limit crossing with uncertainty. Dates are epoch ms; p10 ≤ p50 ≤ p90. All null when
 * the status is not `degrading`/`due` (nothing to predict) or there is not enough data.
 */
export interface Forecast {
  id: ForecastId;
  /** e.g. "Exhaust filter". */
  label: string;
  status: "ok" | "degrading" | "due" | "overdue" | "insufficient-data";
  /** Current value of the health indicator and the limit it is forecast against, in `unit`. */
  indicator: number | null;
  threshold: number;
  unit: string;
  p10: number | null;
  p50: number | null;
  p90: number | null;
  /** Plain language, e.g. "exhaust filter saturating: replace within ~12 days". */
  recommendation: string;
  /** Severity this forecast warrants right now (null = none). */
  severity: AlarmSeverity | null;
  /** Time of the data it is based on. */
  asOf: number;
}

/** One named health check of a pump (issue 5 item 6). */
export interface HealthCheck {
  id: string;
  label: string;
  status: "pass" | "warn" | "fail" | "no-data";
  detail: string;
}

export interface HealthReport {
  /** 0–100; null when no check has data. */
  score: number | null;
  checks: HealthCheck[];
}

/** Log-spaced inlet-pressure bands of the KPI "time in pressure bands", hPa (pump-domain.md §3). */
export const PRESSURE_BANDS = [1, 10, 100, 250, 500] as const;

/**
 * Raw integrals of one pump over one UTC hour (pump-domain.md §3: "keep raw integrals per asset per
 * hour; every KPI is derivable from those"), seconds unless named otherwise: coveredS (seconds with
 * data), runningS, loadS, downS (unplanned downtime: stopped while a trip or alarm stands),
 * energyKwh, gasM3 (gas pumped at inlet conditions, for specific energy), starts, bandS (running
 * seconds per PRESSURE_BANDS band: < 1, 1–10, 10–100, 100–250, 250–500, > 500 hPa).
 */
export type KpiHour = KpiHourRecord;

/** Maintenance log entry (issue 5 item 4); `action` is a MaintenanceAction. */
export type MaintenanceEntry = MaintenanceRecord;
