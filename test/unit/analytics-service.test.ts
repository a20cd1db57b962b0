import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { PumpAnalyzer } from "../../src/analytics/analyzer.js";
import { AnalyticsService } from "../../src/analytics/service.js";
import { createLocalBus } from "../../src/core/bus.js";
import { generateKey } from "../../src/core/keys.js";
import { createLogger } from "../../src/core/log.js";
import { createSecretBox } from "../../src/core/secrets.js";
import { DeviceDirectory } from "../../src/ingest/directory.js";
import { batchSamples, createFleet, parseScenario } from "../../src/sim/index.js";
import type { CommitUnit, Sample, Stores } from "../../src/store/ports.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";

const DAY = 86_400_000;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function openStores(dir?: string): Promise<{ stores: Stores; dir: string }> {
  const d = dir ?? (await mkdtemp(join(tmpdir(), "pumpwatch-analytics-")));
  if (!dir) dirs.push(d);
  const key = join(d, "key");
  const { existsSync, readFileSync, writeFileSync } = await import("node:fs");
  if (!existsSync(key)) writeFileSync(key, randomBytes(32));
  const stores = openSqliteStores(join(d, "pumpwatch.db"), createSecretBox(readFileSync(key)), {
    synchronous: "NORMAL",
  });
  return { stores, dir: d };
}

function service(stores: Stores, maxBacklogSamples = 1_000_000) {
  return new AnalyticsService({
    store: stores.analytics,
    telemetry: stores.telemetry,
    directory: new DeviceDirectory(stores.registry),
    bus: createLocalBus(),
    log: createLogger({ level: "silent" }),
    offlineAfterMs: 900_000,
    flushMs: 60_000,
    maxBacklogSamples,
    // The simulated data lies in the past; re-read as far back as it goes.
    replayMaxMs: 3650 * DAY,
  });
}

/** A SCREW100 losing its cooling water on day 3: samples in hour-long packets. */
function coolingLoss(days: number): Sample[] {
  const fleet = createFleet(
    parseScenario({
      fleet: { name: "t", start: "2026-03-02T00:00:00Z", seed: 5 },
      companies: [
        {
          id: "c",
          name: "C",
          assets: [
            {
              id: "p",
              model: "SCREW100",
              duty: { type: "continuous", pressure: 50 },
              faults: [{ type: "coolingFailure", at: "+3d" }],
              maintenance: [{ at: "+78h", action: "coolingRepair" }],
            },
          ],
        },
      ],
    }),
  );
  return [...fleet.backfill({ to: fleet.start + days * DAY, stepMs: 60_000 })].flatMap(batchSamples);
}

async function commitInPackets(
  stores: Stores,
  id: string,
  samples: Sample[],
  per = 60,
): Promise<CommitUnit[]> {
  const units: CommitUnit[] = [];
  for (let i = 0; i < samples.length; i += per) {
    const chunk = samples.slice(i, i + per);
    units.push({
      kind: "accept",
      deviceId: id,
      messageId: `m${chunk[0]!.ts}`,
      receivedAt: chunk[0]!.ts,
      samples: chunk,
    });
  }
  await stores.telemetry.commit(units);
  return units;
}

async function device(stores: Stores, id: string) {
  await stores.registry.createDevice({
    id,
    primaryKey: generateKey(),
    secondaryKey: generateKey(),
    enrollmentKind: "manual",
    model: "SCREW100",
  });
}

describe("AnalyticsService", () => {
  const samples = coolingLoss(4);

  it("stores the alarm lifecycle of a cooling loss and the KPI hours", async () => {
    const { stores } = await openStores();
    await device(stores, "p");
    const units = await commitInPackets(stores, "p", samples);
    const s = service(stores);
    s.enqueue(units);
    await s.drain();
    await s.flush();
    const alarms = await stores.analytics.listAlarms({ deviceIds: ["p"] });
    const temp = alarms.find((a) => a.type === "rule:oilTemperatureHigh");
    assert.ok(temp, `alarms: ${alarms.map((a) => a.type).join(", ")}`);
    assert.equal(temp.active, false, "cleared after the repair");
    assert.ok(
      alarms.some((a) => a.type === "trip"),
      "the trip is recorded",
    );
    const hours = await stores.analytics.queryKpiHours(["p"], 0, Number.MAX_SAFE_INTEGER);
    const running = hours.reduce((n, h) => n + h.runningS, 0) / 3600;
    assert.ok(running > 90 && running <= 96, `running hours ${running}`);
    await s.close();
    await stores.close();
  });

  it("does not queue beyond its bound but re-reads from the store: nothing is skipped", async () => {
    const { stores } = await openStores();
    await device(stores, "p");
    const units = await commitInPackets(stores, "p", samples);
    const s = service(stores, 1000);
    s.enqueue(units);
    assert.ok(s.backlog <= 1000, `backlog ${s.backlog}`);
    assert.ok(s.dropped > 0);
    await s.drain();
    assert.equal(s.backlog, 0);
    assert.equal(s.processed, samples.length, "every sample analysed once");
    await s.close();
    await stores.close();
  });

  it("isolates an analytics failure: the other samples and pumps go on", async () => {
    const { stores } = await openStores();
    await device(stores, "p");
    await device(stores, "q");
    const units = await commitInPackets(stores, "p", samples.slice(0, 600));
    const other = await commitInPackets(stores, "q", samples.slice(0, 600));
    const original = PumpAnalyzer.prototype.process;
    let calls = 0;
    PumpAnalyzer.prototype.process = function (this: PumpAnalyzer, sample) {
      if (this.deviceId === "p" && ++calls % 100 === 0) throw new Error("analytic bug");
      return original.call(this, sample);
    };
    try {
      const s = service(stores);
      s.enqueue([...units, ...other]);
      await s.drain();
      assert.equal(s.errors, 6);
      assert.equal(s.processed, 1200);
      await s.close();
    } finally {
      PumpAnalyzer.prototype.process = original;
    }
    await stores.close();
  });

  it("resumes after a restart from saved state and the samples stored since", async () => {
    const { stores, dir } = await openStores();
    await device(stores, "p");
    const half = samples.findIndex((x) => x.ts >= samples[0]!.ts + 2 * DAY);
    const first = await commitInPackets(stores, "p", samples.slice(0, half));
    const s1 = service(stores);
    s1.enqueue(first);
    await s1.drain();
    await s1.close();
    await stores.close();

    // While pumpwatch was down, the rest was stored (e.g. by another process); nothing is enqueued.
    const again = await openStores(dir);
    await commitInPackets(again.stores, "p", samples.slice(half));
    const s2 = service(again.stores);
    await s2.warmUp(["p"]);
    await s2.drain();
    const alarms = await again.stores.analytics.listAlarms({ deviceIds: ["p"] });
    assert.ok(
      alarms.some((a) => a.type === "rule:oilTemperatureHigh"),
      "the cooling loss after the restart was analysed",
    );
    assert.equal(s2.processed, samples.length - half);
    await s2.close();
    await again.stores.close();
  });
});
