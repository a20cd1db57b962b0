import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createFleet, type FleetOptions } from "../../src/sim/fleet.js";
import { deriveSeed, Rng } from "../../src/sim/rng.js";
import { loadScenario } from "../../src/sim/scenario.js";
import { N_TRUTH } from "../../src/sim/signals.js";

// pump-domain.md §6.1: "Everything seeded, so a scenario is reproducible bit-for-bit."
const demo = loadScenario(fileURLToPath(new URL("../../scenarios/demo.json", import.meta.url)));

/** SHA-256 over the raw bytes of every telemetry and truth column and the event log. */
function fingerprint(options: FleetOptions, hours = 36): string {
  const fleet = createFleet(demo, options);
  const h = createHash("sha256");
  for (const b of fleet.backfill({ to: fleet.start + hours * 3_600_000, batchSteps: 720 })) {
    h.update(b.assetId);
    h.update(new Uint8Array(b.ts.buffer));
    for (const c of b.telemetry) h.update(new Uint8Array(c.buffer));
    for (const c of b.truth) h.update(new Uint8Array(c.buffer));
    h.update(JSON.stringify(b.events));
  }
  return h.digest("hex");
}

describe("simulator determinism", () => {
  it("gives identical bytes for the same seed", () => {
    assert.equal(fingerprint({}), fingerprint({}));
  });

  it("gives a different run for a different seed", () => {
    assert.notEqual(fingerprint({ seed: 1 }), fingerprint({ seed: 2 }));
  });

  it("keeps the physical trajectory independent of how often the sensors are read", () => {
    const a = createFleet(demo, { stepMs: 10_000 }).asset("af-rv-04");
    const b = createFleet(demo, { stepMs: 10_000 }).asset("af-rv-04");
    const end = a.time + 6 * 3_600_000;
    for (let t = a.time + 7_000; t < end; t += 7_000) a.read(t); // every 7 s, off the grid
    for (let t = b.time + 600_000; t < end; t += 600_000) b.read(t); // every 10 min
    a.read(end);
    b.read(end);
    assert.deepEqual(Array.from(a.last), Array.from(b.last));
  });

  it("reproduces the backfill bit for bit when read live on the same grid", () => {
    const live = createFleet(demo, { stepMs: 60_000 });
    const back = createFleet(demo, { stepMs: 60_000 });
    const rows = new Map<string, Float64Array[]>();
    for (const b of back.backfill({ to: back.start + 3 * 3_600_000, batchSteps: 180 }))
      rows.set(b.assetId, b.telemetry);
    for (let k = 0; k < 180; k++) {
      const ts = live.start + (k + 1) * 60_000;
      for (const a of live.assets) {
        const s = a.read(ts);
        const cols = rows.get(a.id)!;
        a.signals.forEach((sig, c) => {
          const v = cols[c]![k]!;
          assert.equal(s?.values[sig], Number.isNaN(v) ? undefined : v, `${a.id} ${sig} at minute ${k + 1}`);
        });
      }
    }
  });

  it("refuses a read earlier than the previous one", () => {
    const a = createFleet(demo).asset("nh-rv-01");
    a.read(a.time + 60_000);
    assert.throws(() => a.read(a.time - 1), RangeError);
  });

  it("hands live ground truth and events to the sink on every read", () => {
    const rows: number[] = [];
    const kinds: string[] = [];
    const fleet = createFleet(demo, {
      stepMs: 60_000,
      sink: {
        truth: (_id, ts, row) => {
          rows.push(ts);
          assert.equal(row.length, N_TRUTH);
        },
        event: (e) => {
          kinds.push(e.kind);
        },
      },
    });
    const a = fleet.asset("nh-screw-02");
    for (let t = fleet.start + 60_000; t <= fleet.start + 6 * 3_600_000; t += 60_000) a.read(t);
    assert.equal(rows.length, 360);
    assert.deepEqual(kinds.slice(0, 4), ["onset", "detectable", "trip", "failure"]);
  });

  it("draws uniform and normal numbers reproducibly from a seed, in separate named streams", () => {
    const x = new Rng(42);
    const y = new Rng(42);
    for (let i = 0; i < 1000; i++) assert.equal(x.nextU32(), y.nextU32());
    const r = new Rng(deriveSeed(1, "sensors"));
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    assert.ok(Math.abs(s / n) < 0.01 && Math.abs(s2 / n - 1) < 0.01, "N(0, 1)");
    assert.notEqual(deriveSeed(1, "sensors"), deriveSeed(1, "process"));
    assert.notEqual(deriveSeed("ab", "c"), deriveSeed("a", "bc"));
  });

  it("never reads the clock or Math.random in src/sim", () => {
    const dir = fileURLToPath(new URL("../../src/sim", import.meta.url));
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), "utf8");
      assert.doesNotMatch(text, /Math\.random|Date\.now|performance\.now|new Date\(\)/, f);
    }
  });
});
