import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createFleet, type SimBatch } from "../../src/sim/fleet.js";
import { deriveModel } from "../../src/sim/models.js";
import { parseScenario } from "../../src/sim/scenario.js";
import { Sig, Tru } from "../../src/sim/signals.js";
import type { TruthEvent } from "../../src/sim/truth.js";

// Each fault moves the signals its row of the fault-signature matrix says (pump-domain.md §6.9).
// Every test runs a healthy twin and a faulted twin with the same seed, so process and weather
// are identical and every difference is the fault's.
const QUIET = { meanC: 25, dailyAmplitudeK: 0, seasonalAmplitudeK: 0, noiseK: 0 };

interface Twin {
  base: SimBatch;
  sick: SimBatch;
  events: TruthEvent[];
}

function twin(asset: Record<string, unknown>, faults: object[], hours: number, extra: object = {}): Twin {
  const make = (id: string, f: object[]) => ({ ...asset, id, seed: 5, faults: f, ...extra });
  const fleet = createFleet(
    parseScenario({
      fleet: {
        name: "t",
        start: "2026-03-21T00:00:00Z",
        seed: 1,
        environment: QUIET,
        sensors: { ideal: true },
      },
      companies: [{ id: "c", name: "c", assets: [make("base", []), make("sick", faults)] }],
    }),
  );
  const got = new Map<string, SimBatch>();
  const events: TruthEvent[] = [];
  for (const b of fleet.backfill({ to: fleet.start + hours * 3_600_000, batchSteps: hours * 60 })) {
    got.set(b.assetId, b);
    events.push(...b.events);
  }
  return { base: got.get("base")!, sick: got.get("sick")!, events };
}

/** Mean of a truth column over minutes [from, to) of the run. */
function mean(b: SimBatch, field: number, fromMin: number, toMin: number): number {
  let s = 0;
  for (let k = fromMin; k < toMin; k++) s += b.truth[field]![k]!;
  return s / (toMin - fromMin);
}

/** Faulted minus healthy mean over the window. */
function delta(t: Twin, field: number, fromMin: number, toMin: number): number {
  return mean(t.sick, field, fromMin, toMin) - mean(t.base, field, fromMin, toMin);
}

function kinds(t: Twin, faultId?: string): string[] {
  return t.events.filter((e) => faultId === undefined || e.faultId === faultId).map((e) => e.kind);
}

const rv = (pressure: number) => ({ model: "RV100", duty: { type: "continuous", pressure, variability: 0 } });

describe("simulated faults (§6.9 signature matrix)", () => {
  it("F1 exhaust clogging: exhaust pressure ↑↑ at the same throughput, power ↑, oil temperature ↑ small", () => {
    const t = twin(rv(200), [{ id: "f1", type: "exhaustFilterSaturation", at: "+1h", kappa: 2000 }], 8, {
      initial: { filterSaturation: 0.3 },
    });
    assert.ok(delta(t, Sig.exhaustPressure, 420, 480) > 100, "p_ex ↑↑");
    assert.ok(delta(t, Sig.power, 420, 480) > 0.02, "P_el ↑ at mid pressure");
    const dT = delta(t, Sig.oilTemperature, 420, 480);
    assert.ok(dT > 0 && dT < 5, `T_b ↑ small: ${dT}`);
    assert.deepEqual(kinds(t, "f1"), ["onset", "detectable", "failure"]);
  });

  it("F1 exhaust clogging leaves the base pressure alone and lengthens evacuation only a little", () => {
    const base = twin(rv(0.5), [], 2, { initial: { filterSaturation: 1 } });
    const clean = twin(rv(0.5), [], 2);
    const pBase = mean(base.sick, Sig.inletPressure, 60, 120);
    assert.ok(Math.abs(pBase / mean(clean.sick, Sig.inletPressure, 60, 120) - 1) < 0.01, "base p_in –");
    const d2 = { model: "RV100", duty: { type: "packaging", schedule: "always" } };
    const evacClogged = mean(
      twin(d2, [], 1, { initial: { filterSaturation: 1 } }).sick,
      Tru.evacuationTime,
      30,
      60,
    );
    const evacClean = mean(twin(d2, [], 1).sick, Tru.evacuationTime, 30, 60);
    assert.ok(
      evacClogged > evacClean && evacClogged < 1.25 * evacClean,
      `evacuation ${evacClean} → ${evacClogged} s`,
    );
  });

  it("F1b filter break-through: exhaust pressure ↓↓, power ↓, oil level falls", () => {
    const t = twin(rv(200), [{ id: "f1b", type: "filterBreakthrough", at: "+1h" }], 6, {
      initial: { filterSaturation: 0.5 },
    });
    assert.ok(delta(t, Sig.exhaustPressure, 120, 360) < -15, "p_ex ↓↓");
    assert.ok(delta(t, Sig.power, 120, 360) < 0, "P_el ↓");
    assert.ok(
      t.sick.truth[Tru.oilLevel]![359]! < t.base.truth[Tru.oilLevel]![359]! - 0.015,
      "carry-over ×100",
    );
    assert.deepEqual(kinds(t, "f1b").slice(0, 2), ["onset", "detectable"]);
  });

  it("F2 oil ageing: oil temperature ↑, base pressure ↑, power ↑", () => {
    const t = twin(rv(0.5), [{ id: "f2", type: "oilAgeing", at: "+0h", kappa: 600 }], 10);
    assert.ok(t.sick.truth[Tru.oilQuality]![599]! < 0.5);
    assert.ok(delta(t, Sig.oilTemperature, 540, 600) > 0.5, "T_b ↑");
    assert.ok(
      delta(t, Sig.inletPressure, 540, 600) > 0.1 * mean(t.base, Sig.inletPressure, 540, 600),
      "p_ult ↑",
    );
    assert.ok(delta(t, Sig.power, 540, 600) > 0, "P_el ↑");
  });

  it("F3 low oil: oil temperature ↑↑ once the level is below half, vibration ↑ late", () => {
    const t = twin(rv(100), [{ id: "f3", type: "oilLeak", at: "+0h", ratePerDay: 2 }], 10);
    assert.ok(t.sick.truth[Tru.oilLevel]![599]! < 0.25);
    assert.ok(
      Math.abs(delta(t, Sig.oilTemperature, 60, 120)) < 0.05,
      "no effect while the level is above half",
    );
    assert.ok(delta(t, Sig.oilTemperature, 540, 600) > 5, "T_b ↑↑");
    assert.ok(delta(t, Sig.vibration, 540, 600) > 0.3, "vibration ↑ late");
    assert.deepEqual(kinds(t, "f3"), ["onset", "detectable", "failure"]);
  });

  it("F4 fan failure: oil temperature climbs fast towards a much higher equilibrium, power barely moves", () => {
    const t = twin(rv(200), [{ id: "f4", type: "coolingFailure", at: "+2h" }], 4);
    const rate = (t.sick.truth[Sig.oilTemperature]![130]! - t.sick.truth[Sig.oilTemperature]![120]!) / 10;
    assert.ok(rate > 0.5 && rate < 3, `dT/dt = ${rate} K/min (§6.7: ≈1–2 K/min)`);
    assert.ok(delta(t, Sig.oilTemperature, 140, 150) > 10, "T_b ↑↑ fast");
    const dP = delta(t, Sig.power, 120, 135) / mean(t.base, Sig.power, 120, 135); // before the trip
    assert.ok(Math.abs(dP) < 0.03, `P_el – (${dP})`);
    const ev = t.events.filter((e) => e.assetId === "sick").map((e) => e.kind);
    assert.deepEqual(ev, ["onset", "detectable", "trip", "failure"], "trips at the 110 °C limit");
  });

  it("F4b cooling-water loss on a screw: housing temperature ramps > 1 K/min and trips at 85 °C", () => {
    const screw = { model: "SCREW100", duty: { type: "continuous", pressure: 500, variability: 0 } };
    const t = twin(screw, [{ id: "f4b", type: "coolingFailure", at: "+1h" }], 3);
    const rate = (t.sick.truth[Sig.oilTemperature]![65]! - t.sick.truth[Sig.oilTemperature]![60]!) / 5;
    assert.ok(rate > 1, `dT/dt = ${rate} K/min`);
    const trip = t.events.find((e) => e.kind === "trip")!;
    const failure = t.events.find((e) => e.kind === "failure")!;
    assert.equal(trip.reason, "thermal");
    assert.equal(failure.code, "F4");
    const tripMin = (trip.ts - Date.parse("2026-03-21T00:00:00Z")) / 60_000 - 60;
    assert.ok(tripMin > 4 && tripMin < 30, `trip ${tripMin} min after onset (§6.7 ≈8–15 min at 2–3.5 kW)`);
    assert.ok(t.sick.truth[Sig.oilTemperature]![tripMin + 58]! > 80, "crossed the 80 °C warning first");
    assert.equal(t.sick.truth[Sig.running]![179], 0, "no automatic restart after a trip");
  });

  it("F6 leak: base pressure ↑↑, power ↑, temperature ↑ small; a receiver runs longer", () => {
    const t = twin(rv(50), [{ id: "f6", type: "leak", at: "+1h", fraction: 0.3 }], 3);
    assert.ok(delta(t, Sig.inletPressure, 120, 180) > 10, "p_in ↑↑");
    assert.ok(delta(t, Sig.power, 120, 180) > 0, "P_el ↑");
    const dT = delta(t, Sig.oilTemperature, 120, 180);
    assert.ok(dT > 0 && dT < 5, `T_b ↑ small ${dT}`);
    const d3 = twin(
      { model: "CLAW100", duty: { type: "receiver" } },
      [{ type: "leak", at: "+0h", fraction: 0.4 }],
      12,
    );
    assert.ok(delta(d3, Sig.running, 0, 720) > 0.1, "duty ↑");
  });

  it("F7 bearing degradation: vibration rises exponentially, bearing heat only late", () => {
    const t = twin(rv(100), [{ id: "f7", type: "bearingDegradation", at: "+0h", pfHours: 10 }], 11);
    const d = (k: number) => t.sick.truth[Tru.bearingDamage]![k]!;
    assert.ok(d(480) / d(240) > 3 * (d(240) / d(120)) ** 0.5, "accelerating growth");
    assert.ok(delta(t, Sig.vibration, 540, 600) > 3, "vibration ↑↑");
    assert.ok(Math.abs(delta(t, Sig.oilTemperature, 120, 180)) < 0.1, "no heat early");
    assert.ok(delta(t, Sig.oilTemperature, 570, 600) > 2, "heat late");
    assert.deepEqual(kinds(t, "f7"), ["onset", "detectable", "failure"]);
  });

  it("F8 deposits: power ↑↑ and vibration ↑ linearly on a claw", () => {
    const claw = { model: "CLAW100", duty: { type: "continuous", pressure: 300, variability: 0 } };
    const t = twin(claw, [{ id: "f8", type: "deposits", at: "+0h", hoursToFailure: 10 }], 10);
    assert.ok(
      delta(t, Sig.power, 540, 600) / mean(t.base, Sig.power, 540, 600) > 0.1,
      "P_el ↑↑ (§6.7 +5…+20 %)",
    );
    const v = (k: number) => t.sick.truth[Sig.vibration]![k]!;
    assert.ok(v(599) - v(300) > 1, "vibration ↑");
    assert.ok(Math.abs(t.sick.truth[Tru.deposits]![299]! - 0.5) < 0.02, "m_dep linear in running hours");
  });

  it("F9 vane wear raises the base pressure", () => {
    const t = twin(rv(0.5), [{ type: "vaneWear", at: "+0h", kappa: 4000 }], 6);
    assert.ok(t.sick.truth[Tru.vaneWear]![359]! > 0.99);
    // p_ult × (1 + 9·w_v²) = ×10 (E1), and the worn pump is 15 % slower.
    assert.ok(mean(t.sick, Sig.inletPressure, 300, 360) > 2.5 * mean(t.base, Sig.inletPressure, 300, 360));
  });

  it("F10 motor overload: current above rated, then the overload trip", () => {
    const t = twin(
      rv(100),
      [{ id: "f10", type: "motorOverload", at: "+1h", severity: 0.6, rampHours: 1 }],
      3,
    );
    const iRated = deriveModel("RV100").p.iRatedA;
    const over = Array.from(t.sick.truth[Sig.motorCurrent]!).findIndex((i) => i > iRated);
    assert.ok(over > 60 && over < 120, `above rated from minute ${over}`);
    const trip = t.events.find((e) => e.kind === "trip")!;
    assert.equal(trip.reason, "overload");
    assert.ok(kinds(t, "f10").includes("failure"));
  });
});
