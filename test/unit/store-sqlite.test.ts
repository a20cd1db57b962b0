import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { createSecretBox } from "../../src/core/secrets.js";
import { batchSamples, createFleet, loadScenario } from "../../src/sim/index.js";
import type { CommitUnit, Stores } from "../../src/store/ports.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import {
  COMPACT_GRACE_MS,
  decodeAggregates,
  decodeBlock,
  rollupsOf,
} from "../../src/store/timeseries/index.js";
import { sharedDatabaseContract, storeContract } from "../helpers/store-contract.js";
import { tempFiles } from "../helpers/temp.js";

const tempDb = tempFiles("pumpwatch-store-", "pumpwatch.db");

storeContract("sqlite", async () =>
  openSqliteStores(await tempDb(), createSecretBox(randomBytes(32)), { synchronous: "NORMAL" }),
);

describe("sqlite registry at rest", () => {
  it("does not keep device keys in clear text in the database file", async () => {
    const file = await tempDb();
    const stores = openSqliteStores(file, createSecretBox(randomBytes(32)), { synchronous: "FULL" });
    const key = randomBytes(32).toString("base64");
    await stores.registry.createDevice({
      id: "p-1",
      primaryKey: key,
      secondaryKey: key,
      enrollmentKind: "manual",
    });
    await stores.close();
    const bytes = Buffer.concat([
      await readFile(file),
      await readFile(`${file}-wal`).catch(() => Buffer.alloc(0)),
    ]);
    assert.equal(bytes.includes(Buffer.from(key)), false);
    assert.equal(bytes.includes(Buffer.from("p-1")), true);
  });

  sharedDatabaseContract(async () => {
    const file = await tempDb();
    return (box) => openSqliteStores(file, box, { synchronous: "NORMAL" });
  });
});

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 4, 1);

async function openTemp(): Promise<{ file: string; stores: Stores; db: Database.Database }> {
  const file = await tempDb();
  const stores = openSqliteStores(file, createSecretBox(randomBytes(32)), { synchronous: "NORMAL" });
  // A second connection to look at the tables; WAL lets it read what the store committed.
  const db = new Database(file, { readonly: true });
  return { file, stores, db };
}

let seq = 0;
function unit(deviceId: string, samples: { ts: number; values: Record<string, number> }[]): CommitUnit {
  return { kind: "accept", deviceId, messageId: `u-${seq++}`, receivedAt: Date.now(), samples };
}

function minutes(from: number, count: number): { ts: number; values: Record<string, number> }[] {
  return Array.from({ length: count }, (_, i) => ({
    ts: from + i * 60_000,
    values: { oilTemperature: 60 + (i % 50) / 10, running: i % 2 },
  }));
}

describe("sqlite chunks", () => {
  it("compresses a day only after it ended plus the grace period, and deletes its raw rows with it", async () => {
    const { stores, db } = await openTemp();
    await stores.telemetry.commit([unit("p", minutes(T0, 2 * 1440))]);
    const raw = () => db.prepare("SELECT count(*) FROM samples").pluck().get();
    assert.equal(await stores.telemetry.compact(T0 + DAY + COMPACT_GRACE_MS - 1), 0);
    assert.equal(raw(), 2 * 1440);
    assert.equal(await stores.telemetry.compact(T0 + DAY + COMPACT_GRACE_MS), 1);
    assert.equal(raw(), 1440);
    const chunk = db.prepare("SELECT start_ms, n_rows, n_values FROM chunks").get();
    assert.deepEqual(chunk, { start_ms: T0, n_rows: 1440, n_values: 2880 });
    await stores.close();
    db.close();
  });

  it("keeps every chunk's hour and day rollups equal to those of its data", async () => {
    const { stores, db } = await openTemp();
    await stores.telemetry.commit([unit("p", minutes(T0, 3 * 1440))]);
    await stores.telemetry.compact(T0 + 2 * DAY);
    // Late samples change the first day; its rollups must follow.
    await stores.telemetry.commit([unit("p", [{ ts: T0 + 90_000, values: { oilTemperature: 99 } }])]);
    await stores.telemetry.compact(T0 + 5 * DAY);
    const chunks = db.prepare("SELECT start_ms, data FROM chunks").all() as {
      start_ms: number;
      data: Buffer;
    }[];
    assert.equal(chunks.length, 3);
    const hours = db.prepare("SELECT data FROM rollup_1h WHERE device_id = 'p' AND day = ?").pluck();
    const days = db.prepare(
      "SELECT signal, bucket, n, v_sum FROM rollup_1d WHERE bucket = ? ORDER BY signal",
    );
    for (const c of chunks) {
      const want = rollupsOf(decodeBlock(c.data));
      assert.deepEqual(decodeAggregates(hours.get(c.start_ms) as Buffer), want["1h"]);
      const expected = [...want["1d"].signals]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([signal, a]) => ({ signal, bucket: a.t[0], n: a.count[0], v_sum: a.sum[0] }));
      assert.deepEqual(days.all(c.start_ms), expected);
    }
    const first = decodeAggregates(hours.get(T0) as Buffer).signals.get("oilTemperature")!;
    assert.equal(first.max[0], 99);
    assert.equal(first.max[1], 64.9);
    await stores.close();
    db.close();
  });

  it("stores simulated 10-second pump data in about half a byte per value", async () => {
    const { stores, db } = await openTemp();
    const fleet = createFleet(loadScenario(new URL("../../scenarios/demo.json", import.meta.url).pathname), {
      start: T0,
      stepMs: 10_000,
    });
    const batch = fleet.backfill({ to: T0 + DAY, stepMs: 10_000, batchSteps: 8640 }).next().value!;
    await stores.telemetry.commit([unit(batch.assetId, batchSamples(batch))]);
    await stores.telemetry.compact(T0 + 2 * DAY);
    const c = db
      .prepare("SELECT n_values, length(data) AS data, length(rollup) AS rollup FROM chunks")
      .get() as {
      n_values: number;
      data: number;
      rollup: number;
    };
    // The batch's last row is stamped at the end of its step, T0 + DAY: the next window.
    const inDay = batchSamples(batch).filter((x) => x.ts < T0 + DAY);
    assert.equal(
      c.n_values,
      inDay.reduce((n, x) => n + Object.keys(x.values).length, 0),
    );
    assert.ok(c.data / c.n_values < 0.8, `raw ${(c.data / c.n_values).toFixed(3)} bytes per value`);
    assert.ok(
      c.rollup / c.n_values < 0.7,
      `1-minute rollups ${(c.rollup / c.n_values).toFixed(3)} bytes per value`,
    );
    await stores.close();
    db.close();
  });

  it("finds windows, drops and reads rollups by index ranges, never by scanning a table", async () => {
    const { stores, db } = await openTemp();
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join("; ");
    for (const sql of [
      "DELETE FROM chunks WHERE device_id = 'x' AND start_ms < 5",
      "DELETE FROM samples WHERE device_id = 'x' AND ts < 5",
      "DELETE FROM rollup_1h WHERE device_id = 'x' AND day < 5",
      "DELETE FROM rollup_1d WHERE device_id = 'x' AND signal = 'y' AND bucket < 5",
      "SELECT data FROM rollup_1h WHERE device_id = 'x' AND day >= 1 AND day < 5 ORDER BY day",
      "SELECT bucket FROM rollup_1d WHERE device_id = 'x' AND signal = 'y' AND bucket >= 1 AND bucket < 5 ORDER BY bucket",
      "SELECT start_ms FROM chunks WHERE device_id = 'x' AND start_ms >= 5 ORDER BY start_ms LIMIT 1",
      "SELECT ts FROM samples WHERE device_id = 'x' AND ts >= 5 ORDER BY ts LIMIT 1",
      "SELECT device_id FROM samples WHERE device_id > 'x' ORDER BY device_id LIMIT 1",
    ]) {
      const p = plan(sql);
      assert.match(p, /SEARCH/, `${sql}: ${p}`);
      assert.doesNotMatch(p, /SCAN|TEMP B-TREE/, `${sql}: ${p}`);
    }
    await stores.close();
    db.close();
  });

  it("goes on with other windows when one chunk cannot be decoded, and reports the failure", async () => {
    const { file, stores, db } = await openTemp();
    await stores.telemetry.commit([unit("bad", minutes(T0, 1440)), unit("good", minutes(T0, 1440))]);
    await stores.telemetry.compact(T0 + 2 * DAY);
    const rw = new Database(file);
    rw.prepare("UPDATE chunks SET data = x'ff00' WHERE device_id = 'bad'").run();
    rw.close();
    await stores.telemetry.commit([unit("bad", minutes(T0 + 1000, 1)), unit("good", minutes(T0 + 1000, 1))]);
    await assert.rejects(stores.telemetry.compact(T0 + 2 * DAY), /version 255 is not supported/);
    assert.equal(await stores.telemetry.countSamples("good"), 1441);
    assert.equal(db.prepare("SELECT count(*) FROM samples WHERE device_id = 'good'").pluck().get(), 0);
    assert.equal(db.prepare("SELECT count(*) FROM samples WHERE device_id = 'bad'").pluck().get(), 1);
    await stores.close();
    db.close();
  });
});
