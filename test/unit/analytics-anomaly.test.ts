import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AnomalyMonitor, type AnomalyResult } from "../../src/analytics/anomaly.js";
import { ResidualModel } from "../../src/analytics/baseline.js";
import { detectorFromJSON, fitDetector } from "../../src/analytics/detector.js";
import { diagnose } from "../../src/analytics/diagnosis.js";
import { Segmenter } from "../../src/analytics/segment.js";
import type { Residuals } from "../../src/analytics/types.js";
import { batchSamples, createFleet, parseScenario } from "../../src/sim/index.js";
import { rng } from "../helpers/random.js";

const HOUR = 3_600_000;

/** mulberry32 + Box–Muller: seeded standard normals. */
function gaussian(seed: number): () => number {
  const uniform = rng(seed);
  return () => Math.sqrt(-2 * Math.log(Math.max(uniform(), 1e-12))) * Math.cos(2 * Math.PI * uniform());
}

const SIGNALS = ["power", "exhaustPressure", "oilTemperature"];

function row(g: () => number, ts: number, shift: Record<string, number> = {}): Residuals {
  const z: Record<string, number> = {};
  for (const s of SIGNALS) z[s] = g() + (shift[s] ?? 0);
  return { ts, residual: { ...z }, z };
}

describe("AnomalyMonitor", () => {
  it("calibrates on the first N rows, then flags a persistent shift with its driver first", () => {
    const g = gaussian(1);
    const m = new AnomalyMonitor(SIGNALS, { calibrationRows: 500 });
    for (let i = 0; i < 500; i++) assert.equal(m.update(row(g, i)), null);
    assert.ok(m.calibrated);
    let falses = 0;
    for (let i = 0; i < 2000; i++) if (m.update(row(g, 500 + i))!.anomaly) falses++;
    assert.ok(falses < 10, `false anomalies on normal rows: ${falses}`);
    let hit: AnomalyResult | null = null;
    for (let i = 0; i < 60 && !hit?.anomaly; i++) hit = m.update(row(g, 3000 + i, { exhaustPressure: 6 }));
    assert.ok(hit?.anomaly, "shift of 6 σ detected within an hour of rows");
    assert.equal(hit.drivers[0], "exhaustPressure");
  });

  it("imputes a missing signal as 0 (its baseline) and skips rows with none of its signals", () => {
    const g = gaussian(2);
    const m = new AnomalyMonitor(SIGNALS, { calibrationRows: 300 });
    for (let i = 0; i < 300; i++) m.update(row(g, i));
    assert.equal(m.update({ ts: 1, residual: {}, z: { vibration: 3 } }), null);
    const r = m.update({ ts: 2, residual: {}, z: { power: 0.1 } });
    assert.ok(r && !r.anomaly && r.score < 1);
    assert.deepEqual(r.drivers, []);
  });

  it("round-trips through JSON while calibrating and when fitted, continuing identically", () => {
    for (const cut of [100, 700]) {
      const g = gaussian(3);
      const rows = Array.from({ length: 1500 }, (_, i) => row(g, i, i > 1200 ? { power: 4 } : {}));
      const a = new AnomalyMonitor(SIGNALS, { calibrationRows: 500 });
      for (const r of rows.slice(0, cut)) a.update(r);
      const b = AnomalyMonitor.fromJSON(JSON.parse(JSON.stringify(a)));
      assert.deepEqual(b.toJSON(), a.toJSON());
      const rest = rows.slice(cut);
      assert.deepEqual(
        rest.map((r) => b.update(r)),
        rest.map((r) => a.update(r)),
      );
    }
    assert.throws(() => AnomalyMonitor.fromJSON({}), TypeError);
  });

  it("detector.toJSON/detectorFromJSON restore the fit and the online state mid-episode", () => {
    const g = gaussian(4);
    const rows = Array.from({ length: 400 }, () => [g(), 5 + 2 * g()]);
    const a = fitDetector(["x", "y"], rows);
    for (let i = 0; i < 50; i++) a.update([g() + 2, 5 + 2 * g()]);
    const b = detectorFromJSON(JSON.parse(JSON.stringify(a)));
    const next = Array.from({ length: 30 }, () => [g() + 2, 5 + 2 * g()]);
    assert.deepEqual(
      next.map((r) => b.update(r)),
      next.map((r) => a.update(r)),
    );
    assert.throws(() => detectorFromJSON({ v: 1, signals: ["x"] }), TypeError);
  });

  describe("on simulated RV100 pumps at 200 hPa (faults at 80 h, after 48 h baseline + 24 h calibration)", () => {
    const assets = [
      { id: "ok" },
      { id: "f4", faults: [{ type: "coolingFailure", at: "+80h", severity: 0.5 }] },
      { id: "f6", faults: [{ type: "leak", at: "+80h", fraction: 0.5 }] },
      {
        id: "f1",
        initial: { filterSaturation: 0.3 },
        faults: [{ type: "exhaustFilterSaturation", at: "+80h", kappa: 1000 }],
      },
    ].map((a) => ({ ...a, model: "RV100", duty: { type: "continuous", pressure: 200 } }));
    const fleet = createFleet(
      parseScenario({
        fleet: { name: "t", start: "2026-03-23T00:00:00Z", seed: 3 },
        companies: [{ id: "c", name: "c", assets }],
      }),
    );
    const onset = fleet.start + 80 * HOUR;
    const state = new Map(
      assets.map((a) => [
        a.id,
        {
          seg: new Segmenter("RV100"),
          rm: new ResidualModel("RV100"),
          mon: new AnomalyMonitor(),
          rows: 0,
          first: null as { ts: number; z: Record<string, number>; drivers: string[] } | null,
          falseBefore: 0,
        },
      ]),
    );
    for (const b of fleet.backfill({ to: fleet.start + 96 * HOUR })) {
      const s = state.get(b.assetId)!;
      for (const x of batchSamples(b)) {
        const seg = s.seg.update(x);
        const res = seg && s.rm.update(x, seg);
        const r = res && s.mon.update(res);
        if (!r) continue;
        s.rows++;
        if (r.anomaly && res.ts < onset) s.falseBefore++;
        if (r.anomaly && res.ts >= onset && !s.first) s.first = { ts: res.ts, z: res.z, drivers: r.drivers };
      }
    }
    const minutes = (id: string) => (state.get(id)!.first!.ts - onset) / 60_000;

    it("stays quiet on the healthy pump", () => {
      const ok = state.get("ok")!;
      assert.ok(ok.rows > 1000);
      assert.equal(ok.first, null);
      assert.equal(ok.falseBefore, 0);
      for (const s of state.values()) assert.equal(s.falseBefore, 0);
    });

    it("detects a cooling failure within 15 min and diagnoses F4", (t) => {
      const f = state.get("f4")!.first!;
      t.diagnostic(`F4 detected after ${minutes("f4")} min`);
      assert.ok(minutes("f4") <= 15, `${minutes("f4")} min`);
      assert.equal(f.drivers[0] === "oilTemperature" || f.drivers[0] === "motorTemperature", true);
      assert.equal(diagnose({ trigger: "anomaly", z: f.z }).code, "F4");
    });

    it("detects a 50 % leak within 60 min and diagnoses F6", (t) => {
      const f = state.get("f6")!.first!;
      t.diagnostic(`F6 detected after ${minutes("f6")} min`);
      assert.ok(minutes("f6") <= 60, `${minutes("f6")} min`);
      assert.ok(f.drivers.includes("inletPressure"));
      assert.equal(diagnose({ trigger: "anomaly", z: f.z }).code, "F6");
    });

    it("detects exhaust-filter saturation and diagnoses F1", (t) => {
      const f = state.get("f1")!.first!;
      t.diagnostic(`F1 detected after ${minutes("f1")} min`);
      assert.ok(minutes("f1") <= 12 * 60, `${minutes("f1")} min`);
      assert.equal(f.drivers[0], "exhaustPressure");
      assert.equal(diagnose({ trigger: "anomaly", z: f.z }).code, "F1");
    });
  });
});
