/**
 * What the storage crash tests share (test/e2e/storage-crash.test.ts on SQLite and
 * test/e2e/storage-crash-postgres.test.ts on PostgreSQL), and their children
 * (./storage-crash-child.ts, ./storage-crash-postgres-child.ts): the fleet and retention the children
 * load with, their journal and packets, running a child until it is SIGKILLed, and the sample checks
 * after each kill.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { openSync, writeSync } from "node:fs";
import type { CommitUnit, TelemetryStore } from "../../src/store/ports.js";
import { DAY_MS, windowStart } from "../../src/store/timeseries/index.js";
import { REPO_ROOT } from "./child.js";

export const DEVICES = ["crash-a", "crash-b", "crash-c"];
export const RAW_DAYS = 2;
export const ROLLUP_DAYS = 3;
const WAIT_MS = 20_000;

/**
 * The child's journal (appended with a synchronous write(2): it reaches the page cache, so a SIGKILL
 * cannot lose it) and its packets: every sample carries a unique `seq` value, from `firstSeq` on.
 */
export class CrashLoad {
  readonly #journal: number;
  seq: number;

  constructor(journalFile: string, firstSeq: number) {
    this.#journal = openSync(journalFile, "a");
    this.seq = firstSeq;
  }

  log(line: string): void {
    writeSync(this.#journal, `${line}\n`);
  }

  /** Adds one packet of samples at `stamps` to `units`, journalled as `A <first> <last> <min ts>`. */
  packet(units: CommitUnit[], deviceId: string, stamps: number[], receivedAt: number): void {
    const seq = this.seq;
    const samples = stamps.map((ts, i) => ({
      ts,
      values: { seq: seq + i, oilTemperature: Math.round(600 + ((seq + i) % 300)) / 10 },
    }));
    this.log(`A ${seq} ${seq + stamps.length - 1} ${Math.min(...stamps)}`);
    units.push({ kind: "accept", deviceId, messageId: `m${seq}`, receivedAt, samples });
    this.seq += stamps.length;
  }
}

/**
 * Starts a child script (with tsx) and SIGKILLs it once it printed "ready", a random time in
 * [minMs, maxMs) passed and then `aim` (if given) resolved; fails when it died by itself.
 */
export async function runAndKill(
  script: string,
  args: readonly string[],
  o: { minMs: number; maxMs: number; aim?: (() => Promise<void>) | undefined },
): Promise<void> {
  const env = { ...process.env };
  delete env["NODE_TEST_CONTEXT"];
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    output += s;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child not ready within ${WAIT_MS} ms\n${output}`)),
        WAIT_MS,
      );
      child.stdout.setEncoding("utf8").on("data", (s: string) => {
        if (s.includes("ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`child exited (${code}) before the kill\n${output}`));
      });
    });
    await new Promise((r) => setTimeout(r, o.minMs + Math.random() * (o.maxMs - o.minMs)));
    if (o.aim) await o.aim();
    assert.equal(child.exitCode, null, `child died by itself\n${output}`);
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

/** Packets a child started to commit: first and last seq, oldest timestamp, whether it was committed. */
export interface Attempt {
  first: number;
  last: number;
  minTs: number;
  committed: boolean;
}

/**
 * Checks the samples the store shows (chunks and uncompacted rows merged) against the journal: none
 * present twice, none never attempted, and every committed one present unless retention may have
 * dropped it (older than the raw cut of the latest retention run started at `lastRetention`; that run
 * may have finished before the kill). Returns how many samples are present.
 */
export async function checkSamples(
  telemetry: TelemetryStore,
  attempts: readonly Attempt[],
  lastRetention: number,
): Promise<number> {
  const seen = new Map<number, number>();
  for (const d of DEVICES) {
    for await (const page of telemetry.exportSamples(d, 0, Number.MAX_SAFE_INTEGER)) {
      for (const s of page) seen.set(s.values["seq"]!, (seen.get(s.values["seq"]!) ?? 0) + 1);
    }
  }
  const attempted = new Set<number>();
  for (const a of attempts) for (let s = a.first; s <= a.last; s++) attempted.add(s);
  for (const [s, n] of seen) {
    assert.equal(n, 1, `seq ${s} is present ${n} times`);
    assert.ok(attempted.has(s), `seq ${s} is present but was never committed`);
  }
  // Retention drops whole days before its cut.
  const rawCut = windowStart(lastRetention - RAW_DAYS * DAY_MS);
  for (const a of attempts) {
    if (!a.committed || a.minTs < rawCut) continue;
    for (let s = a.first; s <= a.last; s++) assert.equal(seen.get(s), 1, `committed seq ${s} is missing`);
  }
  return seen.size;
}
