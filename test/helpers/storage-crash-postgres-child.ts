/**
 * Child process of test/e2e/storage-crash-postgres.test.ts: commits telemetry into PostgreSQL stores
 * (in the given schema) and compacts and applies retention in a loop until it is killed.
 *
 *   node --import tsx test/helpers/storage-crash-postgres-child.ts <url> <schema> <journal> <first seq> <sim ms>
 *
 * The journal has the lines of test/helpers/storage-crash-child.ts (the SQLite twin of this child),
 * each written with a synchronous write(2) before the step it announces, so a SIGKILL cannot lose it:
 * `T <sim>`, `A <first> <last> <min ts>`, `C <last>`, `K <sim>`/`k`, `R <sim>`/`r`. "ready" on stdout.
 */
import { pathToFileURL } from "node:url";
import { createSecretBox } from "../../src/core/secrets.js";
import type { CommitUnit } from "../../src/store/ports.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import { CrashLoad, DEVICES, RAW_DAYS, ROLLUP_DAYS } from "./storage-crash.js";

const HOUR = 3_600_000;
const STEP = 10_000;

async function main(): Promise<void> {
  const [url, schema, journalFile, firstSeq, simStart] = process.argv.slice(2);
  if (!url || !schema || !journalFile || !firstSeq || !simStart) {
    throw new Error("usage: <url> <schema> <journal> <seq> <sim ms>");
  }
  const load = new CrashLoad(journalFile, Number(firstSeq));
  const log = (line: string) => load.log(line);
  const stores = openPostgresStores(url, createSecretBox(Buffer.alloc(32, 1)), { schema });
  await stores.ready;
  let now = Number(simStart);
  process.stdout.write("ready\n");
  for (let iteration = 0; ; iteration++) {
    now += HOUR;
    log(`T ${now}`);
    const units: CommitUnit[] = [];
    const packet = (deviceId: string, stamps: number[]) => load.packet(units, deviceId, stamps, now);
    for (const d of DEVICES) {
      // One hour of 10-second samples in six 10-minute packets, the last sample of each hour twice.
      for (let p = 0; p < 6; p++) {
        const from = now - HOUR + p * 600_000;
        const stamps = Array.from({ length: 60 }, (_, i) => from + i * STEP);
        if (p === 5) stamps.push(stamps[59]!);
        packet(d, stamps);
      }
      // Late samples into a day that is already compacted, now and then.
      if (iteration % 5 === 4) packet(d, [now - 36 * HOUR + 1234, now - 30 * HOUR + 5678]);
    }
    await stores.telemetry.commit(units);
    log(`C ${load.seq - 1}`);
    log(`K ${now}`);
    await stores.telemetry.compact(now);
    log("k");
    log(`R ${now}`);
    await stores.telemetry.applyRetention(DEVICES, { rawDays: RAW_DAYS, rollupDays: ROLLUP_DAYS }, now);
    log("r");
  }
}

// Run only as a script.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
