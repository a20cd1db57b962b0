import type { Sample } from "../core/sample.js";
/**
 * Telemetry payload decoder: turns one device message body into validated samples.
 *
 * Runs for every ingested packet (thousands per second), so it is a single pass over the
 * parsed JSON with no per-value closures, regexes or allocations beyond the result.
 * The payload schema is documented for box builders in docs/telemetry.md.
 */

/** Definition of one numeric signal a pump may report. Bounds are inclusive. */
export interface SignalDef {
  name: string;
  unit: string;
  min?: number | undefined;
  max?: number | undefined;
  /** When true the value must be an integer (e.g. the 0/1 `running` flag). */
  integer?: boolean | undefined;
  description: string;
}

/** The built-in signals with fixed units; bounds are physical plausibility limits, not alarm levels. */
export const BUILTIN_SIGNALS: readonly SignalDef[] = Object.freeze([
  { name: "inletPressure", unit: "hPa", min: 0, max: 2000, description: "Inlet pressure, absolute" },
  { name: "exhaustPressure", unit: "hPa", min: 0, max: 2000, description: "Exhaust pressure, absolute" },
  { name: "oilTemperature", unit: "°C", min: -50, max: 300, description: "Oil temperature" },
  { name: "motorTemperature", unit: "°C", min: -50, max: 300, description: "Motor temperature" },
  { name: "ambientTemperature", unit: "°C", min: -50, max: 300, description: "Ambient air temperature" },
  { name: "motorCurrent", unit: "A", min: 0, max: 1000, description: "Motor current (RMS)" },
  { name: "power", unit: "kW", min: 0, max: 1000, description: "Electrical power consumption" },
  { name: "vibration", unit: "mm/s", min: 0, max: 200, description: "Vibration velocity, RMS" },
  { name: "operatingHours", unit: "h", min: 0, max: 1e6, description: "Operating hours counter" },
  { name: "running", unit: "", min: 0, max: 1, integer: true, description: "1 when the pump runs, else 0" },
]);

/** One validated sample; `values` only holds known signals with in-bounds finite numbers. */
export type { Sample };

/** Machine-readable rejection reasons; they become the quarantine reason and metric label. */
export type TelemetryErrorCode =
  | "not_utf8"
  | "not_json"
  | "bad_shape"
  | "bad_timestamp"
  | "future_timestamp"
  | "unknown_signal"
  | "bad_value"
  | "empty"
  | "too_many_samples";

/** A rejected packet: `reason` is human-readable and names what was wrong and where. */
type Failure = { ok: false; code: TelemetryErrorCode; reason: string };

/** Outcome of {@link decodeTelemetry}. */
export type DecodeResult = { ok: true; samples: Sample[] } | Failure;

/** Per-call decoding limits and the pump model's declared extra signals. */
export interface DecodeOptions {
  /** Current time (epoch ms); injected so tests and replays are deterministic. */
  nowMs: number;
  /** How far ahead of `nowMs` a timestamp may be (device clock skew), e.g. 5 min. */
  maxFutureMs: number;
  /** Maximum samples per batch packet, e.g. 10000. */
  maxSamples: number;
  /** Model-specific signals, keyed by signal name. Cannot override built-ins. */
  extraSignals?: ReadonlyMap<string, SignalDef> | undefined;
}

const MAX_VALUES = 64;
const MIN_TS = Date.UTC(2000, 0, 1);
// Strict: full date and time, optional 1..9 digit fraction, and only the `Z` designator.
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
// Built once: fatal so malformed bytes throw instead of silently becoming U+FFFD.
const UTF8 = new TextDecoder("utf-8", { fatal: true });

const BUILTIN_MAP: ReadonlyMap<string, SignalDef> = new Map(BUILTIN_SIGNALS.map((s) => [s.name, s]));

/**
 * The merged signal catalogue: built-ins plus the model's extra signals. Built-ins win on a
 * name clash because their units are fixed for every pump.
 */
export function signalCatalog(
  extra?: ReadonlyMap<string, SignalDef> | undefined,
): ReadonlyMap<string, SignalDef> {
  if (!extra || extra.size === 0) return BUILTIN_MAP;
  const merged = new Map(extra);
  for (const [name, def] of BUILTIN_MAP) merged.set(name, def);
  return merged;
}

function fail(code: TelemetryErrorCode, reason: string): Failure {
  return { ok: false, code, reason };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Error-path only: the location prefix, e.g. `samples[3].` for batches, "" for single samples. */
function at(index: number): string {
  return index < 0 ? "" : `samples[${index}].`;
}

/** Error-path only: keys come from the device, so cap their length in reasons and logs. */
function showKey(key: string): string {
  return key.length <= 64 ? key : `${key.slice(0, 64)}…`;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function parseTs(raw: unknown, index: number, opts: DecodeOptions): number | Failure {
  if (typeof raw !== "string") {
    return fail("bad_timestamp", `${at(index)}ts: expected an ISO-8601 UTC string, got ${typeName(raw)}`);
  }
  const ms = TS_RE.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms)) {
    return fail("bad_timestamp", `${at(index)}ts: not ISO-8601 UTC like 2026-11-27T10:00:00Z`);
  }
  // Date.parse rolls impossible dates over (Feb 30 -> Mar 2, 24:00 -> next day), so the
  // calendar fields must survive a round trip unchanged.
  if (new Date(ms).toISOString().slice(0, 19) !== raw.slice(0, 19)) {
    return fail("bad_timestamp", `${at(index)}ts: not a valid calendar date/time`);
  }
  if (ms < MIN_TS) return fail("bad_timestamp", `${at(index)}ts: before 2000-01-01T00:00:00Z`);
  if (ms > opts.nowMs + opts.maxFutureMs) {
    return fail("future_timestamp", `${at(index)}ts: more than ${opts.maxFutureMs} ms in the future`);
  }
  return ms;
}

/** Returns a failure, or undefined when `raw` is a valid values object. */
function checkValues(
  raw: unknown,
  index: number,
  extra: ReadonlyMap<string, SignalDef> | undefined,
): Failure | undefined {
  if (!isPlainObject(raw)) {
    return fail("bad_shape", `${at(index)}values: expected an object, got ${typeName(raw)}`);
  }
  let count = 0;
  for (const key in raw) {
    if (++count > MAX_VALUES) return fail("bad_shape", `${at(index)}values: more than ${MAX_VALUES} signals`);
    const def = BUILTIN_MAP.get(key) ?? extra?.get(key);
    if (!def) {
      return fail("unknown_signal", `${at(index)}values.${showKey(key)}: unknown signal (not declared)`);
    }
    const v = raw[key];
    if (typeof v !== "number") {
      return fail("bad_value", `${at(index)}values.${key}: not a number (got ${typeName(v)})`);
    }
    if (!Number.isFinite(v)) return fail("bad_value", `${at(index)}values.${key}: not a finite number`);
    if ((def.min !== undefined && v < def.min) || (def.max !== undefined && v > def.max)) {
      const range = `${def.min ?? "-inf"}..${def.max ?? "inf"} ${def.unit}`.trimEnd();
      return fail("bad_value", `${at(index)}values.${key}: ${v} is outside the bounds ${range}`);
    }
    if (def.integer && !Number.isInteger(v)) {
      return fail("bad_value", `${at(index)}values.${key}: ${v} is not an integer`);
    }
  }
  return count === 0 ? fail("empty", `${at(index)}values: no signals`) : undefined;
}

function checkSample(raw: unknown, index: number, opts: DecodeOptions): Sample | Failure {
  if (!isPlainObject(raw)) {
    return fail("bad_shape", `${index < 0 ? "payload" : `samples[${index}]`}: expected an object`);
  }
  for (const key in raw) {
    if (key !== "ts" && key !== "values") {
      return fail("bad_shape", `${at(index)}${showKey(key)}: unexpected key (allowed: ts, values)`);
    }
  }
  if (!Object.hasOwn(raw, "ts")) return fail("bad_shape", `${at(index)}ts: missing`);
  if (!Object.hasOwn(raw, "values")) return fail("bad_shape", `${at(index)}values: missing`);
  const ts = parseTs(raw["ts"], index, opts);
  if (typeof ts !== "number") return ts;
  const values = raw["values"];
  const bad = checkValues(values, index, opts.extraSignals);
  // The object is fresh from JSON.parse and now fully validated, so it is used without copying.
  return bad ?? { ts, values: values as Record<string, number> };
}

/**
 * Decodes and validates one telemetry message body: a single `{ts, values}` sample or a
 * `{samples: [...]}` batch. Never throws; every problem becomes a coded failure so the
 * caller can quarantine the packet instead of making the device retry it forever.
 */
export function decodeTelemetry(payload: Buffer, opts: DecodeOptions): DecodeResult {
  if (payload.length === 0) return fail("empty", "payload: empty");
  // TextDecoder silently strips a BOM, but a BOM is not valid JSON text, so check the bytes.
  if (payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf) {
    return fail("not_json", "payload: UTF-8 byte order mark is not allowed");
  }
  let text: string;
  try {
    text = UTF8.decode(payload);
  } catch {
    return fail("not_utf8", "payload: not valid UTF-8");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return fail("not_json", `payload: not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(doc)) return fail("bad_shape", `payload: expected a JSON object, got ${typeName(doc)}`);

  if (!Object.hasOwn(doc, "samples")) {
    const one = checkSample(doc, -1, opts);
    return "ok" in one ? one : { ok: true, samples: [one] };
  }
  for (const key in doc) {
    if (key !== "samples") return fail("bad_shape", `${showKey(key)}: unexpected key next to samples`);
  }
  const list = doc["samples"];
  if (!Array.isArray(list)) return fail("bad_shape", `samples: expected an array, got ${typeName(list)}`);
  if (list.length === 0) return fail("empty", "samples: empty array");
  if (list.length > opts.maxSamples) {
    return fail("too_many_samples", `samples: ${list.length} samples exceed the limit of ${opts.maxSamples}`);
  }
  const samples: Sample[] = [];
  for (let i = 0; i < list.length; i++) {
    const s = checkSample(list[i], i, opts);
    if ("ok" in s) return s;
    samples.push(s);
  }
  return { ok: true, samples };
}
