/**
 * The analytics of one pump (issue 5, docs/analytics.md): every sample goes through operating-state
 * segmentation, the residual models, the limit rules, the multivariate anomaly monitor, the
 * forecasts and the KPI integrals, and comes out as alarm transitions for the alarm lifecycle.
 *
 * Pure and synchronous: no I/O, no wall clock (time comes from the samples, and `checkOffline` is
 * given `now`). The same class runs in production (src/analytics/service.ts), in the evaluation
 * harness (`pumpwatch evaluate`) and in tests, so what is scored is what runs.
 *
 * Alarm types (one alarm per pump and type, src/analytics/types.ts): `rule:<ruleId>`, `anomaly`,
 * `forecast:<id>`, `trip`, `offline`, `sensor:<signal>`.
 */
import type { Sample } from "../core/sample.js";
import { MODEL_NAMES, type ModelName } from "../sim/models.js";
import { AnomalyMonitor } from "./anomaly.js";
import { ResidualModel, rebaselineSignals } from "./baseline.js";
import { diagnose } from "./diagnosis.js";
import { ForecastEngine } from "./forecast.js";
import { pumpHealth } from "./health.js";
import { KpiAccumulator } from "./kpi.js";
import {
  activeSeverity,
  createRuleState,
  evaluate,
  formatDuration,
  type RuleEvent,
  type RuleState,
  type RuleStateJson,
  restoreRuleState,
  ruleStateToJSON,
  rulesFor,
} from "./rules.js";
import { SensorSanity } from "./sanity.js";
import { Segmenter } from "./segment.js";
import type {
  AlarmSeverity,
  AlarmTransition,
  Forecast,
  ForecastId,
  HealthReport,
  KpiHour,
  MaintenanceAction,
  Residuals,
  Segment,
} from "./types.js";

export interface AnalyzerOptions {
  deviceId: string;
  /** Pump model name as registered; anything not in MODEL_NAMES analyses as a generic pump. */
  model: string | null;
  /** Per-pump rule overrides (src/analytics/rules.ts `applyOverrides` format). */
  ruleOverrides?: unknown;
  /** The anomaly monitor must flag continuously this long before the `anomaly` warning (ms). */
  anomalyOnDelayMs?: number;
  /** …and be quiet this long before it clears (ms). */
  anomalyOffDelayMs?: number;
}

const HOUR = 3_600_000;
/** A stop this soon after a rule alarm counts as a trip even if the alarm has cleared meanwhile. */
const TRIP_WINDOW_MS = 10 * 60_000;
/** Inlet step (leak): the inlet residual over this long… */
const INLET_STEP_MS = 10 * 60_000;
/** …lies this many σ above its mean over… */
const INLET_STEP_Z = 2.5;
/** …the hour before. */
const INLET_REFERENCE_MS = 60 * 60_000;

/** Which forecasts a maintenance action resets (pump-domain.md §6.8). */
const FORECASTS_RESET_BY: Readonly<Record<MaintenanceAction, readonly ForecastId[]>> = {
  oilChange: ["oil"],
  exhaustFilterChange: ["exhaustFilter"],
  overhaul: ["bearing", "service"],
  coolingRepair: [],
  leakRepair: [],
  sensorReplacement: [],
  restart: [],
};

/** The model to analyse as, or null for a generic pump. */
export function analysisModel(model: string | null): ModelName | null {
  return model !== null && (MODEL_NAMES as readonly string[]).includes(model) ? (model as ModelName) : null;
}

function ruleType(ruleId: string): string {
  return `rule:${ruleId}`;
}

/** JSON form of an analyzer (the rule engine's debounce timers are rebuilt, see `fromJSON`). */
interface AnalyzerJson {
  v: 1;
  deviceId: string;
  model: string | null;
  ruleOverrides: unknown;
  lastTs: number;
  active: [string, AlarmSeverity][];
  anomalySince: number;
  anomalyQuietSince: number;
  lastForecastHour: number;
  lastHeard: number;
  segmenter: unknown;
  residuals: unknown;
  anomaly: unknown;
  forecast: unknown;
  kpi: unknown;
  sanity: unknown;
  /** The rule evaluator (absent in states saved before it was kept: its timers restart then). */
  rules?: RuleStateJson;
}

export class PumpAnalyzer {
  readonly deviceId: string;
  readonly model: string | null;
  readonly #analysisModel: ModelName | null;
  readonly #ruleOverrides: unknown;
  readonly #onDelayMs: number;
  readonly #offDelayMs: number;
  #segmenter: Segmenter;
  #residuals: ResidualModel;
  #anomaly: AnomalyMonitor;
  #forecast: ForecastEngine;
  #kpi: KpiAccumulator;
  #sanity: SensorSanity;
  #rules: RuleState;
  /** Alarm types this analyzer holds active, with severity. */
  readonly #active = new Map<string, AlarmSeverity>();
  /** Rule alarms active when restored: cleared unless the rule raises them again within a while. */
  #restoredRules = new Set<string>();
  #restoredAt = Number.NaN;
  #lastTs = Number.NEGATIVE_INFINITY;
  #lastSegment: Segment | null = null;
  #lastResiduals: Residuals | null = null;
  #lastValues: Record<string, number> = {};
  #anomalyScore: number | null = null;
  #anomalyDrivers: string[] = [];
  #anomalySince = Number.NaN;
  #anomalyQuietSince = Number.NaN;
  /** Inlet residual z over the last INLET_STEP_MS + INLET_REFERENCE_MS: [ts, z]. */
  #inletWindow: [number, number][] = [];
  /** Since when the inlet step condition holds (NaN: it does not). */
  #inletStepSince = Number.NaN;
  /** The latest limit rule raised at alarm severity (trip detection). */
  #lastRuleAlarm: { type: string; ts: number; message: string; signals: string[] } | null = null;
  #lastForecastHour = Number.NaN;
  #forecasts: Forecast[] = [];
  /** Wall-clock time the box was last heard from (data or heartbeat), for offline detection. */
  #lastHeard = Number.NaN;

  constructor(o: AnalyzerOptions) {
    this.deviceId = o.deviceId;
    this.model = o.model;
    this.#analysisModel = analysisModel(o.model);
    this.#ruleOverrides = o.ruleOverrides ?? null;
    this.#onDelayMs = o.anomalyOnDelayMs ?? 2 * HOUR;
    this.#offDelayMs = o.anomalyOffDelayMs ?? 2 * HOUR;
    this.#segmenter = new Segmenter(this.#analysisModel);
    this.#residuals = new ResidualModel(this.#analysisModel);
    this.#anomaly = new AnomalyMonitor();
    this.#forecast = new ForecastEngine(this.#analysisModel);
    this.#kpi = new KpiAccumulator(o.deviceId, this.#analysisModel);
    this.#sanity = new SensorSanity();
    this.#rules = createRuleState(rulesFor(this.#analysisModel, this.#ruleOverrides ?? undefined));
  }

  /** Per-pump rule overrides in effect (null: the model's defaults). */
  get ruleOverrides(): unknown {
    return this.#ruleOverrides;
  }

  /** Time of the last processed sample (epoch ms), −∞ before the first. */
  get lastTs(): number {
    return this.#lastTs;
  }

  /** Alarm types held active by this analyzer. */
  activeAlarms(): { type: string; severity: AlarmSeverity }[] {
    return [...this.#active].map(([type, severity]) => ({ type, severity }));
  }

  /**
   * Processes one sample (in time order; a sample not newer than the last one is skipped) and
   * returns the alarm transitions it caused.
   */
  process(sample: Sample): AlarmTransition[] {
    const seg = this.#segmenter.update(sample);
    if (!seg) return [];
    const wasRunning = this.#lastSegment?.running ?? false;
    this.#lastTs = sample.ts;
    this.#lastSegment = seg;
    Object.assign(this.#lastValues, sample.values);
    const out: AlarmTransition[] = [];
    if (this.#active.has("offline")) out.push(this.#clear("offline", sample.ts, "box sends data again"));

    const res = this.#residuals.update(sample, seg);
    if (res) this.#lastResiduals = res;
    for (const t of this.#sanity.update(sample, seg)) {
      const type = `sensor:${t.signal}`;
      if (t.kind === "raise") {
        out.push(this.#raise(type, "warning", sample.ts, t.message, [t.signal], `${type}:${t.fault}`));
      } else if (this.#active.has(type)) {
        out.push(this.#clear(type, sample.ts, t.message));
      }
    }
    for (const e of evaluate(this.#rules, sample)) this.#ruleEvent(e, out);
    this.#reconcileRestored(sample.ts, out);
    this.#tripStep(wasRunning, seg, out);
    if (res) this.#anomalyStep(res, sample.ts, out);
    this.#forecast.update(sample, seg, res);
    const down = !seg.running && this.#anyAlarm();
    this.#kpi.update(sample, seg, down);

    const hour = Math.floor(sample.ts / HOUR);
    if (hour !== this.#lastForecastHour) {
      this.#lastForecastHour = hour;
      this.#forecastStep(sample.ts, out);
    }
    return out;
  }

  /** True when an alarm-severity episode is active (per sample while stopped: no array copy). */
  #anyAlarm(): boolean {
    for (const severity of this.#active.values()) if (severity === "alarm") return true;
    return false;
  }

  /**
   * A maintenance action was carried out at `ts` (maintenance log): re-baselines the residual
   * models it affects, resets the forecasts and counters it renews, and clears the forecast alarms
   * it resolves.
   */
  maintenance(action: MaintenanceAction, ts: number): AlarmTransition[] {
    const signals = rebaselineSignals(action);
    if (signals.length > 0) {
      this.#residuals.rebaseline(ts, signals);
      this.#anomaly.reset();
    }
    this.#forecast.maintenance(action, ts);
    const out: AlarmTransition[] = [];
    for (const id of FORECASTS_RESET_BY[action]) {
      const type = `forecast:${id}`;
      if (this.#active.has(type)) out.push(this.#clear(type, ts, `${action} logged`));
    }
    if (signals.length > 0 && this.#active.has("anomaly"))
      out.push(this.#clear("anomaly", ts, `${action} logged`));
    this.#forecasts = this.#forecast.forecasts(ts);
    return out;
  }

  /** The box was heard from at wall-clock time `at` (a message or a connection heartbeat). */
  heard(at: number): void {
    if (!(at <= this.#lastHeard)) this.#lastHeard = at;
  }

  /**
   * Raises `offline` when the box has not been heard from for `afterMs` of wall-clock time; it
   * clears with the next sample.
   */
  checkOffline(now: number, afterMs: number, connected: boolean): AlarmTransition[] {
    if (!Number.isFinite(this.#lastHeard) || this.#active.has("offline")) return [];
    if (now - this.#lastHeard < afterMs) return [];
    const silent = formatDuration(now - this.#lastHeard);
    const message = connected
      ? `box connected but has sent no data for ${silent}: check the box's sensors and software`
      : `box offline: nothing heard for ${silent}; check its power and network connection`;
    return [this.#raise("offline", "alarm", now, message, [])];
  }

  /** The forecasts as of the last processed hour. */
  forecasts(): Forecast[] {
    return this.#forecasts;
  }

  health(now: number, offlineAfterMs: number): HealthReport {
    const lastDataTs = Number.isFinite(this.#lastHeard) ? this.#lastHeard : null;
    return pumpHealth({
      now,
      lastDataTs,
      offlineAfterMs,
      activeAlarms: this.activeAlarms(),
      forecasts: this.#forecasts,
      residualZ: this.#lastResiduals?.z ?? null,
      baselineReady: this.#residuals.isReady(),
      anomalyScore: this.#anomalyScore,
    });
  }

  /** Live state for the API: operating state, last values and residuals, anomaly drivers. */
  status(): {
    lastTs: number | null;
    state: Segment["state"] | null;
    values: Record<string, number>;
    residuals: Record<string, number>;
    z: Record<string, number>;
    anomalyScore: number | null;
    anomalyDrivers: string[];
    baselineReady: boolean;
    counters: ReturnType<ForecastEngine["counters"]>;
  } {
    return {
      lastTs: Number.isFinite(this.#lastTs) ? this.#lastTs : null,
      state: this.#lastSegment?.state ?? null,
      values: { ...this.#lastValues },
      residuals: { ...(this.#lastResiduals?.residual ?? {}) },
      z: { ...(this.#lastResiduals?.z ?? {}) },
      anomalyScore: this.#anomalyScore,
      anomalyDrivers: [...this.#anomalyDrivers],
      baselineReady: this.#residuals.isReady(),
      counters: this.#forecast.counters(),
    };
  }

  /** Completed KPI hours that ended at or before `upTo` (Infinity: also the running hour). */
  drainKpis(upTo: number): KpiHour[] {
    return this.#kpi.drain(upTo);
  }

  toJSON(): AnalyzerJson {
    return {
      v: 1,
      deviceId: this.deviceId,
      model: this.model,
      ruleOverrides: this.#ruleOverrides,
      lastTs: Number.isFinite(this.#lastTs) ? this.#lastTs : -1,
      active: [...this.#active],
      anomalySince: this.#anomalySince,
      anomalyQuietSince: this.#anomalyQuietSince,
      lastForecastHour: this.#lastForecastHour,
      lastHeard: this.#lastHeard,
      segmenter: this.#segmenter.toJSON(),
      residuals: this.#residuals.toJSON(),
      anomaly: this.#anomaly.toJSON(),
      forecast: this.#forecast.toJSON(),
      kpi: this.#kpi.toJSON(),
      sanity: this.#sanity.toJSON(),
      rules: ruleStateToJSON(this.#rules),
    };
  }

  /**
   * Restores a saved analyzer, the limit rules with their levels, debounce timers and rate buffers,
   * so that it raises and clears exactly as it would have without the restart. A rule without saved
   * state (new since, or a state saved before rule state was kept) restarts with fresh timers: a rule
   * alarm that was active is kept while its rule raises it again and cleared if it does not within
   * 15 minutes of data (longer than every default on-delay).
   */
  static fromJSON(json: unknown, options: Partial<AnalyzerOptions> = {}): PumpAnalyzer {
    const j = json as AnalyzerJson;
    if (j?.v !== 1) throw new Error("unsupported analyzer state");
    const a = new PumpAnalyzer({
      deviceId: j.deviceId,
      model: j.model,
      ruleOverrides: options.ruleOverrides ?? j.ruleOverrides,
      ...options,
    });
    a.#lastTs = j.lastTs >= 0 ? j.lastTs : Number.NEGATIVE_INFINITY;
    const kept = j.rules ? restoreRuleState(a.#rules, j.rules) : new Set<string>();
    for (const [type, sev] of j.active) {
      a.#active.set(type, sev);
      if (type.startsWith("rule:") && !kept.has(type.slice("rule:".length))) a.#restoredRules.add(type);
    }
    a.#anomalySince = j.anomalySince ?? Number.NaN;
    a.#anomalyQuietSince = j.anomalyQuietSince ?? Number.NaN;
    a.#lastForecastHour = j.lastForecastHour ?? Number.NaN;
    a.#lastHeard = j.lastHeard ?? Number.NaN;
    a.#segmenter = Segmenter.fromJSON(j.segmenter);
    a.#residuals = ResidualModel.fromJSON(j.residuals);
    a.#anomaly = AnomalyMonitor.fromJSON(j.anomaly);
    a.#forecast = ForecastEngine.fromJSON(j.forecast);
    a.#kpi = KpiAccumulator.fromJSON(j.kpi);
    a.#sanity = SensorSanity.fromJSON(j.sanity);
    a.#forecasts = a.#forecast.forecasts(a.#lastTs);
    return a;
  }

  // -------------------------------------------------------------------------------------------

  /** `trigger` names what asked for the diagnosis when it is more specific than the alarm type. */
  #raise(
    type: string,
    severity: AlarmSeverity,
    ts: number,
    message: string,
    signals: string[],
    trigger = type,
  ): AlarmTransition {
    this.#active.set(type, severity);
    const diagnosis =
      type === "offline"
        ? null
        : diagnose({
            trigger,
            z: this.#lastResiduals?.z ?? {},
            segment: this.#lastSegment,
            values: this.#lastValues,
          });
    return { deviceId: this.deviceId, type, kind: "raise", severity, ts, message, signals, diagnosis };
  }

  #clear(type: string, ts: number, message: string): AlarmTransition {
    const severity = this.#active.get(type) ?? "warning";
    this.#active.delete(type);
    this.#restoredRules.delete(type);
    return {
      deviceId: this.deviceId,
      type,
      kind: "clear",
      severity,
      ts,
      message,
      signals: [],
      diagnosis: null,
    };
  }

  /**
   * TRIP (§4.7 severity ladder): a pump that stops while, or shortly after, one of its limit rules
   * stood at alarm severity was most likely stopped by its own protection. The `trip` alarm holds
   * until the pump runs again and counts as unplanned downtime in the KPIs.
   */
  #tripStep(wasRunning: boolean, seg: Segment, out: AlarmTransition[]): void {
    if (seg.running) {
      if (this.#active.has("trip")) out.push(this.#clear("trip", seg.ts, "pump running again"));
      return;
    }
    if (!wasRunning || this.#active.has("trip") || this.#lastRuleAlarm === null) return;
    if (seg.ts - this.#lastRuleAlarm.ts > TRIP_WINDOW_MS && !this.#active.has(this.#lastRuleAlarm.type))
      return;
    const cause = this.#lastRuleAlarm;
    out.push(
      this.#raise(
        "trip",
        "alarm",
        seg.ts,
        `pump stopped during an alarm (${cause.message}): probably tripped by its protection — find the cause before restarting`,
        cause.signals,
        cause.type,
      ),
    );
  }

  #ruleEvent(e: RuleEvent, out: AlarmTransition[]): void {
    const type = ruleType(e.ruleId);
    if (e.type === "clear") {
      if (this.#active.has(type)) out.push(this.#clear(type, e.ts, e.message));
      return;
    }
    // realarm re-annunciates a standing condition: the lifecycle already holds it.
    if (e.type === "realarm" && this.#active.get(type) === e.severity) return;
    this.#restoredRules.delete(type);
    out.push(this.#raise(type, e.severity, e.ts, e.message, [e.signal]));
    if (e.severity === "alarm")
      this.#lastRuleAlarm = { type, ts: e.ts, message: e.message, signals: [e.signal] };
  }

  #reconcileRestored(ts: number, out: AlarmTransition[]): void {
    if (this.#restoredRules.size === 0) return;
    if (Number.isNaN(this.#restoredAt)) this.#restoredAt = ts;
    if (ts - this.#restoredAt < 15 * 60_000) return;
    for (const type of [...this.#restoredRules]) {
      if (activeSeverity(this.#rules, type.slice("rule:".length)) === null) {
        out.push(this.#clear(type, ts, "condition no longer present"));
      }
    }
    this.#restoredRules.clear();
  }

  /**
   * The multivariate monitor's debounced flag becomes the `anomaly` warning only when it persists
   * (on-delay), and clears after a quiet off-delay, so a passing disturbance raises nothing.
   */
  #anomalyStep(res: Residuals, ts: number, out: AlarmTransition[]): void {
    this.#inletStep(res, ts, out);
    const r = this.#anomaly.update(res);
    if (!r) return;
    this.#anomalyScore = r.score;
    if (r.anomaly) {
      this.#anomalyDrivers = r.drivers;
      this.#anomalyQuietSince = Number.NaN;
      if (Number.isNaN(this.#anomalySince)) this.#anomalySince = ts;
      if (!this.#active.has("anomaly") && ts - this.#anomalySince >= this.#onDelayMs) {
        const drivers = r.drivers.length > 0 ? r.drivers.join(", ") : "several signals";
        out.push(
          this.#raise(
            "anomaly",
            "warning",
            ts,
            `unusual operating pattern for ${formatDuration(ts - this.#anomalySince)}, driven by ${drivers}`,
            r.drivers,
          ),
        );
      }
      return;
    }
    this.#anomalySince = Number.NaN;
    if (!this.#active.has("anomaly")) return;
    if (Number.isNaN(this.#anomalyQuietSince)) this.#anomalyQuietSince = ts;
    if (ts - this.#anomalyQuietSince >= this.#offDelayMs) {
      this.#anomalyQuietSince = Number.NaN;
      out.push(this.#clear("anomaly", ts, "operating pattern back to normal"));
    }
  }

  /**
   * A step in the base inlet pressure — a leak or more process gas (§4.8 F6: "step > 3σ persisting
   * 15 min") — is reported as an `anomaly` without waiting for the multivariate monitor's longer
   * on-delay: the inlet residual's mean over `INLET_STEP_MS` lies `INLET_STEP_Z` σ above its mean over
   * the hour before, in a process that was steady in that hour (σ of z below 1), and this holds for
   * another `INLET_STEP_MS`. Cyclic
   * duties (packaging), whose inlet readings swing from minute to minute, are left to the monitor.
   */
  #inletStep(res: Residuals, ts: number, out: AlarmTransition[]): void {
    const z = res.z["inletPressure"];
    if (z === undefined) return;
    const w = this.#inletWindow;
    w.push([ts, z]);
    while (w.length > 0 && w[0]![0] <= ts - 2 * INLET_STEP_MS - INLET_REFERENCE_MS) w.shift();
    if (this.#active.has("anomaly") || ts - w[0]![0] < 0.9 * (INLET_STEP_MS + INLET_REFERENCE_MS)) return;
    const since = Number.isNaN(this.#inletStepSince) ? ts : this.#inletStepSince;
    const recent = w.filter(([t]) => t > since - INLET_STEP_MS).map(([, x]) => x);
    const before = w.filter(([t]) => t <= since - INLET_STEP_MS).map(([, x]) => x);
    if (recent.length < 5 || before.length < 20) return;
    const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;
    const m0 = mean(before);
    const sd0 = Math.sqrt(mean(before.map((x) => (x - m0) ** 2)));
    const step = mean(recent) - m0;
    if (sd0 >= 1 || step <= INLET_STEP_Z || Math.min(...recent) - m0 <= 1) {
      this.#inletStepSince = Number.NaN;
      return;
    }
    // The step must hold for another INLET_STEP_MS: a passing surge of process gas does not.
    if (Number.isNaN(this.#inletStepSince)) this.#inletStepSince = ts;
    if (ts - this.#inletStepSince < INLET_STEP_MS) return;
    const excess = res.residual["inletPressure"] ?? 0;
    this.#anomalySince = this.#inletStepSince - INLET_STEP_MS;
    this.#anomalyQuietSince = Number.NaN;
    out.push(
      this.#raise(
        "anomaly",
        "warning",
        ts,
        `inlet pressure stepped up ${formatDuration(ts - this.#anomalySince)} ago, now ${excess.toFixed(1)} hPa above this pump's normal: a leak or more process gas`,
        ["inletPressure"],
        "anomaly:inletStep",
      ),
    );
  }

  /** Hourly: recompute the forecasts and turn their severities into `forecast:<id>` alarms. */
  #forecastStep(ts: number, out: AlarmTransition[]): void {
    this.#forecasts = this.#forecast.forecasts(ts);
    for (const f of this.#forecasts) {
      const type = `forecast:${f.id}`;
      const current = this.#active.get(type);
      if (f.severity === null) {
        if (current) out.push(this.#clear(type, ts, `${f.label}: ${f.recommendation}`));
      } else if (current !== f.severity) {
        out.push(this.#raise(type, f.severity, ts, `${f.label}: ${f.recommendation}`, []));
      }
    }
  }
}
