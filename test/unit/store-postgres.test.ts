import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { createSecretBox } from "../../src/core/secrets.js";
import type { CommitUnit } from "../../src/store/ports.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import {
  createSchema,
  describePostgres,
  dropSchema,
  freshPostgresStores,
  inSchema,
  PG_URL,
} from "../helpers/postgres.js";
import { sharedDatabaseContract, storeContract } from "../helpers/store-contract.js";

await describePostgres("postgres stores", () => {
  storeContract("postgres", () => freshPostgresStores(createSecretBox(randomBytes(32))));

  describe("postgres registry and schema", () => {
    const schemas: string[] = [];
    after(async () => {
      for (const s of schemas) await dropSchema(s);
    });
    const schema = async () => {
      const s = await createSchema();
      schemas.push(s);
      return s;
    };

    it("does not keep device keys in clear text in the database", async () => {
      const stores = await freshPostgresStores(createSecretBox(randomBytes(32)));
      const key = randomBytes(32).toString("base64");
      await stores.registry.createDevice({
        id: "p-1",
        primaryKey: key,
        secondaryKey: key,
        enrollmentKind: "manual",
      });
      const rows = await inSchema(stores.schema, async (c) => (await c.query("SELECT * FROM devices")).rows);
      assert.equal(JSON.stringify(rows).includes(key), false);
      assert.equal(JSON.stringify(rows).includes("p-1"), true);
      await stores.close();
    });

    sharedDatabaseContract(async () => {
      const s = await schema();
      return (box) => openPostgresStores(PG_URL, box, { schema: s });
    });

    it("migrates once when several processes start at the same time", async () => {
      const s = await schema();
      const box = createSecretBox(randomBytes(32));
      const all = Array.from({ length: 5 }, () => openPostgresStores(PG_URL, box, { schema: s, max: 2 }));
      await Promise.all(all.map((x) => x.ready));
      const versions = await inSchema(
        s,
        async (c) => (await c.query("SELECT version FROM schema_version")).rows,
      );
      const numbers = versions.map((r: { version: number }) => r.version);
      assert.deepEqual(
        numbers.sort((x, y) => x - y),
        [...new Set(numbers)].sort((x, y) => x - y),
      );
      await Promise.all(all.map((x) => x.close()));
    });

    it("reports an unreachable server when first used, saying where", async () => {
      const stores = openPostgresStores(
        "postgres://nobody:secret@127.0.0.1:1/none",
        createSecretBox(randomBytes(32)),
      );
      await assert.rejects(stores.registry.getSetting("x"), (e: Error) => {
        assert.match(e.message, /not reachable at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
        return true;
      });
      await stores.close();
    });

    it("stores uncompacted samples in daily partitions created on demand", async () => {
      const stores = await freshPostgresStores(createSecretBox(randomBytes(32)));
      const at = (iso: string) => Date.parse(iso);
      const outcomes = await stores.telemetry.commit([
        {
          kind: "accept",
          deviceId: "d",
          messageId: "m1",
          receivedAt: Date.now(),
          samples: [
            { ts: at("2026-01-31T23:59:59.999Z"), values: { a: 1 } },
            { ts: at("2026-02-01T00:00:00Z"), values: { a: 2 } },
          ],
        },
      ]);
      assert.deepEqual(outcomes, ["stored"]);
      const parts = await inSchema(stores.schema, async (c) => {
        const { rows } = await c.query<{ relname: string; n: string }>(
          `SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname),
             false, true, '')))[1]::text AS n
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'samples'::regclass ORDER BY c.relname`,
        );
        return rows.map((r) => `${r.relname}:${r.n}`);
      });
      assert.deepEqual(parts, ["samples_p2026_01_31:1", "samples_p2026_02_01:1"]);
      await stores.close();
    });

    it("re-creates a partition that another process dropped while this one still knew it", async () => {
      const stores = await freshPostgresStores(createSecretBox(randomBytes(32)));
      const ts = Date.parse("2025-06-15T00:00:00Z");
      const unit = (messageId: string): CommitUnit => ({
        kind: "accept",
        deviceId: "d",
        messageId,
        receivedAt: Date.now(),
        samples: [{ ts, values: { a: 1 } }],
      });
      assert.deepEqual(await stores.telemetry.commit([unit("m1")]), ["stored"]);
      await inSchema(stores.schema, (c) => c.query("DROP TABLE samples_p2025_06_15"));
      assert.deepEqual(await stores.telemetry.commit([unit("m2")]), ["stored"]);
      assert.equal(await stores.telemetry.countSamples("d"), 1);
      await stores.close();
    });
  });
});
