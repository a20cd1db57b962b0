import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, it } from "node:test";
import { createSecretBox } from "../../src/core/secrets.js";
import type { CommitUnit, Sample } from "../../src/store/ports.js";
import { openPostgresStores, type PostgresStores } from "../../src/store/postgres/index.js";
import { decodeAggregates, decodeBlock, rollupsOf } from "../../src/store/timeseries/index.js";
import { createSchema, describePostgres, dropSchema, inSchema, PG_URL } from "../helpers/postgres.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 1);

let seq = 0;
function unit(deviceId: string, samples: Sample[]): CommitUnit {
  return { kind: "accept", deviceId, messageId: `u-${seq++}`, receivedAt: Date.now(), samples };
}

function minutes(from: number, count: number, offset = 0): Sample[] {
  return Array.from({ length: count }, (_, i) => ({
    ts: from + i * 60_000,
    values: { oilTemperature: 60 + ((i + offset) % 50) / 10, running: i % 2 },
  }));
}

await describePostgres("postgres telemetry tables", () => {
  let schema: string;
  const open: PostgresStores[] = [];
  const stores = () => {
    const s = openPostgresStores(PG_URL, createSecretBox(randomBytes(32)), { schema });
    open.push(s);
    return s;
  };
  const sql = async <T>(text: string, values: unknown[] = []) =>
    inSchema(schema, async (c) => (await c.query(text, values)).rows as T[]);
  const partitions = async (table: string) =>
    (
      await sql<{ relname: string }>(
        `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = $1::regclass ORDER BY 1`,
        [table],
      )
    ).map((r) => r.relname);

  before(async () => {
    schema = await createSchema();
  });
  after(async () => {
    for (const s of open) await s.close();
    await dropSchema(schema);
  });

  it("keeps every chunk's hour and day rollups equal to those of its data, and drops compacted days' samples", async () => {
    const s = stores();
    await s.telemetry.commit([unit("r", minutes(T0, 2 * 1440))]);
    await s.telemetry.compact(T0 + DAY + DAY / 2);
    await s.telemetry.commit([unit("r", [{ ts: T0 + 90_000, values: { oilTemperature: 99 } }])]);
    await s.telemetry.compact(T0 + 5 * DAY);
    const chunks = await sql<{ start_ms: number; data: Buffer; hours: Buffer }>(
      `SELECT c.start_ms::float8 AS start_ms, c.data, h.data AS hours FROM chunks c
       JOIN rollup_1h h ON h.device_id = c.device_id AND h.day = c.start_ms WHERE c.device_id = 'r'`,
    );
    assert.equal(chunks.length, 2);
    for (const c of chunks) {
      const want = rollupsOf(decodeBlock(c.data));
      assert.deepEqual(decodeAggregates(c.hours), want["1h"]);
      const days = await sql(
        `SELECT signal, bucket::float8 AS bucket, n, v_min, v_max, v_sum FROM rollup_1d
         WHERE device_id = 'r' AND bucket = $1 ORDER BY signal`,
        [c.start_ms],
      );
      const expected = [...want["1d"].signals]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([signal, a]) => ({
          signal,
          bucket: a.t[0],
          n: a.count[0],
          v_min: a.min[0],
          v_max: a.max[0],
          v_sum: a.sum[0],
        }));
      assert.deepEqual(days, expected);
    }
    assert.equal(
      decodeAggregates(chunks.find((c) => c.start_ms === T0)!.hours).signals.get("oilTemperature")!.max[0],
      99,
    );
    // Both days are compacted and over: their samples partitions are gone, not just emptied.
    assert.deepEqual(
      (await partitions("samples")).filter((p) => p.startsWith("samples_p2026_03_0")),
      [],
    );
  });

  it("loses no sample committed while another process compacts the same window", async () => {
    const a = stores();
    const b = stores();
    const day = T0 + 10 * DAY;
    let committed = 0;
    const writer = (async () => {
      for (let i = 0; i < 40; i++) {
        await a.telemetry.commit([unit("race", minutes(day + i * 30 * 60_000, 30, i))]);
        committed += 30;
      }
    })();
    const compactor = (async () => {
      let chunks = 0;
      while (committed < 40 * 30) chunks += await b.telemetry.compact(day + 2 * DAY);
      return chunks;
    })();
    const [, merges] = await Promise.all([writer, compactor, a.telemetry.compact(day + 2 * DAY)]);
    assert.ok(merges > 1, "the compactor merged into the chunk while samples arrived");
    await b.telemetry.compact(day + 2 * DAY);
    assert.equal(await a.telemetry.countSamples("race"), 40 * 30);
    const got = await a.telemetry.querySamples("race", day, day + DAY, 1e6);
    assert.equal(got.length, 40 * 30);
    assert.equal((await sql("SELECT 1 FROM samples WHERE device_id = 'race'")).length, 0);
  });

  it("drops a month's partitions once retention has emptied them, and keeps months still in use", async () => {
    const s = stores();
    const jan = Date.UTC(2024, 0, 10);
    const feb = Date.UTC(2024, 1, 10);
    await s.telemetry.commit([unit("old-a", minutes(jan, 10)), unit("old-b", minutes(jan, 10))]);
    await s.telemetry.commit([unit("old-a", minutes(feb, 10))]);
    // Another process compacts: it knows the January partitions from now on.
    const other = stores();
    await other.telemetry.compact(Date.UTC(2024, 3, 1));
    assert.ok((await partitions("chunks")).includes("chunks_p2024_01"));
    const now = Date.UTC(2024, 2, 1);
    const policy = { rawDays: 10, rollupDays: 10 };
    await s.telemetry.applyRetention(["old-a"], policy, now);
    // old-b still has January data: the partitions stay.
    assert.ok((await partitions("chunks")).includes("chunks_p2024_01"));
    assert.ok((await partitions("rollup_1h")).includes("rollup_1h_p2024_01"));
    await s.telemetry.applyRetention(["old-b"], policy, now);
    assert.ok(!(await partitions("chunks")).includes("chunks_p2024_01"));
    assert.ok(!(await partitions("rollup_1h")).includes("rollup_1h_p2024_01"));
    // February ends after the cut (Feb 20): kept, though emptied.
    assert.ok((await partitions("chunks")).includes("chunks_p2024_02"));
    // A late sample for a dropped month gets its partitions back, also in the process that knew them.
    assert.deepEqual(await s.telemetry.commit([unit("old-a", minutes(jan, 1))]), ["stored"]);
    assert.equal(await other.telemetry.compact(Date.UTC(2024, 3, 1)), 1);
    assert.ok((await partitions("chunks")).includes("chunks_p2024_01"));
    assert.equal(await s.telemetry.countSamples("old-a"), 1);
  });

  it("commits a group in one transaction: a failing unit leaves nothing of the others", async () => {
    const s = stores();
    const bad = unit("atomic", [{ ts: T0, values: { a: 1 } }]) as Extract<CommitUnit, { kind: "accept" }>;
    // A message id PostgreSQL cannot store (NUL byte) fails the commit: nothing of the group stays.
    const units: CommitUnit[] = [unit("atomic", minutes(T0, 3)), { ...bad, messageId: "x\u0000y" }];
    await assert.rejects(s.telemetry.commit(units));
    assert.equal(await s.telemetry.countSamples("atomic"), 0);
    assert.equal((await sql("SELECT 1 FROM message_ids WHERE device_id = 'atomic'")).length, 0);
  });
});
