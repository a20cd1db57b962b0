import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ForecastEngine } from "../../src/analytics/forecast.js";
import type { Forecast, ForecastId, Segment } from "../../src/analytics/types.js";
import type { Sample } from "../../src/core/sample.js";
import { batchSamples, createFleet, parseScenario } from "../../src/sim/index.js";

const DAY = 86_400_000;

/** Minimal segmentation: running = running flag, loaded = inlet pressure above 10 hPa. */
function segment(s: Sample, prevTs: number | null): Segment {
  const running = s.values.running === 1;
  return {
    ts: s.ts,
    state: running ? "running" : "stopped",
    dtSec: prevTs === null ? 0 : Math.min(600, (s.ts - prevTs) / 1000),
    running,
    runningSince: running ? s.ts : Number.NaN,
    started: false,
    thermalSteady: running,
    loaded: running && (s.values.inletPressure ?? 0) > 10,
  };
}

interface Run {
  start: number;
  failure: number | null;
  /** The chosen forecast at the end of every simulated day. */
  daily: Forecast[];
  engine: ForecastEngine;
}

/** A one-pump fleet: an RV100 with `asset` (faults, duty) merged into its asset entry. */
function rv100Fleet(asset: Record<string, unknown>) {
  return createFleet(
    parseScenario({
      fleet: { name: "t", start: "2026-03-02T00:00:00Z", seed: 3 },
      companies: [{ id: "c", name: "c", assets: [{ id: "p", model: "RV100", ...asset }] }],
    }),
  );
}

/** Backfills one RV100 at 1-min means through a ForecastEngine, keeping one forecast per day. */
function run(asset: Record<string, unknown>, days: number, id: ForecastId): Run {
  const fleet = rv100Fleet(asset);
  const engine = new ForecastEngine("RV100");
  const daily: Forecast[] = [];
  let failure: number | null = null;
  let prev: number | null = null;
  for (const b of fleet.backfill({ to: fleet.start + days * DAY })) {
    failure ??= b.events.find((e) => e.kind === "failure")?.ts ?? null;
    for (const s of batchSamples(b)) {
      engine.update(s, segment(s, prev), null);
      prev = s.ts;
    }
    daily.push(engine.forecasts(prev!).find((f) => f.id === id)!);
  }
  return { start: fleet.start, failure, daily, engine };
}

const days = (ms: number) => ms / DAY;

/**
 * Like {@link run} for the exhaust filter, but also feeding the exhaust-pressure residual as
 * baseline.ts delivers it at a constant inlet pressure: observed minus the mean of the first 48 h
 * (the commissioning window), one sample late.
 */
function runResidual(asset: Record<string, unknown>, nDays: number): Run {
  const fleet = rv100Fleet(asset);
  const engine = new ForecastEngine("RV100");
  const daily: Forecast[] = [];
  let failure: number | null = null;
  let prev: Sample | null = null;
  let sum = 0;
  let n = 0;
  for (const b of fleet.backfill({ to: fleet.start + nDays * DAY })) {
    failure ??= b.events.find((e) => e.kind === "failure")?.ts ?? null;
    for (const s of batchSamples(b)) {
      const seg = segment(s, prev?.ts ?? null);
      const ex = prev?.values.exhaustPressure;
      let res = null;
      if (prev !== null && ex !== undefined && seg.running && prev.values.running === 1) {
        if (prev.ts - fleet.start < 2 * DAY) {
          sum += ex;
          n++;
        } else res = { ts: prev.ts, residual: { exhaustPressure: ex - sum / n }, z: {} };
      }
      engine.update(s, seg, res);
      prev = s;
    }
    daily.push(engine.forecasts(prev!.ts).find((f) => f.id === "exhaustFilter")!);
  }
  return { start: fleet.start, failure, daily, engine };
}

describe("ForecastEngine", () => {
  it("forecasts a saturating exhaust filter with ≥ 14 days' warning and a close P50 near the end", () => {
    const r = run(
      {
        duty: { type: "continuous", pressure: 400, variability: 0.05 },
        initial: { filterSaturation: 0.5 },
        faults: [{ type: "exhaustFilterSaturation", at: "+0h", kappa: 7 }],
      },
      38,
      "exhaustFilter",
    );
    assert.ok(r.failure !== null, "ground-truth failure within the run");
    const firstWarn = r.daily.find((f) => f.severity !== null)!;
    const lead = days(r.failure - firstWarn.asOf);
    console.log(`exhaust filter: first warning ${lead.toFixed(1)} d before failure`);
    assert.ok(lead >= 14, `lead ${lead} d`);
    const late = r.daily.filter(
      (f) => f.p50 !== null && f.asOf < r.failure! && r.failure! - f.asOf < 8 * DAY,
    );
    // Measured (seed 3): P50 published from 5.2 d before failure on, error −0.3…−2.1 d; at 7.2 and
    // 6.2 d the weather-floored trend is not yet significant (warning from the 70 % limit instead).
    assert.ok(late.length >= 5, `P50 published on ${late.length} of the last days`);
    for (const f of late) {
      const err = days(f.p50! - r.failure);
      console.log(`  ${days(r.failure - f.asOf).toFixed(1)} d before failure: P50 error ${err.toFixed(1)} d`);
      assert.ok(Math.abs(err) < 3, `P50 error ${err} d`);
      assert.ok(f.p10! <= f.p50! && f.p50! <= f.p90!);
    }
    const last = r.daily[r.daily.length - 1]!;
    assert.equal(last.severity, "alarm");
    assert.equal(last.status, "overdue");
  });

  it("keeps a healthy RV100 at ok for 60 days (filter and bearing)", () => {
    const r = run({ duty: { type: "continuous", pressure: 400, variability: 0.05 } }, 60, "exhaustFilter");
    for (const f of r.daily) assert.equal(f.severity, null, `${f.recommendation}`);
    const end = r.engine.forecasts(r.daily.at(-1)!.asOf);
    const byId = new Map(end.map((f) => [f.id, f]));
    assert.equal(byId.get("exhaustFilter")!.status, "ok");
    assert.equal(byId.get("bearing")!.severity, null);
    assert.equal(byId.get("service")!.status, "degrading");
    assert.ok(byId.get("service")!.p50! > r.daily.at(-1)!.asOf + 200 * DAY);
  });

  it("warns of a saturating filter at low throughput from the exhaust-pressure residual", () => {
    // Continuous at 250 hPa: Q/Q_ref ≈ 0.25, so Δp_norm never passes its 0.3 flow gate; the
    // indicator is the exhaust-pressure residual against the pump's own normal learned over 48 h.
    const asset = {
      duty: { type: "continuous", pressure: 250 },
      initial: { filterSaturation: 0 },
      faults: [{ type: "exhaustFilterSaturation", at: "+0h", kappa: 10 }],
    };
    const sat = runResidual(asset, 50);
    assert.ok(sat.failure !== null, "ground-truth failure within the run");
    const firstWarn = sat.daily.find((f) => f.severity !== null);
    assert.ok(firstWarn, "a warning before failure");
    const lead = days(sat.failure - firstWarn.asOf);
    console.log(`low-flow exhaust filter: first warning ${lead.toFixed(1)} d before failure`);
    // Measured (seed 3): 11.6 d (9.6 d without the residual); the weather (±10 hPa ≈ ±40 hPa of Δp
    // at this flow) keeps the trend insignificant earlier, so §6.7's 14 days are not reached here.
    assert.ok(lead >= 9, `lead ${lead} d`);
    // Without the residual (Δp_norm only: few samples pass its flow gate) the warning comes later.
    const plain = run(asset, 50, "exhaustFilter");
    const plainWarn = plain.daily.find((f) => f.severity !== null);
    const plainLead = plainWarn ? days(plain.failure! - plainWarn.asOf) : 0;
    console.log(`  without the residual: ${plainLead.toFixed(1)} d`);
    assert.ok(lead > plainLead + 1, `lead ${lead} d vs ${plainLead} d without the residual`);
    // Healthy pumps, 60 days, at the same and at a 3× lower flow (weather ×Q_ref/Q is the noise).
    for (const pressure of [250, 80]) {
      const healthy = runResidual({ duty: { type: "continuous", pressure } }, 60);
      for (const f of healthy.daily) assert.equal(f.severity, null, `${pressure} hPa: ${f.recommendation}`);
      assert.equal(healthy.daily.at(-1)!.status, "ok");
    }
  });

  it("warns of bearing wear ≥ 7 days before failure", () => {
    const r = run(
      {
        duty: { type: "continuous", pressure: 80 },
        faults: [{ type: "bearingDegradation", at: "+0h", pfHours: 800 }],
      },
      34,
      "bearing",
    );
    assert.ok(r.failure !== null);
    const firstWarn = r.daily.find((f) => f.severity !== null)!;
    const lead = days(r.failure - firstWarn.asOf);
    console.log(`bearing: first warning ${lead.toFixed(1)} d before failure`);
    assert.ok(lead >= 7, `lead ${lead} d`);
    assert.equal(r.daily.at(-1)!.severity, "alarm");
  });

  it("resets counters and indicators on maintenance, is deterministic and round-trips through JSON", () => {
    const asset = { duty: { type: "continuous", pressure: 400 } };
    const a = run(asset, 3, "oil");
    const b = run(asset, 3, "oil");
    const now = a.daily.at(-1)!.asOf;
    assert.deepEqual(a.engine.forecasts(now), b.engine.forecasts(now));
    const copy = ForecastEngine.fromJSON(JSON.parse(JSON.stringify(a.engine)));
    assert.deepEqual(copy.forecasts(now), a.engine.forecasts(now));
    assert.deepEqual(copy.toJSON(), ForecastEngine.fromJSON(a.engine.toJSON()).toJSON());
    const c0 = a.engine.counters();
    assert.ok(c0.sinceOilChangeH > 70 && c0.lastOilChange === null);
    assert.match(a.daily.at(-1)!.recommendation, /since first data/);
    a.engine.maintenance("oilChange", now);
    a.engine.maintenance("coolingRepair", now);
    const c1 = a.engine.counters();
    assert.equal(c1.sinceOilChangeH, 0);
    assert.equal(c1.oilLifeUsed, 0);
    assert.equal(c1.lastOilChange, now);
    assert.equal(c1.sinceFilterChangeH, c0.sinceFilterChangeH);
    a.engine.maintenance("overhaul", now);
    const c2 = a.engine.counters();
    assert.equal(c2.sinceOverhaulH, 0);
    assert.equal(c2.loadWeightedH, 0);
    assert.equal(c2.runningH, c0.runningH);
    assert.equal(a.engine.forecasts(now).find((f) => f.id === "bearing")!.status, "insufficient-data");
    assert.throws(() => ForecastEngine.fromJSON({ v: 2 }), TypeError);
  });

  it("reports no exhaust filter on dry pumps", () => {
    const f = new ForecastEngine("SCREW100").forecasts(0).find((x) => x.id === "exhaustFilter")!;
    assert.equal(f.status, "ok");
    assert.equal(f.recommendation, "no exhaust filter");
  });
});
