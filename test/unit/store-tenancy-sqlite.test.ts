import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { openTestSqlite as open, sqlitePair } from "../helpers/sqlite.js";
import { tempFiles } from "../helpers/temp.js";
import { tenancyContract } from "../helpers/tenancy-contract.js";

const tempDb = tempFiles("pumpwatch-tenancy-", "pumpwatch.db");

tenancyContract(
  "sqlite",
  async () => open(await tempDb()),
  async () => sqlitePair(await tempDb(), "tenancy"),
);

/** How often `needle` occurs in the database file and its WAL (a missing WAL counts as empty). */
async function hits(file: string, needle: string): Promise<number> {
  let n = 0;
  for (const f of [file, `${file}-wal`]) {
    if (!existsSync(f)) continue;
    const bytes = await readFile(f);
    const pattern = Buffer.from(needle, "utf8");
    for (let i = bytes.indexOf(pattern); i !== -1; i = bytes.indexOf(pattern, i + 1)) n++;
  }
  return n;
}

describe("sqlite tenancy erasure", () => {
  it("leaves neither the e-mail nor the phone of a deleted user in the database file or its WAL", async () => {
    const file = await tempDb();
    const stores = open(file);
    try {
      const t = stores.tenancy;
      const T = Date.parse("2026-03-01T00:00:00Z");
      const tag = randomBytes(6).toString("hex");
      const email = `Erase.Me.${tag}@Example.com`;
      const phone = `+49 170 ${tag}`;
      const oldPhone = `+49 171 ${tag}`;
      await t.createCompany({ id: "co", name: "Erasure GmbH", postalAddress: "Weg 1" }, T);
      // Neighbours on the same pages, before and after, so the deleted cells sit between live ones.
      for (let i = 0; i < 40; i++) {
        await t.createUser(
          {
            id: `n${String(i).padStart(2, "0")}`,
            companyId: "co",
            role: "companyUser",
            email: `n${i}@example.com`,
            phone: `+49 30 ${i}`,
          },
          T,
        );
        if (i === 20) {
          await t.createUser(
            {
              id: "victim",
              companyId: "co",
              role: "companyUser",
              email,
              phone: oldPhone,
              postalAddress: "Str. 5",
            },
            T,
          );
          await t.updateUser("victim", { phone }, T + 1);
          await t.createSession({
            hash: randomBytes(32).toString("hex"),
            userId: "victim",
            createdAt: T,
            expiresAt: T + 1e6,
            lastSeenAt: T,
          });
          await t.createOneTimeToken({
            hash: randomBytes(32).toString("hex"),
            kind: "invitation",
            userId: "victim",
            createdAt: T,
            expiresAt: T + 1e6,
          });
        }
      }
      for (const needle of [email, email.toLowerCase(), phone]) {
        assert.ok((await hits(file, needle)) > 0, `the search finds ${needle} before the erasure`);
      }

      assert.equal(await t.deleteUser("victim"), true);

      for (const needle of [email, email.toLowerCase(), phone, oldPhone]) {
        assert.equal(await hits(file, needle), 0, `${needle} left in the files`);
      }
      // The store still works, and its neighbours are intact.
      assert.equal((await t.listUsers("co")).length, 40);
      assert.equal((await t.getUserByEmail("n21@example.com"))?.phone, "+49 30 21");
    } finally {
      await stores.close();
    }
  });
});
