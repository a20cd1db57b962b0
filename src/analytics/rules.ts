/**
 * Limit rules for one pump (issue 5 item 2, pump-domain.md §4.7): absolute high/low limits and
 * rate-of-change limits, each with a warning and/or an alarm level, debounced with on-delay,
 * off-delay, deadband (hysteresis) and re-alarm time.
 *
 * Pure: no I/O and no wall clock — time comes only from the samples' `ts`. One `RuleState` per
 * pump; `evaluate` is fed that pump's samples in time order and returns the transitions it caused.
 * Samples that are not newer than the last accepted one are ignored. A signal missing from a sample
 * leaves its rules untouched (it neither clears nor advances an active condition).
 *
 * Per rule the state machine has the levels normal → warning → alarm:
 * - a level is entered when its condition has held continuously for `onDelaySec` (escalation from
 *   warning to alarm needs the alarm condition's own on-delay);
 * - once at a level, its condition holds until the value is back beyond limit ∓ `deadband`;
 * - the level is left only after its condition has been absent continuously for `offDelaySec`; it
 *   then drops to warning if the warning condition still holds, else to normal;
 * - while a level is active, a `realarm` event repeats every `reAlarmSec` (0 = never). Whether the
 *   alarm is acknowledged is the alarm lifecycle's business, not this engine's.
 */
import { PumpwatchError } from "../core/errors.js";
import type { Sample } from "../core/sample.js";
import type { ModelName } from "../sim/models.js";
import { buildDefaultRules, RULE_FIELD_DEFAULTS } from "./rule-defaults.js";

export type Severity = "warning" | "alarm";

/** high/low: absolute value limits; rise/fall: rate of change in signal units per minute. */
export type RuleKind = "high" | "low" | "rise" | "fall";

export interface RuleDef {
  id: string;
  signal: string;
  kind: RuleKind;
  /**
   * Limits in the signal's unit (rise/fall: unit per minute, positive numbers). `null` disables that
   * level; at least one must be set. high/rise: warning < alarm; low: warning > alarm.
   */
  warning: number | null;
  alarm: number | null;
  enabled: boolean;
  /** The condition must hold this long before the level becomes active. */
  onDelaySec: number;
  /** The condition must be absent this long before the level is left. */
  offDelaySec: number;
  /** Hysteresis in the limit's unit: an active level holds until the value is deadband past the limit. */
  deadband: number;
  /** Repeat a standing condition after this long; 0 = never. */
  reAlarmSec: number;
  /** rise/fall: the rate is measured over (up to) this window. Ignored by high/low. */
  windowSec: number;
  /**
   * 0 = always evaluate. > 0: the condition counts as absent unless the pump has been running
   * (`running` = 1) for at least this long (warm-up suppression, §4.7 context suppression).
   */
  minRunSec: number;
}

export interface RuleSet {
  /** null: a pump of unknown model (generic rules only). */
  model: ModelName | null;
  rules: readonly RuleDef[];
}

/** Per-pump overrides: `{ rules: { <ruleId>: { <field>: value } } }`, deep-merged onto the defaults. */
export interface RuleOverrides {
  rules?: Record<string, Partial<RuleDef>>;
}

export type RuleEventType = "raise" | "escalate" | "deescalate" | "clear" | "realarm";

export interface RuleEvent {
  type: RuleEventType;
  ruleId: string;
  signal: string;
  kind: RuleKind;
  /** Severity after the event; for `clear` the severity that was cleared. */
  severity: Severity;
  /** Severity before the event (null when raised from normal). */
  previousSeverity: Severity | null;
  /** Sample time, epoch ms. */
  ts: number;
  /** The signal value (rise/fall: the rate per minute, positive in the rule's direction). */
  value: number;
  /** The limit the event refers to (for clear/deescalate: the limit that was left). */
  limit: number;
  /** Plain-language sentence, e.g. "oil temperature 96.2 °C above the alarm limit 95 °C for 2 min". */
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Defaults, overrides and validation

const KINDS: readonly RuleKind[] = ["high", "low", "rise", "fall"];

const FIELDS = new Set<string>([
  "id",
  "signal",
  "kind",
  "warning",
  "alarm",
  "enabled",
  "onDelaySec",
  "offDelaySec",
  "deadband",
  "reAlarmSec",
  "windowSec",
  "minRunSec",
]);

function fail(path: string, message: string): never {
  throw new PumpwatchError("BAD_REQUEST", `${path}: ${message}`, { path });
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? "an array" : typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Default rules of a model (null: generic pump); a fresh copy every call. */
export function defaultRules(model: ModelName | null): RuleSet {
  return { model, rules: buildDefaultRules(model) };
}

/**
 * Checks one complete rule and returns it typed. Throws a `PumpwatchError` (BAD_REQUEST) whose
 * message starts with the path of the offending field, e.g. `rules.oilTemperatureHigh.alarm: …`.
 */
export function validateRule(raw: unknown, path: string): RuleDef {
  if (!isPlainObject(raw)) fail(path, `must be an object, got ${show(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!FIELDS.has(key)) fail(`${path}.${key}`, "unknown field");
  }
  const str = (k: string): string => {
    const v = raw[k];
    if (typeof v !== "string" || v.length === 0)
      fail(`${path}.${k}`, `must be a non-empty string, got ${show(v)}`);
    return v;
  };
  const num = (k: string, min: number, exclusive = false): number => {
    const v = raw[k];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      fail(`${path}.${k}`, `must be a finite number, got ${show(v)}`);
    }
    if (exclusive ? v <= min : v < min) {
      fail(`${path}.${k}`, `must be ${exclusive ? "greater than" : "at least"} ${min}, got ${v}`);
    }
    return v;
  };
  const limit = (k: string): number | null => {
    const v = raw[k];
    if (v === null) return null;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      fail(`${path}.${k}`, `must be a finite number or null, got ${show(v)}`);
    }
    return v;
  };
  const id = str("id");
  const signal = str("signal");
  const kind = raw["kind"];
  if (typeof kind !== "string" || !(KINDS as readonly string[]).includes(kind)) {
    fail(`${path}.kind`, `must be one of ${KINDS.join(", ")}, got ${show(kind)}`);
  }
  const k = kind as RuleKind;
  const warning = limit("warning");
  const alarm = limit("alarm");
  if (warning === null && alarm === null) fail(`${path}.alarm`, "warning and alarm are both null");
  if (k === "rise" || k === "fall") {
    if (warning !== null && warning <= 0)
      fail(`${path}.warning`, `a rate limit must be positive, got ${warning}`);
    if (alarm !== null && alarm <= 0) fail(`${path}.alarm`, `a rate limit must be positive, got ${alarm}`);
  }
  if (warning !== null && alarm !== null) {
    if (k === "low" ? alarm >= warning : alarm <= warning) {
      const rel = k === "low" ? "below" : "above";
      fail(`${path}.alarm`, `must be ${rel} the warning limit ${warning} for a ${k} rule, got ${alarm}`);
    }
  }
  const enabled = raw["enabled"];
  if (typeof enabled !== "boolean") fail(`${path}.enabled`, `must be true or false, got ${show(enabled)}`);
  return {
    id,
    signal,
    kind: k,
    warning,
    alarm,
    enabled,
    onDelaySec: num("onDelaySec", 0),
    offDelaySec: num("offDelaySec", 0),
    deadband: num("deadband", 0),
    reAlarmSec: num("reAlarmSec", 0),
    windowSec: num("windowSec", 0, true),
    minRunSec: num("minRunSec", 0),
  };
}

/**
 * Deep-merges per-pump overrides onto a rule set and validates the result. A known rule id takes
 * the given fields over; an unknown id adds a rule and must name at least `signal`, `kind` and a
 * limit (the debounce fields default). Throws a `PumpwatchError` naming the path of the bad field.
 * `base` is not modified.
 */
export function applyOverrides(base: RuleSet, overrides: unknown): RuleSet {
  if (overrides === undefined || overrides === null) return { model: base.model, rules: base.rules.slice() };
  if (!isPlainObject(overrides)) fail("overrides", `must be an object, got ${show(overrides)}`);
  for (const key of Object.keys(overrides)) {
    if (key !== "rules") fail(key, "unknown field (expected only 'rules')");
  }
  const ruleOverrides = overrides["rules"];
  if (ruleOverrides === undefined) return { model: base.model, rules: base.rules.slice() };
  if (!isPlainObject(ruleOverrides)) fail("rules", `must be an object, got ${show(ruleOverrides)}`);

  const out: RuleDef[] = base.rules.map((r) => ({ ...r }));
  for (const [id, patch] of Object.entries(ruleOverrides)) {
    const path = `rules.${id}`;
    if (!isPlainObject(patch)) fail(path, `must be an object, got ${show(patch)}`);
    if ("id" in patch && patch["id"] !== id) fail(`${path}.id`, `must equal the key "${id}" or be omitted`);
    const index = out.findIndex((r) => r.id === id);
    const existing = index >= 0 ? out[index] : undefined;
    if (existing === undefined) {
      for (const k of ["signal", "kind"] as const) {
        if (!(k in patch)) fail(`${path}.${k}`, "required for a new rule (no default rule has this id)");
      }
    }
    const merged = {
      ...(existing ?? { ...RULE_FIELD_DEFAULTS, warning: null, alarm: null }),
      ...patch,
      id,
    };
    const rule = validateRule(merged, path);
    if (existing === undefined) out.push(rule);
    else out[index] = rule;
  }
  return { model: base.model, rules: out };
}

/** The model's defaults with a pump's overrides applied. */
export function rulesFor(model: ModelName | null, overrides?: unknown): RuleSet {
  return applyOverrides(defaultRules(model), overrides);
}

// ---------------------------------------------------------------------------------------------
// Messages

const SIGNALS: Record<string, readonly [label: string, unit: string]> = {
  inletPressure: ["inlet pressure", "hPa"],
  exhaustPressure: ["exhaust pressure", "hPa"],
  oilTemperature: ["oil temperature", "°C"],
  motorTemperature: ["motor temperature", "°C"],
  ambientTemperature: ["ambient temperature", "°C"],
  motorCurrent: ["motor current", "A"],
  power: ["power", "kW"],
  vibration: ["vibration", "mm/s"],
  operatingHours: ["operating hours", "h"],
  running: ["running", ""],
};

function fmt(x: number): string {
  if (x === 0) return "0";
  const a = Math.abs(x);
  const digits = a >= 100 ? 1 : a >= 1 ? 2 : 3;
  return String(Number(x.toFixed(digits)));
}

function withUnit(x: number, unit: string): string {
  return unit === "" ? fmt(x) : `${fmt(x)} ${unit}`;
}

/** "45 s", "2 min", "3.5 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  const h = s / 3600;
  return `${h < 48 ? fmt(Math.round(h * 10) / 10) : Math.round(h)} h`;
}

// ---------------------------------------------------------------------------------------------
// Evaluator

const NONE = 0;
const WARN = 1;
const ALARM = 2;
type Level = 0 | 1 | 2;
const SEVERITY: readonly [null, Severity, Severity] = [null, "warning", "alarm"];

/** Rate buffer: points spaced ≥ window/RATE_SEGMENTS apart, at most window old. */
const RATE_SEGMENTS = 16;
const RATE_CAPACITY = RATE_SEGMENTS + 2;

class RuleRuntime {
  readonly def: RuleDef;
  readonly label: string;
  readonly unit: string;
  /** +1: beyond means above (high, rise, fall after sign flip); −1: below (low). */
  readonly dir: number;
  readonly rate: boolean;
  readonly windowMs: number;
  readonly spacingMs: number;
  level: Level = NONE;
  onSinceWarn = Number.NaN;
  onSinceAlarm = Number.NaN;
  offSince = Number.NaN;
  raisedAt = Number.NaN;
  lastAnnounce = Number.NaN;
  // Rate ring buffer (only allocated for rise/fall rules).
  readonly ringTs: Float64Array | null;
  readonly ringV: Float64Array | null;
  head = 0;
  count = 0;

  constructor(def: RuleDef) {
    this.def = def;
    const sig = SIGNALS[def.signal];
    this.label = sig?.[0] ?? def.signal;
    const unit = sig?.[1] ?? "";
    this.rate = def.kind === "rise" || def.kind === "fall";
    this.unit = this.rate ? (unit === "" ? "/min" : `${unit}/min`) : unit;
    this.dir = def.kind === "low" ? -1 : 1;
    this.windowMs = def.windowSec * 1000;
    this.spacingMs = this.windowMs / RATE_SEGMENTS;
    this.ringTs = this.rate ? new Float64Array(RATE_CAPACITY) : null;
    this.ringV = this.rate ? new Float64Array(RATE_CAPACITY) : null;
  }

  /** Feeds the rate buffer; returns the rate per minute (signed for the rule's kind) or NaN. */
  rateAt(ts: number, v: number): number {
    const rt = this.ringTs!;
    const rv = this.ringV!;
    // Drop points older than the window (the oldest kept one is the reference).
    while (this.count > 0 && ts - rt[this.head]! > this.windowMs) {
      this.head = (this.head + 1) % RATE_CAPACITY;
      this.count--;
    }
    let rate = Number.NaN;
    if (this.count > 0) {
      const age = ts - rt[this.head]!;
      if (age >= this.windowMs / 2) {
        rate = ((v - rv[this.head]!) / age) * 60_000;
        if (this.def.kind === "fall") rate = -rate;
      }
    }
    const newest = (this.head + this.count - 1 + RATE_CAPACITY) % RATE_CAPACITY;
    if (this.count === 0 || ts - rt[newest]! >= this.spacingMs) {
      if (this.count === RATE_CAPACITY) {
        this.head = (this.head + 1) % RATE_CAPACITY;
        this.count--;
      }
      const slot = (this.head + this.count) % RATE_CAPACITY;
      rt[slot] = ts;
      rv[slot] = v;
      this.count++;
    }
    return rate;
  }

  limitOf(level: Level): number {
    return (level === ALARM ? this.def.alarm : this.def.warning) ?? Number.NaN;
  }

  /** Whether x is beyond the limit of `level`; an already active level keeps holding within the deadband. */
  beyond(x: number, level: Level): boolean {
    const limit = level === ALARM ? this.def.alarm : this.def.warning;
    if (limit === null) return false;
    const threshold = this.level >= level ? limit - this.dir * this.def.deadband : limit;
    return this.dir * (x - threshold) > 0;
  }
}

export interface RuleState {
  readonly rules: RuleSet;
  /** @internal */
  readonly runtimes: RuleRuntime[];
  /** Timestamp of the last accepted sample (epoch ms), −∞ before the first. */
  lastTs: number;
  /** Whether the pump runs (last `running` value seen) and since when. */
  running: boolean;
  runningSince: number;
}

/** Fresh evaluator state for one pump. Disabled rules are skipped entirely. */
export function createRuleState(rules: RuleSet): RuleState {
  return {
    rules,
    runtimes: rules.rules.filter((r) => r.enabled).map((r) => new RuleRuntime(r)),
    lastTs: Number.NEGATIVE_INFINITY,
    running: false,
    runningSince: Number.NaN,
  };
}

/** JSON form of a pump's rule evaluator: levels, debounce timers and rate buffers by rule id. */
export interface RuleStateJson {
  lastTs: number | null;
  running: boolean;
  runningSince: number | null;
  rules: Record<
    string,
    {
      level: Level;
      onSinceWarn: number | null;
      onSinceAlarm: number | null;
      offSince: number | null;
      raisedAt: number | null;
      lastAnnounce: number | null;
      ring?: [number[], number[]];
    }
  >;
}

/** Finite numbers as they are; NaN and ±∞ (JSON has neither) as null. */
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const orNaN = (x: number | null | undefined): number => (typeof x === "number" ? x : Number.NaN);

export function ruleStateToJSON(state: RuleState): RuleStateJson {
  const rules: RuleStateJson["rules"] = {};
  for (const rt of state.runtimes) {
    const ring: [number[], number[]] | undefined = rt.ringTs && rt.ringV ? [[], []] : undefined;
    for (let i = 0; ring && i < rt.count; i++) {
      const k = (rt.head + i) % RATE_CAPACITY;
      ring[0].push(rt.ringTs![k]!);
      ring[1].push(rt.ringV![k]!);
    }
    rules[rt.def.id] = {
      level: rt.level,
      onSinceWarn: finite(rt.onSinceWarn),
      onSinceAlarm: finite(rt.onSinceAlarm),
      offSince: finite(rt.offSince),
      raisedAt: finite(rt.raisedAt),
      lastAnnounce: finite(rt.lastAnnounce),
      ...(ring ? { ring } : {}),
    };
  }
  return {
    lastTs: finite(state.lastTs),
    running: state.running,
    runningSince: finite(state.runningSince),
    rules,
  };
}

/**
 * Puts saved evaluator state into a fresh one (same rules by id; a rule added since starts fresh, a
 * removed one is dropped), so a restored pump raises and clears exactly when it would have without
 * the restart. Returns the ids of the rules restored.
 */
export function restoreRuleState(state: RuleState, json: RuleStateJson): Set<string> {
  state.lastTs = json.lastTs ?? Number.NEGATIVE_INFINITY;
  state.running = json.running;
  state.runningSince = orNaN(json.runningSince);
  const restored = new Set<string>();
  for (const rt of state.runtimes) {
    const r = json.rules[rt.def.id];
    if (!r) continue;
    rt.level = r.level === WARN || r.level === ALARM ? r.level : NONE;
    rt.onSinceWarn = orNaN(r.onSinceWarn);
    rt.onSinceAlarm = orNaN(r.onSinceAlarm);
    rt.offSince = orNaN(r.offSince);
    rt.raisedAt = orNaN(r.raisedAt);
    rt.lastAnnounce = orNaN(r.lastAnnounce);
    if (rt.ringTs && rt.ringV && r.ring) {
      const n = Math.min(r.ring[0].length, r.ring[1].length, RATE_CAPACITY);
      for (let i = 0; i < n; i++) {
        rt.ringTs[i] = r.ring[0][i]!;
        rt.ringV[i] = r.ring[1][i]!;
      }
      rt.head = 0;
      rt.count = n;
    }
    restored.add(rt.def.id);
  }
  return restored;
}

/** The active severity of a rule (null when normal or unknown). */
export function activeSeverity(state: RuleState, ruleId: string): Severity | null {
  for (const rt of state.runtimes) if (rt.def.id === ruleId) return SEVERITY[rt.level];
  return null;
}

const NO_EVENTS: readonly RuleEvent[] = Object.freeze([]);

/**
 * Processes one sample of the pump and returns the events it caused (a shared empty array when
 * none). Samples not newer than the previous accepted sample are ignored.
 */
export function evaluate(state: RuleState, sample: Sample): readonly RuleEvent[] {
  const ts = sample.ts;
  if (!Number.isFinite(ts) || ts <= state.lastTs) return NO_EVENTS;
  state.lastTs = ts;
  const values = sample.values;
  const run = values["running"];
  if (run !== undefined && Number.isFinite(run)) {
    const on = run >= 0.5;
    if (on && !state.running) state.runningSince = ts;
    state.running = on;
    if (!on) state.runningSince = Number.NaN;
  }
  let events: RuleEvent[] | null = null;
  for (const rt of state.runtimes) {
    const raw = values[rt.def.signal];
    if (raw === undefined || !Number.isFinite(raw)) continue; // missing: no change
    const x = rt.rate ? rt.rateAt(ts, raw) : raw;
    if (Number.isNaN(x)) continue; // not enough history for a rate yet
    const suppressed =
      rt.def.minRunSec > 0 && !(state.running && ts - state.runningSince >= rt.def.minRunSec * 1000);
    const ev = step(rt, ts, x, suppressed);
    if (ev === null) continue;
    if (events === null) events = [ev];
    else events.push(ev);
  }
  return events ?? NO_EVENTS;
}

function step(rt: RuleRuntime, ts: number, x: number, suppressed: boolean): RuleEvent | null {
  const def = rt.def;
  const holdsAlarm = !suppressed && rt.beyond(x, ALARM);
  const holdsWarn = !suppressed && (rt.beyond(x, WARN) || (holdsAlarm && def.warning !== null));
  rt.onSinceAlarm = holdsAlarm ? (Number.isNaN(rt.onSinceAlarm) ? ts : rt.onSinceAlarm) : Number.NaN;
  rt.onSinceWarn = holdsWarn ? (Number.isNaN(rt.onSinceWarn) ? ts : rt.onSinceWarn) : Number.NaN;

  const onMs = def.onDelaySec * 1000;
  const target: Level =
    holdsAlarm && ts - rt.onSinceAlarm >= onMs
      ? ALARM
      : holdsWarn && ts - rt.onSinceWarn >= onMs
        ? WARN
        : NONE;
  const prev = rt.level;

  if (target > prev) {
    rt.level = target;
    rt.offSince = Number.NaN;
    if (prev === NONE) rt.raisedAt = ts;
    rt.lastAnnounce = ts;
    const since = target === ALARM ? rt.onSinceAlarm : rt.onSinceWarn;
    return event(rt, prev === NONE ? "raise" : "escalate", target, prev, ts, x, rt.limitOf(target), since);
  }
  if (prev === NONE) return null;

  const holdsActive = prev === ALARM ? holdsAlarm : holdsWarn;
  if (holdsActive) {
    rt.offSince = Number.NaN;
  } else {
    if (Number.isNaN(rt.offSince)) rt.offSince = ts;
    if (ts - rt.offSince >= def.offDelaySec * 1000) {
      const next: Level = prev === ALARM && holdsWarn ? WARN : NONE;
      rt.level = next;
      rt.offSince = Number.NaN;
      rt.lastAnnounce = ts;
      if (next === NONE) {
        const raisedAt = rt.raisedAt;
        rt.raisedAt = Number.NaN;
        return event(rt, "clear", prev, prev, ts, x, rt.limitOf(prev), raisedAt);
      }
      return event(rt, "deescalate", next, prev, ts, x, rt.limitOf(prev), rt.raisedAt);
    }
  }
  if (def.reAlarmSec > 0 && ts - rt.lastAnnounce >= def.reAlarmSec * 1000) {
    rt.lastAnnounce = ts;
    return event(rt, "realarm", prev, prev, ts, x, rt.limitOf(prev), rt.raisedAt);
  }
  return null;
}

function event(
  rt: RuleRuntime,
  type: RuleEventType,
  level: Level,
  prevLevel: Level,
  ts: number,
  x: number,
  limit: number,
  since: number,
): RuleEvent {
  const severity = SEVERITY[level] as Severity;
  const prevSeverity = type === "raise" ? null : SEVERITY[prevLevel];
  return {
    type,
    ruleId: rt.def.id,
    signal: rt.def.signal,
    kind: rt.def.kind,
    severity,
    previousSeverity: prevSeverity,
    ts,
    value: x,
    limit,
    message: message(rt, type, severity, prevSeverity, ts, x, limit, since),
  };
}

function message(
  rt: RuleRuntime,
  type: RuleEventType,
  severity: Severity,
  prevSeverity: Severity | null,
  ts: number,
  x: number,
  limit: number,
  since: number,
): string {
  const u = rt.unit;
  const kind = rt.def.kind;
  const verb = kind === "rise" ? "rising at" : kind === "fall" ? "falling at" : "";
  const subject = verb === "" ? `${rt.label} ${withUnit(x, u)}` : `${rt.label} ${verb} ${withUnit(x, u)}`;
  const beyond = kind === "high" ? "above" : kind === "low" ? "below" : "faster than";
  const back = kind === "high" ? "back below" : kind === "low" ? "back above" : "no longer faster than";
  const lim = withUnit(limit, u);
  const dur = Number.isNaN(since) ? "" : ` for ${formatDuration(ts - since)}`;
  switch (type) {
    case "raise":
    case "escalate":
      return `${subject} ${beyond} the ${severity} limit ${lim}${dur}`;
    case "realarm":
      return `${subject} still ${beyond} the ${severity} limit ${lim}${dur}`;
    case "deescalate":
      return `${subject} ${back} the ${prevSeverity} limit ${lim}; ${severity} remains`;
    case "clear":
      return `${subject} ${back} the ${severity} limit ${lim}`;
  }
}
