import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { createSecretBox } from "../../src/core/secrets.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { analyticsContract } from "../helpers/analytics-contract.js";

const dirs: string[] = [];
async function tempDb(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pumpwatch-analytics-"));
  dirs.push(dir);
  return join(dir, "pumpwatch.db");
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const open = (file: string) =>
  openSqliteStores(file, createSecretBox(randomBytes(32)), { synchronous: "NORMAL" });

analyticsContract(
  "sqlite",
  async () => open(await tempDb()),
  async () => {
    // Two connections on one file, as two processes would have.
    const file = await tempDb();
    const a = open(file);
    const b = open(file);
    return {
      a: a.analytics,
      b: b.analytics,
      async close() {
        await a.close();
        await b.close();
      },
    };
  },
);
