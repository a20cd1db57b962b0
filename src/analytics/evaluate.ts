/**
 * Scoring of the analytics against simulator ground truth (issue 12, pump-domain.md §7).
 *
 * Pure: takes the truth event log of a simulated fleet and the alarm transitions the analyzer emitted
 * for it, and returns per-fault-event and per-fault-type scores, the false positives and the six-key
 * summary of the issue. `pumpwatch evaluate` (evaluate-cli.ts) produces the inputs; docs/analytics-quality.md
 * describes the method.
 *
 * Method (§7):
 * - a fault event is one scenario fault on one pump (its truth `onset`, `detectable`, `failure`,
 *   `repair` events, joined by `faultId`); its window is [detectable, failure + grace] with
 *   grace = 10 % of the time to failure (at least 10 min); sudden faults (F1b, F6, F9b) use
 *   [onset, onset + allowed detection delay]; a fault without a `failure` in the run ends its window
 *   at its repair (or the end of the run); a fault that never became detectable is not scorable;
 * - alarm transitions of one pump and alarm type merge into episodes; an episode that raises again
 *   less than 1 h after it cleared continues; `offline` episodes are ignored;
 * - an event is detected when a WARNING or ALARM episode of its pump starts inside its window; the
 *   first such start is the first warning: lead = failure − first warning, detection delay =
 *   first warning − detectable; the diagnosis is that of the first episode in the window that
 *   carries one, correct when its code is the fault's catalogue code;
 * - a false positive is an episode that starts outside every fault's span on its pump: the span
 *   runs from the onset to the repair plus {@link REPAIR_GRACE_MS} (to the end of the run when not
 *   repaired) and covers the window; a protective trip likewise covers [trip, restart + grace].
 *   False positives are counted under the episode's highest severity, per pump-month
 *   (30.44 days of calendar time per pump).
 */

import { FAULT_CATALOGUE, type FaultType } from "../sim/faults.js";
import { MODELS } from "../sim/models.js";
import type { TruthEvent } from "../sim/truth.js";
import type { AlarmSeverity, AlarmTransition, Diagnosis } from "./types.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Calendar length of a pump-month, ms. */
export const PUMP_MONTH_MS = 30.44 * DAY;
/** Transitions of one pump and type less than this apart belong to the same episode. */
export const EPISODE_MERGE_MS = HOUR;
/** Episodes starting this long after a repair (or a restart after a trip) still belong to the fault. */
export const REPAIR_GRACE_MS = HOUR;
/** Grace after functional failure: this share of the time to failure, at least {@link MIN_GRACE_MS}. */
export const GRACE_SHARE = 0.1;
export const MIN_GRACE_MS = 10 * MINUTE;

/**
 * Lead-time targets per fault key (pump-domain.md §6.7): the first warning must come at least this
 * long before the functional failure. F7's second condition (≥ 20 % of the P-F interval) is not
 * checked: the P-F interval is not in the truth log. F10 only has to come before the trip.
 */
export const LEAD_TARGET_MS: Readonly<Record<string, number>> = {
  F1: 14 * DAY,
  F2: 7 * DAY,
  F3: 2 * DAY,
  F4: 10 * MINUTE,
  F4b: 4 * MINUTE,
  F7: 7 * DAY,
  F8: 14 * DAY,
  F10: 0,
};

/** Sudden faults (§7.1): window [onset, onset + allowed detection delay]. */
export const SUDDEN_DELAY_MS: Readonly<Record<string, number>> = {
  F1b: 30 * MINUTE,
  F6: 30 * MINUTE,
  F9b: MINUTE,
};

/** Fault keys of the acceptance targets. */
export const SLOW_FAULTS: readonly string[] = ["F1", "F2", "F7", "F8"];
export const FAST_FAULTS: readonly string[] = ["F4", "F4b", "F10", "F13"];

export interface PumpInfo {
  id: string;
  model: string;
  /** Running hours in the scored period; when given for every pump, FP rates per 1000 h are added. */
  runningHours?: number;
}

export interface EvaluationInput {
  truth: readonly TruthEvent[];
  alarms: readonly AlarmTransition[];
  pumps: readonly PumpInfo[];
  /** Scored period, epoch ms: faults with onset and episodes with start outside it are ignored. */
  startMs: number;
  endMs: number;
}

/** Merged alarm transitions of one pump and alarm type. */
export interface AlarmEpisode {
  deviceId: string;
  type: string;
  start: number;
  /** Clear time, or the end of the scored period when still active. */
  end: number;
  /** Highest severity reached. */
  severity: AlarmSeverity;
  /** First diagnosis carried by a raise of the episode. */
  diagnosis: Diagnosis | null;
}

/** Score of one fault event. Times are epoch ms, durations ms; null = not applicable. */
export interface FaultEventScore {
  assetId: string;
  faultId: string;
  fault: FaultType;
  /** Catalogue code (FAULT_CATALOGUE). */
  code: string;
  /** Scoring key: the catalogue code, F4b for cooling loss on a water-cooled pump. */
  key: string;
  onset: number;
  detectable: number | null;
  failure: number | null;
  trip: number | null;
  repair: number | null;
  /** Detection window, null when the fault never became detectable (not scorable). */
  window: { start: number; end: number } | null;
  detected: boolean;
  firstWarning: number | null;
  leadMs: number | null;
  delayMs: number | null;
  /** Lead ≥ target; null without a failure in the run or without a target. */
  leadMet: boolean | null;
  /** Fast faults: warned before the trip (before the failure when there was none); else null. */
  beforeTrip: boolean | null;
  diagnosis: string | null;
  /** Null when not detected. */
  diagnosisCorrect: boolean | null;
}

/** Aggregate over the events of one fault key. Shares are 0–1, null when nothing to divide. */
export interface FaultTypeScore {
  key: string;
  fault: FaultType;
  events: number;
  scorable: number;
  detected: number;
  recall: number | null;
  leadMedianMs: number | null;
  leadP10Ms: number | null;
  leadTargetMs: number | null;
  leadMet: number | null;
  delayMedianMs: number | null;
  diagnosisAccuracy: number | null;
}

/** The one-line result of the issue: shares 0–1, rates per pump and quarter / year. */
export interface EvaluationSummary {
  slowFaultRecall: number | null;
  slowFaultLeadMet: number | null;
  fastFaultsBeforeTrip: number | null;
  falseWarningsPerPumpQuarter: number | null;
  falseAlarmsPerPumpYear: number | null;
  diagnosisAccuracy: number | null;
}

export interface EvaluationReport {
  events: FaultEventScore[];
  byType: FaultTypeScore[];
  episodes: number;
  falsePositives: AlarmEpisode[];
  falseWarnings: number;
  falseAlarms: number;
  pumpMonths: number;
  falseWarningsPerPumpMonth: number | null;
  falseAlarmsPerPumpMonth: number | null;
  /** All false positives per 1000 running hours; null unless every pump has runningHours. */
  falsePositivesPer1000RunningHours: number | null;
  summary: EvaluationSummary;
}

/** Scores the alarms against the ground truth as pump-domain.md §7 describes. */
export function scoreAlarms(input: EvaluationInput): EvaluationReport {
  const episodes = alarmEpisodes(input.alarms, input.endMs).filter(
    (e) => e.type !== "offline" && e.start >= input.startMs && e.start <= input.endMs,
  );
  const models = new Map(input.pumps.map((p) => [p.id, p.model]));
  const faults = faultEvents(input.truth, models, input.startMs, input.endMs);
  const byAsset = groupBy(episodes, (e) => e.deviceId);
  const events = faults.map((f) => scoreEvent(f, byAsset.get(f.assetId) ?? []));
  const spans = coveredSpans(faults, input.truth, input.endMs);
  const falsePositives = episodes.filter(
    (e) => !(spans.get(e.deviceId) ?? []).some((s) => e.start >= s.start && e.start <= s.end),
  );
  const falseAlarms = falsePositives.filter((e) => e.severity === "alarm").length;
  const falseWarnings = falsePositives.length - falseAlarms;
  const pumpMonths = (input.pumps.length * Math.max(0, input.endMs - input.startMs)) / PUMP_MONTH_MS;
  const runH = input.pumps.every((p) => p.runningHours !== undefined)
    ? input.pumps.reduce((s, p) => s + (p.runningHours ?? 0), 0)
    : 0;
  return {
    events,
    byType: aggregateByType(events),
    episodes: episodes.length,
    falsePositives,
    falseWarnings,
    falseAlarms,
    pumpMonths,
    falseWarningsPerPumpMonth: ratio(falseWarnings, pumpMonths),
    falseAlarmsPerPumpMonth: ratio(falseAlarms, pumpMonths),
    falsePositivesPer1000RunningHours: runH > 0 ? (1000 * falsePositives.length) / runH : null,
    summary: summarise(events, falseWarnings, falseAlarms, pumpMonths),
  };
}

/**
 * Merges alarm transitions into episodes per (pump, type): a raise while inactive starts an episode,
 * unless the previous one of the same pump and type cleared less than {@link EPISODE_MERGE_MS}
 * before, which then continues; a clear ends it. Episodes still active end at `endMs`.
 */
export function alarmEpisodes(alarms: readonly AlarmTransition[], endMs: number): AlarmEpisode[] {
  const sorted = [...alarms].sort((a, b) => a.ts - b.ts);
  const open = new Map<string, AlarmEpisode>();
  const last = new Map<string, AlarmEpisode>();
  const out: AlarmEpisode[] = [];
  for (const t of sorted) {
    const key = `${t.deviceId}\u0000${t.type}`;
    let ep = open.get(key);
    if (t.kind === "clear") {
      if (ep) {
        ep.end = t.ts;
        open.delete(key);
      }
      continue;
    }
    if (!ep) {
      const prev = last.get(key);
      if (prev && t.ts - prev.end < EPISODE_MERGE_MS) ep = prev;
      else {
        ep = {
          deviceId: t.deviceId,
          type: t.type,
          start: t.ts,
          end: endMs,
          severity: t.severity,
          diagnosis: null,
        };
        out.push(ep);
        last.set(key, ep);
      }
      open.set(key, ep);
    }
    ep.end = endMs;
    if (t.severity === "alarm") ep.severity = "alarm";
    ep.diagnosis ??= t.diagnosis;
  }
  return out;
}

/** One scenario fault on one pump, from its truth events. */
type FaultEvent = Pick<
  FaultEventScore,
  | "assetId"
  | "faultId"
  | "fault"
  | "code"
  | "key"
  | "onset"
  | "detectable"
  | "failure"
  | "trip"
  | "repair"
  | "window"
>;

/** Joins the truth events of each fault (onset inside the period) and computes its window. */
function faultEvents(
  truth: readonly TruthEvent[],
  models: ReadonlyMap<string, string>,
  startMs: number,
  endMs: number,
): FaultEvent[] {
  const sorted = [...truth].sort((a, b) => a.ts - b.ts);
  const out: FaultEvent[] = [];
  for (const on of sorted) {
    if (on.kind !== "onset" || on.fault === undefined || on.ts < startMs || on.ts > endMs) continue;
    const mine = sorted.filter((e) => e.assetId === on.assetId && e.faultId === on.faultId && e.ts >= on.ts);
    const at = (kind: TruthEvent["kind"]) => mine.find((e) => e.kind === kind)?.ts ?? null;
    const repair = at("repair");
    const trip =
      sorted.find(
        (e) => e.assetId === on.assetId && e.kind === "trip" && e.ts >= on.ts && e.ts <= (repair ?? endMs),
      )?.ts ?? null;
    const code = on.code ?? FAULT_CATALOGUE[on.fault].code;
    const key = faultKey(on.fault, code, models.get(on.assetId));
    const f = {
      assetId: on.assetId,
      faultId: on.faultId ?? on.fault,
      fault: on.fault,
      key,
      code,
      onset: on.ts,
    };
    const times = { detectable: at("detectable"), failure: at("failure"), trip, repair };
    out.push({ ...f, ...times, window: faultWindow(key, on.ts, times, endMs) });
  }
  return out;
}

/** Catalogue code, with cooling loss on a water-cooled model scored as F4b (§6.7). */
function faultKey(fault: FaultType, code: string, model: string | undefined): string {
  const info = model !== undefined && model in MODELS ? MODELS[model as keyof typeof MODELS] : undefined;
  return fault === "coolingFailure" && info?.cooling === "water" ? "F4b" : code;
}

/** §7.1 window; null when the fault never became detectable. */
function faultWindow(
  key: string,
  onset: number,
  t: { detectable: number | null; failure: number | null; repair: number | null },
  endMs: number,
): { start: number; end: number } | null {
  const sudden = SUDDEN_DELAY_MS[key];
  if (sudden !== undefined) return { start: onset, end: onset + sudden };
  if (t.detectable === null) return null;
  if (t.failure === null) return { start: t.detectable, end: t.repair ?? endMs };
  const grace = Math.max(MIN_GRACE_MS, GRACE_SHARE * (t.failure - onset));
  return { start: t.detectable, end: t.failure + grace };
}

/** Scores one fault event against the episodes of its pump. */
function scoreEvent(f: FaultEvent, episodes: readonly AlarmEpisode[]): FaultEventScore {
  const w = f.window;
  const inWindow = w ? episodes.filter((e) => e.start >= w.start && e.start <= w.end) : [];
  const first = inWindow.reduce<AlarmEpisode | null>(
    (a, e) => (a === null || e.start < a.start ? e : a),
    null,
  );
  const firstWarning = first?.start ?? null;
  const diagnosed = [...inWindow].sort((a, b) => a.start - b.start).find((e) => e.diagnosis !== null);
  const diagnosis = diagnosed?.diagnosis?.code ?? null;
  const leadMs = firstWarning !== null && f.failure !== null ? f.failure - firstWarning : null;
  const target = LEAD_TARGET_MS[f.key];
  const limit = f.trip ?? f.failure;
  return {
    ...f,
    detected: first !== null,
    firstWarning,
    leadMs,
    delayMs: firstWarning !== null ? firstWarning - (f.detectable ?? f.onset) : null,
    leadMet:
      target === undefined || f.failure === null || w === null ? null : leadMs !== null && leadMs >= target,
    beforeTrip:
      FAST_FAULTS.includes(f.key) && limit !== null && w !== null
        ? firstWarning !== null && firstWarning < limit
        : null,
    diagnosis,
    diagnosisCorrect: first === null ? null : diagnosis === f.code || diagnosis === f.key,
  };
}

/**
 * Per pump, the spans whose episodes are not false positives: each fault from its onset (or window
 * start) to its repair plus grace (or its window end, if later), each trip to its restart plus grace.
 */
function coveredSpans(
  faults: readonly FaultEvent[],
  truth: readonly TruthEvent[],
  endMs: number,
): Map<string, { start: number; end: number }[]> {
  const spans = new Map<string, { start: number; end: number }[]>();
  const add = (id: string, start: number, end: number) => {
    const list = spans.get(id) ?? [];
    list.push({ start, end });
    spans.set(id, list);
  };
  for (const f of faults) {
    const repaired = f.repair === null ? endMs : f.repair + REPAIR_GRACE_MS;
    add(
      f.assetId,
      Math.min(f.onset, f.window?.start ?? f.onset),
      Math.max(repaired, f.window?.end ?? repaired),
    );
  }
  const sorted = [...truth].sort((a, b) => a.ts - b.ts);
  for (const trip of sorted) {
    if (trip.kind !== "trip") continue;
    const restart = sorted.find((e) => e.assetId === trip.assetId && e.kind === "restart" && e.ts >= trip.ts);
    add(trip.assetId, trip.ts, restart === undefined ? endMs : restart.ts + REPAIR_GRACE_MS);
  }
  return spans;
}

/** Per-key aggregates, in catalogue order (F1, F1b, F2, …). */
function aggregateByType(events: readonly FaultEventScore[]): FaultTypeScore[] {
  const groups = groupBy(events, (e) => e.key);
  const keys = [...groups.keys()].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return keys.map((key) => {
    const list = groups.get(key)!;
    const scorable = list.filter((e) => e.window !== null);
    const detected = scorable.filter((e) => e.detected);
    const leads = detected.flatMap((e) => (e.leadMs === null ? [] : [e.leadMs]));
    const delays = detected.flatMap((e) => (e.delayMs === null ? [] : [e.delayMs]));
    const judged = list.filter((e) => e.leadMet !== null);
    return {
      key,
      fault: list[0]!.fault,
      events: list.length,
      scorable: scorable.length,
      detected: detected.length,
      recall: ratio(detected.length, scorable.length),
      leadMedianMs: quantile(leads, 0.5),
      leadP10Ms: quantile(leads, 0.1),
      leadTargetMs: LEAD_TARGET_MS[key] ?? null,
      leadMet: ratio(judged.filter((e) => e.leadMet).length, judged.length),
      delayMedianMs: quantile(delays, 0.5),
      diagnosisAccuracy: ratio(detected.filter((e) => e.diagnosisCorrect).length, detected.length),
    };
  });
}

/** The six acceptance numbers. */
function summarise(
  events: readonly FaultEventScore[],
  falseWarnings: number,
  falseAlarms: number,
  pumpMonths: number,
): EvaluationSummary {
  const slow = events.filter((e) => SLOW_FAULTS.includes(e.key) && e.window !== null);
  const slowJudged = slow.filter((e) => e.leadMet !== null);
  const fast = events.filter((e) => e.beforeTrip !== null);
  const detected = events.filter((e) => e.detected);
  return {
    slowFaultRecall: ratio(slow.filter((e) => e.detected).length, slow.length),
    slowFaultLeadMet: ratio(slowJudged.filter((e) => e.leadMet).length, slowJudged.length),
    fastFaultsBeforeTrip: ratio(fast.filter((e) => e.beforeTrip).length, fast.length),
    falseWarningsPerPumpQuarter: ratio(3 * falseWarnings, pumpMonths),
    falseAlarmsPerPumpYear: ratio(12 * falseAlarms, pumpMonths),
    diagnosisAccuracy: ratio(detected.filter((e) => e.diagnosisCorrect).length, detected.length),
  };
}

/** a / b, or null when b is 0. */
function ratio(a: number, b: number): number | null {
  return b > 0 ? a / b : null;
}

/** Linear-interpolated quantile (type 7) of unsorted values; null when empty. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
