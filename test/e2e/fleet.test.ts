import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../src/core/log.js";
import { startDemo } from "../../src/demo.js";
import { backfillFleet } from "../../src/fleet/runner.js";
import { parseScenario } from "../../src/sim/index.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("simulated fleets over the real protocol", () => {
  let s: TestServer;
  let dir: string;
  before(async () => {
    s = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), "pumpwatch-fleet-"));
  });
  after(async () => {
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs the demo: every scenario pump provisions, is labelled simulated and sends data; ground truth lands on disk", async () => {
    const fleet = await startDemo(s, { dataDir: dir, log: createLogger({ level: "silent" }) });
    try {
      const devices = await until("12 demo devices with data", 20_000, async () => {
        const list = (await s.api("/api/devices")).body.devices as { id: string; serial: string | null }[];
        if (list.length < 12 || list.some((d) => d.serial === null)) return undefined;
        const counts = await Promise.all(
          list.map(async (d) => (await s.api(`/api/devices/${d.id}/telemetry`)).body.samples.length),
        );
        return counts.every((n: number) => n > 0) ? list : undefined;
      });
      for (const d of devices) {
        const full = (await s.api(`/api/devices/${d.id}`)).body;
        assert.equal(full.registrationPayload.simulated, true);
        assert.match(full.serial, /^SIM-/);
        // Analytics see the pump model from the first sample on (its limits and physics).
        const analytics = (await s.api(`/api/devices/${d.id}/analytics`)).body;
        assert.equal(analytics.model, full.model, `${d.id} analysed as its model`);
        assert.ok(full.model, `${d.id} has a model`);
      }
      // The accelerated run starts in the past (×60 catching up with the wall clock): no future stamps.
      const samples = (await s.api("/api/devices/af-rv-04/telemetry")).body.samples as { ts: string }[];
      assert.ok(samples.every((x) => Date.parse(x.ts) <= Date.now()));
      assert.ok(
        Date.parse(samples[0]!.ts) < Date.now() - 9 * 3600_000,
        "the demo starts about ten simulated hours ago",
      );
      assert.equal((await s.api("/api/quarantine")).body.entries.length, 0);
    } finally {
      await fleet.close();
    }
    assert.ok(existsSync(join(dir, "demo", "truth", "af-rv-04.jsonl")));
    assert.ok(existsSync(join(dir, "demo", "truth", "events.jsonl")));
  });

  it("backfills days of per-minute history through the agents, every sample stored exactly once", async () => {
    const scenario = parseScenario({
      fleet: { name: "backfill", start: "2026-01-01T00:00:00Z", seed: 7 },
      companies: [
        {
          id: "acme",
          name: "Acme",
          assets: [
            { id: "bf-rv-01", model: "RV100", duty: { type: "continuous", pressure: 100 } },
            { id: "bf-screw-01", model: "SCREW100", duty: { type: "continuous", pressure: 20 } },
          ],
        },
      ],
    });
    const enrollment = await s.admin.enrollGroup("backfill");
    const stateDir = join(dir, "backfill");
    const result = await backfillFleet({
      scenario,
      stateDir,
      days: 2,
      provisioningHost: `localhost:${s.mqttPort}`,
      idScope: s.idScope,
      groupKey: enrollment.groupKey,
      ca: s.ca,
    });
    assert.equal(result.assets, 2);
    assert.ok(result.samples >= 2 * 2 * 1440 * 0.95, `expected about 5760 samples, got ${result.samples}`);
    let stored = 0;
    for (const id of ["bf-rv-01", "bf-screw-01"]) {
      const samples = (await s.api(`/api/devices/${id}/telemetry?limit=100000`)).body.samples as {
        ts: string;
      }[];
      assert.equal(new Set(samples.map((x) => x.ts)).size, samples.length, `${id}: duplicate timestamps`);
      stored += samples.length;
      const truthRows = readFileSync(join(stateDir, "truth", `${id}.jsonl`), "utf8")
        .trim()
        .split("\n").length;
      assert.equal(truthRows, 2 * 1440, `${id}: one ground-truth row per minute`);
    }
    assert.equal(stored, result.samples);
  });
});
