import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Segmenter, thermalTauSec } from "../../src/analytics/segment.js";
import type { Segment } from "../../src/analytics/types.js";
import type { Sample } from "../../src/core/sample.js";
import { batchSamples, createFleet, parseScenario } from "../../src/sim/index.js";

const MIN = 60_000;
const HOUR = 3_600_000;
/** Monday 2026-03-23 00:00 UTC. */
const MONDAY = Date.parse("2026-03-23T00:00:00Z");

/** One RV100 on the default packaging duty (shifts 06:00–22:00 Mon–Fri), 1-min backfill means. */
function packagingSamples(days: number): Sample[] {
  const fleet = createFleet(
    parseScenario({
      fleet: { name: "t", start: "2026-03-23T00:00:00Z", seed: 4, environment: { utcOffsetHours: 0 } },
      companies: [{ id: "c", name: "c", assets: [{ id: "p", model: "RV100", duty: { type: "packaging" } }] }],
    }),
  );
  const out: Sample[] = [];
  for (const b of fleet.backfill({ to: fleet.start + days * 24 * HOUR })) out.push(...batchSamples(b));
  return out;
}

function segmentAll(seg: Segmenter, samples: readonly Sample[]): Segment[] {
  return samples.map((s) => seg.update(s)).filter((s): s is Segment => s !== null);
}

const at = (segs: readonly Segment[], iso: string): Segment => {
  const ts = Date.parse(iso);
  return segs.reduce((best, s) => (Math.abs(s.ts - ts) < Math.abs(best.ts - ts) ? s : best));
};

describe("Segmenter (pump-domain.md §4.1)", () => {
  const samples = packagingSamples(3);
  const segs = segmentAll(new Segmenter("RV100"), samples);

  it("marks the night stops and the shifts of a scheduled packaging duty", () => {
    assert.equal(at(segs, "2026-03-23T03:00:00Z").state, "stopped");
    assert.equal(at(segs, "2026-03-23T03:00:00Z").running, false);
    assert.ok(Number.isNaN(at(segs, "2026-03-23T03:00:00Z").runningSince));
    const noon = at(segs, "2026-03-23T12:00:00Z");
    assert.equal(noon.state, "running");
    assert.ok(noon.thermalSteady && noon.loaded);
    assert.equal(at(segs, "2026-03-23T23:00:00Z").state, "stopped");
    const starts = segs.filter((s) => s.started).map((s) => new Date(s.ts).toISOString().slice(0, 13));
    assert.deepEqual(starts, ["2026-03-23T06", "2026-03-24T06", "2026-03-25T06"]);
  });

  it("marks a warm-up of 3 τ_thermal after each morning start", () => {
    const tau = thermalTauSec("RV100");
    assert.ok(Math.abs(tau - 40_000 / 28) < 1e-9, "τ = C_b/(G_forced + G_nat)");
    for (const day of [0, 1, 2]) {
      const start = segs.find((s) => s.started && s.ts > MONDAY + day * 24 * HOUR)!;
      const warm = segs.filter((s) => s.ts >= start.ts && s.ts < start.ts + 6 * HOUR && s.state === "warmup");
      const minutes = (warm[warm.length - 1]!.ts - start.ts) / MIN;
      assert.ok(Math.abs(minutes - (3 * tau) / 60) <= 1.5, `warm-up ${minutes} min`);
      assert.equal(start.runningSince, start.ts);
      assert.equal(warm.at(-1)!.runningSince, start.ts);
    }
  });

  it("counts 1-min packaging means as running, not evacuating (they average over cycles)", () => {
    const shift = segs.filter((s) => s.running && s.thermalSteady);
    assert.ok(shift.length > 2000);
    assert.ok(shift.every((s) => s.state === "running"));
  });

  it("ignores samples that are not newer and caps dtSec at maxGapSec", () => {
    const seg = new Segmenter(null);
    const s = (ts: number, power: number): Sample => ({ ts, values: { power } });
    assert.equal(seg.update(s(1000, 1))!.dtSec, 0);
    assert.equal(seg.update(s(1000, 1)), null);
    assert.equal(seg.update(s(500, 1)), null);
    assert.equal(seg.update(s(11_000, 1))!.dtSec, 10);
    assert.equal(seg.update(s(11_000 + 601_000, 1))!.dtSec, 0, "a gap > 600 s is missing data");
  });

  it("classifies running from power with hysteresis when the running flag is absent", () => {
    const seg = new Segmenter("RV100"); // on above 0.22 kW, off below 0.154 kW
    const run = (ts: number, power: number) => seg.update({ ts, values: { power } })!.running;
    assert.equal(run(0, 0.1), false);
    assert.equal(run(10_000, 0.2), false);
    assert.equal(run(20_000, 1.5), true);
    assert.equal(run(30_000, 0.2), true, "hysteresis keeps it running");
    assert.equal(run(40_000, 0.1), false);
    const cur = new Segmenter("RV100");
    assert.equal(cur.update({ ts: 0, values: { motorCurrent: 3 } })!.running, true);
  });

  it("detects an evacuation: inlet pressure far above the running base and falling (10-s samples)", () => {
    const seg = new Segmenter("RV100");
    const states: string[] = [];
    const pressures = [1, 1, 1.1, 0.9, 900, 300, 60, 10, 2, 1];
    pressures.forEach((p, i) => {
      const s = seg.update({ ts: i * 10_000, values: { running: 1, inletPressure: p, power: 1.3 } })!;
      states.push(s.state === "evacuating" ? "E" : s.loaded ? "L" : "-");
    });
    // 900 hPa is a rise, not yet falling; 300…10 fall while above 5× base; ≥ 10× base is loaded.
    assert.deepEqual(states.join(""), "----LEEE--");
  });

  it("keeps an on/off pump warm through short stops", () => {
    const seg = new Segmenter("CLAW100", { thermalTauSec: 600 });
    const feed = (min: number, running: number) => seg.update({ ts: min * MIN, values: { running } })!;
    for (let m = 0; m < 31; m++) feed(m, 1);
    assert.equal(feed(31, 1).thermalSteady, true);
    feed(32, 0);
    assert.equal(feed(36, 1).thermalSteady, true, "a 4-min stop is shorter than τ");
    feed(37, 0);
    assert.equal(feed(60, 1).thermalSteady, false, "a 23-min stop is longer than τ: warm-up again");
  });

  it("round-trips through JSON and continues identically", () => {
    const a = new Segmenter("RV100");
    const half = samples.length >> 1;
    segmentAll(a, samples.slice(0, half));
    const b = Segmenter.fromJSON(JSON.parse(JSON.stringify(a)));
    assert.deepEqual(b.toJSON(), a.toJSON());
    const rest = samples.slice(half);
    assert.deepEqual(segmentAll(b, rest), segmentAll(a, rest));
    assert.throws(() => Segmenter.fromJSON({ v: 2 }), TypeError);
  });
});
