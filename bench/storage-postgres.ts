/**
 * PostgreSQL side of bench/storage.ts: stores in a fresh schema of the given database (dropped
 * afterwards unless kept), and the bytes the telemetry takes there. Sizes are
 * `pg_total_relation_size` (heap, TOAST and indexes) of every table and partition in the schema,
 * summed per parent table.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { SecretBox } from "../src/core/secrets.js";
import { openPostgresStores, type PostgresStores } from "../src/store/postgres/index.js";

export const DEFAULT_PG_URL = "postgres://root@127.0.0.1:5432/test";

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Why the server cannot be used, or undefined. */
export async function pgUnavailable(url: string): Promise<string | undefined> {
  try {
    await admin(url, (c) => c.query("SELECT 1"));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export interface BenchSchema {
  schema: string;
  stores: PostgresStores;
  /** Bytes per table (partitions summed into their parent), including indexes and TOAST. */
  sizes(): Promise<Record<string, number>>;
  /** Plain VACUUM of the telemetry tables: what autovacuum reaches in steady state. */
  vacuum(): Promise<void>;
  /** Closes the stores and drops the schema unless `keep`. */
  close(keep: boolean): Promise<void>;
}

export async function openBenchSchema(url: string, box: SecretBox): Promise<BenchSchema> {
  const schema = `bench_${randomBytes(4).toString("hex")}`;
  await admin(url, (c) => c.query(`CREATE SCHEMA ${schema}`));
  const stores = openPostgresStores(url, box, { schema });
  await stores.ready;
  return {
    schema,
    stores,
    async sizes() {
      const { rows } = await admin(url, (c) =>
        c.query<{ name: string; bytes: string }>(
          `SELECT coalesce(p.relname, c.relname) AS name, sum(pg_total_relation_size(c.oid)) AS bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
           WHERE n.nspname = $1 AND c.relkind = 'r' GROUP BY 1 ORDER BY 2 DESC`,
          [schema],
        ),
      );
      return Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
    },
    async vacuum() {
      const tables = ["samples", "chunks", "rollup_1h", "rollup_1d", "message_ids"].map(
        (t) => `${schema}.${t}`,
      );
      await admin(url, (c) => c.query(`VACUUM ${tables.join(", ")}`));
    },
    async close(keep) {
      await stores.close();
      if (!keep) await admin(url, (c) => c.query(`DROP SCHEMA ${schema} CASCADE`));
    },
  };
}
