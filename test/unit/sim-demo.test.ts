import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Sample } from "../../src/core/sample.js";
import { AcceleratedSource, catchUpStart, SimClock } from "../../src/sim/clock.js";
import { createFleet, type SimBatch } from "../../src/sim/fleet.js";
import { deriveModel, LIMITS, type ModelName } from "../../src/sim/models.js";
import { loadScenario } from "../../src/sim/scenario.js";
import { Sig, Tru } from "../../src/sim/signals.js";

// scenarios/demo.json run live at its acceleration (×60): within ten real minutes = ten simulated
// hours one sees normal pumps, a clearly rising exhaust-filter trend, a warning crossing and an
// alarm crossing, judged against the published limits (pump-domain.md §1.6, §2.2, §6.4, §6.7).
const scenario = loadScenario(fileURLToPath(new URL("../../scenarios/demo.json", import.meta.url)));
const WINDOW_H = (10 * 60 * scenario.fleet.acceleration) / 3600; // ten real minutes
const TREND = "af-rv-04";
const WARNING = "af-rv-05";
const ALARM = "nh-screw-02";
const STORY = new Set([TREND, WARNING, ALARM, "nh-claw-03"]);

/** Limits a healthy pump stays within (warning level of each rule, §6.4/§6.7). */
function healthyLimits(model: ModelName): { bodyC: number; vibration: number; current: number } {
  const p = deriveModel(model).p;
  // ISO 10816-1 class I B/C; a claw's pulsating-gas baseline (2.2 mm/s, §6.4) already sits above
  // it, so for claws the §6.7 rule "2 × baseline" applies.
  return { bodyC: p.bodyWarnC, vibration: Math.max(LIMITS.vibrationBC, 2 * p.v0), current: p.iRatedA };
}

function backfill(): Map<string, SimBatch> {
  const fleet = createFleet(scenario);
  const out = new Map<string, SimBatch>();
  const steps = WINDOW_H * 60;
  for (const b of fleet.backfill({ to: fleet.start + WINDOW_H * 3_600_000, batchSteps: steps }))
    out.set(b.assetId, b);
  return out;
}

const col = (b: SimBatch, field: number): number[] => Array.from(b.truth[field]!);
const firstAbove = (xs: number[], limit: number): number => xs.findIndex((x) => x > limit);
const hourMean = (xs: number[], h: number): number =>
  xs.slice(h * 60, h * 60 + 60).reduce((a, b) => a + b, 0) / 60;

describe("demo scenario", () => {
  const runs = backfill();
  const model = (id: string): ModelName =>
    scenario.companies.flatMap((c) => c.assets).find((a) => a.id === id)!.model as ModelName;

  it("runs ten simulated hours in ten real minutes at its ×60 acceleration", () => {
    assert.equal(WINDOW_H, 10);
    assert.equal(runs.size, 12);
  });

  it("keeps the normal pumps inside every warning limit", () => {
    for (const [id, b] of runs) {
      if (STORY.has(id)) continue;
      const lim = healthyLimits(model(id));
      assert.ok(Math.max(...col(b, Sig.oilTemperature)) < lim.bodyC - 5, `${id} temperature`);
      assert.ok(Math.max(...col(b, Sig.vibration)) < lim.vibration * 0.9, `${id} vibration`);
      assert.ok(
        Math.max(...col(b, Sig.motorCurrent).filter((_, k) => b.truth[Tru.starts]![k] === 0)) <
          lim.current * 0.97,
        `${id} current`,
      );
      assert.equal(b.events.length, 0, `${id} has no events`);
    }
  });

  it("shows a clearly rising exhaust-filter trend on af-rv-04 that stays below the warning", () => {
    const b = runs.get(TREND)!;
    const excess = col(b, Sig.exhaustPressure).map((p, k) => p - b.truth[Tru.atmosphericPressure]![k]!);
    const hourly = Array.from({ length: WINDOW_H }, (_, h) => hourMean(excess, h));
    assert.ok(
      hourly[WINDOW_H - 1]! - hourly[0]! > 15,
      `exhaust excess ${hourly.map((x) => x.toFixed(1)).join(" ")}`,
    );
    for (let h = 1; h < WINDOW_H; h++) assert.ok(hourly[h]! > hourly[h - 1]! - 1.5, `hour ${h} keeps rising`);
    // F1 warning: Δp at Q_ref > 70 % of the red value ⇔ s_f > ln(0.7·500/50)/ln(500/50).
    const sfWarn = Math.log((LIMITS.exhaustWarnFraction * 500) / 50) / Math.log(10);
    const sfMax = Math.max(...col(b, Tru.filterSaturation));
    assert.ok(sfMax < sfWarn, `s_f reached ${sfMax}, warning at ${sfWarn}`);
    assert.ok(
      Math.max(...col(b, Sig.motorCurrent)) < 0.99 * healthyLimits("RV100").current,
      "no overload warning",
    );
  });

  it("crosses the ISO 10816-1 B/C vibration boundary (warning) on af-rv-05, not the C/D alarm", () => {
    const vib = col(runs.get(WARNING)!, Sig.vibration);
    const k = firstAbove(vib, LIMITS.vibrationBC);
    assert.ok(k > 60 && k < 8 * 60, `crossing at minute ${k}`);
    assert.ok(
      vib[vib.length - 1]! > 1.25 * LIMITS.vibrationBC,
      "clearly above at the end, even with a −10 % sensor bias",
    );
    assert.ok(Math.max(...vib) < LIMITS.vibrationCD, `max ${Math.max(...vib)} mm/s`);
  });

  it("crosses the published 85 °C screw trip limit (alarm) on nh-screw-02 after its 80 °C warning", () => {
    const b = runs.get(ALARM)!;
    const t = col(b, Sig.oilTemperature);
    const warn = firstAbove(t, 80);
    const alarm = firstAbove(t, 85);
    assert.ok(warn > 0 && warn < 9 * 60, `warning at minute ${warn}`);
    assert.ok(alarm > warn && alarm < 9 * 60, `alarm at minute ${alarm}`);
    const trip = b.events.find((e) => e.kind === "trip");
    assert.equal(trip?.reason, "thermal", "the pump's own 85 °C switch trips it (20 s delay, [S3])");
    assert.equal(b.truth[Sig.running]![alarm + 5], 0, "and it stays off until repaired");
  });

  it("plays the same story on the live read path an agent at ×60 uses", () => {
    const fleet = createFleet(scenario, { stepMs: 10_000 });
    const samples = new Map<string, Sample[]>(fleet.assets.map((a) => [a.id, []]));
    for (let t = fleet.start + 60_000; t <= fleet.start + WINDOW_H * 3_600_000; t += 60_000) {
      for (const { assetId, sample } of fleet.readAll(t)) samples.get(assetId)!.push(sample);
    }
    const values = (id: string, sig: string) =>
      samples
        .get(id)!
        .map((s) => s.values[sig])
        .filter((v) => v !== undefined);
    assert.ok(Math.max(...values(WARNING, "vibration")) > LIMITS.vibrationBC, "warning crossed in readings");
    assert.ok(Math.max(...values(ALARM, "oilTemperature")) > 84, "alarm reached in readings");
    assert.ok(values(ALARM, "running").includes(0), "the screw tripped");
    for (const a of fleet.assets) {
      if (STORY.has(a.id)) continue;
      const lim = healthyLimits(a.model);
      assert.ok(Math.max(...values(a.id, "oilTemperature")) < lim.bodyC, `${a.id} temperature reading`);
      assert.ok(Math.max(...values(a.id, "vibration")) < lim.vibration, `${a.id} vibration reading`);
    }
  });

  it("an accelerated clock started in the past catches up with the wall clock and never runs ahead", () => {
    const wall = Date.UTC(2026, 10, 27, 12, 0, 0);
    const acc = scenario.fleet.acceleration;
    const clock = new SimClock(wall, catchUpStart(wall, acc, 10 * 60_000), acc);
    assert.equal(clock.toSim(wall + 10 * 60_000), wall + 10 * 60_000, "reaches now after ten minutes");
    assert.equal(
      clock.toSim(wall + 60_000) - clock.toSim(wall),
      3_600_000,
      "one real minute = one simulated hour",
    );
    assert.equal(clock.toSim(wall + 20 * 60_000), wall + 20 * 60_000, "then real time");
    const fleet = createFleet(scenario, { start: clock.simStart });
    const source = new AcceleratedSource(fleet.asset(ALARM), clock);
    assert.deepEqual(source.signals, fleet.asset(ALARM).signals);
    const s = source.read(wall + 1000);
    assert.ok(s === undefined || s.ts === clock.simStart + 60_000, "stamped with simulated time");
  });
});
