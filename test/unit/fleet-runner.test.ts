import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { LiveFleet } from "../../src/fleet/runner.js";
import { parseScenario } from "../../src/sim/index.js";

const scenario = parseScenario({
  fleet: { name: "resume", start: "2026-01-01T00:00:00Z", seed: 3, acceleration: 60 },
  companies: [
    {
      id: "acme",
      name: "Acme",
      assets: [{ id: "r-1", model: "RV100", duty: { type: "continuous", pressure: 100 } }],
    },
  ],
});
const target = {
  provisioningHost: "localhost:1",
  idScope: "0ne00000000",
  groupKey: Buffer.alloc(32, 1).toString("base64"),
};

describe("live fleet time origin", () => {
  it("starts catch-up far enough in the past and a restarted run continues the same timeline", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pumpwatch-fleet-"));
    try {
      const now = Date.UTC(2026, 10, 27, 12);
      const first = new LiveFleet({ ...target, scenario, stateDir: dir, now, catchUpMs: 10 * 60_000 });
      // ×60 for ten real minutes: simulated time starts 59 × 10 min before now.
      assert.equal(first.fleet.start, now - 59 * 10 * 60_000);
      await first.close();
      const later = new LiveFleet({ ...target, scenario, stateDir: dir, now: now + 3600_000 });
      assert.equal(later.fleet.start, first.fleet.start);
      await later.close();
      const kept = JSON.parse(await readFile(join(dir, "run.json"), "utf8"));
      assert.deepEqual(kept, {
        scenario: "resume",
        acceleration: 60,
        wallStart: now,
        start: first.fleet.start,
      });
      // Another acceleration is another run.
      const faster = new LiveFleet({ ...target, scenario, stateDir: dir, now: now + 3600_000, speed: 120 });
      assert.notEqual(faster.fleet.start, first.fleet.start);
      await faster.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
