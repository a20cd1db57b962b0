import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createFleet, type SimBatch } from "../../src/sim/fleet.js";
import { deriveModel, LIMITS } from "../../src/sim/models.js";
import { exhaustPressure, filterDrop, gasPower } from "../../src/sim/physics.js";
import { parseScenario } from "../../src/sim/scenario.js";
import { Sig, Tru } from "../../src/sim/signals.js";

// Physics sanity against pump-domain.md §1.2, §1.3, §6.3 and §6.4.
const START = "2026-03-21T00:00:00Z";
const QUIET = { meanC: 25, dailyAmplitudeK: 0, seasonalAmplitudeK: 0, noiseK: 0 };

/** Backfills single-batch truth for the given assets (ideal sensors, constant 25 °C ambient). */
function run(assets: object[], hours: number): Map<string, SimBatch> {
  const fleet = createFleet(
    parseScenario({
      fleet: { name: "t", start: START, seed: 3, environment: QUIET, sensors: { ideal: true } },
      companies: [{ id: "c", name: "c", assets }],
    }),
  );
  const out = new Map<string, SimBatch>();
  for (const b of fleet.backfill({ to: fleet.start + hours * 3_600_000, batchSteps: hours * 60 }))
    out.set(b.assetId, b);
  return out;
}

/** Mean of a truth column over the last `minutes` rows. */
function tail(b: SimBatch, field: number, minutes = 60): number {
  const col = b.truth[field]!;
  let s = 0;
  for (let k = b.length - minutes; k < b.length; k++) s += col[k]!;
  return s / minutes;
}

function steady(model: string, pressures: readonly number[]): Map<number, SimBatch> {
  const assets = pressures.map((p) => ({
    id: `p${String(p).replace(".", "_")}`,
    model,
    duty: { type: "continuous", pressure: p, variability: 0 },
  }));
  const got = run(assets, 12);
  return new Map(pressures.map((p) => [p, got.get(`p${String(p).replace(".", "_")}`)!]));
}

describe("simulator physics", () => {
  it("rotary-vane electrical power peaks between 300 and 400 mbar inlet", () => {
    const pressures = [50, 100, 150, 200, 250, 300, 325, 350, 375, 400, 450, 500, 600, 800, 1000];
    const runs = steady("RV100", pressures);
    let best = 0;
    let bestP = 0;
    for (const [p, b] of runs) {
      const power = tail(b, Sig.power);
      if (power > best) [best, bestP] = [power, p];
    }
    assert.ok(bestP >= 300 && bestP <= 400, `power maximum at ${bestP} hPa`);
    // §6.4: ≈1.2 / 2.7 / 1.5 kW at ultimate / 373 mbar / 1000 mbar.
    assert.ok(Math.abs(best - 2.7) < 0.15, `peak ${best} kW`);
    assert.ok(Math.abs(tail(runs.get(1000)!, Sig.power) - 1.55) < 0.15);
  });

  it("rotary-vane oil temperature settles 40 K over ambient at ultimate and about 80 K at high load", () => {
    const runs = steady("RV100", [0.5, 200, 373, 1000]);
    const t = (p: number): number => tail(runs.get(p)!, Sig.oilTemperature);
    // §1.3 [S10] rise ≈40 K idle / ≈80 K high load; §6.4: ≈61 °C, 82–85 °C, ≈47 °C at 25 °C ambient.
    assert.ok(t(0.5) > 55 && t(0.5) < 66, `ultimate ${t(0.5)}`);
    assert.ok(t(200) > 78 && t(200) < 88, `200 hPa ${t(200)}`);
    assert.ok(t(373) > 76 && t(373) < 88, `373 hPa ${t(373)}`);
    assert.ok(t(1000) > 42 && t(1000) < 52, `1000 hPa ${t(1000)}`);
    for (const p of [0.5, 200, 373, 1000]) {
      const tm = tail(runs.get(p)!, Sig.motorTemperature);
      assert.ok(tm > 40 && tm < 80, `motor frame ${tm} °C at ${p} hPa (§1.3: 50–80 °C typical)`);
    }
  });

  it("the water-cooled screw stays at 60–70 °C and the air-cooled claw runs hot near its ultimate", () => {
    const screw = steady("SCREW100", [1, 373, 1000]);
    for (const [p, b] of screw) {
      const t = tail(b, Sig.oilTemperature);
      assert.ok(t > 58 && t < 70, `screw ${t} °C at ${p} hPa (§6.4 ≈63–69 °C)`);
    }
    const claw = steady("CLAW100", [40, 100, 373]);
    const tc = (p: number): number => tail(claw.get(p)!, Sig.oilTemperature);
    // §6.4 [S4]: ≈82 °C at 373, ≈109 at 100, ≈119 at 40 mbar — rated continuous only down to 100 hPa.
    assert.ok(tc(373) > 74 && tc(373) < 88, `claw 373: ${tc(373)}`);
    assert.ok(tc(100) > 100 && tc(100) < 112, `claw 100: ${tc(100)}`);
    assert.ok(tc(40) > tc(100), "hotter as the heat-carrying gas flow vanishes");
  });

  it("a saturating exhaust filter raises exhaust pressure at reference throughput exponentially", () => {
    const m = deriveModel("RV100");
    const pAtm = 101_325;
    const excess = (s: number): number =>
      exhaustPressure(m, pAtm, filterDrop(m, s, false), m.qRef) - pAtm - m.dpLine;
    assert.ok(Math.abs(excess(0) - 5000) < 1, "Δp_clean = 50 hPa");
    assert.ok(Math.abs(excess(1) - 50_000) < 1, "Δp_red = 500 hPa at s_f = 1");
    const slope1 = Math.log(excess(0.5)) - Math.log(excess(0));
    const slope2 = Math.log(excess(1)) - Math.log(excess(0.5));
    assert.ok(Math.abs(slope1 - slope2) < 1e-9, "ln(Δp) is linear in s_f");
    // E4 × E6 in the running model: filter excess grows exponentially while s_f grows linearly.
    const b = run(
      [
        {
          id: "f1",
          model: "RV100",
          duty: { type: "continuous", pressure: 600, variability: 0 },
          initial: { filterSaturation: 0.1 },
          faults: [{ type: "exhaustFilterSaturation", at: "+0h", kappa: 400 }],
        },
      ],
      24,
    ).get("f1")!;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let k = 60; k < b.length; k += 30) {
      xs.push(b.truth[Tru.filterSaturation]![k]!);
      const q = b.truth[Tru.throughput]![k]! / 10; // Pa·m³/s
      const filterPart = b.truth[Sig.exhaustPressure]![k]! - b.truth[Tru.atmosphericPressure]![k]! - 20;
      ys.push(Math.log(filterPart / (q / m.qRef)));
    }
    assert.ok(xs[xs.length - 1]! - xs[0]! > 0.5, "s_f progressed");
    assert.ok(correlation(xs, ys) > 0.999, `ln(excess/throughput) vs s_f: r = ${correlation(xs, ys)}`);
  });

  it("a clogged exhaust filter is nearly invisible near ultimate pressure", () => {
    const make = (id: string, p: number, s: number) => ({
      id,
      model: "RV100",
      seed: 11,
      duty: { type: "continuous", pressure: p, variability: 0 },
      initial: { filterSaturation: s },
    });
    const got = run([make("u0", 0.5, 0), make("u1", 0.5, 1), make("h0", 1000, 0), make("h1", 1000, 1)], 2);
    const pex = (id: string): number => tail(got.get(id)!, Sig.exhaustPressure);
    assert.ok(pex("u1") - pex("u0") < 1, `at ultimate: +${pex("u1") - pex("u0")} hPa (< sensor σ 2 hPa)`);
    assert.ok(pex("h1") - pex("h0") > 250, `at full throughput: +${pex("h1") - pex("h0")} hPa`);
  });

  it("dry-pump power stays nearly flat at low inlet pressure while the oil-sealed pump's falls", () => {
    const pAtm = 101_325;
    const power = (name: "CLAW100" | "RV100", p: number): number => {
      const m = deriveModel(name);
      const q = m.sNom * (p - m.pUlt);
      return gasPower(m, p, q, exhaustPressure(m, pAtm, m.dpClean, q));
    };
    assert.ok(
      power("CLAW100", 4000) > 0.8 * power("CLAW100", 10_000),
      "back-flow work keeps claw power up (E3)",
    );
    assert.ok(power("RV100", 4000) < 0.7 * power("RV100", 10_000), "isothermal work falls with throughput");
  });

  it("a packaging cycle evacuates 50 L to 5 mbar in 9–10 s with a healthy RV100", () => {
    const b = run([{ id: "d2", model: "RV100", duty: { type: "packaging", schedule: "always" } }], 1).get(
      "d2",
    )!;
    const evac = tail(b, Tru.evacuationTime, 30);
    assert.ok(evac > 9 && evac < 10.5, `evacuation ${evac} s (§6.5)`);
    assert.equal(tail(b, Sig.running, 30), 1);
  });

  it("a central vacuum receiver starts the pump 4 to 15 times per hour", () => {
    const b = run([{ id: "d3", model: "CLAW100", duty: { type: "receiver" } }], 24).get("d3")!;
    let starts = 0;
    for (let k = 0; k < b.length; k++) starts += b.truth[Tru.starts]![k]!;
    const perHour = starts / 24;
    assert.ok(perHour >= 4 && perHour <= 15, `${perHour} starts/h (§6.5 D3)`);
    const low = Math.min(...b.truth[Sig.inletPressure]!);
    assert.ok(low >= 95, `receiver never pumped below p_low: ${low}`);
  });

  it("motor current stays below rated except at the rotary vane's 300–400 mbar power peak", () => {
    const runs = steady("RV100", [100, 373]);
    const iRated = deriveModel("RV100").p.iRatedA;
    assert.ok(tail(runs.get(100)!, Sig.motorCurrent) < iRated);
    const peak = tail(runs.get(373)!, Sig.motorCurrent);
    // §6.4: peak shaft power ≈104 % of rated — service-factor region, below the 1.15 trip.
    assert.ok(peak > iRated && peak < LIMITS.overloadTripFactor * iRated, `I = ${peak} A`);
  });
});

function correlation(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
