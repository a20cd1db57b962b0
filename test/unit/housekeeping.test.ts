import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createLogger } from "../../src/core/log.js";
import { createSecretBox } from "../../src/core/secrets.js";
import { applyRetention, startHousekeeping } from "../../src/store/housekeeping.js";
import type { CommitUnit, Stores } from "../../src/store/ports.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";

const DAY = 86_400_000;
const now = Date.UTC(2026, 10, 27, 12);
const log = createLogger({ level: "silent" });
const config = { compactEveryMs: 60_000, retention: { rawDays: 100, rollupDays: 1000 } };

async function fleet(): Promise<Stores> {
  const stores = openSqliteStores(":memory:", createSecretBox(randomBytes(32)), { synchronous: "NORMAL" });
  const r = stores.registry;
  await r.createDevice({
    id: "a-1",
    primaryKey: "AAAA",
    secondaryKey: "BBBB",
    enrollmentKind: "manual",
    companyId: "acme",
  });
  await r.createDevice({
    id: "b-1",
    primaryKey: "AAAA",
    secondaryKey: "BBBB",
    enrollmentKind: "manual",
    companyId: "beta",
  });
  await r.createDevice({ id: "n-1", primaryKey: "AAAA", secondaryKey: "BBBB", enrollmentKind: "manual" });
  // One sample every 5 days over the last 60 days, for each device.
  const units: CommitUnit[] = [];
  for (const id of ["a-1", "b-1", "n-1"]) {
    for (let d = 60; d >= 1; d -= 5) {
      const ts = now - d * DAY;
      units.push({
        kind: "accept",
        deviceId: id,
        messageId: `${id}-${d}`,
        receivedAt: ts,
        samples: [{ ts, values: { oilTemperature: d } }],
      });
    }
  }
  await stores.telemetry.commit(units);
  await stores.telemetry.compact(now);
  return stores;
}

async function oldest(stores: Stores, id: string): Promise<number | undefined> {
  return (await stores.telemetry.querySamples(id, 0, now, 1))[0]?.ts;
}

describe("storage housekeeping", () => {
  it("applies each company's own retention and the default to the rest", async () => {
    const stores = await fleet();
    await stores.registry.setRetention("acme", { rawDays: 20, rollupDays: 400 });
    await stores.registry.setRetention(null, { rawDays: 40, rollupDays: 400 });
    await applyRetention(stores, config, now, log);
    // acme keeps 20 days (whole daily chunks), devices without a company 40, beta the default (100).
    assert.ok((await oldest(stores, "a-1"))! >= now - 21 * DAY);
    assert.ok((await oldest(stores, "n-1"))! >= now - 41 * DAY);
    assert.equal(await oldest(stores, "b-1"), now - 60 * DAY);
    await stores.close();
  });

  it("compacts on start and stops after the running pass", async () => {
    const stores = openSqliteStores(":memory:", createSecretBox(randomBytes(32)), { synchronous: "NORMAL" });
    await stores.registry.createDevice({
      id: "c-1",
      primaryKey: "AAAA",
      secondaryKey: "BBBB",
      enrollmentKind: "manual",
    });
    const ts = Date.now() - 3 * DAY;
    await stores.telemetry.commit([
      {
        kind: "accept",
        deviceId: "c-1",
        messageId: "m",
        receivedAt: ts,
        samples: [{ ts, values: { power: 1 } }],
      },
    ]);
    const hk = startHousekeeping(stores, config, log);
    await hk.stop();
    // The pending sample of a closed window was compressed: compacting again writes nothing.
    assert.equal(await stores.telemetry.compact(Date.now()), 0);
    assert.equal(await stores.telemetry.countSamples("c-1"), 1);
    await stores.close();
  });
});
