import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createSecretBox } from "../../src/core/secrets.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { storeContract } from "../helpers/store-contract.js";

const dirs: string[] = [];
async function tempDb(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pumpwatch-store-"));
  dirs.push(dir);
  return join(dir, "pumpwatch.db");
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

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

  it("cannot open the keys with another master key", async () => {
    const file = await tempDb();
    const a = openSqliteStores(file, createSecretBox(randomBytes(32)), { synchronous: "FULL" });
    await a.registry.createDevice({
      id: "p-2",
      primaryKey: "AAAA",
      secondaryKey: "BBBB",
      enrollmentKind: "manual",
    });
    await a.close();
    const b = openSqliteStores(file, createSecretBox(randomBytes(32)), { synchronous: "FULL" });
    await assert.rejects(b.registry.getDevice("p-2"));
    await b.close();
  });

  it("sees changes committed by another connection through changeMark", async () => {
    const file = await tempDb();
    const box = createSecretBox(randomBytes(32));
    const a = openSqliteStores(file, box, { synchronous: "NORMAL" });
    const b = openSqliteStores(file, box, { synchronous: "NORMAL" });
    const before = await a.registry.changeMark();
    await b.registry.createDevice({
      id: "p-3",
      primaryKey: "AAAA",
      secondaryKey: "BBBB",
      enrollmentKind: "manual",
    });
    assert.notEqual(await a.registry.changeMark(), before);
    await a.close();
    await b.close();
  });
});
