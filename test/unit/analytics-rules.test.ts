import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  activeSeverity,
  applyOverrides,
  createRuleState,
  defaultRules,
  evaluate,
  formatDuration,
  type RuleDef,
  type RuleEvent,
  type RuleSet,
  rulesFor,
} from "../../src/analytics/rules.js";
import { PumpwatchError } from "../../src/core/errors.js";
import { MODEL_NAMES } from "../../src/sim/models.js";

const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const SEC = 1000;

function rule(overrides: Partial<RuleDef>): RuleSet {
  const def: RuleDef = {
    id: "oilHot",
    signal: "oilTemperature",
    kind: "high",
    warning: 90,
    alarm: 95,
    enabled: true,
    onDelaySec: 30,
    offDelaySec: 60,
    deadband: 2,
    reAlarmSec: 0,
    windowSec: 300,
    minRunSec: 0,
    ...overrides,
  };
  return { model: "RV100", rules: [def] };
}

/** Feeds `values[i]` at T0 + i·stepSec and collects all events. */
function run(
  set: RuleSet,
  values: (number | undefined)[],
  stepSec = 10,
  signal = "oilTemperature",
): RuleEvent[] {
  const state = createRuleState(set);
  const out: RuleEvent[] = [];
  values.forEach((v, i) => {
    const sample = { ts: T0 + i * stepSec * SEC, values: v === undefined ? { running: 1 } : { [signal]: v } };
    out.push(...evaluate(state, sample));
  });
  return out;
}

const summary = (events: RuleEvent[]) => events.map((e) => `${e.type}:${e.severity}`);

describe("limit rules", () => {
  it("on-delay suppresses short excursions", () => {
    // 20 s above the alarm limit with a 30 s on-delay: nothing.
    const events = run(rule({}), [80, 97, 97, 97, 80, 80, 80]);
    assert.deepEqual(events, []);
    // Held for 30 s: raised, straight to alarm.
    const held = run(rule({}), [80, 97, 97, 97, 97, 97]);
    assert.deepEqual(summary(held), ["raise:alarm"]);
    assert.equal(held[0]!.ts, T0 + 40 * SEC);
  });

  it("raises with severity, rule id, signal, value, limit and a plain message", () => {
    const events = run(rule({ onDelaySec: 120 }), [80, ...Array<number>(13).fill(96.2)]);
    assert.equal(events.length, 1);
    const e = events[0]!;
    assert.equal(e.type, "raise");
    assert.equal(e.severity, "alarm");
    assert.equal(e.previousSeverity, null);
    assert.equal(e.ruleId, "oilHot");
    assert.equal(e.signal, "oilTemperature");
    assert.equal(e.value, 96.2);
    assert.equal(e.limit, 95);
    assert.equal(e.message, "oil temperature 96.2 °C above the alarm limit 95 °C for 2 min");
  });

  it("off-delay and deadband prevent chattering around the limit", () => {
    // Noise around the warning limit 90 after it became active: 89.5 is within the 2 K deadband,
    // so the warning holds; dips below 88 shorter than the 60 s off-delay do not clear it either.
    const chatter = [91, 91, 91, 91, 89.5, 90.5, 89.5, 87.5, 90.5, 87.5, 87.5, 89.9, 90.1, 89];
    const events = run(rule({}), chatter);
    assert.deepEqual(summary(events), ["raise:warning"]);

    // Without deadband and off-delay the same signal chatters.
    const naive = run(rule({ deadband: 0, offDelaySec: 0, onDelaySec: 0 }), chatter);
    assert.ok(naive.filter((e) => e.type === "clear").length >= 3, summary(naive).join(","));

    // It clears after staying below limit − deadband for the off-delay.
    const clears = run(rule({}), [91, 91, 91, 91, 87, 87, 87, 87, 87, 87, 87, 87]);
    assert.deepEqual(summary(clears), ["raise:warning", "clear:warning"]);
    assert.equal(clears[1]!.ts, T0 + 100 * SEC);
    assert.equal(clears[1]!.message, "oil temperature 87 °C back below the warning limit 90 °C");
  });

  it("escalates from warning to alarm and de-escalates back before clearing", () => {
    const values = [
      ...Array<number>(4).fill(92), // warning after 30 s
      ...Array<number>(4).fill(96), // alarm after another 30 s
      ...Array<number>(8).fill(91), // below 95 − 2 for 60 s: back to warning
      ...Array<number>(8).fill(80), // below 90 − 2 for 60 s: cleared
    ];
    const events = run(rule({}), values);
    assert.deepEqual(summary(events), [
      "raise:warning",
      "escalate:alarm",
      "deescalate:warning",
      "clear:warning",
    ]);
    assert.equal(events[1]!.previousSeverity, "warning");
    assert.equal(events[2]!.previousSeverity, "alarm");
    assert.equal(events[2]!.limit, 95);
    assert.match(events[2]!.message, /back below the alarm limit 95 °C; warning remains/);
  });

  it("low rules fire when the value falls below the limit", () => {
    const set = rule({ id: "cold", kind: "low", warning: 5, alarm: 0, deadband: 1, onDelaySec: 0 });
    const events = run(set, [10, 4, 4, -1, 0.5, 3, 3, 3, 3, 3, 3, 3, 7, 7, 7, 7, 7, 7, 7, 7]);
    assert.deepEqual(summary(events), [
      "raise:warning",
      "escalate:alarm",
      "deescalate:warning",
      "clear:warning",
    ]);
    assert.match(events[0]!.message, /^oil temperature 4 °C below the warning limit 5 °C/);
  });

  it("rate-of-change rule fires on a fast rise", () => {
    const set = rule({
      id: "oilRise",
      kind: "rise",
      warning: 1,
      alarm: 2,
      onDelaySec: 60,
      deadband: 0.2,
      windowSec: 300,
    });
    // 10 min flat at 70 °C (tiny noise), then +3 K/min.
    const flat = Array.from({ length: 60 }, (_, i) => 70 + (i % 2 ? 0.1 : -0.1));
    const rising = Array.from({ length: 60 }, (_, i) => 70 + (3 * (i + 1) * 10) / 60);
    const events = run(set, [...flat, ...rising]);
    assert.ok(events.length >= 1, "fires");
    assert.equal(
      events.every((e) => e.ts > T0 + 600 * SEC),
      true,
      "not during the flat part",
    );
    const alarm = events.find((e) => e.severity === "alarm");
    assert.ok(alarm, summary(events).join(","));
    assert.ok(alarm.ts - (T0 + 600 * SEC) <= 5 * 60 * SEC, "within 5 min of the start of the rise");
    assert.match(
      alarm.message,
      /^oil temperature rising at [\d.]+ °C\/min faster than the alarm limit 2 °C\/min/,
    );
    // A slow warm-up rate (0.5 K/min) does not fire.
    const slow = Array.from({ length: 120 }, (_, i) => 40 + (0.5 * i * 10) / 60);
    assert.deepEqual(run(set, slow), []);
  });

  it("rate rules stay quiet during warm-up when minRunSec is set", () => {
    const set = rule({ id: "oilRise", kind: "rise", warning: 1, alarm: 2, onDelaySec: 0, minRunSec: 1800 });
    const state = createRuleState(set);
    const out: RuleEvent[] = [];
    for (let i = 0; i < 120; i++) {
      out.push(
        ...evaluate(state, { ts: T0 + i * 10 * SEC, values: { running: 1, oilTemperature: 25 + i * 0.5 } }),
      );
    }
    assert.deepEqual(out, []);
  });

  it("re-alarm repeats after the re-alarm time while active", () => {
    const set = rule({ reAlarmSec: 600, onDelaySec: 0 });
    // 30 min at 97 °C sampled every minute, then cleared.
    const values = [...Array<number>(31).fill(97), ...Array<number>(5).fill(80)];
    const events = run(set, values, 60);
    assert.deepEqual(summary(events), [
      "raise:alarm",
      "realarm:alarm",
      "realarm:alarm",
      "realarm:alarm",
      "clear:alarm",
    ]);
    assert.deepEqual(
      events.slice(1, 4).map((e) => (e.ts - T0) / 60_000),
      [10, 20, 30],
    );
    assert.equal(events[1]!.message, "oil temperature 97 °C still above the alarm limit 95 °C for 10 min");
    // reAlarmSec 0 never repeats.
    assert.deepEqual(summary(run(rule({ onDelaySec: 0 }), values, 60)), ["raise:alarm", "clear:alarm"]);
  });

  it("missing values do not clear an active condition", () => {
    const values = [97, 97, 97, 97, ...Array<undefined>(30).fill(undefined), 97];
    const events = run(rule({}), values);
    assert.deepEqual(summary(events), ["raise:alarm"]);
    const state = createRuleState(rule({}));
    for (let i = 0; i < 4; i++) evaluate(state, { ts: T0 + i * 10 * SEC, values: { oilTemperature: 97 } });
    for (let i = 4; i < 40; i++) evaluate(state, { ts: T0 + i * 10 * SEC, values: { power: 2 } });
    assert.equal(activeSeverity(state, "oilHot"), "alarm");
  });

  it("ignores out-of-order and duplicate samples safely", () => {
    const state = createRuleState(rule({ onDelaySec: 0, offDelaySec: 0 }));
    assert.deepEqual(summary([...evaluate(state, { ts: T0 + 100 * SEC, values: { oilTemperature: 97 } })]), [
      "raise:alarm",
    ]);
    // An older sample with a normal value must not clear it, nor must a duplicate timestamp.
    assert.deepEqual(evaluate(state, { ts: T0 + 50 * SEC, values: { oilTemperature: 20 } }), []);
    assert.deepEqual(evaluate(state, { ts: T0 + 100 * SEC, values: { oilTemperature: 20 } }), []);
    assert.deepEqual(evaluate(state, { ts: Number.NaN, values: { oilTemperature: 20 } }), []);
    assert.equal(activeSeverity(state, "oilHot"), "alarm");
    assert.deepEqual(summary([...evaluate(state, { ts: T0 + 101 * SEC, values: { oilTemperature: 20 } })]), [
      "clear:alarm",
    ]);
  });

  it("a disabled rule never fires", () => {
    assert.deepEqual(run(rule({ enabled: false, onDelaySec: 0 }), [99, 99, 99]), []);
  });
});

describe("rule defaults and overrides", () => {
  it("defaults exist for all three models", () => {
    for (const model of MODEL_NAMES) {
      const set = defaultRules(model);
      assert.equal(set.model, model);
      const ids = set.rules.map((r) => r.id);
      for (const id of ["oilTemperatureHigh", "oilTemperatureRise", "vibrationHigh", "exhaustPressureHigh"]) {
        assert.ok(ids.includes(id), `${model} has ${id}`);
      }
      // Every default passes the same validation as an override would.
      assert.deepEqual(applyOverrides(set, {}).rules, set.rules);
    }
    const screw = defaultRules("SCREW100").rules.find((r) => r.id === "oilTemperatureHigh")!;
    assert.equal(screw.alarm, 80, "screw alarms at its 80 °C warning temperature, before the 85 °C trip");
    const rv = defaultRules("RV100").rules.find((r) => r.id === "vibrationHigh")!;
    assert.equal(rv.alarm, 4.5, "ISO 10816-1 class I C/D");
  });

  it("a healthy pump at its normal operating point raises nothing with the defaults", () => {
    const normal: Record<string, Record<string, number>> = {
      RV100: {
        oilTemperature: 84,
        motorTemperature: 70,
        motorCurrent: 4.6,
        vibration: 1.6,
        exhaustPressure: 1100,
      },
      SCREW100: { oilTemperature: 69, power: 4.2, vibration: 2.0, exhaustPressure: 1060 },
      CLAW100: { oilTemperature: 96, power: 2.7, vibration: 3.0, exhaustPressure: 1060 },
    };
    for (const model of MODEL_NAMES) {
      const state = createRuleState(defaultRules(model));
      for (let i = 0; i < 3 * 360; i++) {
        const values = { ...normal[model]!, ambientTemperature: 25, running: 1 };
        assert.deepEqual(evaluate(state, { ts: T0 + i * 10 * SEC, values }), [], model);
      }
    }
  });

  it("overrides change a limit", () => {
    const set = rulesFor("RV100", { rules: { oilTemperatureHigh: { alarm: 105, onDelaySec: 0 } } });
    const r = set.rules.find((x) => x.id === "oilTemperatureHigh")!;
    assert.equal(r.alarm, 105);
    assert.equal(r.onDelaySec, 0);
    assert.equal(r.warning, defaultRules("RV100").rules.find((x) => x.id === "oilTemperatureHigh")!.warning);
    const state = createRuleState(set);
    const e = evaluate(state, { ts: T0, values: { oilTemperature: 101 } });
    assert.deepEqual(summary([...e]), ["raise:warning"], "101 °C is now only a warning");
    // The defaults are untouched.
    assert.equal(defaultRules("RV100").rules.find((x) => x.id === "oilTemperatureHigh")!.alarm, 100);
  });

  it("overrides can disable a level, disable a rule and add a rule", () => {
    const set = rulesFor("CLAW100", {
      rules: {
        vibrationHigh: { warning: null },
        ambientTemperatureLow: { enabled: false },
        inletPressureHigh: { signal: "inletPressure", kind: "high", alarm: 500, onDelaySec: 60 },
      },
    });
    assert.equal(set.rules.find((r) => r.id === "vibrationHigh")!.warning, null);
    assert.equal(set.rules.find((r) => r.id === "ambientTemperatureLow")!.enabled, false);
    const added = set.rules.find((r) => r.id === "inletPressureHigh")!;
    assert.equal(added.alarm, 500);
    assert.equal(added.deadband, 0);
  });

  it("bad overrides are rejected with a message naming the path", () => {
    const cases: [unknown, RegExp][] = [
      [
        { rules: { oilTemperatureHigh: { alarm: "95" } } },
        /^rules\.oilTemperatureHigh\.alarm: must be a finite number/,
      ],
      [
        { rules: { oilTemperatureHigh: { alarm: 50 } } },
        /^rules\.oilTemperatureHigh\.alarm: must be above the warning limit 95/,
      ],
      [
        { rules: { oilTemperatureHigh: { onDelaySec: -1 } } },
        /^rules\.oilTemperatureHigh\.onDelaySec: must be at least 0/,
      ],
      [
        { rules: { oilTemperatureHigh: { deadbnd: 2 } } },
        /^rules\.oilTemperatureHigh\.deadbnd: unknown field/,
      ],
      [
        { rules: { oilTemperatureHigh: { kind: "sideways" } } },
        /^rules\.oilTemperatureHigh\.kind: must be one of/,
      ],
      [{ rules: { oilTemperatureHigh: { warning: null, alarm: null } } }, /both null/],
      [
        { rules: { oilTemperatureRise: { windowSec: 0 } } },
        /^rules\.oilTemperatureRise\.windowSec: must be greater than 0/,
      ],
      [
        { rules: { oilTemperatureRise: { alarm: -2, warning: -3 } } },
        /^rules\.oilTemperatureRise\.warning: a rate limit/,
      ],
      [
        { rules: { ambientTemperatureLow: { alarm: 10 } } },
        /^rules\.ambientTemperatureLow\.alarm: must be below/,
      ],
      [
        { rules: { oilTemperatureHigh: { enabled: "yes" } } },
        /^rules\.oilTemperatureHigh\.enabled: must be true or false/,
      ],
      [{ rules: { nosuch: { alarm: 3 } } }, /^rules\.nosuch\.signal: required for a new rule/],
      [{ rules: { oilTemperatureHigh: 5 } }, /^rules\.oilTemperatureHigh: must be an object/],
      [{ rules: [] }, /^rules: must be an object/],
      [{ limits: {} }, /^limits: unknown field/],
    ];
    for (const [overrides, pattern] of cases) {
      assert.throws(
        () => rulesFor("RV100", overrides),
        (err: unknown) => {
          assert.ok(err instanceof PumpwatchError);
          assert.equal(err.code, "BAD_REQUEST");
          assert.match(err.message, pattern);
          return true;
        },
        JSON.stringify(overrides),
      );
    }
  });

  it("formats durations for messages", () => {
    assert.equal(formatDuration(45_000), "45 s");
    assert.equal(formatDuration(120_000), "2 min");
    assert.equal(formatDuration(3.5 * 3600_000), "3.5 h");
  });
});
