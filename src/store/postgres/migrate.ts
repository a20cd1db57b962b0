import { MIGRATIONS, statementsFor } from "../migrations.js";
import type { PgDb } from "./pool.js";

/**
 * Brings the schema up to date in one transaction under an advisory lock: several pumpwatch processes
 * may start at once against one database, and the first one migrates while the others wait and then
 * find nothing to do. DDL is transactional in PostgreSQL, so a failed migration leaves the old schema.
 */
export async function migrate(db: PgDb): Promise<void> {
  await db.rawTx(async (c) => {
    // Keyed by schema, so that separate schemas (one per test run) do not wait for each other.
    await c.query("SELECT pg_advisory_xact_lock(hashtext('pumpwatch.migrate.' || current_schema()))");
    await c.query(
      `CREATE TABLE IF NOT EXISTS schema_version (
         version INTEGER PRIMARY KEY,
         name TEXT NOT NULL,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
    const { rows } = await c.query<{ v: number | null }>("SELECT max(version) AS v FROM schema_version");
    const current = rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `the database schema is version ${current}, newer than this pumpwatch knows (${MIGRATIONS.length}): ` +
          "upgrade pumpwatch",
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      const m = MIGRATIONS[v]!;
      for (const sql of statementsFor(m, "postgres")) await c.query(sql);
      await c.query("INSERT INTO schema_version (version, name) VALUES ($1, $2)", [v + 1, m.name]);
    }
  });
}
