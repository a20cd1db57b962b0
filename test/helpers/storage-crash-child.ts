/**
 * Child process of test/e2e/storage-crash.test.ts: loads telemetry into a SQLite store and runs
 * compaction and retention in a loop until it is killed.
 *
 *   node --import tsx test/helpers/storage-crash-child.ts <db file> <journal file> <first seq> <sim time ms>
 *
 * Every sample carries a unique `seq` value. Before each step the child appends a line to the journal
 * with a synchronous write(2) — it reaches the page cache, so a SIGKILL cannot lose it:
 *   `S <first seq>`                 the child started (packets attempted before without a `C` are unknown)
 *   `T <sim ms>`                    simulated time of the iteration
 *   `A <first> <last> <min ts>`     about to commit seqs first…last (one packet), oldest timestamp
 *   `C <last>`                      the commit holding seqs up to last returned
 *   `K <sim ms>` / `k <ms taken>`   compaction starts / ended
 *   `R <sim ms>` / `r <ms taken>`   retention (RAW_DAYS, ROLLUP_DAYS) starts / ended
 * Simulated time moves one day per iteration: 10-second samples of three devices in 10-minute packets
 * (the last sample of each packet twice), plus late samples into the two days before, which are already
 * compacted; then a compaction (the day that just closed, and the late samples' days) and retention.
 * Prints "ready" on stdout once the store is open.
 */
import { pathToFileURL } from "node:url";
import { createSecretBox } from "../../src/core/secrets.js";
import type { CommitUnit } from "../../src/store/ports.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { CrashLoad, DEVICES, RAW_DAYS, ROLLUP_DAYS } from "./storage-crash.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STEP = 10_000;

async function main(): Promise<void> {
  const [file, journalFile, firstSeq, simStart] = process.argv.slice(2);
  if (!file || !journalFile || !firstSeq || !simStart)
    throw new Error("usage: <db> <journal> <seq> <sim ms>");
  const load = new CrashLoad(journalFile, Number(firstSeq));
  const log = (line: string) => load.log(line);
  const stores = openSqliteStores(file, createSecretBox(Buffer.alloc(32, 1)), { synchronous: "FULL" });
  let now = Number(simStart);
  log(`S ${load.seq}`);
  process.stdout.write("ready\n");
  for (;;) {
    now += DAY;
    log(`T ${now}`);
    const units: CommitUnit[] = [];
    const packet = (deviceId: string, stamps: number[]) => load.packet(units, deviceId, stamps, now);
    for (const d of DEVICES) {
      for (let from = now - DAY; from < now; from += 600_000) {
        const stamps = Array.from({ length: 60 }, (_, i) => from + i * STEP);
        stamps.push(stamps[59]!);
        packet(d, stamps);
      }
      packet(d, [now - 36 * HOUR + 1234, now - 30 * HOUR + 5678, now - 60 * HOUR + 42]);
    }
    await stores.telemetry.commit(units);
    log(`C ${load.seq - 1}`);
    let t = performance.now();
    log(`K ${now}`);
    await stores.telemetry.compact(now);
    log(`k ${(performance.now() - t).toFixed(1)}`);
    t = performance.now();
    log(`R ${now}`);
    await stores.telemetry.applyRetention(DEVICES, { rawDays: RAW_DAYS, rollupDays: ROLLUP_DAYS }, now);
    log(`r ${(performance.now() - t).toFixed(1)}`);
  }
}

// Run only as a script.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
