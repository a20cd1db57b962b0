import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BUILTIN_SIGNALS,
  type DecodeOptions,
  type DecodeResult,
  decodeTelemetry,
  type SignalDef,
  signalCatalog,
  type TelemetryErrorCode,
} from "../../src/ingest/telemetry.js";

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const OPTS: DecodeOptions = { nowMs: NOW, maxFutureMs: 5 * 60_000, maxSamples: 10_000 };
const TS = "2026-11-27T10:00:00Z";
const TS_MS = Date.UTC(2026, 10, 27, 10, 0, 0);

const buf = (doc: unknown): Buffer =>
  Buffer.from(typeof doc === "string" ? doc : JSON.stringify(doc), "utf8");

function decode(doc: unknown, opts: Partial<DecodeOptions> = {}): DecodeResult {
  return decodeTelemetry(Buffer.isBuffer(doc) ? doc : buf(doc), { ...OPTS, ...opts });
}

function expectError(result: DecodeResult, code: TelemetryErrorCode, reasonPart?: string): void {
  assert.equal(result.ok, false, `expected ${code}, got ok`);
  if (result.ok) return;
  assert.equal(result.code, code, result.reason);
  if (reasonPart !== undefined) assert.ok(result.reason.includes(reasonPart), result.reason);
}

const single = (values: unknown, ts: unknown = TS): unknown => ({ ts, values });

describe("decodeTelemetry", () => {
  it("accepts a single sample and converts the timestamp to epoch ms", () => {
    const result = decode(single({ inletPressure: 0.5, oilTemperature: 62.3, running: 1 }));
    assert.deepEqual(result, {
      ok: true,
      samples: [{ ts: TS_MS, values: { inletPressure: 0.5, oilTemperature: 62.3, running: 1 } }],
    });
  });

  it("accepts every built-in signal at once", () => {
    const values: Record<string, number> = {};
    for (const s of BUILTIN_SIGNALS) values[s.name] = s.min ?? 0;
    const result = decode(single(values));
    assert.ok(result.ok);
    assert.equal(Object.keys(result.samples[0]!.values).length, 10);
  });

  it("accepts a batch in order and keeps fractional-second precision", () => {
    const result = decode({
      samples: [
        { ts: "2026-11-27T09:00:00.123Z", values: { vibration: 1.2 } },
        { ts: "2026-11-27T09:00:01.5Z", values: { vibration: 1.3, power: 4 } },
      ],
    });
    assert.ok(result.ok);
    assert.deepEqual(
      result.samples.map((s) => s.ts),
      [Date.UTC(2026, 10, 27, 9, 0, 0, 123), Date.UTC(2026, 10, 27, 9, 0, 1, 500)],
    );
    assert.deepEqual(result.samples[1]!.values, { vibration: 1.3, power: 4 });
  });

  it("accepts a timestamp slightly ahead of now within the allowed clock skew", () => {
    assert.ok(decode(single({ power: 1 }, "2026-11-27T12:04:59Z")).ok);
  });

  it("rejects a zero-length payload as empty", () => {
    expectError(decode(Buffer.alloc(0)), "empty");
  });

  it("rejects invalid UTF-8 bytes as not_utf8", () => {
    expectError(decode(Buffer.from([0x7b, 0xff, 0x7d])), "not_utf8");
  });

  it("rejects a UTF-8 byte order mark even when the JSON after it is valid", () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf(single({ power: 1 }))]);
    expectError(decode(body), "not_json", "byte order mark");
  });

  it("rejects text that is not JSON as not_json", () => {
    expectError(decode("{ts: 1"), "not_json");
  });

  it("rejects an array at the top level as bad_shape", () => {
    expectError(decode([single({ power: 1 })]), "bad_shape", "array");
  });

  it("rejects a JSON scalar at the top level as bad_shape", () => {
    expectError(decode("42"), "bad_shape");
  });

  it("rejects unknown top-level keys next to a single sample", () => {
    expectError(decode({ ts: TS, values: { power: 1 }, deviceId: "x" }), "bad_shape", "deviceId");
  });

  it("rejects unknown top-level keys next to samples", () => {
    expectError(decode({ samples: [single({ power: 1 })], ts: TS }), "bad_shape", "ts");
  });

  it("rejects a sample without values or without ts", () => {
    expectError(decode({ ts: TS }), "bad_shape", "values: missing");
    expectError(decode({ values: { power: 1 } }), "bad_shape", "ts: missing");
  });

  it("rejects samples that is not an array", () => {
    expectError(decode({ samples: single({ power: 1 }) }), "bad_shape", "samples");
  });

  it("rejects a batch entry that is not an object and names its index", () => {
    expectError(decode({ samples: [single({ power: 1 }), 7] }), "bad_shape", "samples[1]");
  });

  it("rejects values that is an array", () => {
    expectError(decode(single([1, 2])), "bad_shape", "values");
  });

  it("rejects more than 64 values in one sample", () => {
    const extra = new Map<string, SignalDef>();
    const values: Record<string, number> = {};
    for (let i = 0; i < 65; i++) {
      extra.set(`s${i}`, { name: `s${i}`, unit: "", description: "test" });
      values[`s${i}`] = i;
    }
    expectError(decode(single(values), { extraSignals: extra }), "bad_shape", "64");
  });

  it("rejects empty values as empty", () => {
    expectError(decode(single({})), "empty", "values");
  });

  it("rejects an empty samples array as empty", () => {
    expectError(decode({ samples: [] }), "empty", "samples");
  });

  it("rejects a batch larger than maxSamples as too_many_samples", () => {
    const samples = Array.from({ length: 4 }, () => single({ power: 1 }));
    expectError(decode({ samples }, { maxSamples: 3 }), "too_many_samples", "3");
    assert.ok(decode({ samples }, { maxSamples: 4 }).ok);
  });

  it("rejects a numeric epoch timestamp as bad_timestamp", () => {
    expectError(decode(single({ power: 1 }, TS_MS)), "bad_timestamp", "got number");
  });

  it("rejects a timestamp with a +02:00 offset", () => {
    expectError(decode(single({ power: 1 }, "2026-11-27T12:00:00+02:00")), "bad_timestamp");
  });

  it("rejects date-only and zone-less timestamps", () => {
    expectError(decode(single({ power: 1 }, "2026-11-27")), "bad_timestamp");
    expectError(decode(single({ power: 1 }, "2026-11-27T10:00:00")), "bad_timestamp");
  });

  it("rejects February 30 instead of rolling it over to March", () => {
    expectError(decode(single({ power: 1 }, "2026-02-30T00:00:00Z")), "bad_timestamp", "calendar");
  });

  it("rejects 24:00 and 60 seconds", () => {
    expectError(decode(single({ power: 1 }, "2026-11-27T24:00:00Z")), "bad_timestamp");
    expectError(decode(single({ power: 1 }, "2026-11-27T10:00:60Z")), "bad_timestamp");
  });

  it("rejects timestamps before the year 2000", () => {
    expectError(decode(single({ power: 1 }, "1999-12-31T23:59:59Z")), "bad_timestamp", "2000");
    assert.ok(decode(single({ power: 1 }, "2000-01-01T00:00:00Z")).ok);
  });

  it("rejects a timestamp beyond the allowed clock skew as future_timestamp", () => {
    expectError(decode(single({ power: 1 }, "2026-11-27T12:05:01Z")), "future_timestamp");
  });

  it("names the failing batch index in the reason", () => {
    const result = decode({
      samples: [
        single({ power: 1 }),
        single({ power: 1 }),
        single({ power: 1 }),
        single({ oilTemperature: null }),
      ],
    });
    expectError(result, "bad_value", "samples[3].values.oilTemperature");
  });

  it("rejects an unknown undeclared signal as unknown_signal", () => {
    expectError(decode(single({ power: 1, flux: 3 })), "unknown_signal", "values.flux");
  });

  it("accepts an extra signal only when the pump model declares it", () => {
    const body = single({ gasBallast: 2 });
    expectError(decode(body), "unknown_signal", "gasBallast");
    const extraSignals = new Map<string, SignalDef>([
      ["gasBallast", { name: "gasBallast", unit: "%", min: 0, max: 100, description: "Gas ballast opening" }],
    ]);
    const result = decode(body, { extraSignals });
    assert.ok(result.ok);
    assert.deepEqual(result.samples[0]!.values, { gasBallast: 2 });
    expectError(
      decode(single({ gasBallast: 101 }), { extraSignals }),
      "bad_value",
      "outside the bounds 0..100 %",
    );
  });

  it("rejects 1e999 because JSON.parse turns it into Infinity", () => {
    expectError(decode('{"ts":"2026-11-27T10:00:00Z","values":{"power":1e999}}'), "bad_value", "finite");
  });

  it("rejects a null value", () => {
    expectError(decode(single({ power: null })), "bad_value", "values.power: not a number (got null)");
  });

  it('rejects the string number "12"', () => {
    expectError(decode(single({ power: "12" })), "bad_value", "got string");
  });

  it("rejects a nested object as a value", () => {
    expectError(decode(single({ power: { value: 12 } })), "bad_value", "got object");
  });

  it("rejects running=2 and a fractional running flag", () => {
    expectError(decode(single({ running: 2 })), "bad_value", "running");
    expectError(decode(single({ running: 0.5 })), "bad_value", "integer");
    assert.ok(decode(single({ running: 0 })).ok);
  });

  it("rejects values outside physical bounds and states the bound", () => {
    expectError(decode(single({ inletPressure: -1 })), "bad_value", "0..2000 hPa");
    expectError(decode(single({ oilTemperature: 301 })), "bad_value", "-50..300 °C");
  });
});

describe("signalCatalog", () => {
  it("holds the ten built-in signals when no extras are declared", () => {
    const cat = signalCatalog();
    assert.equal(cat.size, 10);
    assert.equal(cat.get("inletPressure")?.unit, "hPa");
  });

  it("adds declared signals but never lets them redefine a built-in", () => {
    const extra = new Map<string, SignalDef>([
      ["gasBallast", { name: "gasBallast", unit: "%", description: "Gas ballast" }],
      ["power", { name: "power", unit: "W", description: "clash" }],
    ]);
    const cat = signalCatalog(extra);
    assert.equal(cat.size, 11);
    assert.equal(cat.get("power")?.unit, "kW");
    assert.equal(cat.get("gasBallast")?.unit, "%");
  });
});
