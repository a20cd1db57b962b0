/**
 * Multivariate anomaly monitor on the residuals of one pump (pump-domain.md §4.3–4.4): the
 * self-calibrating EWMA/CUSUM/Hotelling-T² detector of ./detector.ts, fed with the standardised
 * residuals z of the residual models (./baseline.ts) rather than raw signals, so the operating point
 * is already normalised away (§2.3 "normalise first, detect second").
 *
 * Pure: no I/O, no wall clock. Calibration: the first `calibrationRows` evaluated rows are
 * collected (bounded: rows × signals numbers) and the detector is fitted on them; from then on
 * every row updates it online. A signal missing from a row is imputed as z = 0, i.e. "at its
 * baseline": it neither raises nor masks an alarm, and a pump without that sensor simply has one
 * flat column (the detector's scale fallbacks keep it well-defined).
 */

import { RESIDUAL_SIGNALS } from "./baseline.js";
import {
  type Detector,
  type DetectorJSON,
  type DetectorOptions,
  detectorFromJSON,
  fitDetector,
} from "./detector.js";
import type { Residuals } from "./types.js";

export interface AnomalyOptions {
  /** Evaluated rows collected before the detector is fitted (1440 = one day of 1-min rows). */
  calibrationRows: number;
  /**
   * Time constant of the drift compensation, hours: each residual's slow wander (season, weather,
   * run-in) is tracked by an exponential average while no anomaly is flagged and taken out before
   * detection. The monitor thus looks for changes faster than about this; slower degradation is the
   * forecasts' job (./forecast.ts works on the uncompensated residuals). 0 disables it.
   */
  driftTauHours: number;
  /**
   * Signals whose drift is compensated: those that follow the seasons (temperatures; power and
   * current through oil viscosity). Exhaust and inlet pressure and vibration are left alone, so a
   * filter clogging over weeks or a bearing wearing still shows.
   */
  driftSignals: readonly string[];
  /** A signal is a driver when its share of the score's drivers is at least this. */
  minDriverShare: number;
  /** Options passed to {@link fitDetector}. */
  detector: Partial<DetectorOptions>;
}

export const DEFAULT_ANOMALY_OPTIONS: Readonly<AnomalyOptions> = {
  calibrationRows: 1440,
  driftTauHours: 168,
  driftSignals: ["oilTemperature", "motorTemperature", "power", "motorCurrent"],
  minDriverShare: 0.15,
  // The residual models already standardise, so identity is the right prior for the covariance.
  // Healthy residuals wander slowly by up to ≈ 1–2 σ with the weather (./baseline.ts floors), so the
  // EWMA and CUSUM limits are set for persistent shifts of ≈ 2 σ and more rather than 0.5 σ.
  detector: { standardised: true, shrinkage: 0.5, ewmaL: 16, cusumK: 1.5, cusumH: 30, margin: 1.6 },
};

export interface AnomalyResult {
  /** Max of the normalised detector statistics; > 1 means a control limit was exceeded. */
  score: number;
  /** Debounced decision (k of the last m rows above a limit). */
  anomaly: boolean;
  /** Signals ordered by contribution, only those with a significant share, empty when score ≤ 1. */
  drivers: string[];
}

export interface AnomalyMonitorJSON {
  v: 1;
  signals: string[];
  options: AnomalyOptions;
  /** Calibration rows collected so far (empty once fitted). */
  rows: number[][];
  detector: DetectorJSON | null;
  /** Drift estimate per signal (z units) and the time of the last row; absent in older states. */
  drift?: number[];
  lastTs?: number;
}

export class AnomalyMonitor {
  readonly signals: readonly string[];
  readonly options: AnomalyOptions;
  private rows: number[][] = [];
  private detector: Detector | null = null;
  private drift: number[];
  private lastTs = Number.NaN;

  constructor(signals: readonly string[] = RESIDUAL_SIGNALS, options: Partial<AnomalyOptions> = {}) {
    if (signals.length === 0) throw new RangeError("AnomalyMonitor needs at least one signal");
    this.signals = [...signals];
    this.options = { ...DEFAULT_ANOMALY_OPTIONS, ...options };
    this.drift = this.signals.map(() => 0);
  }

  /** True once calibrated (the detector is fitted). */
  get calibrated(): boolean {
    return this.detector !== null;
  }

  /**
   * Feeds one residual row. Null while calibrating and for a row that has none of the monitored
   * signals (nothing to judge).
   */
  update(res: Residuals): AnomalyResult | null {
    if (!this.signals.some((s) => Number.isFinite(res.z[s]))) return null;
    const row = this.signals.map((s) => {
      const z = res.z[s];
      return z !== undefined && Number.isFinite(z) ? z : 0;
    });
    if (this.detector === null) {
      this.rows.push(row);
      if (this.rows.length >= this.options.calibrationRows) {
        this.detector = fitDetector(this.signals, this.rows, this.options.detector);
        this.rows = [];
      }
      return null;
    }
    const r = this.detector.update(row.map((z, i) => z - this.drift[i]!));
    this.track(row, res.ts, r.anomaly);
    return { score: r.score, anomaly: r.anomaly, drivers: r.score > 1 ? this.drivers(r.contributions) : [] };
  }

  /** Follows the slow wander of each residual while nothing is flagged (see `driftTauHours`). */
  private track(row: readonly number[], ts: number, anomaly: boolean): void {
    const tau = this.options.driftTauHours * 3_600_000;
    const dt = Number.isFinite(this.lastTs) ? Math.min(Math.max(ts - this.lastTs, 0), 3_600_000) : 0;
    this.lastTs = ts;
    if (tau <= 0 || anomaly || dt === 0) return;
    const a = 1 - Math.exp(-dt / tau);
    for (let i = 0; i < row.length; i++) {
      if (this.options.driftSignals.includes(this.signals[i]!))
        this.drift[i]! += a * (row[i]! - this.drift[i]!);
    }
  }

  /** Clears the online statistics (EWMA, CUSUM, debounce), e.g. after maintenance; keeps the calibration. */
  reset(): void {
    this.detector?.reset();
  }

  private drivers(contributions: Record<string, number>): string[] {
    return Object.entries(contributions)
      .filter(([, share]) => share >= this.options.minDriverShare)
      .sort((a, b) => b[1] - a[1])
      .map(([s]) => s);
  }

  toJSON(): AnomalyMonitorJSON {
    return {
      v: 1,
      signals: [...this.signals],
      options: { ...this.options, detector: { ...this.options.detector } },
      rows: this.rows.map((r) => [...r]),
      detector: this.detector?.toJSON() ?? null,
      drift: [...this.drift],
      lastTs: this.lastTs,
    };
  }

  /** @throws TypeError when `json` is not a state written by {@link toJSON}. */
  static fromJSON(json: unknown): AnomalyMonitor {
    const j = json as Partial<AnomalyMonitorJSON> | null;
    if (j?.v !== 1 || !Array.isArray(j.signals) || !Array.isArray(j.rows) || typeof j.options !== "object")
      throw new TypeError("AnomalyMonitor.fromJSON: not an anomaly monitor state");
    const m = new AnomalyMonitor(j.signals, j.options);
    m.rows = j.rows.map((r) => [...r]);
    m.detector = j.detector ? detectorFromJSON(j.detector) : null;
    if (Array.isArray(j.drift) && j.drift.length === m.signals.length) m.drift = [...j.drift];
    m.lastTs = j.lastTs ?? Number.NaN;
    return m;
  }
}
