import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { batchSamples, createFleet, type SimBatch } from "../../src/sim/fleet.js";
import { parseScenario } from "../../src/sim/scenario.js";
import { SIGNAL_BOUNDS, SIGNALS, Sig } from "../../src/sim/signals.js";

// The sensor layer of pump-domain.md §6.6 and the sensor faults S1–S3 of §6.7.
const START = "2026-06-01T00:00:00Z";

function fleetOf(asset: Record<string, unknown>, sensors: object = {}) {
  return createFleet(
    parseScenario({
      fleet: { name: "t", start: START, seed: 9, sensors },
      companies: [
        {
          id: "c",
          name: "c",
          assets: [{ id: "a", model: "RV100", duty: { type: "continuous", pressure: 100 }, ...asset }],
        },
      ],
    }),
  );
}

function backfill(asset: Record<string, unknown>, hours: number, sensors: object = {}): SimBatch {
  const fleet = fleetOf(asset, sensors);
  const [b] = [...fleet.backfill({ to: fleet.start + hours * 3_600_000, batchSteps: hours * 60 })];
  return b!;
}

/** Telemetry column of a signal, paired with its truth. */
function pairs(b: SimBatch, sig: number): { m: number; t: number }[] {
  const c = b.signals.indexOf(SIGNALS[sig]!);
  const out: { m: number; t: number }[] = [];
  for (let k = 0; k < b.length; k++) {
    const m = b.telemetry[c]![k]!;
    if (!Number.isNaN(m)) out.push({ m, t: b.truth[sig]![k]! });
  }
  return out;
}

function stats(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, sd };
}

describe("simulated sensors", () => {
  it("adds a fixed bias within tolerance, white noise and quantisation to each reading", () => {
    const b = backfill({}, 48);
    const temp = pairs(b, Sig.oilTemperature);
    const r = stats(temp.map((p) => p.m - p.t));
    assert.ok(Math.abs(r.mean) <= 0.3 + 0.005 * 90, `PT100 class B bias ${r.mean}`);
    assert.ok(r.sd > 0.08 && r.sd < 0.14, `σ ≈ 0.1 K plus quantisation: ${r.sd}`);
    for (const p of temp) assert.equal(Math.round(p.m * 10) / 10, p.m, "quantised to 0.1 °C");
    const vib = stats(pairs(b, Sig.vibration).map((p) => p.m / p.t - 1));
    assert.ok(Math.abs(vib.mean) <= 0.1 && vib.sd > 0.04 && vib.sd < 0.06, "vibration ±10 % bias, 5 % noise");
    const pin = stats(pairs(b, Sig.inletPressure).map((p) => p.m - p.t));
    assert.ok(pin.sd > 3 && pin.sd < 3.6, `inlet σ 0.3 % of 1100 hPa: ${pin.sd}`);
    for (const p of pairs(b, Sig.running)) assert.ok(p.m === 0 || p.m === 1);
  });

  it("omits single signals and loses whole readings at the configured rates", () => {
    const b = backfill({}, 240, { sampleLoss: 0.02, signalLoss: 0.01, burstsPerDay: 0 });
    let lost = 0;
    let missing = 0;
    let present = 0;
    for (let k = 0; k < b.length; k++) {
      let n = 0;
      for (let c = 0; c < b.signals.length; c++) if (!Number.isNaN(b.telemetry[c]![k]!)) n++;
      if (n === 0) lost++;
      else {
        missing += b.signals.length - n;
        present += b.signals.length;
      }
    }
    assert.ok(Math.abs(lost / b.length - 0.02) < 0.004, `whole readings lost ${lost / b.length}`);
    assert.ok(Math.abs(missing / present - 0.01) < 0.002, `single signals missing ${missing / present}`);
    assert.equal(batchSamples(b).length, b.length - lost, "lost readings are left out of the samples");
  });

  it("has outage bursts of 1 to 30 minutes", () => {
    const b = backfill({}, 240, { sampleLoss: 0, signalLoss: 0, burstsPerDay: 2 });
    const runs: number[] = [];
    let run = 0;
    for (let k = 0; k < b.length; k++) {
      if (Number.isNaN(b.telemetry[0]![k]!)) run++;
      else if (run > 0) {
        runs.push(run);
        run = 0;
      }
    }
    assert.ok(runs.length >= 5 && runs.length <= 40, `${runs.length} bursts in 10 days at 2/day`);
    for (const r of runs) assert.ok(r >= 1 && r <= 31, `burst of ${r} min`);
  });

  it("returns undefined from read when every signal dropped out, and only its own signals otherwise", () => {
    const lossy = fleetOf({}, { sampleLoss: 1 });
    assert.equal(lossy.asset("a").read(lossy.start + 60_000), undefined);
    const subset = fleetOf({ signals: ["vibration", "oilTemperature", "running"] }, { ideal: true });
    const a = subset.asset("a");
    assert.deepEqual(a.signals, ["oilTemperature", "vibration", "running"]);
    assert.deepEqual(Object.keys(a.read(subset.start + 60_000)!.values).sort(), [
      "oilTemperature",
      "running",
      "vibration",
    ]);
  });

  it("keeps every reading within the plausibility bounds of docs/telemetry.md, spikes included", () => {
    const b = backfill(
      {
        faults: [
          { type: "sensorSpike", at: "+0h", signal: "exhaustPressure", probability: 0.05, magnitude: 5000 },
        ],
      },
      24,
    );
    for (let c = 0; c < b.signals.length; c++) {
      const [lo, hi] = SIGNAL_BOUNDS[b.signals[c]!];
      for (const v of b.telemetry[c]!)
        if (!Number.isNaN(v)) assert.ok(v >= lo && v <= hi, `${b.signals[c]} = ${v}`);
    }
  });

  it("S1: a stuck sensor repeats one value while the truth moves", () => {
    const b = backfill(
      { faults: [{ id: "s1", type: "sensorStuck", at: "+2h", signal: "ambientTemperature" }] },
      24,
    );
    const p = pairs(b, Sig.ambientTemperature).slice(130);
    assert.equal(new Set(p.map((x) => x.m)).size, 1, "one value");
    assert.ok(Math.max(...p.map((x) => x.t)) - Math.min(...p.map((x) => x.t)) > 3, "truth moved");
    assert.ok(b.events.some((e) => e.faultId === "s1" && e.kind === "detectable"));
  });

  it("S2: a spiking sensor shows isolated outliers of the configured height", () => {
    const b = backfill(
      { faults: [{ type: "sensorSpike", at: "+0h", signal: "oilTemperature", probability: 0.02 }] },
      24,
    );
    const spikes = pairs(b, Sig.oilTemperature).filter((p) => p.m - p.t > 20);
    assert.ok(spikes.length > 10 && spikes.length < 60, `${spikes.length} spikes of +40 K in 1440 readings`);
  });

  it("S3: a drifting sensor departs from the truth linearly", () => {
    const b = backfill(
      { faults: [{ type: "sensorDrift", at: "+0h", signal: "motorTemperature", ratePerHour: 0.5 }] },
      24,
    );
    const p = pairs(b, Sig.motorTemperature);
    const early = stats(p.slice(0, 60).map((x) => x.m - x.t)).mean;
    const late = stats(p.slice(-60).map((x) => x.m - x.t)).mean;
    assert.ok(Math.abs(late - early - 0.5 * 23) < 0.5, `drift ${late - early} K over 23 h`);
  });
});
