import assert from "node:assert/strict";
import { it } from "node:test";
import type { Sample } from "../../src/core/sample.js";
import type { CommitUnit, SeriesQuery, Stores } from "../../src/store/ports.js";

/**
 * The history part of the store contract (src/store/ports.ts: querySeries, exportSamples, compact,
 * applyRetention, usage), run by `storeContract` for every backend. Only port methods are used, so the
 * cases hold for any storage layout; each case has its own devices.
 */

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Time zero of the cases: a UTC midnight, in the past of any test run. */
const T0 = Date.UTC(2026, 0, 5);

/** `count` samples every `stepMs` from `from`: decimal readings, a 0/1 flag, some values missing. */
function readings(from: number, count: number, stepMs: number, seed = 1): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const k = i + seed * 7919;
    const values: Record<string, number> = {
      oilTemperature: Math.round((70 + 5 * Math.sin(k / 50) + ((k * 37) % 11) / 10) * 10) / 10,
      running: k % 97 < 80 ? 1 : 0,
    };
    if (k % 13 !== 0)
      values["motorCurrent"] = Math.round((12 + Math.cos(k / 30) + ((k * 53) % 7) / 100) * 100) / 100;
    out.push({ ts: from + i * stepMs, values });
  }
  return out;
}

let mid = 0;
/** Commits samples like ingest does, `perMessage` samples per packet, each with a new message id. */
async function commit(
  stores: Stores,
  deviceId: string,
  samples: readonly Sample[],
  perMessage = 60,
): Promise<void> {
  const units: CommitUnit[] = [];
  for (let i = 0; i < samples.length; i += perMessage) {
    units.push({
      kind: "accept",
      deviceId,
      messageId: `h-${mid++}`,
      receivedAt: Date.now(),
      samples: samples.slice(i, i + perMessage),
    });
  }
  const outcomes = await stores.telemetry.commit(units);
  assert.ok(outcomes.every((o) => o === "stored"));
}

async function exportAll(stores: Stores, deviceId: string, from: number, to: number, signals?: string[]) {
  const pages: Sample[][] = [];
  for await (const page of stores.telemetry.exportSamples(deviceId, from, to, signals)) pages.push(page);
  return pages;
}

export function historyContract(get: () => Stores): void {
  it("answers series at every resolution, the same before, during and after compaction", async () => {
    const stores = get();
    const dev = "hist-a";
    await commit(stores, dev, readings(T0, 3 * 8640, 10_000));
    const queries: SeriesQuery[] = [
      {
        deviceId: dev,
        signals: ["oilTemperature", "motorCurrent"],
        fromMs: T0 + HOUR,
        toMs: T0 + 2 * HOUR,
        points: 2000,
      },
      {
        deviceId: dev,
        signals: ["oilTemperature"],
        fromMs: T0 + 12 * HOUR,
        toMs: T0 + 36 * HOUR,
        points: 2000,
      },
      { deviceId: dev, signals: ["oilTemperature", "running"], fromMs: T0, toMs: T0 + 3 * DAY, points: 100 },
      { deviceId: dev, signals: ["motorCurrent"], fromMs: T0 + 5 * MIN, toMs: T0 + 3 * DAY, points: 2 },
      {
        deviceId: dev,
        signals: ["oilTemperature", "nope"],
        fromMs: T0 - DAY,
        toMs: T0 + 4 * DAY,
        points: 500,
      },
    ];
    const ask = () => Promise.all(queries.map((q) => stores.telemetry.querySeries(q)));
    const before = await ask();
    assert.deepEqual(
      before.map((s) => s.resolution),
      ["raw", "1m", "1h", "1d", "1m"],
    );
    for (const [i, s] of before.entries())
      assert.ok(s.t.length <= queries[i]!.points, `query ${i}: ${s.t.length} points`);
    assert.equal(before[0]!.t.length, 360);
    assert.equal(before[0]!.bucketMs, null);
    assert.equal(before[0]!.min, undefined);
    assert.equal(before[1]!.bucketMs, MIN);
    assert.equal(before[1]!.t.length, 1440);
    // The first hour of query 2 (12 h steps of 3 days at 100 points: 1 h), against the raw samples.
    const firstHour = readings(T0, 360, 10_000).map((s) => s.values["oilTemperature"]!);
    assert.equal(before[2]!.t[0], T0);
    assert.equal(before[2]!.min!["oilTemperature"]![0], Math.min(...firstHour));
    assert.equal(before[2]!.max!["oilTemperature"]![0], Math.max(...firstHour));
    const mean = before[2]!.values["oilTemperature"]![0]!;
    assert.ok(Math.abs(mean - firstHour.reduce((a, b) => a + b) / firstHour.length) < 1e-9);
    assert.ok(before[4]!.values["nope"]!.every((v) => v === null));
    assert.ok((await stores.telemetry.compact(T0 + 2 * DAY + HOUR)) >= 2);
    assert.deepEqual(await ask(), before, "two days compacted, one not");
    await stores.telemetry.compact(T0 + 30 * DAY);
    assert.deepEqual(await ask(), before, "all compacted");
    assert.equal(await stores.telemetry.countSamples(dev), 3 * 8640);
  });

  it("merges out-of-order, late and backfilled samples into compacted days", async () => {
    const stores = get();
    const dev = "hist-b";
    const main = readings(T0, 2 * 1440, MIN);
    await commit(stores, dev, [...main].reverse());
    await stores.telemetry.compact(T0 + 5 * DAY);
    // Late samples between existing ones, one with an existing timestamp, and a backfilled day.
    const late = readings(T0 + 30_000, 100, MIN, 2);
    const same: Sample = { ts: T0 + 10 * MIN, values: { oilTemperature: 99.9 } };
    const backfill = readings(T0 - 10 * DAY, 1440, MIN, 3);
    await commit(stores, dev, [...late, same, ...backfill], 7);
    const expectAll = [...backfill, ...main, ...late, same].sort((a, b) => a.ts - b.ts);
    const check = async (what: string) => {
      const got = await stores.telemetry.querySamples(dev, T0 - 20 * DAY, T0 + 20 * DAY, 1e6);
      assert.deepEqual(
        got.map((s) => s.ts),
        expectAll.map((s) => s.ts),
        what,
      );
      // Equal timestamps keep commit order: the first committed sample comes first.
      const at = got.findIndex((s) => s.ts === same.ts);
      assert.deepEqual(got[at + 1], same, what);
      assert.equal(await stores.telemetry.countSamples(dev), expectAll.length, what);
    };
    await check("before compaction");
    const series = await stores.telemetry.querySeries({
      deviceId: dev,
      signals: ["oilTemperature"],
      fromMs: T0,
      toMs: T0 + DAY,
      points: 1440,
    });
    await stores.telemetry.compact(T0 + 5 * DAY);
    await check("after compaction");
    assert.deepEqual(
      await stores.telemetry.querySeries({
        deviceId: dev,
        signals: ["oilTemperature"],
        fromMs: T0,
        toMs: T0 + DAY,
        points: 1440,
      }),
      series,
    );
    assert.equal(series.max!["oilTemperature"]![10], 99.9);
    assert.equal(await stores.telemetry.compact(T0 + 5 * DAY), 0, "nothing left to compact");
  });

  it("streams an export one day per page, in time order, every sample once, only the signals asked for", async () => {
    const stores = get();
    const dev = "hist-c";
    const samples = readings(T0 + 6 * HOUR, 3 * 144, 10 * MIN);
    await commit(stores, dev, samples.slice(0, 200));
    await stores.telemetry.compact(T0 + 2 * DAY);
    await commit(stores, dev, samples.slice(200));
    const pages = await exportAll(stores, dev, T0, T0 + 10 * DAY);
    assert.equal(pages.length, 4, "6 h on day 0, days 1 and 2, 6 h on day 3");
    for (const page of pages) {
      const day = Math.floor(page[0]!.ts / DAY);
      assert.ok(page.every((s) => Math.floor(s.ts / DAY) === day));
    }
    assert.deepEqual(pages.flat(), samples);
    const some = (await exportAll(stores, dev, T0 + DAY, T0 + DAY + 2 * HOUR, ["motorCurrent"])).flat();
    const want = samples
      .filter((s) => s.ts >= T0 + DAY && s.ts < T0 + DAY + 2 * HOUR && s.values["motorCurrent"] !== undefined)
      .map((s) => ({ ts: s.ts, values: { motorCurrent: s.values["motorCurrent"]! } }));
    assert.deepEqual(some, want);
    assert.deepEqual(await exportAll(stores, dev, T0 + 20 * DAY, T0 + 30 * DAY), []);
  });

  it("drops whole days older than the raw retention and rollups older than the rollup retention", async () => {
    const stores = get();
    const samples = readings(T0, 10 * 144, 10 * MIN);
    for (const dev of ["ret-a", "ret-b"]) await commit(stores, dev, samples);
    const now = T0 + 10 * DAY + HOUR;
    await stores.telemetry.compact(now);
    // A late sample of a day that retention drops, not yet compacted: it goes too.
    await commit(stores, "ret-a", [{ ts: T0 + HOUR + 1, values: { oilTemperature: 1 } }]);
    const dropped = await stores.telemetry.applyRetention(["ret-a"], { rawDays: 3, rollupDays: 6 }, now);
    assert.ok(dropped.chunks > 0 && dropped.rollups > 0, JSON.stringify(dropped));
    const kept = await stores.telemetry.querySamples("ret-a", 0, now, 1e6);
    assert.deepEqual(
      kept,
      samples.filter((s) => s.ts >= T0 + 7 * DAY),
    );
    assert.equal(await stores.telemetry.countSamples("ret-a"), kept.length);
    // Between the two cuts, hourly rollups still answer; before the rollup cut nothing does.
    const q = { deviceId: "ret-a", signals: ["oilTemperature"], points: 2000 };
    const mid = await stores.telemetry.querySeries({ ...q, fromMs: T0 + 5 * DAY, toMs: T0 + 6 * DAY });
    assert.equal(mid.resolution, "1h");
    assert.equal(mid.t.length, 24);
    const old = await stores.telemetry.querySeries({ ...q, fromMs: T0, toMs: T0 + 3 * DAY });
    assert.equal(old.t.length, 0);
    assert.equal((await stores.telemetry.querySamples("ret-b", 0, now, 1e6)).length, samples.length);
    assert.deepEqual(await stores.telemetry.applyRetention(["ret-a"], { rawDays: 3, rollupDays: 6 }, now), {
      chunks: 0,
      rollups: 0,
    });
  });

  it("reports bytes and signal values held per device, before and after compaction", async () => {
    const stores = get();
    const samples = readings(T0, 2 * 1440, MIN);
    const values = samples.reduce((n, s) => n + Object.keys(s.values).length, 0);
    await commit(stores, "use-a", samples);
    const find = async () => (await stores.telemetry.usage()).find((u) => u.deviceId === "use-a");
    const before = await find();
    assert.equal(before?.samples, values);
    assert.ok(before.bytes > 0);
    await stores.telemetry.compact(T0 + 3 * DAY);
    const after = await find();
    assert.equal(after?.samples, values);
    assert.ok(after.bytes > 0 && after.bytes < before.bytes, `${after.bytes} < ${before.bytes}`);
  });
}
