/**
 * Crash safety of compaction, rollup maintenance and retention on PostgreSQL (issue 4, item 7), the
 * twin of test/e2e/storage-crash.test.ts: a child process (test/helpers/storage-crash-postgres-child.ts)
 * commits, compacts and applies retention in a loop and is SIGKILLed at a random moment, several
 * times, each time restarted on the same schema. A killed client's open transaction is rolled back by
 * the server; what this proves is that every step is one transaction and leaves nothing half done
 * (no advisory lock, no half-written chunk, no lost late sample). After every kill:
 * - every sample the child reported committed is present exactly once, unless retention may have
 *   dropped it; none is present twice, and none that the child never tried to commit;
 * - every chunk's stored 1-hour and 1-day rollups equal the rollups of its data.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { createSecretBox } from "../../src/core/secrets.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import { decodeAggregates, decodeBlock, rollupsOf } from "../../src/store/timeseries/index.js";
import { createSchema, describePostgres, dropSchema, inSchema, PG_URL } from "../helpers/postgres.js";
import { type Attempt, checkSamples, runAndKill } from "../helpers/storage-crash.js";

const CHILD = fileURLToPath(new URL("../helpers/storage-crash-postgres-child.ts", import.meta.url));
const KILLS = 5;
const KILL_MIN_MS = 150;
const KILL_MAX_MS = 1500;

interface Journal {
  /** Packets the child started to commit; `committed` once the commit holding them returned. */
  attempts: Attempt[];
  committed: number;
  lastSim: number;
  lastRetention: number;
  phase: string;
}

function readJournal(text: string): Journal {
  const j: Journal = { attempts: [], committed: -1, lastSim: 0, lastRetention: 0, phase: "start" };
  // The step a kill after this line interrupted.
  const phases: Record<string, string> = {
    T: "commit",
    A: "commit",
    C: "commit",
    K: "compaction",
    k: "retention",
    R: "retention",
    r: "commit",
  };
  let iterationStart = 0;
  for (const line of text.split("\n")) {
    const [kind, a, b, c] = line.split(" ");
    if (kind === "T") {
      j.lastSim = Number(a);
      iterationStart = j.attempts.length;
    } else if (kind === "A") {
      j.attempts.push({ first: Number(a), last: Number(b), minTs: Number(c), committed: false });
    } else if (kind === "C") {
      // Only this iteration's packets: a killed run's last packets were attempted, never committed.
      j.committed = Number(a);
      for (let i = iterationStart; i < j.attempts.length; i++) j.attempts[i]!.committed = true;
    } else if (kind === "R") j.lastRetention = Number(a);
    if (kind) j.phase = phases[kind] ?? kind;
  }
  return j;
}

async function verify(schema: string, j: Journal): Promise<number> {
  // Rollups of each chunk are those of its data (rollupDays > rawDays: none dropped before its chunk).
  const chunks = await inSchema(schema, async (c) => {
    const { rows } = await c.query<{
      device_id: string;
      start_ms: string;
      data: Buffer;
      hours: Buffer | null;
    }>(
      `SELECT c.device_id, c.start_ms, c.data, h.data AS hours FROM chunks c
       LEFT JOIN rollup_1h h ON h.device_id = c.device_id AND h.day = c.start_ms`,
    );
    return rows;
  });
  for (const c of chunks) {
    const want = rollupsOf(decodeBlock(c.data));
    assert.ok(c.hours, `no hourly rollups for chunk ${c.device_id}@${c.start_ms}`);
    assert.deepEqual(
      decodeAggregates(c.hours),
      want["1h"],
      `hourly rollups of chunk ${c.device_id}@${c.start_ms}`,
    );
    const days = await inSchema(schema, async (db) => {
      const { rows } = await db.query<{ signal: string; n: number }>(
        "SELECT signal, n FROM rollup_1d WHERE device_id = $1 AND bucket = $2",
        [c.device_id, c.start_ms],
      );
      return new Map(rows.map((r) => [r.signal, r.n]));
    });
    for (const [signal, a] of want["1d"].signals)
      assert.equal(days.get(signal), a.count[0], `daily ${signal}`);
  }
  const stores = openPostgresStores(PG_URL, createSecretBox(Buffer.alloc(32, 1)), { schema });
  try {
    return await checkSamples(stores.telemetry, j.attempts, j.lastRetention);
  } finally {
    await stores.close();
  }
}

await describePostgres("postgres storage crash safety", () => {
  it("a SIGKILL during commit, compaction or retention loses and duplicates nothing", {
    timeout: 180_000,
  }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "pumpwatch-pg-crash-"));
    const journalFile = join(dir, "journal.txt");
    const schema = await createSchema();
    try {
      let seq = 0;
      let sim = Date.UTC(2026, 0, 1);
      const landed: string[] = [];
      for (let k = 0; k < KILLS; k++) {
        await runAndKill(CHILD, [PG_URL, schema, journalFile, String(seq), String(sim)], {
          minMs: KILL_MIN_MS,
          maxMs: KILL_MAX_MS,
        });
        const j = readJournal(await readFile(journalFile, "utf8").catch(() => ""));
        const present = await verify(schema, j);
        landed.push(j.phase);
        t.diagnostic(
          `kill ${k + 1}: during ${j.phase}, ${present} samples present, committed up to seq ${j.committed}`,
        );
        seq = j.attempts.length > 0 ? j.attempts[j.attempts.length - 1]!.last + 1 : seq;
        sim = Math.max(sim, j.lastSim);
      }
      t.diagnostic(`kills landed during: ${landed.join(", ")}`);
    } finally {
      await dropSchema(schema);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
