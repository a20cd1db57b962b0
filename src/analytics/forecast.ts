/**
 * Per-pump degradation forecasts and maintenance counters (pump-domain.md §3, §4.6, §4.8, §6.7,
 * §6.8; issue 5 item 4): exhaust filter (F1), oil (F2), bearing (F7) and the general service
 * interval. Pure: time comes only from sample timestamps, memory per pump is bounded (hourly points
 * within the trend window, at most {@link MAX_HOUR_VALUES} raw values per open hour, a few weeks of
 * day buckets), and `toJSON()`/`fromJSON()` round-trip the whole state.
 *
 * Time axis. Trends are fitted against the pump's *running* hours (wear happens while running),
 * then converted to calendar dates with the pump's recent running hours per calendar day (§4.6
 * point 5).
 *
 * Decisions documented here (the brief left them open):
 * - All four forecasts are always returned, so a UI shows a stable list. Pumps without an oil-mist
 *   filter (dry models, `filterLifeH = 0`) get exhaustFilter status "ok", "no exhaust filter"; an
 *   unknown model gets "insufficient-data".
 * - Oil and service are countdowns that always progress, so while counting they report status
 *   "degrading" with dates (types.ts publishes dates only for degrading/due), "due" inside the
 *   warning window and "overdue" past the limit.
 * - Oil ageing uses no Arrhenius *credit* below 80 °C: a cool pump keeps the nominal interval
 *   (conservative; §6.7 F2 only says life halves per +10 K above 80 °C).
 * - Service: an overdue service is a planning matter, not a machine limit, so it stays a warning.
 * - Exhaust-filter trend vs weather (§4.8 F1). A pump that never stops gives no zero-flow reading,
 *   so p_ex,0 stays a fixed guess and the unmeasured atmospheric pressure moves Δp_norm by about
 *   ±25 hPa (hourly medians ranged 2…137 hPa on a healthy RV100 with 50–80 hPa true drop). A filter
 *   trend may therefore raise a warning only when (1) it spans ≥ filterMinSpanH (72) running hours,
 *   (2) its slope is significant with the residual autocorrelation floored at the weather's hourly
 *   AR(1) coefficient exp(−1/48) (the short window under-estimates ρ otherwise), and (3) its fitted
 *   rise over the window exceeds the weather deadband 2·weatherHpa/(Q/Q_ref) (weatherHpa = 15 hPa).
 *   The level limits (70 % / 100 % of red on the hourly median) stay as §4.8 has them. Q/Q_ref
 *   includes E1's back-pressure term, else a clogging filter's lost flow bends Δp_norm below the
 *   true exponential and the P50 comes late (+5.3 d → +3.4 d at 6.2 d before failure).
 *   Measured (test/unit/analytics-forecast.test.ts, sim seed 3, 1-min means): healthy RV100 60 days
 *   continuous 400 hPa: 0 warning days (before: false "replace within ~9 days" from day 11; seed 7
 *   also 0); packaging duty (1-min means): no sample passes Q > 0.3·Q_ref, so the filter stays "insufficient-data" (no warning); saturating
 *   filter (s_f 0.5, κ 7): first warning 23.2 d before failure, P50 error −0.3…−2.1 d over the
 *   last 5.2 d (no significant trend, so no P50, at 7.2 and 6.2 d; the warning then comes from
 *   the > 70 % limit).
 * - Second exhaust-filter indicator (any flow ≥ resMinFlowFraction·Q_ref): the baseline's frozen
 *   exhaustPressure residual ÷ Q/Q_ref + Δp_clean (its zero is the filter at commissioning), hourly
 *   medians over resWindowH, trended like Δp_norm (same weather gate and ρ floor). Its level counts
 *   only beyond weatherHpa/(Q/Q_ref) (the weather's offset from the commissioning days), and it only
 *   warns, never alarms. Measured: test (RV100 continuous 250 hPa, κ 10) 11.6 d lead vs 9.6 d
 *   without; 80 and 250 hPa healthy 60 days: no warning. At 80 hPa (Q/Q_ref ≈ 0.08) the whole
 *   filter signal is ≈ 36 hPa against ±10 hPa weather, so ≥ 14 d is not reachable there.
 * - Bearing trend: the damage part of E9 adds in quadrature (v = √(φ² + d_b²)), so the exponential
 *   fit uses ln √(v² − φ²) = ln d_b, which is exactly linear in t for the F7 law, instead of
 *   ln(v − φ), which is not.
 */

import type { Sample } from "../core/sample.js";
import { LIMITS, MODEL_NAMES, MODELS, type ModelName } from "../sim/models.js";
import { Rng } from "../sim/rng.js";
import type { AlarmSeverity, Forecast, ForecastId, MaintenanceAction, Residuals, Segment } from "./types.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Raw values kept per open hour and indicator (360 at 10 s); further values of that hour are ignored. */
const MAX_HOUR_VALUES = 720;
/** Day buckets kept for the running-hours-per-day rate. */
const MAX_DAYS = 28;
/** Reference atmospheric pressure, hPa: Q_ref = p_atm·S_nom (E4). */
const P_ATM_HPA = 1013.25;
/** Seed of the Monte-Carlo crossing draws: fixed, so equal data give equal forecasts. */
const MC_SEED = 0x5eed_f0ca;
/**
 * Floor of the lag-1 autocorrelation of hourly filter-indicator residuals: the unmeasured
 * atmospheric pressure (synoptic weather, σ ≈ 10 hPa, correlation time ≈ 2 days) enters Δp_norm as
 * (p_atm − p_ex,0)/(Q/Q_ref), i.e. ±25 hPa at Q/Q_ref ≈ 0.4, and its hourly AR(1) coefficient is
 * exp(−1 h / 48 h) ≈ 0.979. A 3–10-day window under-samples that and estimates ρ far too low.
 */
const FILTER_RHO_MIN = Math.exp(-1 / 48);
/** Oil-temperature residual of the F2 alarm, K (§4.8). */
const OIL_ALARM_K = 8;
/** z of the 90 % quantile of N(0, 1), for the countdown P10/P90. */
const Z90 = 1.2816;

export interface ForecastOptions {
  /** Sliding trend window, running hours (§4.6 point 1: 7–30 days). */
  windowH: number;
  /** Minimum running hours the window must cover before a trend is published (§4.6). */
  minSpanH: number;
  /** Minimum t-statistic of a published slope (§4.6). */
  minTStat: number;
  /** Monte-Carlo draws of (a, b) per fit (§4.6: "a few hundred"). */
  draws: number;
  /** Warning when the P50 crossing is nearer than this, days (§4.6 point 5, §4.8). */
  warnDays: number;
  /** A warning clears only when the P50 crossing is farther than this, days (hysteresis, §4.7). */
  clearDays: number;
  /** Exhaust-filter indicator only when Q > minFlowFraction·Q_ref (§4.2). */
  minFlowFraction: number;
  /** Oil life at 80 °C, running h (default: the model's oilLifeH, else 2000 h). */
  oilLifeH: number;
  /** General service interval, load-weighted running h. */
  serviceIntervalH: number;
  /** Weight of an idle-running hour in the service counter (a loaded hour counts 1). */
  idleWeight: number;
  /** Running hours after first data / overhaul from which the own vibration baseline is learned. */
  baselineH: number;
  /** Days of history behind the running-hours-per-day rate. */
  rateDays: number;
  /** Running hours an exhaust-filter trend must span before it is published (≥ minSpanH). */
  filterMinSpanH: number;
  /**
   * Weather deadband, hPa of exhaust pressure: the unmeasured atmospheric pressure swings about
   * ±weatherHpa around the zero-flow estimate, so a filter trend is published only when its fitted
   * rise over the window exceeds 2·weatherHpa/(Q/Q_ref) of Δp_norm.
   */
  weatherHpa: number;
  /**
   * Second exhaust-filter indicator (F1 at any flow): the baseline's exhaustPressure residual divided
   * by Q/Q_ref, used only when Q > resMinFlowFraction·Q_ref (below it weather/(Q/Q_ref) swamps the
   * filter term).
   */
  resMinFlowFraction: number;
  /** Trend window of the residual filter indicator, running hours (longer: its noise is weather). */
  resWindowH: number;
}

/** Maintenance counters (pump-domain.md §3 "Operating hours": hours since last oil/filter change). */
export interface ServiceCounters {
  /** Running and loaded hours since pumpwatch first saw the pump (§3). */
  runningH: number;
  loadedH: number;
  sinceOilChangeH: number;
  sinceFilterChangeH: number;
  sinceOverhaulH: number;
  /** Load-weighted running hours since overhaul: loaded 1, idle-running `idleWeight`. */
  loadWeightedH: number;
  /** Fraction of the temperature-adjusted oil life used since the oil change. */
  oilLifeUsed: number;
  /** Epoch ms of the last action; null = counting since first data. */
  lastOilChange: number | null;
  lastFilterChange: number | null;
  lastOverhaul: number | null;
  firstSeen: number | null;
}

/** One hourly aggregate: t in running hours (engine total), y the hour's median. */
interface Point {
  t: number;
  y: number;
}

/** Crossing time of a trend, running hours from now; Infinity when not reached. */
interface Crossing {
  p10: number;
  p50: number;
  p90: number;
  tStat: number;
  /** The fitted line y = ym + b·(t − tm) on the fit's scale (linear or log). */
  ym: number;
  tm: number;
  b: number;
}

/** Collects one indicator's values within a UTC hour and emits the hour's median on rollover. */
interface HourAcc {
  hour: number;
  t: number;
  values: number[];
}

/** Usage of one UTC day, hours (running, load-weighted, oil-life-equivalent). */
interface DayBucket {
  day: number;
  runH: number;
  loadWH: number;
  oilH: number;
}

type Level = AlarmSeverity | null;

type IndicatorKey = "filter" | "filterRes" | "oilRes" | "vib";

/** The engine's whole mutable state (serialised as is). */
export interface State {
  runH: number;
  loadedH: number;
  oilRunH: number;
  oilUsedH: number;
  filterRunH: number;
  overhaulRunH: number;
  loadWH: number;
  lastOilChange: number | null;
  lastFilterChange: number | null;
  lastOverhaul: number | null;
  firstSeen: number | null;
  asOf: number;
  /** UTC hour of the last counter-based severity evaluation (oil, service). */
  evalHour: number;
  /** Zero-flow exhaust pressure p_ex,0 (§4.2), hPa; NaN until seen. */
  pEx0: number;
  /** Slow mean of Q/Q_ref over the filter indicator's samples (weather deadband scale); NaN until seen. */
  qRel: number;
  /** The previous sample was of a stopped pump (a stop's first mean still holds running readings). */
  wasStopped: boolean;
  /** Q/Q_ref of the previous sample (residuals come one sample late) and its time; NaN when not loaded. */
  resQ: number;
  resQTs: number;
  /** Slow mean of Q/Q_ref over the residual filter indicator's samples; NaN until seen. */
  qRes: number;
  /** Accumulators and hourly points per indicator. */
  acc: Record<IndicatorKey, HourAcc>;
  pts: Record<IndicatorKey, Point[]>;
  /** Hourly vibration medians of the baseline period, and the learned baseline (NaN until learned). */
  vibBase: number[];
  vibBaseline: number;
  days: DayBucket[];
  /** Latched severities (hysteresis state, §4.7). */
  level: Record<ForecastId, Level>;
}

const LABELS: Record<ForecastId, string> = {
  exhaustFilter: "Exhaust filter",
  oil: "Oil",
  bearing: "Bearing",
  service: "Service",
};

function defaultOptions(model: ModelName | null): ForecastOptions {
  return {
    windowH: 240,
    minSpanH: 24,
    minTStat: 3,
    draws: 400,
    warnDays: 14,
    clearDays: 21,
    minFlowFraction: 0.3,
    oilLifeH: model ? MODELS[model].params.oilLifeH : 2000,
    serviceIntervalH: 8000,
    idleWeight: 0.5,
    baselineH: 48,
    rateDays: 14,
    filterMinSpanH: 72,
    weatherHpa: 15,
    resMinFlowFraction: 0.05,
    resWindowH: 240,
  };
}

function emptyAcc(): HourAcc {
  return { hour: -1, t: 0, values: [] };
}

function freshState(): State {
  return {
    runH: 0,
    loadedH: 0,
    oilRunH: 0,
    oilUsedH: 0,
    filterRunH: 0,
    overhaulRunH: 0,
    loadWH: 0,
    lastOilChange: null,
    lastFilterChange: null,
    lastOverhaul: null,
    firstSeen: null,
    asOf: Number.NaN,
    evalHour: -1,
    pEx0: Number.NaN,
    qRel: Number.NaN,
    wasStopped: false,
    resQ: Number.NaN,
    resQTs: Number.NaN,
    qRes: Number.NaN,
    acc: { filter: emptyAcc(), filterRes: emptyAcc(), oilRes: emptyAcc(), vib: emptyAcc() },
    pts: { filter: [], filterRes: [], oilRes: [], vib: [] },
    vibBase: [],
    vibBaseline: Number.NaN,
    days: [],
    level: { exhaustFilter: null, oil: null, bearing: null, service: null },
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Quantile of a sorted array (nearest rank). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * OLS of y on t with P10/P50/P90 threshold-crossing times by Monte Carlo (§4.6 point 1): t is
 * centred, so the covariance s²(XᵀX)⁻¹ is diagonal (Var a = s²/n, Var b = s²/Σ(t−t̄)²) and a, b are
 * drawn independently; s is widened for autocorrelated residuals. Null with fewer than 3 points.
 */
export function fitCrossing(
  pts: readonly Point[],
  threshold: number,
  tNow: number,
  draws: number,
  rhoMin = 0,
): Crossing | null {
  const n = pts.length;
  if (n < 3) return null;
  let tm = 0;
  let ym = 0;
  for (const p of pts) {
    tm += p.t / n;
    ym += p.y / n;
  }
  let sxx = 0;
  let sxy = 0;
  for (const p of pts) {
    sxx += (p.t - tm) ** 2;
    sxy += (p.t - tm) * (p.y - ym);
  }
  if (sxx <= 0) return null;
  const b = sxy / sxx;
  const res = pts.map((p) => p.y - ym - b * (p.t - tm));
  let sse = 0;
  let lag = 0;
  for (let i = 0; i < n; i++) {
    sse += res[i]! ** 2;
    if (i > 0) lag += res[i]! * res[i - 1]!;
  }
  // Hourly medians share slow disturbances (weather, atmospheric pressure): inflate s by the AR(1)
  // variance factor √((1+ρ)/(1−ρ)) of the residuals, else a wandering indicator looks like a trend.
  const rho = Math.min(0.99, Math.max(rhoMin, sse > 0 ? Math.min(0.95, Math.max(0, lag / sse)) : 0));
  const s = Math.sqrt(sse / (n - 2)) * Math.sqrt((1 + rho) / (1 - rho));
  const seA = s / Math.sqrt(n);
  const seB = s / Math.sqrt(sxx);
  const rng = new Rng(MC_SEED);
  const ttc: number[] = [];
  for (let i = 0; i < draws; i++) {
    const ai = ym + seA * rng.normal();
    const bi = b + seB * rng.normal();
    ttc.push(bi > 0 ? Math.max(0, tm + (threshold - ai) / bi - tNow) : Number.POSITIVE_INFINITY);
  }
  ttc.sort((x, y) => x - y);
  const tStat = seB > 0 ? b / seB : b > 0 ? Number.POSITIVE_INFINITY : 0;
  return { p10: quantile(ttc, 0.1), p50: quantile(ttc, 0.5), p90: quantile(ttc, 0.9), tStat, ym, tm, b };
}

/** Trend gates beyond significance: minimum span and minimum fitted rise over the window. */
interface TrendGate {
  /** Running hours the window must cover (≥ o.minSpanH). */
  minSpanH: number;
  /** Fitted rise of y across the window, in y units, below which a trend is not published. */
  minRise: number;
  /** Inverse of `logOf`, to express the exponential fit's rise in y units. */
  expOf: (l: number) => number;
  /** Floor of the residuals' lag-1 autocorrelation (a known slow disturbance the window under-samples). */
  rhoMin: number;
}

/**
 * The published trend of an indicator: linear on y and exponential (linear on `logOf(y)`, §4.6
 * point 2), each only when significant (slope > 0, t > minTStat, ≥ minSpanH running hours) and,
 * with a gate, only when its fitted rise over the window exceeds `gate.minRise`; of the qualifying
 * fits, the one with the earlier P50 (the conservative choice). Null = stable / not enough data.
 */
function trend(
  pts: readonly Point[],
  threshold: number,
  logOf: (y: number) => number,
  o: ForecastOptions,
  gate?: TrendGate,
): Crossing | null {
  const span = pts.length < 3 ? 0 : pts[pts.length - 1]!.t - pts[0]!.t;
  if (pts.length < 3 || span < Math.max(o.minSpanH, gate?.minSpanH ?? 0)) return null;
  const t0 = pts[0]!.t;
  const tNow = pts[pts.length - 1]!.t;
  const logPts = pts.map((p) => ({ t: p.t, y: logOf(p.y) })).filter((p) => Number.isFinite(p.y));
  const rise = (c: Crossing, f: (l: number) => number) =>
    f(c.ym + c.b * (tNow - c.tm)) - f(c.ym + c.b * (t0 - c.tm));
  const id = (y: number) => y;
  const rhoMin = gate?.rhoMin ?? 0;
  const lin = fitCrossing(pts, threshold, tNow, o.draws, rhoMin);
  const exp =
    logPts.length >= pts.length / 2 ? fitCrossing(logPts, logOf(threshold), tNow, o.draws, rhoMin) : null;
  const fits = [
    lin && (!gate || rise(lin, id) > gate.minRise) ? lin : null,
    exp && (!gate || rise(exp, gate.expOf) > gate.minRise) ? exp : null,
  ].filter((c): c is Crossing => c !== null && c.tStat > o.minTStat && Number.isFinite(c.p50));
  fits.sort((a, b) => a.p50 - b.p50);
  return fits[0] ?? null;
}

/**
 * Next latched severity (§4.7 deadband): `alarm`/`warn` raise, `holdAlarm`/`holdWarn` keep an
 * active level, so a value hovering at a limit does not flap.
 */
function latch(prev: Level, alarm: boolean, holdAlarm: boolean, warn: boolean, holdWarn: boolean): Level {
  if (alarm || (prev === "alarm" && holdAlarm)) return "alarm";
  if (warn || (prev !== null && holdWarn)) return "warning";
  return null;
}

function fmtDays(d: number): string {
  return d < 1 ? "<1 day" : `~${Math.round(d)} day${Math.round(d) === 1 ? "" : "s"}`;
}

/** Serialised {@link ForecastEngine} (plain JSON; NaN markers come back as null and are restored). */
export interface ForecastEngineJSON {
  v: 1;
  model: ModelName | null;
  options: ForecastOptions;
  state: State;
}

export class ForecastEngine {
  private readonly o: ForecastOptions;
  private s: State = freshState();

  constructor(
    private readonly model: ModelName | null,
    options: Partial<ForecastOptions> = {},
  ) {
    this.o = { ...defaultOptions(model), ...options };
  }

  /** Whether this pump has an oil-mist exhaust filter to forecast (E4/E6). */
  private get hasFilter(): boolean {
    return this.model !== null && MODELS[this.model].params.filterLifeH > 0;
  }

  /** Feeds one sample with its segmentation and (optional) residuals. Samples must be in time order. */
  update(sample: Sample, seg: Segment, residuals: Residuals | null): void {
    const s = this.s;
    s.firstSeen ??= sample.ts;
    s.asOf = sample.ts;
    this.hourlyCounterLevels(sample.ts);
    const v = sample.values;
    this.learnZeroFlow(v, seg);
    const resQ = s.resQ;
    const resQTs = s.resQTs;
    s.resQ = this.flowFraction(v, seg);
    s.resQTs = sample.ts;
    if (!seg.running || seg.dtSec <= 0) {
      this.addUsage(sample.ts, 0, 0, 0);
      return;
    }
    const h = seg.dtSec / 3600;
    const oilT = v.oilTemperature;
    const oilW = oilT === undefined ? 1 : 2 ** (Math.max(0, oilT - 80) / 10);
    const loadW = seg.loaded ? 1 : this.o.idleWeight;
    s.runH += h;
    if (seg.loaded) s.loadedH += h;
    s.oilRunH += h;
    s.oilUsedH += h * oilW;
    s.filterRunH += h;
    s.overhaulRunH += h;
    s.loadWH += h * loadW;
    this.addUsage(sample.ts, h, h * loadW, h * oilW);
    const dp = this.filterDrop(v, seg);
    if (dp !== null) this.addValue("filter", sample.ts, dp);
    const exRes = residuals?.residual.exhaustPressure;
    if (exRes !== undefined && residuals!.ts === resQTs && resQ > this.o.resMinFlowFraction) {
      s.qRes = Number.isNaN(s.qRes) ? resQ : s.qRes + 0.001 * (resQ - s.qRes);
      this.addValue("filterRes", sample.ts, exRes / resQ);
    }
    const oilRes = residuals?.residual.oilTemperature;
    if (oilRes !== undefined && seg.thermalSteady) this.addValue("oilRes", sample.ts, oilRes);
    if (v.vibration !== undefined) this.addValue("vib", sample.ts, v.vibration);
  }

  /** Resets the counters and indicator history a maintenance action renews (§6.8). */
  maintenance(action: MaintenanceAction, ts: number): void {
    const s = this.s;
    switch (action) {
      case "oilChange":
        s.oilRunH = 0;
        s.oilUsedH = 0;
        s.lastOilChange = ts;
        this.resetIndicator("oilRes");
        s.level.oil = null;
        break;
      case "exhaustFilterChange":
        s.filterRunH = 0;
        s.lastFilterChange = ts;
        this.resetIndicator("filter");
        this.resetIndicator("filterRes");
        s.level.exhaustFilter = null;
        break;
      case "sensorReplacement":
        // The exhaust-pressure residual is learned anew (baseline.ts rebaselineSignals).
        this.resetIndicator("filterRes");
        break;
      case "overhaul":
        s.overhaulRunH = 0;
        s.loadWH = 0;
        s.lastOverhaul = ts;
        this.resetIndicator("vib");
        s.vibBase = [];
        s.vibBaseline = Number.NaN;
        this.resetIndicator("filterRes"); // the exhaust-pressure residual is learned anew
        s.level.bearing = null;
        s.level.service = null;
        break;
      default:
        break; // cooling, leak, sensor repairs and restarts renew none of these indicators
    }
  }

  /** The four forecasts, with dates relative to `now` (or the last data, if later). */
  forecasts(now: number): Forecast[] {
    const ref = Number.isNaN(this.s.asOf) ? now : Math.max(now, this.s.asOf);
    return [
      this.filterForecast(ref),
      this.oilForecast(ref),
      this.bearingForecast(ref),
      this.serviceForecast(ref),
    ];
  }

  counters(): ServiceCounters {
    const s = this.s;
    return {
      runningH: s.runH,
      loadedH: s.loadedH,
      sinceOilChangeH: s.oilRunH,
      sinceFilterChangeH: s.filterRunH,
      sinceOverhaulH: s.overhaulRunH,
      loadWeightedH: s.loadWH,
      oilLifeUsed: s.oilUsedH / this.o.oilLifeH,
      lastOilChange: s.lastOilChange,
      lastFilterChange: s.lastFilterChange,
      lastOverhaul: s.lastOverhaul,
      firstSeen: s.firstSeen,
    };
  }

  toJSON(): ForecastEngineJSON {
    return { v: 1, model: this.model, options: { ...this.o }, state: structuredClone(this.s) };
  }

  /** @throws TypeError when `json` is not a state written by {@link toJSON}. */
  static fromJSON(json: unknown): ForecastEngine {
    const j = json as Partial<ForecastEngineJSON> | null;
    if (
      j?.v !== 1 ||
      !(j.model === null || MODEL_NAMES.includes(j.model as ModelName)) ||
      typeof j.options !== "object" ||
      typeof j.state?.runH !== "number"
    )
      throw new TypeError("ForecastEngine.fromJSON: not a forecast engine state");
    const e = new ForecastEngine(j.model as ModelName | null, j.options as Partial<ForecastOptions>);
    e.s = { ...freshState(), ...structuredClone(j.state) };
    // States saved before the residual filter indicator lack its fields.
    e.s.acc = { ...freshState().acc, ...e.s.acc };
    e.s.pts = { ...freshState().pts, ...e.s.pts };
    e.s.resQ ??= Number.NaN;
    e.s.resQTs ??= Number.NaN;
    e.s.qRes ??= Number.NaN;
    // JSON turns NaN into null; restore the "not yet learned" markers.
    e.s.asOf ??= Number.NaN;
    e.s.pEx0 ??= Number.NaN;
    e.s.qRel ??= Number.NaN;
    e.s.vibBaseline ??= Number.NaN;
    return e;
  }

  /** Re-evaluates the counter-driven severities (oil, service) once per UTC hour of data. */
  private hourlyCounterLevels(ts: number): void {
    const hour = Math.floor(ts / HOUR_MS);
    if (hour === this.s.evalHour) return;
    this.s.evalHour = hour;
    this.s.level.oil = this.oilLevel();
    this.s.level.service = this.serviceLevel(ts);
  }

  // ── indicators ────────────────────────────────────────────────────────────────────────────────

  /**
   * Learns the zero-flow exhaust pressure p_ex,0 (§4.2): readings of a stopped pump plus the model's
   * constant line + mist drop (E4), or readings while running at ultimate (no throughput). A slow
   * mean tracks the weather's atmospheric pressure; it cancels the sensor's fixed bias. Only the
   * second and later samples of a stop count: the first one's mean still covers running time.
   */
  private learnZeroFlow(v: Record<string, number>, seg: Segment): void {
    const wasStopped = this.s.wasStopped;
    this.s.wasStopped = !seg.running;
    if (!this.hasFilter || v.exhaustPressure === undefined || v.inletPressure === undefined) return;
    const p = MODELS[this.model!].params;
    let x: number;
    if (!seg.running) {
      if (!wasStopped) return;
      x = v.exhaustPressure + p.dpLineHpa;
    } else if (v.inletPressure < 0.01 * P_ATM_HPA) x = v.exhaustPressure;
    else return;
    this.s.pEx0 = Number.isNaN(this.s.pEx0) ? x : this.s.pEx0 + 0.01 * (x - this.s.pEx0);
  }

  /**
   * Filter drop normalised to reference flow, hPa (§4.2, E4): Δp_norm = (p_ex − p_ex,0)·Q_ref/Q with
   * Q/Q_ref = (p_in − p_ult)/p_atm · (1 − k_bp·(p_ex − p_atm)/p_atm) (E1 with its back-pressure
   * term: a clogging filter cuts the flow, and ignoring that bends the late rise below the true
   * exponential), only while running loaded with Q > minFlowFraction·Q_ref, where the filter term
   * dominates the noise.
   */
  private filterDrop(v: Record<string, number>, seg: Segment): number | null {
    if (!this.hasFilter || !seg.loaded || v.exhaustPressure === undefined || v.inletPressure === undefined)
      return null;
    const p = MODELS[this.model!].params;
    const pEx0 = Number.isNaN(this.s.pEx0) ? P_ATM_HPA + p.dpLineHpa : this.s.pEx0;
    const over = Math.max(0, v.exhaustPressure - (pEx0 - p.dpLineHpa));
    const qRel =
      (Math.max(0, v.inletPressure - p.pUltHpa) / P_ATM_HPA) * Math.max(0.2, 1 - (p.kBp * over) / P_ATM_HPA);
    if (qRel <= this.o.minFlowFraction) return null;
    this.s.qRel = Number.isNaN(this.s.qRel) ? qRel : this.s.qRel + 0.001 * (qRel - this.s.qRel);
    return (v.exhaustPressure - pEx0) / qRel;
  }

  /**
   * Q/Q_ref of a running, loaded sample of a pump with an exhaust filter (E1 without the
   * back-pressure term), NaN otherwise: the scale of the residual filter indicator.
   */
  private flowFraction(v: Record<string, number>, seg: Segment): number {
    if (!this.hasFilter || !seg.running || !seg.loaded || v.inletPressure === undefined) return Number.NaN;
    return Math.max(0, v.inletPressure - MODELS[this.model!].params.pUltHpa) / P_ATM_HPA;
  }

  /** Drops the open hour and the stored points of one indicator (a renewed part starts afresh). */
  private resetIndicator(key: IndicatorKey): void {
    this.s.acc[key] = emptyAcc();
    this.s.pts[key] = [];
  }

  /** Adds a running value to its hour; on hour rollover stores the finished hour's median point. */
  private addValue(key: keyof State["acc"], ts: number, x: number): void {
    const s = this.s;
    const hour = Math.floor(ts / HOUR_MS);
    const acc = s.acc[key];
    if (hour !== acc.hour) {
      if (acc.values.length > 0) this.closeHour(key, { t: acc.t, y: median(acc.values) });
      s.acc[key] = { hour, t: s.runH, values: [] };
    }
    const cur = s.acc[key];
    if (cur.values.length < MAX_HOUR_VALUES) cur.values.push(x);
    cur.t = s.runH;
  }

  /** Stores an hourly point, drops points older than the window, and re-evaluates the severity. */
  private closeHour(key: keyof State["pts"], p: Point): void {
    const s = this.s;
    const pts = s.pts[key];
    pts.push(p);
    const windowH = key === "filterRes" ? this.o.resWindowH : this.o.windowH;
    while (pts.length > 0 && pts[0]!.t < p.t - windowH) pts.shift();
    if (key === "vib") this.learnVibBaseline(p.y);
    if (key === "filter" || key === "filterRes") s.level.exhaustFilter = this.filterLevel();
    else if (key === "vib") s.level.bearing = this.bearingLevel();
    else s.level.oil = this.oilLevel();
  }

  /** Own vibration baseline: median of the hourly medians of the first baselineH running hours (§4.8 F7). */
  private learnVibBaseline(y: number): void {
    const s = this.s;
    if (!Number.isNaN(s.vibBaseline)) return;
    s.vibBase.push(y);
    if (s.overhaulRunH >= this.o.baselineH || (s.lastOverhaul === null && s.runH >= this.o.baselineH)) {
      s.vibBaseline = median(s.vibBase);
      s.vibBase = [];
    }
  }

  private lastPoint(key: keyof State["pts"]): number | null {
    const pts = this.s.pts[key];
    return pts.length > 0 ? pts[pts.length - 1]!.y : null;
  }

  // ── usage rate (running hours per calendar day) ────────────────────────────────────────────────

  private addUsage(ts: number, runH: number, loadWH: number, oilH: number): void {
    const days = this.s.days;
    const day = Math.floor(ts / DAY_MS);
    if (days.length === 0 || days[days.length - 1]!.day !== day) {
      days.push({ day, runH: 0, loadWH: 0, oilH: 0 });
      if (days.length > MAX_DAYS) days.shift();
    }
    const d = days[days.length - 1]!;
    d.runH += runH;
    d.loadWH += loadWH;
    d.oilH += oilH;
  }

  /**
   * Mean and standard deviation of a usage per calendar day over the last rateDays days (the first,
   * partial day of data counts with its covered fraction only in the mean). Null before 1 h of data.
   */
  private usagePerDay(pick: (d: DayBucket) => number): { mean: number; sd: number } | null {
    const s = this.s;
    if (s.firstSeen === null) return null;
    const from = Math.max(s.firstSeen, s.asOf - this.o.rateDays * DAY_MS);
    const spanDays = (s.asOf - from) / DAY_MS;
    if (spanDays < 1 / 24) return null;
    const recent = s.days.filter((d) => (d.day + 1) * DAY_MS > from);
    const total = recent.reduce((a, d) => a + pick(d), 0);
    const mean = total / spanDays;
    const full = recent.filter((d) => d.day * DAY_MS >= s.firstSeen! && (d.day + 1) * DAY_MS <= s.asOf);
    const sd =
      full.length >= 2
        ? Math.sqrt(full.reduce((a, d) => a + (pick(d) - mean) ** 2, 0) / (full.length - 1))
        : 0;
    return { mean, sd };
  }

  /** Calendar date after `runH` more running hours at the recent rate; null when the pump stands still. */
  private dateAfter(ref: number, runH: number): number | null {
    const rate = this.usagePerDay((d) => d.runH);
    if (!rate || rate.mean <= 0 || !Number.isFinite(runH)) return null;
    return ref + (runH / rate.mean) * DAY_MS;
  }

  private daysFor(runH: number): number {
    const rate = this.usagePerDay((d) => d.runH);
    return rate && rate.mean > 0 ? runH / rate.mean : Number.POSITIVE_INFINITY;
  }

  // ── exhaust filter (F1) ───────────────────────────────────────────────────────────────────────

  private filterTrend(): Crossing | null {
    const red = this.model ? MODELS[this.model].params.dpRedHpa : 0;
    const qRel = Number.isNaN(this.s.qRel) ? 1 : this.s.qRel;
    return trend(this.s.pts.filter, red, Math.log, this.o, {
      minSpanH: this.o.filterMinSpanH,
      minRise: (2 * this.o.weatherHpa) / qRel,
      expOf: Math.exp,
      rhoMin: FILTER_RHO_MIN,
    });
  }

  /**
   * Residual filter indicator on the Δp_norm scale: clean drop + exhaust-pressure residual/(Q/Q_ref),
   * hourly medians (the residual's zero is the filter at commissioning, taken as clean).
   */
  private filterResPoints(): Point[] {
    const clean = MODELS[this.model!].params.dpCleanHpa;
    return this.s.pts.filterRes.map((p) => ({ t: p.t, y: p.y + clean }));
  }

  /** Mean of the last 24 hourly residual-indicator points on the Δp_norm scale; null before 24 exist. */
  private filterResLevel(): number | null {
    const pts = this.s.pts.filterRes.slice(-24);
    if (pts.length < 24) return null;
    return MODELS[this.model!].params.dpCleanHpa + pts.reduce((a, p) => a + p.y, 0) / pts.length;
  }

  private filterResTrend(): Crossing | null {
    const red = MODELS[this.model!].params.dpRedHpa;
    const q = Number.isNaN(this.s.qRes) ? 1 : this.s.qRes;
    return trend(this.filterResPoints(), red, Math.log, this.o, {
      minSpanH: this.o.filterMinSpanH,
      minRise: (2 * this.o.weatherHpa) / q,
      expOf: Math.exp,
      rhoMin: FILTER_RHO_MIN,
    });
  }

  /** The earlier-P50 published trend of the two filter indicators. */
  private filterBestTrend(): Crossing | null {
    const cs = [this.filterTrend(), this.filterResTrend()].filter((c): c is Crossing => c !== null);
    cs.sort((a, b) => a.p50 - b.p50);
    return cs[0] ?? null;
  }

  /**
   * §4.8 F1: warning at P50 < warnDays or Δp_norm > 70 % of red; alarm at Δp_norm ≥ red. The
   * residual indicator (any flow) only warns: its weather noise is too large for an alarm.
   */
  private filterLevel(): Level {
    const red = MODELS[this.model!].params.dpRedHpa;
    const x = this.lastPoint("filter") ?? 0;
    // The residual's level carries the weather's deviation from the commissioning days (±weatherHpa
    // of exhaust pressure, ×Q_ref/Q on this scale): it counts only beyond twice that.
    const q = Number.isNaN(this.s.qRes) ? 1 : this.s.qRes;
    const xr = (this.filterResLevel() ?? 0) - this.o.weatherHpa / q;
    const c = this.filterBestTrend();
    const p50d = c ? this.daysFor(c.p50) : Number.POSITIVE_INFINITY;
    const warnFrac = LIMITS.exhaustWarnFraction;
    const y = Math.max(x, xr);
    return latch(
      this.s.level.exhaustFilter,
      x >= red,
      x >= 0.95 * red,
      p50d < this.o.warnDays || y > warnFrac * red,
      p50d <= this.o.clearDays || y >= (warnFrac - 0.05) * red,
    );
  }

  private filterForecast(ref: number): Forecast {
    const base = {
      id: "exhaustFilter" as const,
      label: LABELS.exhaustFilter,
      unit: "hPa",
      asOf: this.s.asOf,
    };
    if (!this.hasFilter) {
      const recommendation = this.model ? "no exhaust filter" : "pump model unknown: no filter data";
      return this.none(base, this.model ? "ok" : "insufficient-data", 0, null, recommendation);
    }
    const red = MODELS[this.model!].params.dpRedHpa;
    const xq = this.lastPoint("filter");
    const xr = this.filterResLevel();
    const x = xq ?? xr;
    const level = this.s.level.exhaustFilter;
    if (x === null) return this.none(base, "insufficient-data", red, null, "no loaded-running data yet");
    const c = this.filterBestTrend();
    const from = xq === null ? " (from exhaust pressure above normal)" : "";
    const xs = `Δp at reference flow ${Math.round(x)} hPa${from} of ${red} hPa red limit`;
    if (level === "alarm")
      return this.published(
        base,
        "overdue",
        red,
        x,
        c,
        ref,
        `exhaust filter at red limit (${xs}): replace now`,
        level,
      );
    const days = c ? this.daysFor(c.p50) : Number.POSITIVE_INFINITY;
    const within = Number.isFinite(days) ? `replace within ${fmtDays(days)}` : "plan replacement";
    if (level === "warning")
      return this.published(
        base,
        "due",
        red,
        x,
        c,
        ref,
        `exhaust filter saturating: ${within} (${xs})`,
        level,
      );
    if (c)
      return this.published(base, "degrading", red, x, c, ref, `exhaust filter drop rising: ${within}`, null);
    return this.none(base, "ok", red, x, `exhaust filter ok (${xs})`);
  }

  // ── oil (F2) ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Steady-state oil-temperature residual: mean of the last 24 hourly medians, K (§4.8 F2); null
   * until a full day of them exists, so one warm hour right after commissioning is not "ageing".
   */
  private oilResidual(): number | null {
    const pts = this.s.pts.oilRes.slice(-24);
    return pts.length >= 24 ? pts.reduce((a, p) => a + p.y, 0) / pts.length : null;
  }

  /** §4.8 F2: warning at > 90 % life used or residual > +3 K; alarm at > 100 % or > +8 K. */
  private oilLevel(): Level {
    const used = this.s.oilUsedH / this.o.oilLifeH;
    const r = this.oilResidual() ?? 0;
    return latch(
      this.s.level.oil,
      used > 1 || r > OIL_ALARM_K,
      r > OIL_ALARM_K - 1,
      used > 0.9 || r > 3,
      r > 2,
    );
  }

  private oilForecast(ref: number): Forecast {
    const s = this.s;
    const base = { id: "oil" as const, label: LABELS.oil, unit: "%", asOf: s.asOf };
    const used = (100 * s.oilUsedH) / this.o.oilLifeH;
    const level = s.level.oil;
    const since = s.lastOilChange === null ? " (hours since first data)" : "";
    const r = this.oilResidual();
    const rs = r !== null && r > 2 ? `, oil ${r.toFixed(1)} K hotter than normal` : "";
    const dates = this.countdown(ref, this.o.oilLifeH - s.oilUsedH, (d) => d.oilH);
    const head = `${Math.round(used)} % of oil life used${since}${rs}`;
    if (s.firstSeen === null) return this.none(base, "insufficient-data", 100, null, "no data yet");
    if (used > 100)
      return {
        ...base,
        status: "overdue",
        indicator: used,
        threshold: 100,
        ...dates,
        recommendation: `${head}: change oil now`,
        severity: level,
      };
    const days = dates.p50 === null ? null : (dates.p50 - ref) / DAY_MS;
    const when = days === null ? "" : `: change within ${fmtDays(days)}`;
    const status = level !== null ? "due" : "degrading";
    return {
      ...base,
      status,
      indicator: used,
      threshold: 100,
      ...dates,
      recommendation: `${head}${when}`,
      severity: level,
    };
  }

  // ── bearing (F7) ──────────────────────────────────────────────────────────────────────────────

  private bearingTrend(): Crossing | null {
    const phi = this.s.vibBaseline;
    if (Number.isNaN(phi)) return null;
    // Damage adds in quadrature (E9): ln √(v² − φ²) = ln d_b is linear in t for the F7 law.
    const logDamage = (v: number) => (v > phi ? 0.5 * Math.log(v * v - phi * phi) : Number.NaN);
    return trend(this.s.pts.vib, LIMITS.vibrationCD, logDamage, this.o);
  }

  /** §4.8 F7: warning at > 2× own baseline, or P50 < warnDays with a significant trend; alarm at C/D. */
  private bearingLevel(): Level {
    const v = this.lastPoint("vib") ?? 0;
    const phi = this.s.vibBaseline;
    const c = this.bearingTrend();
    const p50d = c ? this.daysFor(c.p50) : Number.POSITIVE_INFINITY;
    const ratio = Number.isNaN(phi) ? 0 : v / phi;
    const cd = LIMITS.vibrationCD;
    return latch(
      this.s.level.bearing,
      v >= cd,
      v >= 0.9 * cd,
      ratio > 2 || p50d < this.o.warnDays,
      ratio > 1.8 || p50d <= this.o.clearDays,
    );
  }

  private bearingForecast(ref: number): Forecast {
    const s = this.s;
    const base = { id: "bearing" as const, label: LABELS.bearing, unit: "mm/s", asOf: s.asOf };
    const cd = LIMITS.vibrationCD;
    const v = this.lastPoint("vib");
    if (v === null || Number.isNaN(s.vibBaseline))
      return this.none(base, "insufficient-data", cd, v, "learning the vibration baseline");
    const c = this.bearingTrend();
    const level = s.level.bearing;
    const vs = `vibration ${v.toFixed(2)} mm/s, baseline ${s.vibBaseline.toFixed(2)} mm/s, limit ${cd} mm/s`;
    if (level === "alarm")
      return this.published(
        base,
        "overdue",
        cd,
        v,
        c,
        ref,
        `bearing at ISO zone C/D (${vs}): stop and repair`,
        level,
      );
    const days = c ? this.daysFor(c.p50) : Number.POSITIVE_INFINITY;
    const within = Number.isFinite(days)
      ? `plan bearing repair within ${fmtDays(days)}`
      : "plan bearing inspection";
    if (level === "warning")
      return this.published(base, "due", cd, v, c, ref, `bearing wear: ${within} (${vs})`, level);
    if (c) return this.published(base, "degrading", cd, v, c, ref, `vibration rising: ${within}`, null);
    return this.none(base, "ok", cd, v, `bearing ok (${vs})`);
  }

  // ── general service ───────────────────────────────────────────────────────────────────────────

  /** Warning when due within warnDays or in the last 2 % of the interval; overdue stays a warning. */
  private serviceLevel(ref: number): Level {
    const limit = this.o.serviceIntervalH;
    const left = limit - this.s.loadWH;
    const p50 = this.countdown(ref, left, (d) => d.loadWH).p50;
    const days = p50 === null ? Number.POSITIVE_INFINITY : (p50 - ref) / DAY_MS;
    return latch(
      this.s.level.service,
      false,
      false,
      days < this.o.warnDays || left < 0.02 * limit,
      days <= this.o.clearDays || left < 0.03 * limit,
    );
  }

  private serviceForecast(ref: number): Forecast {
    const s = this.s;
    const base = { id: "service" as const, label: LABELS.service, unit: "h", asOf: s.asOf };
    const limit = this.o.serviceIntervalH;
    if (s.firstSeen === null) return this.none(base, "insufficient-data", limit, null, "no data yet");
    const left = limit - s.loadWH;
    const dates = this.countdown(ref, left, (d) => d.loadWH);
    const days = dates.p50 === null ? Number.POSITIVE_INFINITY : (dates.p50 - ref) / DAY_MS;
    const level = s.level.service;
    const since = s.lastOverhaul === null ? " since first data" : " since overhaul";
    const head = `${Math.round(s.loadWH)} of ${limit} load-weighted h${since}`;
    const status = left <= 0 ? "overdue" : level ? "due" : "degrading";
    const tail =
      left <= 0 ? ": service overdue" : Number.isFinite(days) ? `: service due in ${fmtDays(days)}` : "";
    return {
      ...base,
      status,
      indicator: s.loadWH,
      threshold: limit,
      ...dates,
      recommendation: head + tail,
      severity: level,
    };
  }

  // ── shared ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Dates at which a counter consumes `left` units at the recent daily usage μ ± σ: P50 = left/μ days;
   * P10/P90 = P50 ∓ z₉₀·σ·√P50/μ (sum of T independent days, renewal CLT). Past the limit: now.
   */
  private countdown(
    ref: number,
    left: number,
    pick: (d: DayBucket) => number,
  ): Pick<Forecast, "p10" | "p50" | "p90"> {
    if (left <= 0) return { p10: ref, p50: ref, p90: ref };
    const u = this.usagePerDay(pick);
    if (!u || u.mean <= 0) return { p10: null, p50: null, p90: null };
    const t = left / u.mean;
    const spread = (Z90 * u.sd * Math.sqrt(t)) / u.mean;
    const at = (d: number) => ref + Math.max(0, d) * DAY_MS;
    return { p10: at(t - spread), p50: at(t), p90: at(t + spread) };
  }

  /** A forecast with crossing dates from a trend (running hours → calendar via the recent rate). */
  private published(
    base: Pick<Forecast, "id" | "label" | "unit" | "asOf">,
    status: Forecast["status"],
    threshold: number,
    indicator: number,
    c: Crossing | null,
    ref: number,
    recommendation: string,
    severity: Level,
  ): Forecast {
    const at = (h: number | undefined) => (h === undefined ? null : this.dateAfter(ref, h));
    return {
      ...base,
      status,
      indicator,
      threshold,
      p10: at(c?.p10),
      p50: at(c?.p50),
      p90: at(c?.p90),
      recommendation,
      severity,
    };
  }

  /** A forecast without dates. */
  private none(
    base: Pick<Forecast, "id" | "label" | "unit" | "asOf">,
    status: Forecast["status"],
    threshold: number,
    indicator: number | null,
    recommendation: string,
  ): Forecast {
    return {
      ...base,
      status,
      indicator,
      threshold,
      p10: null,
      p50: null,
      p90: null,
      recommendation,
      severity: null,
    };
  }
}
