/**
 * Crash safety of compaction, rollup maintenance and retention (issue 4, item 7): a child process
 * (test/helpers/storage-crash-child.ts) commits telemetry and compacts and applies retention in a loop,
 * and is SIGKILLed several times, each time restarted on the same database: at a random moment, or a
 * random few milliseconds after its journal says a compaction or a retention run started (both are
 * short next to the commits, so purely random kills would rarely hit them). After every kill, with the
 * child gone:
 * - `PRAGMA integrity_check` is ok;
 * - every sample the child reported committed is present exactly once, unless retention may have
 *   dropped it (older than the latest raw cut the child started); no sample is present twice, and none
 *   that the child never tried to commit;
 * - every chunk's stored hourly rollups equal the rollups of its data (compaction wrote both or neither).
 */
import assert from "node:assert/strict";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { createSecretBox } from "../../src/core/secrets.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { decodeAggregates, decodeBlock, rollupsOf } from "../../src/store/timeseries/index.js";
import { type Attempt, checkSamples, runAndKill } from "../helpers/storage-crash.js";

const CHILD = fileURLToPath(new URL("../helpers/storage-crash-child.ts", import.meta.url));
/** What each kill aims at: any moment, or just after the journal announces that phase. */
const KILLS: readonly ("random" | "K" | "R")[] = ["random", "K", "R", "K", "random", "K", "R", "K"];
/** Random delay after the child is ready (then, for aimed kills, the wait for the phase). */
const KILL_MIN_MS = 100;
const KILL_MAX_MS = 900;
/** Aimed kills come this long (random up to) after the phase's journal line. */
const AIM_MS = { K: 40, R: 1 } as const;
const WAIT_MS = 20_000;

interface Journal {
  /** Packets the child started to commit: first and last seq, oldest timestamp, whether it returned. */
  attempts: Attempt[];
  lastSim: number;
  /** Latest simulated time a retention run started at. */
  lastRetention: number;
  /** Where the last kill landed. */
  phase: string;
}

const PHASE: Record<string, string> = {
  S: "start",
  T: "commit",
  A: "commit",
  C: "compaction",
  K: "compaction",
};

function readJournal(text: string): Journal {
  const j: Journal = { attempts: [], lastSim: 0, lastRetention: 0, phase: "start" };
  let open: Journal["attempts"] = [];
  for (const line of text.split("\n")) {
    const [kind, a, b, c] = line.split(" ");
    if (!kind) continue;
    if (kind === "S") open = [];
    else if (kind === "T") j.lastSim = Number(a);
    else if (kind === "A") {
      const attempt = { first: Number(a), last: Number(b), minTs: Number(c), committed: false };
      j.attempts.push(attempt);
      open.push(attempt);
    } else if (kind === "C") {
      // The commit returned: every packet attempted since the last one is in it.
      for (const o of open) o.committed = true;
      open = [];
    } else if (kind === "R") j.lastRetention = Number(a);
    j.phase = PHASE[kind] ?? (kind === "k" || kind === "R" ? "retention" : "commit");
  }
  return j;
}

/** Resolves as soon as a line starting with `mark` is appended to the journal (tail polled). */
async function journalMark(journal: string, mark: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  const fh = await open(journal, "r");
  try {
    // Only lines appended from now on.
    let pos = (await fh.stat()).size;
    let tail = "";
    const buf = Buffer.alloc(1 << 16);
    while (Date.now() < deadline) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      pos += bytesRead;
      tail = (tail + buf.toString("utf8", 0, bytesRead)).slice(-256);
      if (tail.includes(`\n${mark} `)) return;
      if (bytesRead === 0) await new Promise((r) => setImmediate(r));
      tail = tail.slice(tail.lastIndexOf("\n"));
    }
  } finally {
    await fh.close();
  }
  throw new Error(`journal never showed ${mark}`);
}

function runChildAndKill(
  file: string,
  journal: string,
  seq: number,
  sim: number,
  aim: (typeof KILLS)[number],
): Promise<void> {
  return runAndKill(CHILD, [file, journal, String(seq), String(sim)], {
    minMs: KILL_MIN_MS,
    maxMs: KILL_MAX_MS,
    aim:
      aim === "random"
        ? undefined
        : async () => {
            await journalMark(journal, aim);
            await new Promise((r) => setTimeout(r, Math.random() * AIM_MS[aim]));
          },
  });
}

async function verify(file: string, j: Journal): Promise<number> {
  const db = new Database(file);
  try {
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
    // Rollups of each remaining chunk are those of its data (rollupDays > rawDays: none dropped yet).
    const chunks = db.prepare("SELECT device_id, start_ms, data FROM chunks").all() as {
      device_id: string;
      start_ms: number;
      data: Buffer;
    }[];
    const hours = db.prepare("SELECT data FROM rollup_1h WHERE device_id = ? AND day = ?").pluck();
    for (const c of chunks) {
      const want = rollupsOf(decodeBlock(c.data))["1h"];
      const stored = hours.get(c.device_id, c.start_ms) as Buffer | undefined;
      assert.ok(stored, `no hourly rollups for chunk ${c.device_id}@${c.start_ms}`);
      assert.deepEqual(decodeAggregates(stored), want, `rollups of chunk ${c.device_id}@${c.start_ms}`);
    }
  } finally {
    db.close();
  }
  // Samples as the store shows them: chunks and uncompacted rows merged.
  const stores = openSqliteStores(file, createSecretBox(Buffer.alloc(32, 1)), { synchronous: "FULL" });
  try {
    return await checkSamples(stores.telemetry, j.attempts, j.lastRetention);
  } finally {
    await stores.close();
  }
}

test("a SIGKILL during commit, compaction or retention loses and duplicates nothing", {
  timeout: 120_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "pumpwatch-storage-crash-"));
  const file = join(dir, "pumpwatch.db");
  const journalFile = join(dir, "journal.txt");
  try {
    let seq = 0;
    let sim = Date.UTC(2026, 0, 1);
    const landed: string[] = [];
    for (const [k, aim] of KILLS.entries()) {
      await runChildAndKill(file, journalFile, seq, sim, aim);
      const j = readJournal(await readFile(journalFile, "utf8").catch(() => ""));
      const present = await verify(file, j);
      landed.push(j.phase);
      t.diagnostic(
        `kill ${k + 1} (${aim}): during ${j.phase}, ${present} samples present, ${j.attempts.length} packets tried`,
      );
      seq = j.attempts.length > 0 ? j.attempts[j.attempts.length - 1]!.last + 1 : seq;
      sim = Math.max(sim, j.lastSim);
    }
    t.diagnostic(`kills landed during: ${landed.join(", ")}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
