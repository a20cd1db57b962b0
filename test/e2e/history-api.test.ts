import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateKey } from "../../src/core/keys.js";
import type { CommitUnit } from "../../src/store/ports.js";
import { httpsGet } from "../helpers/https.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const DAY = 86_400_000;
const t0 = Date.UTC(2026, 9, 1);

describe("history API", () => {
  let s: TestServer;
  const id = "hist-1";
  const minutes = 3 * 24 * 60;

  before(async () => {
    s = await startTestServer();
    await s.stores.registry.createDevice({
      id,
      primaryKey: generateKey(),
      secondaryKey: generateKey(),
      enrollmentKind: "manual",
      companyId: "acme",
    });
    // Three days of per-minute samples, committed like ingest does, then compacted.
    const units: CommitUnit[] = [];
    for (let i = 0; i < minutes; i++) {
      units.push({
        kind: "accept",
        deviceId: id,
        messageId: `m-${i}`,
        receivedAt: t0 + i * 60_000,
        samples: [{ ts: t0 + i * 60_000, values: { oilTemperature: 70 + (i % 60) / 10, running: 1 } }],
      });
    }
    await s.stores.telemetry.commit(units);
    await s.stores.telemetry.compact(t0 + 10 * DAY);
  });
  after(async () => {
    await s.stop();
  });

  it("returns raw columns when the range fits into the points asked for", async () => {
    const r = await s.api(
      `/api/devices/${id}/series?signals=oilTemperature&from=${t0}&to=${t0 + 3600_000}&points=100`,
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.resolution, "raw");
    assert.equal(r.body.t.length, 60);
    assert.equal(r.body.oilTemperature.length, 60);
    assert.equal(r.body.t[0], t0);
    assert.equal(r.body.min, undefined);
  });

  it("aggregates with min/max bands so any range returns at most `points` points", async () => {
    const r = await s.api(
      `/api/devices/${id}/series?signals=oilTemperature,running&from=${t0}&to=${t0 + 3 * DAY}&points=100`,
    );
    assert.equal(r.status, 200);
    assert.notEqual(r.body.resolution, "raw");
    assert.ok(r.body.t.length <= 100 && r.body.t.length > 0, `got ${r.body.t.length} points`);
    for (let i = 0; i < r.body.t.length; i++) {
      assert.ok(r.body.min.oilTemperature[i] <= r.body.oilTemperature[i]);
      assert.ok(r.body.oilTemperature[i] <= r.body.max.oilTemperature[i]);
    }
    assert.equal(r.body.max.oilTemperature[0], 75.9);
    assert.equal(r.body.min.oilTemperature[0], 70);
  });

  it("explains unknown signals and bad ranges", async () => {
    const bad = await s.api(`/api/devices/${id}/series?signals=nope`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /unknown signal/);
    const backwards = await s.api(`/api/devices/${id}/series?from=${t0 + DAY}&to=${t0}`);
    assert.equal(backwards.status, 400);
    assert.equal((await s.api("/api/devices/ghost/series")).status, 404);
  });

  it("streams a CSV export with units in the header, every sample once in time order", async () => {
    const r = await httpsGet(
      s,
      `/api/devices/${id}/export?signals=oilTemperature&from=${t0}&to=${t0 + 3 * DAY}`,
      { operatorToken: true },
    );
    assert.equal(r.status, 200);
    assert.match(r.type, /text\/csv/);
    const lines = r.text.trim().split("\n");
    assert.equal(lines[0], "ts,oilTemperature [°C]");
    assert.equal(lines.length, 1 + minutes);
    assert.equal(lines[1], `${new Date(t0).toISOString()},70`);
    const stamps = lines.slice(1).map((l) => Date.parse(l.split(",")[0]!));
    assert.ok(stamps.every((t, i) => i === 0 || t > stamps[i - 1]!));
  });

  it("streams JSON Lines with a header naming the units", async () => {
    const r = await httpsGet(
      s,
      `/api/devices/${id}/export?format=jsonl&signals=oilTemperature,running&from=${t0}&to=${t0 + DAY}`,
      { operatorToken: true },
    );
    const lines = r.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines[0].units, { oilTemperature: "°C", running: "" });
    assert.equal(lines.length, 1 + 1440);
    assert.deepEqual(lines[1], {
      ts: new Date(t0).toISOString(),
      values: { oilTemperature: 70, running: 1 },
    });
  });

  it("keeps a retention policy per company and shows disk usage per company", async () => {
    const before = await s.api("/api/companies/acme/retention");
    assert.equal(before.body.default, true);
    const put = await s.api("/api/companies/acme/retention", {
      method: "PUT",
      body: { rawDays: 30, rollupDays: 400 },
    });
    assert.equal(put.status, 200);
    assert.deepEqual((await s.api("/api/companies/acme/retention")).body, {
      companyId: "acme",
      rawDays: 30,
      rollupDays: 400,
      default: false,
    });
    const wrong = await s.api("/api/companies/acme/retention", {
      method: "PUT",
      body: { rawDays: 30, rollupDays: 10 },
    });
    assert.equal(wrong.status, 400);
    const usage = await s.api("/api/usage");
    const acme = usage.body.companies.find((c: { companyId: string }) => c.companyId === "acme");
    assert.ok(acme.bytes > 0);
    assert.equal(acme.samples, minutes * 2);
  });
});
