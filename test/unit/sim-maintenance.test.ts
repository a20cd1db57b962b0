import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createFleet, type SimBatch } from "../../src/sim/fleet.js";
import { parseScenario } from "../../src/sim/scenario.js";
import { Sig, Tru } from "../../src/sim/signals.js";
import type { TruthEvent } from "../../src/sim/truth.js";

// Maintenance actions reset hidden states and end the faults they repair (pump-domain.md §6.8).
const QUIET = { meanC: 25, dailyAmplitudeK: 0, seasonalAmplitudeK: 0, noiseK: 0 };

function run(
  asset: Record<string, unknown>,
  hours: number,
  sensors: object = { ideal: true },
): { b: SimBatch; ev: TruthEvent[] } {
  const fleet = createFleet(
    parseScenario({
      fleet: { name: "t", start: "2026-03-21T00:00:00Z", seed: 2, environment: QUIET, sensors },
      companies: [
        {
          id: "c",
          name: "c",
          assets: [
            {
              id: "a",
              model: "RV100",
              duty: { type: "continuous", pressure: 200, variability: 0 },
              ...asset,
            },
          ],
        },
      ],
    }),
  );
  const [b] = [...fleet.backfill({ to: fleet.start + hours * 3_600_000, batchSteps: hours * 60 })];
  return { b: b!, ev: b!.events };
}

const at = (b: SimBatch, field: number, minute: number): number => b.truth[field]![minute]!;
const kinds = (ev: TruthEvent[]): string[] => ev.map((e) => (e.faultId ? `${e.kind}:${e.faultId}` : e.kind));

describe("simulated maintenance", () => {
  it("an exhaust-filter change resets saturation, repairs F1 and brings exhaust pressure back", () => {
    const { b, ev } = run(
      {
        initial: { filterSaturation: 0.6 },
        faults: [{ id: "f1", type: "exhaustFilterSaturation", at: "+0h", kappa: 1000 }],
        maintenance: [{ at: "+3h", action: "exhaustFilterChange" }],
      },
      4,
    );
    assert.ok(at(b, Tru.filterSaturation, 178) > 0.85);
    assert.ok(at(b, Tru.filterSaturation, 181) < 0.01);
    assert.ok(at(b, Sig.exhaustPressure, 178) - at(b, Sig.exhaustPressure, 185) > 50);
    assert.deepEqual(kinds(ev).slice(-2), ["maintenance", "repair:f1"]);
  });

  it("an oil change restores oil quality and level and repairs oil ageing and a leak", () => {
    const { b, ev } = run(
      {
        faults: [
          { id: "age", type: "oilAgeing", at: "+0h", kappa: 300 },
          { id: "leak", type: "oilLeak", at: "+0h", ratePerDay: 1 },
        ],
        maintenance: [{ at: "+5h", action: "oilChange" }],
      },
      8,
    );
    assert.ok(at(b, Tru.oilQuality, 298) < 0.8 && at(b, Tru.oilLevel, 298) < 0.85);
    assert.ok(at(b, Tru.oilLevel, 300) > 0.9999, "refilled");
    assert.ok(at(b, Tru.oilLevel, 479) > 0.999, "the leak is gone, only normal carry-over (0.1 %/day)");
    assert.ok(at(b, Tru.oilQuality, 479) > 0.99, "ageing back at its normal slow rate");
    assert.ok(kinds(ev).includes("repair:age") && kinds(ev).includes("repair:leak"));
  });

  it("an overhaul clears bearing damage and deposits and sets a new baseline within ±20 %", () => {
    const { b } = run(
      {
        faults: [{ type: "bearingDegradation", at: "+0h", pfHours: 6 }],
        maintenance: [{ at: "+5h", action: "overhaul" }],
      },
      6,
    );
    assert.ok(at(b, Tru.bearingDamage, 298) > 2);
    assert.equal(at(b, Tru.bearingDamage, 301), 0);
    const v = at(b, Sig.vibration, 330);
    assert.ok(v > 0.8 * 1.25 && v < 1.2 * 1.4, `new baseline ${v} mm/s`);
  });

  it("a cooling repair restores cooling and restarts a pump stopped by its thermal trip", () => {
    const { b, ev } = run(
      {
        faults: [{ id: "fan", type: "coolingFailure", at: "+1h" }],
        maintenance: [{ at: "+3h", action: "coolingRepair" }],
      },
      5,
    );
    assert.equal(at(b, Tru.tripped, 170), 1);
    assert.equal(at(b, Sig.running, 170), 0);
    assert.equal(at(b, Tru.coolingHealth, 185), 1);
    assert.equal(at(b, Sig.running, 185), 1);
    assert.deepEqual(kinds(ev), [
      "onset:fan",
      "detectable:fan",
      "trip",
      "failure:fan",
      "maintenance",
      "repair:fan",
      "restart",
    ]);
  });

  it("a leak repair brings the base pressure back", () => {
    const { b } = run(
      {
        faults: [{ type: "leak", at: "+1h", fraction: 0.5 }],
        maintenance: [{ at: "+2h", action: "leakRepair" }],
      },
      3,
    );
    const before = at(b, Sig.inletPressure, 50);
    assert.ok(at(b, Sig.inletPressure, 100) > before + 50);
    assert.ok(Math.abs(at(b, Sig.inletPressure, 150) - before) < 1);
    assert.equal(at(b, Tru.leakThroughput, 150), 0);
  });

  it("a sensor replacement ends a stuck sensor on that signal only", () => {
    const { b, ev } = run(
      {
        faults: [
          { id: "stuck-oil", type: "sensorStuck", at: "+1h", signal: "oilTemperature" },
          { id: "stuck-vib", type: "sensorStuck", at: "+1h", signal: "vibration" },
        ],
        maintenance: [{ at: "+2h", action: "sensorReplacement", signal: "oilTemperature" }],
      },
      3,
      { ideal: true },
    );
    const oil = b.signals.indexOf("oilTemperature");
    assert.notEqual(b.telemetry[oil]![150], b.telemetry[oil]![110], "the oil sensor reads again");
    assert.ok(kinds(ev).includes("repair:stuck-oil"));
    assert.ok(!kinds(ev).includes("repair:stuck-vib"));
  });
});
