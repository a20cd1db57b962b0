import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  diagnose,
  FAULT_ACTIONS,
  FAULT_NAMES,
  FAULT_SIGNATURES,
  SIGNATURE_SIGNALS,
} from "../../src/analytics/diagnosis.js";
import type { Segment } from "../../src/analytics/types.js";

const anomaly = (z: Record<string, number>, values?: Record<string, number>) =>
  diagnose({ trigger: "anomaly", z, ...(values ? { values } : {}) });

/** All residual signals observed and normal, with the given deviations. */
const zOf = (dev: Record<string, number>) => ({
  ...Object.fromEntries(SIGNATURE_SIGNALS.map((s) => [s, 0.3])),
  ...dev,
});

describe("diagnose (fault-signature matrix, pump-domain.md §6.9)", () => {
  it("reads the typical residual patterns", () => {
    const cases: [string, Record<string, number>][] = [
      ["F1", { exhaustPressure: 12, power: 3, motorCurrent: 3, oilTemperature: 2 }],
      ["F1b", { exhaustPressure: -9, power: -4, motorCurrent: -4 }],
      ["F4", { oilTemperature: 40, motorTemperature: 20 }],
      ["F6", { inletPressure: 6, oilTemperature: -2.5 }],
      ["F7", { vibration: 15, power: 2 }],
      ["F8", { power: 9, motorCurrent: 9, vibration: 5, oilTemperature: 4 }],
      ["F5", { inletPressure: -5, exhaustPressure: -5, power: -5, motorCurrent: -5 }],
      ["F10", { motorCurrent: 12, power: 4, motorTemperature: 6 }],
    ];
    for (const [code, dev] of cases) {
      const d = anomaly(zOf(dev));
      assert.equal(d.code, code, `${JSON.stringify(dev)} → ${d.code}`);
      assert.equal(d.cause, FAULT_NAMES[code]);
      assert.ok(d.confidence > 0.5 && d.confidence <= 1, `${code}: ${d.confidence}`);
    }
  });

  it("gives the plain-language action", () => {
    const d = anomaly(zOf({ exhaustPressure: 12, power: 3 }));
    assert.equal(
      d.action,
      "Replace the exhaust filter (oil-mist separator); check the oil level and the gas-ballast valve.",
    );
  });

  it("uses the trigger as a prior: an exhaust-pressure limit points at the filter, a negative step at a break", () => {
    assert.equal(diagnose({ trigger: "rule:exhaustPressureHigh", z: {} }).code, "F1");
    assert.equal(diagnose({ trigger: "forecast:exhaustFilter", z: {} }).code, "F1");
    assert.equal(diagnose({ trigger: "rule:oilTemperatureRise", z: { oilTemperature: 8 } }).code, "F4");
    assert.equal(diagnose({ trigger: "rule:motorCurrentHigh", z: {} }).code, "F10");
    assert.equal(diagnose({ trigger: "anomaly", z: zOf({ exhaustPressure: -8 }) }).code, "F1b");
  });

  it("says unknown when nothing deviates or nothing matches", () => {
    const none = anomaly(zOf({}));
    assert.equal(none.code, "unknown");
    assert.equal(none.confidence, 0);
    assert.equal(anomaly({}).code, "unknown");
  });

  it("considers water in the oil (F12) only for a cold pump (§4.8)", () => {
    const z = zOf({ inletPressure: 6 });
    assert.equal(anomaly(z, { oilTemperature: 75 }).code, "F6");
    assert.equal(anomaly(z, { oilTemperature: 45 }).code, "F12");
  });

  it("names an overload during warm-up a cold start", () => {
    const segment = { state: "warmup" } as Segment;
    const d = diagnose({ trigger: "rule:motorCurrentHigh", z: {}, segment });
    assert.equal(d.code, "F10");
    assert.match(d.action, /^Cold start/);
  });

  it("maps sensor alarms to sensor faults, not machine faults", () => {
    assert.equal(diagnose({ trigger: "sensor:power", z: { power: 20 } }).code, "S2");
    assert.equal(diagnose({ trigger: "sensor:power", z: { power: 4 } }).code, "S3");
    const stuck = diagnose({ trigger: "sensor:oilTemperature", z: {} });
    assert.equal(stuck.code, "S1");
    assert.match(stuck.action, /^oilTemperature: /);
  });

  it("exports a matrix whose every fault has a name and an action", () => {
    for (const code of ["F1", "F1b", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F12"]) {
      assert.ok(FAULT_SIGNATURES[code], code);
    }
    for (const [code, sig] of Object.entries(FAULT_SIGNATURES)) {
      assert.ok(FAULT_NAMES[code] && FAULT_ACTIONS[code], code);
      for (const s of Object.keys(sig)) assert.ok((SIGNATURE_SIGNALS as readonly string[]).includes(s));
    }
    for (const code of ["S1", "S2", "S3", "unknown"]) assert.ok(FAULT_NAMES[code] && FAULT_ACTIONS[code]);
  });
});
