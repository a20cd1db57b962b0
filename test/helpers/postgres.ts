import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import pg from "pg";
import { createSecretBox, type SecretBox } from "../../src/core/secrets.js";
import type { Stores } from "../../src/store/ports.js";
import { openPostgresStores, type PostgresStores } from "../../src/store/postgres/index.js";

/**
 * PostgreSQL for tests: the server named by PUMPWATCH_TEST_PG (default: the development machine's),
 * each store in a fresh schema that is dropped when the store closes, so parallel runs never collide.
 */
export const PG_URL = process.env.PUMPWATCH_TEST_PG || "postgres://root@127.0.0.1:5432/test";

/** Why PostgreSQL cannot be used, or undefined when it can. */
export async function pgUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (err) {
    return `PostgreSQL not reachable at ${PG_URL} (${(err as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A suite that needs PostgreSQL. In CI PostgreSQL is part of the machine (.ci/run starts it), so its
 * absence fails there; elsewhere a developer without a server gets a green run saying what it skipped.
 */
export async function describePostgres(name: string, body: () => void): Promise<void> {
  const unavailable = await pgUnavailable();
  if (!unavailable) return void describe(name, body);
  describe(name, () => {
    if (process.env.CI) {
      it("needs a reachable PostgreSQL server in CI", () => {
        assert.fail(`${unavailable}; CI is set, so PostgreSQL is required (set PUMPWATCH_TEST_PG)`);
      });
    } else it("runs against PostgreSQL", { skip: `${unavailable}: skipped; set CI to require it` }, () => {});
  });
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new empty schema; drop it with `dropSchema`. */
export async function createSchema(): Promise<string> {
  const schema = `test_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE SCHEMA ${schema}`));
  return schema;
}

export async function dropSchema(schema: string): Promise<void> {
  await admin((c) => c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`));
}

/** Runs SQL in `schema` on a connection of its own (for looking at what the store wrote). */
export async function inSchema<T>(schema: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return admin(async (c) => {
    await c.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
    return fn(c);
  });
}

/** Stores in a fresh schema; closing them drops the schema. */
export async function freshPostgresStores(box: SecretBox): Promise<PostgresStores & { schema: string }> {
  const schema = await createSchema();
  const stores = openPostgresStores(PG_URL, box, { schema });
  await stores.ready;
  return {
    ...stores,
    schema,
    async close() {
      await stores.close();
      await dropSchema(schema);
    },
  };
}

/** Two pools on one fresh schema, as two pumpwatch processes would have; `close` closes both and drops it. */
export async function postgresPair<K extends Exclude<keyof Stores, "close">>(
  port: K,
): Promise<{ a: Stores[K]; b: Stores[K]; close(): Promise<void> }> {
  const schema = await createSchema();
  const box = createSecretBox(randomBytes(32));
  const a = openPostgresStores(PG_URL, box, { schema });
  const b = openPostgresStores(PG_URL, box, { schema });
  await Promise.all([a.ready, b.ready]);
  return {
    a: a[port],
    b: b[port],
    async close() {
      await Promise.all([a.close(), b.close()]);
      await dropSchema(schema);
    },
  };
}
