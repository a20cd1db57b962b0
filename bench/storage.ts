/**
 * Storage benchmark (issue 4, item 8): the telemetry store alone, without network or ingest.
 *
 *   npm run bench:storage [-- --pumps 20 --days 30 --year-days 365 --reps 40 --max-seconds 600 --keep DIR
 *                            --backends sqlite,postgres --pg postgres://root@127.0.0.1:5432/test]
 *
 * Per backend (a function per backend below, each returning the same result object):
 * 1. Fleet: `pumps` simulated pumps (scenarios/demo.json's assets, repeated) × `days` days of 10-second
 *    data, committed in time order as ingest does it — 60-second packets (the device agent's default,
 *    6 samples each) with a UUID message id, 240 packets per group commit — with `compact(simNow)`
 *    after every simulated hour, as the server's timer does. `samplesPerSec` = signal values through
 *    commit + compaction per second of wall time. After a final compaction the files' size (database +
 *    WAL, as they are, nothing vacuumed or checkpointed) over the number of values is `bytesPerSample`;
 *    the breakdown per table comes from SQLite's dbstat.
 * 2. Year: one pump × `year-days` days of 10-second data the same way, the last day half full and not
 *    compacted (as it is live), then `querySeries` of all its signals at 2000 points for the last hour,
 *    day, week, month and year, `reps` times each with `to` moved randomly within the last 30 days.
 *    `queryP95Ms` is the year query's p95.
 *
 * A *sample* is one signal value (one data point), as in bench/sim.ts. Progress goes to stderr; the
 * last stdout line is the JSON result, one line per backend before it.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { createSecretBox } from "../src/core/secrets.js";
import { batchSamples, createFleet, parseScenario } from "../src/sim/index.js";
import type { CommitUnit, Stores } from "../src/store/ports.js";
import { openSqliteStores } from "../src/store/sqlite/index.js";
import { DEFAULT_PG_URL, openBenchSchema, pgUnavailable } from "./storage-postgres.js";

const { values: flags } = parseArgs({
  options: {
    pumps: { type: "string", default: "20" },
    days: { type: "string", default: "30" },
    "year-days": { type: "string", default: "365" },
    reps: { type: "string", default: "40" },
    "max-seconds": { type: "string", default: "900" },
    keep: { type: "string" },
    backends: { type: "string", default: "sqlite,postgres" },
    pg: { type: "string", default: DEFAULT_PG_URL },
  },
  strict: true,
});

const PUMPS = Number(flags.pumps);
const DAYS = Number(flags.days);
const YEAR_DAYS = Number(flags["year-days"]);
const REPS = Number(flags.reps);
/** Each backend gets `max-seconds` of its own (reset before each). */
let DEADLINE = performance.now() + Number(flags["max-seconds"]) * 1000;
const STEP_MS = 10_000;
const PACKET_SAMPLES = 6;
const GROUP_UNITS = 240;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
const SCENARIO = fileURLToPath(new URL("../scenarios/demo.json", import.meta.url));

export interface BackendResult {
  backend: string;
  samplesPerSec: number;
  bytesPerSample: number;
  queryP95Ms: number;
  [detail: string]: unknown;
}

function progress(msg: string): void {
  process.stderr.write(`[bench:storage] ${msg}\n`);
}

/** The demo scenario with its assets repeated until there are `n` (ids suffixed), starting at `start`. */
function fleetOf(n: number, start: number) {
  const json = JSON.parse(readFileSync(SCENARIO, "utf8")) as {
    fleet: { start: string };
    companies: { assets: { id: string }[] }[];
  };
  const all = json.companies.flatMap((c) => c.assets.map((a) => ({ company: c, asset: a })));
  for (const c of json.companies) c.assets = [];
  for (let i = 0; i < n; i++) {
    const { company, asset } = all[i % all.length]!;
    company.assets.push({
      ...asset,
      id: i < all.length ? asset.id : `${asset.id}-${Math.floor(i / all.length)}`,
    });
  }
  json.companies = json.companies.filter((c) => c.assets.length > 0);
  json.fleet.start = new Date(start).toISOString();
  return createFleet(parseScenario(json), { start, stepMs: STEP_MS });
}

interface LoadResult {
  samples: number;
  seconds: number;
  commitSeconds: number;
  compactSeconds: number;
  complete: boolean;
}

/**
 * Commits `pumps` × `days` of 10-second data through `stores.telemetry` in time order (packets and
 * group commits as ingest makes them) and compacts after every simulated hour. Time is `performance`
 * wall time of the store calls only (the simulator's own time is excluded).
 */
async function load(stores: Stores, pumps: number, days: number, openTailMs = 0): Promise<LoadResult> {
  const fleet = fleetOf(pumps, T0);
  const end = T0 + days * DAY - openTailMs;
  let samples = 0;
  let commitMs = 0;
  let compactMs = 0;
  let complete = true;
  let group: CommitUnit[] = [];
  const flush = async () => {
    if (group.length === 0) return;
    const t = performance.now();
    await stores.telemetry.commit(group);
    commitMs += performance.now() - t;
    group = [];
  };
  let lastLog = performance.now();
  for (const batch of fleet.backfill({ to: end, stepMs: STEP_MS, batchSteps: HOUR / STEP_MS })) {
    const list = batchSamples(batch);
    for (let i = 0; i < list.length; i += PACKET_SAMPLES) {
      const packet = list.slice(i, i + PACKET_SAMPLES);
      for (const s of packet) samples += Object.keys(s.values).length;
      group.push({
        kind: "accept",
        deviceId: batch.assetId,
        messageId: randomUUID(),
        receivedAt: 0,
        samples: packet,
      });
      if (group.length >= GROUP_UNITS) await flush();
    }
    if (batch.assetId === fleet.assets[fleet.assets.length - 1]!.id) {
      await flush();
      const t = performance.now();
      await stores.telemetry.compact(batch.ts[batch.length - 1]!);
      compactMs += performance.now() - t;
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        progress(
          `  … ${new Date(batch.ts[batch.length - 1]!).toISOString().slice(0, 13)}h, ${samples} samples`,
        );
      }
      if (performance.now() > DEADLINE) {
        complete = false;
        progress("  stopped at --max-seconds");
        break;
      }
    }
  }
  await flush();
  if (openTailMs === 0) {
    const t = performance.now();
    await stores.telemetry.compact(end + HOUR);
    compactMs += performance.now() - t;
  }
  const seconds = (commitMs + compactMs) / 1000;
  return { samples, seconds, commitSeconds: commitMs / 1000, compactSeconds: compactMs / 1000, complete };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const RANGES: [string, number][] = [
  ["1h", HOUR],
  ["1d", DAY],
  ["1w", 7 * DAY],
  ["1mo", 30 * DAY],
  ["1y", 365 * DAY],
];

/** The figures both backends report about their loads and queries. */
function loadFigures(
  fleet: LoadResult,
  year: LoadResult,
  signals: number,
  q: Awaited<ReturnType<typeof queries>>,
) {
  return {
    pumps: PUMPS,
    days: DAYS,
    loadSeconds: round(fleet.seconds, 1),
    commitSeconds: round(fleet.commitSeconds, 1),
    compactSeconds: round(fleet.compactSeconds, 1),
    complete: fleet.complete && year.complete,
    yearSamples: year.samples,
    signals,
    queries: q,
  };
}

/** p50/p95 of querySeries at 2000 points per range, `to` jittered within the last 30 days of data. */
async function queries(stores: Stores, deviceId: string, signals: string[], end: number) {
  const out: Record<string, { p50Ms: number; p95Ms: number; points: number; resolution: string }> = {};
  let seed = 1;
  const rand = () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  for (const [name, span] of RANGES) {
    const times: number[] = [];
    let last = { points: 0, resolution: "" };
    for (let i = -3; i < REPS; i++) {
      const to = i < 0 ? end : end - Math.floor(rand() * 30) * DAY - Math.floor(rand() * DAY);
      const t = performance.now();
      const s = await stores.telemetry.querySeries({
        deviceId,
        signals,
        fromMs: to - span,
        toMs: to,
        points: 2000,
      });
      const ms = performance.now() - t;
      if (i >= 0) times.push(ms);
      last = {
        points: s.t.length,
        resolution: s.bucketMs ? `${s.resolution}/${s.bucketMs / 60_000}min` : "raw",
      };
    }
    times.sort((a, b) => a - b);
    out[name] = { p50Ms: round(quantile(times, 0.5)), p95Ms: round(quantile(times, 0.95)), ...last };
    progress(
      `  query ${name}: p50 ${out[name].p50Ms} ms, p95 ${out[name].p95Ms} ms, ${last.points} points (${last.resolution})`,
    );
  }
  return out;
}

function round(x: number, digits = 2): number {
  return Number(x.toFixed(digits));
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Bytes per table and index (dbstat), plus free pages. */
function breakdown(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC")
      .all() as {
      name: string;
      bytes: number;
    }[];
    const out: Record<string, number> = Object.fromEntries(rows.map((r) => [r.name, r.bytes]));
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    out["(free pages)"] = (db.pragma("freelist_count", { simple: true }) as number) * pageSize;
    return out;
  } finally {
    db.close();
  }
}

async function sqliteBackend(dir: string): Promise<BackendResult> {
  const box = createSecretBox(Buffer.alloc(32, 7));
  const fleetFile = join(dir, "fleet.db");
  const fleetStores = openSqliteStores(fleetFile, box, { synchronous: "FULL" });
  progress(`sqlite: loading ${PUMPS} pumps × ${DAYS} days of 10-second data`);
  const fleet = await load(fleetStores, PUMPS, DAYS);
  const walBytes = fileSize(`${fleetFile}-wal`);
  const bytes = fileSize(fleetFile) + walBytes;
  const parts = breakdown(fleetFile);
  const messageIdBytes = (parts["message_ids"] ?? 0) + (parts["message_ids_received"] ?? 0);
  progress(
    `  ${fleet.samples} samples in ${fleet.seconds.toFixed(1)} s (commit ${fleet.commitSeconds.toFixed(1)} s, ` +
      `compaction ${fleet.compactSeconds.toFixed(1)} s); ${bytes} bytes = ${(bytes / fleet.samples).toFixed(3)} B/sample`,
  );
  progress(`  breakdown: ${JSON.stringify(parts)}`);
  await fleetStores.close();

  const yearFile = join(dir, "year.db");
  const yearStores = openSqliteStores(yearFile, box, { synchronous: "FULL" });
  progress(`sqlite: loading 1 pump × ${YEAR_DAYS} days, the last 12 h not compacted`);
  const year = await load(yearStores, 1, YEAR_DAYS, 12 * HOUR);
  const deviceId = fleetOf(1, T0).assets[0]!.id;
  const signals = [...fleetOf(1, T0).assets[0]!.signals];
  progress(`  ${year.samples} samples (${signals.length} signals) in ${year.seconds.toFixed(1)} s`);
  const q = await queries(yearStores, deviceId, signals, T0 + YEAR_DAYS * DAY - 12 * HOUR);
  await yearStores.close();

  return {
    backend: "sqlite",
    samplesPerSec: Math.round(fleet.samples / fleet.seconds),
    bytesPerSample: round(bytes / fleet.samples, 3),
    queryP95Ms: q["1y"]!.p95Ms,
    bytesPerSampleWithoutMessageIds: round((bytes - messageIdBytes) / fleet.samples, 3),
    samples: fleet.samples,
    bytes,
    breakdown: parts,
    walBytes,
    ...loadFigures(fleet, year, signals.length, q),
  };
}

/**
 * PostgreSQL at `--pg` (default: the development machine's), each load in a fresh schema, dropped
 * afterwards unless --keep. Skipped, saying so, when the server is not reachable. `bytesPerSample`
 * counts every table of the schema after a plain VACUUM (what autovacuum reaches; compaction deletes
 * the raw rows it compressed, and until vacuum runs their dead tuples still take space —
 * `bytesPerSampleBeforeVacuum`); the server's WAL is shared and recycled, so it is not counted.
 */
async function postgresBackend(): Promise<BackendResult | undefined> {
  const url = flags.pg;
  const why = await pgUnavailable(url);
  if (why) {
    progress(`postgres: skipped, not reachable at ${url} (${why})`);
    return undefined;
  }
  const box = createSecretBox(Buffer.alloc(32, 7));
  const total = (p: Record<string, number>) => Object.values(p).reduce((a, b) => a + b, 0);
  const fleetDb = await openBenchSchema(url, box);
  progress(`postgres: loading ${PUMPS} pumps × ${DAYS} days of 10-second data (schema ${fleetDb.schema})`);
  const fleet = await load(fleetDb.stores, PUMPS, DAYS);
  const before = total(await fleetDb.sizes());
  await fleetDb.vacuum();
  const parts = await fleetDb.sizes();
  const bytes = total(parts);
  progress(
    `  ${fleet.samples} samples in ${fleet.seconds.toFixed(1)} s (commit ${fleet.commitSeconds.toFixed(1)} s, ` +
      `compaction ${fleet.compactSeconds.toFixed(1)} s); ${bytes} bytes = ${(bytes / fleet.samples).toFixed(3)} B/sample ` +
      `(${(before / fleet.samples).toFixed(3)} before VACUUM)`,
  );
  progress(`  breakdown: ${JSON.stringify(parts)}`);
  await fleetDb.close(flags.keep !== undefined);

  const yearDb = await openBenchSchema(url, box);
  progress(
    `postgres: loading 1 pump × ${YEAR_DAYS} days, the last 12 h not compacted (schema ${yearDb.schema})`,
  );
  const year = await load(yearDb.stores, 1, YEAR_DAYS, 12 * HOUR);
  const asset = fleetOf(1, T0).assets[0]!;
  const signals = [...asset.signals];
  progress(`  ${year.samples} samples (${signals.length} signals) in ${year.seconds.toFixed(1)} s`);
  const q = await queries(yearDb.stores, asset.id, signals, T0 + YEAR_DAYS * DAY - 12 * HOUR);
  await yearDb.close(flags.keep !== undefined);

  return {
    backend: "postgres",
    samplesPerSec: Math.round(fleet.samples / fleet.seconds),
    bytesPerSample: round(bytes / fleet.samples, 3),
    queryP95Ms: q["1y"]!.p95Ms,
    bytesPerSampleWithoutMessageIds: round((bytes - (parts["message_ids"] ?? 0)) / fleet.samples, 3),
    bytesPerSampleBeforeVacuum: round(before / fleet.samples, 3),
    samples: fleet.samples,
    bytes,
    breakdown: parts,
    ...loadFigures(fleet, year, signals.length, q),
  };
}

/** Backends measured, in order (--backends picks some); undefined: skipped. */
const BACKENDS: [string, (dir: string) => Promise<BackendResult | undefined>][] = [
  ["sqlite", sqliteBackend],
  ["postgres", postgresBackend],
];

const results: BackendResult[] = [];
for (const [name, run] of BACKENDS.filter(([n]) => flags.backends.split(",").includes(n))) {
  const dir = flags.keep ?? (await mkdtemp(join(tmpdir(), `pumpwatch-bench-${name}-`)));
  DEADLINE = performance.now() + Number(flags["max-seconds"]) * 1000;
  try {
    const r = await run(dir);
    if (r) results.push(r);
  } finally {
    if (!flags.keep) await rm(dir, { recursive: true, force: true });
  }
}
for (const r of results) {
  const { backend, samplesPerSec, bytesPerSample, queryP95Ms } = r;
  process.stderr.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(`${JSON.stringify({ backend, samplesPerSec, bytesPerSample, queryP95Ms })}\n`);
}
