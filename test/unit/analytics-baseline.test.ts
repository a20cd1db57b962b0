import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RESIDUAL_SIGNALS, ResidualModel, rebaselineSignals } from "../../src/analytics/baseline.js";
import { Segmenter } from "../../src/analytics/segment.js";
import type { Residuals } from "../../src/analytics/types.js";
import type { Sample } from "../../src/core/sample.js";
import { batchSamples, createFleet, MAINTENANCE_ACTIONS, parseScenario } from "../../src/sim/index.js";
import type { ModelName } from "../../src/sim/models.js";

const HOUR = 3_600_000;
const START = "2026-03-23T00:00:00Z";
const T0 = Date.parse(START);

/** 1-min backfill of several assets of one scenario, samples per asset id. */
function simulate(assets: object[], hours: number, seed = 9): Map<string, Sample[]> {
  const fleet = createFleet(
    parseScenario({ fleet: { name: "t", start: START, seed }, companies: [{ id: "c", name: "c", assets }] }),
  );
  const out = new Map<string, Sample[]>();
  for (const b of fleet.backfill({ to: fleet.start + hours * HOUR })) {
    const list = out.get(b.assetId) ?? [];
    list.push(...batchSamples(b));
    out.set(b.assetId, list);
  }
  return out;
}

function residuals(model: ModelName, samples: readonly Sample[], rm = new ResidualModel(model)): Residuals[] {
  const seg = new Segmenter(model);
  const out: Residuals[] = [];
  for (const s of samples) {
    const g = seg.update(s);
    const r = g && rm.update(s, g);
    if (r) out.push(r);
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Median z of `signal` over rows in [fromH, toH) hours after the start. */
function medianZ(rows: readonly Residuals[], signal: string, fromH: number, toH: number): number {
  const zs = rows
    .filter((r) => r.ts >= T0 + fromH * HOUR && r.ts < T0 + toH * HOUR && signal in r.z)
    .map((r) => r.z[signal]!);
  assert.ok(zs.length > 10, `${signal}: ${zs.length} rows in ${fromH}–${toH} h`);
  return median(zs);
}

const rv = (pressure: number) => ({ model: "RV100", duty: { type: "continuous", pressure } });

describe("ResidualModel (pump-domain.md §4.2)", () => {
  it("gives roughly standard z on healthy pumps of every model and duty after commissioning", () => {
    const assets = [
      { id: "rv-cont", ...rv(200) },
      { id: "rv-pack", model: "RV100", duty: { type: "packaging", schedule: "always" } },
      { id: "screw-cont", model: "SCREW100", duty: { type: "continuous", pressure: 50 } },
      { id: "claw-recv", model: "CLAW100", duty: { type: "receiver", demand: 0.6 } },
    ];
    const runs = simulate(assets, 24 * 6);
    const pooled = new Map<string, number[]>();
    for (const a of assets) {
      const rows = residuals(a.model as ModelName, runs.get(a.id)!);
      assert.ok(rows.length > 500, `${a.id}: ${rows.length} evaluated rows`);
      for (const r of rows) {
        for (const [s, z] of Object.entries(r.z)) {
          const list = pooled.get(s) ?? [];
          list.push(z);
          pooled.set(s, list);
        }
      }
    }
    assert.deepEqual([...pooled.keys()].sort(), [...RESIDUAL_SIGNALS].sort());
    for (const [s, zs] of pooled) {
      const tail = zs.filter((z) => Math.abs(z) > 4).length / zs.length;
      assert.ok(Math.abs(median(zs)) < 0.5, `${s}: median z ${median(zs)}`);
      assert.ok(tail < 0.01, `${s}: share |z| > 4 = ${tail}`);
    }
  });

  describe("faults on an RV100 at 200 hPa (onset at 60 h, after the 48-h commissioning)", () => {
    const runs = simulate(
      [
        {
          id: "f1",
          ...rv(200),
          initial: { filterSaturation: 0.3 },
          faults: [{ type: "exhaustFilterSaturation", at: "+60h", kappa: 1000 }],
        },
        { id: "f4", ...rv(200), faults: [{ type: "coolingFailure", at: "+60h", severity: 0.5 }] },
        { id: "f6", ...rv(200), faults: [{ type: "leak", at: "+60h", fraction: 0.5 }] },
      ],
      76,
    );
    const rows = (id: string) => residuals("RV100", runs.get(id)!);

    it("exhaust-filter saturation (F1): a growing positive exhaust-pressure residual", () => {
      const r = rows("f1");
      const before = medianZ(r, "exhaustPressure", 50, 60);
      const series = [64, 68, 72, 76].map((h) => medianZ(r, "exhaustPressure", h - 4, h));
      assert.ok(Math.abs(before) < 1.5, `before onset ${before}`);
      for (let i = 1; i < series.length; i++) assert.ok(series[i]! > series[i - 1]!, `growing: ${series}`);
      assert.ok(series.at(-1)! > 10, `${series}`);
      const last = r.at(-1)!;
      assert.ok(last.residual["exhaustPressure"]! > 100, "residual in hPa");
    });

    it("cooling failure (F4): a large positive oil-temperature residual", () => {
      const r = rows("f4");
      assert.ok(Math.abs(medianZ(r, "oilTemperature", 50, 60)) < 1.5);
      assert.ok(medianZ(r, "oilTemperature", 61, 64) > 20);
      assert.ok(medianZ(r, "motorTemperature", 61, 64) > 5);
      assert.ok(Math.abs(medianZ(r, "exhaustPressure", 61, 64)) < 2);
    });

    it("leak (F6): a positive inlet (base-pressure) residual, residual in hPa", () => {
      const r = rows("f6");
      assert.ok(Math.abs(medianZ(r, "inletPressure", 50, 60)) < 1.5);
      assert.ok(medianZ(r, "inletPressure", 61, 64) > 3);
      const after = r.filter((x) => x.ts > T0 + 61 * HOUR);
      assert.ok(median(after.map((x) => x.residual["inletPressure"]!)) > 50, "≈ +50 % of 200 hPa");
    });
  });

  it("is not ready before commissioning ends; rebaseline restarts chosen signals; memory stays bounded", () => {
    const samples = simulate([{ id: "a", ...rv(100) }], 60).get("a")!;
    const rm = new ResidualModel("RV100", { commissioningHours: 24, bufferSize: 256 });
    const seg = new Segmenter("RV100");
    let firstTs = Number.NaN;
    for (const s of samples) {
      const g = seg.update(s)!;
      const r = rm.update(s, g);
      if (r && Number.isNaN(firstTs)) firstTs = r.ts;
      if (s.ts % HOUR === 0) {
        for (const l of Object.values(rm.toJSON().learners)) assert.ok(l.buf.length <= 2 * 256);
      }
      if (s.ts === T0 + 40 * HOUR) {
        assert.ok(rm.isReady() && rm.isReady("exhaustPressure"));
        rm.rebaseline(s.ts, ["exhaustPressure"]);
        assert.equal(rm.isReady("exhaustPressure"), false);
        assert.equal(rm.isReady("power"), true);
      }
    }
    const hoursToReady = (firstTs - T0) / HOUR;
    assert.ok(hoursToReady > 24 && hoursToReady < 27, `first residuals after ${hoursToReady} h`);
    assert.equal(rm.isReady("exhaustPressure"), false, "20 h after the rebaseline: still learning");
    assert.equal(rm.isReady("nonsense"), false);
    assert.ok(JSON.stringify(rm).length < 100_000);
  });

  it("maps maintenance actions to the signals to re-learn (§6.8)", () => {
    assert.deepEqual(rebaselineSignals("oilChange"), ["oilTemperature", "motorTemperature", "power"]);
    assert.deepEqual(rebaselineSignals("exhaustFilterChange"), ["exhaustPressure", "power", "motorCurrent"]);
    assert.deepEqual(rebaselineSignals("leakRepair"), ["inletPressure"]);
    assert.deepEqual(rebaselineSignals("coolingRepair"), []);
    assert.deepEqual(rebaselineSignals("overhaul"), [...RESIDUAL_SIGNALS]);
    assert.deepEqual(rebaselineSignals("sensorReplacement"), [...RESIDUAL_SIGNALS]);
    for (const a of MAINTENANCE_ACTIONS) assert.ok(Array.isArray(rebaselineSignals(a)));
  });

  it("round-trips through JSON mid-commissioning and when frozen, continuing identically", () => {
    const samples = simulate([{ id: "a", ...rv(150) }], 40).get("a")!;
    for (const cut of [10 * 60, 30 * 60]) {
      const opts = { commissioningHours: 20 };
      const a = new ResidualModel("RV100", opts);
      const seg = new Segmenter("RV100");
      // One segmenter for both halves so the restored model sees the same segments.
      const segs = samples.map((s) => seg.update(s)!);
      for (let i = 0; i < cut; i++) a.update(samples[i]!, segs[i]!);
      const b = ResidualModel.fromJSON(JSON.parse(JSON.stringify(a)));
      assert.deepEqual(b.toJSON(), a.toJSON());
      const outA: (Residuals | null)[] = [];
      const outB: (Residuals | null)[] = [];
      for (let i = cut; i < samples.length; i++) {
        outA.push(a.update(samples[i]!, segs[i]!));
        outB.push(b.update(samples[i]!, segs[i]!));
      }
      assert.deepEqual(outB, outA);
      assert.ok(outA.some((r) => r !== null));
    }
    assert.throws(() => ResidualModel.fromJSON(null), TypeError);
  });
});
