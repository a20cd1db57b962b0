/**
 * Operating KPIs of vacuum pumps (pump-domain.md §3, issue 5).
 *
 * Two stages, as §3 recommends ("keep raw integrals per asset per hour; every KPI is derivable from
 * those"):
 * 1. {@link KpiAccumulator} integrates one pump's samples into raw hourly integrals ({@link KpiHour},
 *    stored by `AnalyticsStore.addKpiHours`);
 * 2. {@link aggregateKpis} turns stored hours plus the alarm history into KPIs per day, ISO week or
 *    month in a time zone, per pump or for the whole fleet.
 *
 * Pure: no I/O, no wall clock. Time comes only from sample timestamps (epoch ms).
 */
import type { Sample } from "../core/sample.js";
import { wallClock, zoneFormatter } from "../core/zoned-time.js";
import { deriveModel, MODEL_NAMES, MODELS, type ModelName } from "../sim/models.js";
import type { AlarmEvent } from "../store/ports.js";
import { type KpiHour, PRESSURE_BANDS, type Segment } from "./types.js";

const HOUR_MS = 3_600_000;

/** Labels of the PRESSURE_BANDS bands, hPa, in `bandS` order. */
export const BAND_LABELS = ["<1", "1-10", "10-100", "100-250", "250-500", ">500"] as const;
export type BandLabel = (typeof BAND_LABELS)[number];

/** Index into `bandS` of an inlet pressure (hPa): a value on an edge belongs to the band above it. */
export function bandIndex(pHpa: number): number {
  let i = 0;
  while (i < PRESSURE_BANDS.length && pHpa >= PRESSURE_BANDS[i]!) i++;
  return i;
}

/**
 * The UTC hour an instant closes: sample intervals are (ts − dt, ts], so a sample stamped exactly
 * on the hour (the simulator and the box stamp means at the end of their step) ends the previous
 * hour rather than opening the next.
 */
const hourClosedBy = (t: number): number => Math.ceil(t / HOUR_MS) * HOUR_MS - HOUR_MS;

/** Converts motor current to electrical power for pumps that report no `power` (§3 "Energy"). */
type PowerFromCurrent = (amps: number) => number;

/**
 * Electrical power (kW) from motor current with the load-dependent cos φ of the simulator's motor
 * model (§6.3 E3): I² = I_a² + I_r², I_r = i₀·I_rated + k_r·I_a, so the active current I_a is the
 * positive root of (1 + k_r²)·I_a² + 2·i₀I_rated·k_r·I_a + (i₀I_rated)² − I² = 0 and P = √3·U·I_a.
 * That gives cos φ = I_a/I ≈ 0 at no load and ≈ 0.8 at rated load, as §3 [S27] describes. Without a
 * known model: U = 400 V and the rated-load cos φ 0.8, an upper estimate at part load.
 */
function powerFromCurrent(model: ModelName | null): PowerFromCurrent {
  if (model === null) return (amps) => (Math.sqrt(3) * 400 * amps * 0.8) / 1000;
  const { kR, iMag, sqrt3U } = deriveModel(model);
  const a = 1 + kR * kR;
  return (amps) => {
    const b = iMag * kR;
    const disc = b * b - a * (iMag * iMag - amps * amps);
    const ia = disc > 0 ? Math.max(0, (-b + Math.sqrt(disc)) / a) : 0;
    return (sqrt3U * ia) / 1000;
  };
}

/**
 * Pumping speed at the inlet, m³/s: S(p) = S_nom·max(0, 1 − p_ult/p) (§6.3 E1 without the wear,
 * back-pressure and frequency terms, which the cloud cannot observe). 0 for an unknown model.
 */
function pumpingSpeed(model: ModelName | null): (pHpa: number) => number {
  if (model === null) return () => 0;
  const { sNomM3h, pUltHpa } = MODELS[model].params;
  return (p) => (p > 0 ? (sNomM3h / 3600) * Math.max(0, 1 - pUltHpa / p) : 0);
}

function emptyHour(deviceId: string, hour: number): KpiHour {
  return {
    deviceId,
    hour,
    coveredS: 0,
    runningS: 0,
    loadS: 0,
    downS: 0,
    energyKwh: 0,
    gasM3: 0,
    starts: 0,
    bandS: BAND_LABELS.map(() => 0),
  };
}

/**
 * What one sample contributes over its whole interval, before splitting across hours: the hour's
 * integrals but starts and bandS, and the pressure band its running time counts in.
 */
type Contribution = Pick<KpiHour, "coveredS" | "runningS" | "loadS" | "downS" | "energyKwh" | "gasM3"> & {
  band: number | null;
};

/** Serialised state of a {@link KpiAccumulator}. */
export interface KpiAccumulatorState {
  v: 1;
  deviceId: string;
  model: ModelName | null;
  /** Hours not yet drained, ascending. */
  hours: KpiHour[];
}

/**
 * Integrates one pump's samples into hourly raw integrals (pump-domain.md §3). Feed every sample
 * with its segmentation (§4.1) in time order; `drain` hands out completed hours.
 *
 * Each sample stands for the interval (ts − seg.dtSec, ts]; an interval crossing an hour boundary
 * is split proportionally, a start counts in the hour the interval ends in. Per interval:
 * - coveredS += dt; runningS while seg.running; loadS while running and seg.loaded; downS while
 *   stopped and `down` (an alarm/trip stands: unplanned downtime, §3 "Availability");
 * - energyKwh from `power` (kW), else from `motorCurrent` via {@link powerFromCurrent};
 * - gasM3 = S(p_in)·dt while running, gas at inlet conditions (§3 "Specific energy");
 * - bandS[band of inletPressure] += dt while running (samples without inletPressure count in no band).
 */
export class KpiAccumulator {
  private readonly hours = new Map<number, KpiHour>();
  private readonly toKw: PowerFromCurrent;
  private readonly speed: (pHpa: number) => number;

  constructor(
    readonly deviceId: string,
    readonly model: ModelName | null,
  ) {
    this.toKw = powerFromCurrent(model);
    this.speed = pumpingSpeed(model);
  }

  update(sample: Sample, seg: Segment, down: boolean): void {
    const c = this.contribution(sample, seg, down);
    const end = sample.ts;
    const begin = end - c.coveredS * 1000;
    if (seg.started) this.hour(hourClosedBy(end)).starts += 1;
    if (c.coveredS <= 0) return;
    for (let h = hourClosedBy(end); h + HOUR_MS > begin; h -= HOUR_MS) {
      const share = (Math.min(end, h + HOUR_MS) - Math.max(begin, h)) / (end - begin);
      this.add(this.hour(h), c, share);
    }
  }

  /**
   * Returns the hours that ended at or before `upTo` in ascending order and forgets them; pass
   * `Infinity` to flush the current partial hour as well.
   */
  drain(upTo: number): KpiHour[] {
    const done = [...this.hours.keys()].filter((h) => h + HOUR_MS <= upTo).sort((a, b) => a - b);
    return done.map((h) => {
      const row = this.hours.get(h)!;
      this.hours.delete(h);
      return row;
    });
  }

  toJSON(): KpiAccumulatorState {
    const hours = [...this.hours.values()].sort((a, b) => a.hour - b.hour);
    return { v: 1, deviceId: this.deviceId, model: this.model, hours: structuredClone(hours) };
  }

  /** @throws TypeError when `json` is not a state written by {@link toJSON}. */
  static fromJSON(json: unknown): KpiAccumulator {
    const s = json as Partial<KpiAccumulatorState> | null;
    const model = s?.model;
    if (
      s?.v !== 1 ||
      typeof s.deviceId !== "string" ||
      !(model === null || MODEL_NAMES.includes(model as ModelName)) ||
      !Array.isArray(s.hours)
    )
      throw new TypeError("KpiAccumulator.fromJSON: not a KPI accumulator state");
    const acc = new KpiAccumulator(s.deviceId, model as ModelName | null);
    for (const h of s.hours) acc.hours.set(h.hour, structuredClone(h));
    return acc;
  }

  private contribution(sample: Sample, seg: Segment, down: boolean): Contribution {
    const dt = Math.max(0, seg.dtSec);
    const v = sample.values;
    const p = v["inletPressure"];
    const kw = v["power"] ?? (v["motorCurrent"] === undefined ? 0 : this.toKw(v["motorCurrent"]));
    const running = seg.running;
    return {
      coveredS: dt,
      runningS: running ? dt : 0,
      loadS: running && seg.loaded ? dt : 0,
      downS: !running && down ? dt : 0,
      energyKwh: (kw * dt) / 3600,
      gasM3: running && p !== undefined ? this.speed(p) * dt : 0,
      band: running && p !== undefined ? bandIndex(p) : null,
    };
  }

  private hour(h: number): KpiHour {
    let row = this.hours.get(h);
    if (!row) {
      row = emptyHour(this.deviceId, h);
      this.hours.set(h, row);
    }
    return row;
  }

  private add(row: KpiHour, c: Contribution, share: number): void {
    row.coveredS += c.coveredS * share;
    row.runningS += c.runningS * share;
    row.loadS += c.loadS * share;
    row.downS += c.downS * share;
    row.energyKwh += c.energyKwh * share;
    row.gasM3 += c.gasM3 * share;
    if (c.band !== null) row.bandS[c.band] = (row.bandS[c.band] ?? 0) + c.runningS * share;
  }
}

// ---------------------------------------------------------------------------------------------
// Aggregation to calendar periods

/** KPIs of one pump (or the fleet) over one calendar period. Hours unless named otherwise. */
export interface KpiPeriod {
  /** The pump, or "fleet" for the fleet sum. */
  deviceId: string;
  /** Local start and end of the period in the requested time zone (epoch ms). */
  periodStart: number;
  periodEnd: number;
  /** Length of the part of the period inside [from, to) (23 or 25 h on a DST-change day). */
  calendarHours: number;
  /** Hours with data. */
  coveredHours: number;
  operatingHours: number;
  loadHours: number;
  /** Running but not moving gas (§3 "Idle-running hours"). */
  idleHours: number;
  /** operating / covered (§3 "Duty cycle / utilisation"); null without data. */
  utilisation: number | null;
  /**
   * (planned − unplanned downtime) / planned (§3 "Availability"). Without shift calendars the
   * planned time is taken as the covered time; unplanned downtime = stopped while an alarm or trip
   * stood (`downS`). Null without data.
   */
  availability: number | null;
  energyKwh: number;
  /** kWh per m³ of gas at inlet conditions (§3); null when no gas was pumped (or model unknown). */
  specificEnergyKwhPerM3: number | null;
  /** Starts per hour of data (clock hours, like the motor's permissible start rate); null without data. */
  startsPerHour: number | null;
  /** Most starts of one pump in one UTC hour (the permissible start rate is a per-motor limit). */
  maxStartsInAnHour: number;
  /** Operating hours per inlet-pressure band. */
  hoursInBand: Record<BandLabel, number>;
  /** Alarm-severity episodes raised in the period ("raised" or "escalated" events at alarm). */
  alarmCount: number;
  /** Warning-severity episodes raised in the period. */
  warningCount: number;
  /** operatingHours / alarmCount (§3 MTBF, alarm episodes standing in for failures); null if none. */
  mtbfHours: number | null;
  /**
   * Mean time from an alarm-severity raise in the period to the clear of that alarm (§3 MTTR,
   * without work orders); raises whose clear is not among the given events are left out. Null if none.
   */
  mttrHours: number | null;
}

export type KpiAlarmEvent = AlarmEvent & { deviceId: string; type: string };

export interface AggregateOptions {
  period: "day" | "week" | "month";
  /** IANA time zone of the period boundaries; default "UTC". */
  timeZone?: string;
  /** Hours starting in [from, to) and events in [from, to) count (epoch ms). */
  from: number;
  to: number;
  /** Sum all devices into one row per period with deviceId "fleet". */
  fleet?: boolean;
}

/**
 * KPIs per calendar period (local days, ISO weeks starting Monday, or months in `timeZone`) from
 * hourly integrals and the alarm history (pump-domain.md §3). One row per device (sorted by id;
 * every device found in `hours` or `alarmEvents`) and period, or one row per period with `fleet`.
 * An hour counts in the period its UTC start falls in (relevant only for zones with non-whole-hour
 * offsets). MTTR pairs raises with clears through `alarmId` across all given events, so pass events
 * reaching beyond `to` to see clears of late raises.
 * @throws RangeError for an unknown time zone.
 */
export function aggregateKpis(
  hours: readonly KpiHour[],
  alarmEvents: readonly KpiAlarmEvent[],
  options: AggregateOptions,
): KpiPeriod[] {
  const { from, to } = options;
  const periods = calendarPeriods(options.period, options.timeZone ?? "UTC", from, to);
  if (periods.length === 0) return [];
  const keyOf = (deviceId: string): string => (options.fleet ? "fleet" : deviceId);
  const buckets = new Map<string, Bucket[]>();
  const bucket = (deviceId: string, t: number): Bucket | undefined => {
    const i = periodIndex(periods, t);
    if (i < 0) return undefined;
    const key = keyOf(deviceId);
    let list = buckets.get(key);
    if (!list) {
      list = periods.map(() => newBucket());
      buckets.set(key, list);
    }
    return list[i];
  };
  for (const h of hours) if (h.hour >= from && h.hour < to) addHour(bucket(h.deviceId, h.hour), h);
  for (const r of alarmRaises(alarmEvents))
    if (r.ts >= from && r.ts < to) addRaise(bucket(r.deviceId, r.ts), r);
  const keys = [...buckets.keys()].sort();
  return keys.flatMap((key) => buckets.get(key)!.map((b, i) => toPeriod(key, periods[i]!, b, from, to)));
}

interface Bucket {
  covered: number;
  running: number;
  load: number;
  down: number;
  energy: number;
  gas: number;
  starts: number;
  maxStarts: number;
  bands: number[];
  alarms: number;
  warnings: number;
  repairsS: number[];
}

function newBucket(): Bucket {
  return {
    covered: 0,
    running: 0,
    load: 0,
    down: 0,
    energy: 0,
    gas: 0,
    starts: 0,
    maxStarts: 0,
    bands: BAND_LABELS.map(() => 0),
    alarms: 0,
    warnings: 0,
    repairsS: [],
  };
}

function addHour(b: Bucket | undefined, h: KpiHour): void {
  if (!b) return;
  b.covered += h.coveredS;
  b.running += h.runningS;
  b.load += h.loadS;
  b.down += h.downS;
  b.energy += h.energyKwh;
  b.gas += h.gasM3;
  b.starts += h.starts;
  b.maxStarts = Math.max(b.maxStarts, h.starts);
  h.bandS.forEach((s, i) => {
    if (i < b.bands.length) b.bands[i]! += s;
  });
}

/** An alarm episode raised (or escalated) at one severity; `repairS` = seconds until its clear. */
interface Raise {
  deviceId: string;
  ts: number;
  severity: AlarmEvent["severity"];
  repairS: number | null;
}

function addRaise(b: Bucket | undefined, r: Raise): void {
  if (!b) return;
  if (r.severity === "warning") {
    b.warnings += 1;
    return;
  }
  b.alarms += 1;
  if (r.repairS !== null) b.repairsS.push(r.repairS);
}

/**
 * Episodes from the alarm history: every "raised"/"escalated" event is one at its severity; an
 * alarm-severity one is repaired at the alarm's next "cleared" event (de-escalation does not end it).
 */
function alarmRaises(events: readonly KpiAlarmEvent[]): Raise[] {
  const sorted = [...events].sort((a, b) => a.ts - b.ts || a.id - b.id);
  const open = new Map<number, Raise>();
  const out: Raise[] = [];
  for (const e of sorted) {
    if (e.kind === "raised" || e.kind === "escalated") {
      const r: Raise = { deviceId: e.deviceId, ts: e.ts, severity: e.severity, repairS: null };
      out.push(r);
      if (e.severity === "alarm" && !open.has(e.alarmId)) open.set(e.alarmId, r);
    } else if (e.kind === "cleared") {
      const r = open.get(e.alarmId);
      if (r) r.repairS = (e.ts - r.ts) / 1000;
      open.delete(e.alarmId);
    }
  }
  return out;
}

function toPeriod(deviceId: string, p: Period, b: Bucket, from: number, to: number): KpiPeriod {
  const h = (s: number): number => s / 3600;
  const operatingHours = h(b.running);
  const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);
  const mean = (xs: number[]): number | null =>
    xs.length > 0 ? xs.reduce((a, x) => a + x, 0) / xs.length : null;
  const mttrS = mean(b.repairsS);
  return {
    deviceId,
    periodStart: p.start,
    periodEnd: p.end,
    calendarHours: (Math.min(p.end, to) - Math.max(p.start, from)) / HOUR_MS,
    coveredHours: h(b.covered),
    operatingHours,
    loadHours: h(b.load),
    idleHours: h(b.running - b.load),
    utilisation: ratio(b.running, b.covered),
    availability: ratio(b.covered - b.down, b.covered),
    energyKwh: b.energy,
    specificEnergyKwhPerM3: ratio(b.energy, b.gas),
    startsPerHour: ratio(b.starts, h(b.covered)),
    maxStartsInAnHour: b.maxStarts,
    hoursInBand: Object.fromEntries(BAND_LABELS.map((l, i) => [l, h(b.bands[i]!)])) as Record<
      BandLabel,
      number
    >,
    alarmCount: b.alarms,
    warningCount: b.warnings,
    mtbfHours: ratio(operatingHours, b.alarms),
    mttrHours: mttrS === null ? null : h(mttrS),
  };
}

// ---------------------------------------------------------------------------------------------
// Calendar periods in a time zone (Intl only; no wall clock)

interface Period {
  start: number;
  end: number;
}

/** Index of the period holding t, or −1 (periods are contiguous and ascending). */
function periodIndex(periods: readonly Period[], t: number): number {
  let lo = 0;
  let hi = periods.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = periods[mid]!;
    if (t < p.start) hi = mid - 1;
    else if (t >= p.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The periods overlapping [from, to), each from one local period start to the next. */
function calendarPeriods(
  kind: AggregateOptions["period"],
  timeZone: string,
  from: number,
  to: number,
): Period[] {
  const zone = new Zone(timeZone);
  const out: Period[] = [];
  if (!(from < to)) return out;
  let d = periodFirstDay(kind, zone.date(from));
  let start = zone.midnight(d);
  while (start < to) {
    d = nextPeriodDay(kind, d);
    const end = zone.midnight(d);
    out.push({ start, end });
    start = end;
  }
  return out;
}

/** A calendar date; month 1–12, day may overflow (Date.UTC normalises it). */
interface LocalDate {
  y: number;
  m: number;
  d: number;
}

function periodFirstDay(kind: AggregateOptions["period"], date: LocalDate): LocalDate {
  if (kind === "day") return date;
  if (kind === "month") return { y: date.y, m: date.m, d: 1 };
  const weekday = new Date(Date.UTC(date.y, date.m - 1, date.d)).getUTCDay(); // 0 = Sunday
  return { ...date, d: date.d - ((weekday + 6) % 7) }; // ISO weeks start on Monday
}

function nextPeriodDay(kind: AggregateOptions["period"], date: LocalDate): LocalDate {
  if (kind === "month") return { y: date.y, m: date.m + 1, d: 1 };
  return { ...date, d: date.d + (kind === "week" ? 7 : 1) };
}

/** Local calendar arithmetic of one IANA zone through Intl. */
class Zone {
  private readonly fmt: Intl.DateTimeFormat;

  constructor(timeZone: string) {
    this.fmt = zoneFormatter(timeZone);
  }

  /** Local date of the instant t. */
  date(t: number): LocalDate {
    const { y, m, d } = wallClock(this.fmt, t);
    return { y, m, d };
  }

  /**
   * The instant of local 00:00 on `date` (normalised). Two fixed-point steps on the zone offset find
   * it across DST changes (where a DST gap skips local midnight, the end of the gap).
   */
  midnight(date: LocalDate): number {
    const wall = Date.UTC(date.y, date.m - 1, date.d);
    let t = wall - this.offset(wall);
    t = wall - this.offset(t);
    return t;
  }

  /** Local wall time minus UTC at the instant t, ms. */
  private offset(t: number): number {
    const w = wallClock(this.fmt, t);
    const wall = Date.UTC(w.y, w.m - 1, w.d, w.hh, w.mi, w.ss);
    return wall - (t - (((t % 1000) + 1000) % 1000));
  }
}
