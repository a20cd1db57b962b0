import pg from "pg";
import { DAY_MS } from "../timeseries/index.js";
import type { PgDb, Queryable } from "./pool.js";

/** UTC day, month or year. */
export type Period = "day" | "month" | "year";

/**
 * Range partitions by UTC period of an epoch-ms BIGINT column of one partitioned table, created on
 * demand before the rows that need them are inserted, so that old data leaves with `DROP TABLE` of
 * whole periods. There is no default partition: a row in a period nobody created fails loudly
 * (SQLSTATE 23514, see NO_PARTITION) instead of piling up where it cannot be dropped cheaply.
 */
export class Partitions {
  readonly #db: PgDb;
  readonly table: string;
  readonly period: Period;
  /** Periods (start ms) known to exist: a cache, re-checked when an insert still misses one. */
  readonly #known = new Set<number>();
  /** The last period found in the cache, [from, to): most times of a commit fall into it. */
  #last: [number, number] = [0, 0];

  constructor(db: PgDb, table: string, period: Period) {
    this.#db = db;
    this.table = table;
    this.period = period;
  }

  /** Makes sure the periods of all `times` exist, creating the missing ones. */
  async ensure(times: Iterable<number>): Promise<void> {
    const missing = new Set<number>();
    for (const t of times) {
      if (t >= this.#last[0] && t < this.#last[1]) continue;
      const p = periodStart(t, this.period);
      if (this.#known.has(p)) this.#last = [p, periodEnd(p, this.period)];
      else missing.add(p);
    }
    if (missing.size === 0) return;
    // Its own short transaction before the data's: creating a partition locks the parent table
    // exclusively, which must not last as long as an ingest commit. The advisory lock makes concurrent
    // creators (several processes) wait for each other instead of failing on the same name.
    await this.#db.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('pumpwatch.partitions.' || current_schema()))");
      for (const p of missing) {
        await c.query(
          `CREATE TABLE IF NOT EXISTS ${pg.escapeIdentifier(partitionName(this.table, p, this.period))}
           PARTITION OF ${pg.escapeIdentifier(this.table)}
           FOR VALUES FROM (${p}) TO (${periodEnd(p, this.period)})`,
        );
      }
    });
    for (const p of missing) this.#known.add(p);
  }

  /** Forgets what it knew, after an insert found a period missing (another process dropped it). */
  forget(): void {
    this.#known.clear();
    this.#last = [0, 0];
  }

  /**
   * Drops the partitions that end at or before `beforeMs` and hold no rows any more; returns how
   * many. A partition that looks empty is vacuumed first (without blocking writers), so that the
   * check that follows under the lock does not have to walk the dead rows the deletes left. The
   * parent is locked in the order inserts take their locks (parent, then partition), so no commit
   * slips a row in between that check and the drop; a commit that waited and then finds its partition
   * gone re-creates it (NO_PARTITION). Gives up on a partition after 1 s of waiting for the lock:
   * housekeeping may wait for ingest, not hold it up.
   */
  async dropEmptyBefore(beforeMs: number): Promise<number> {
    let dropped = 0;
    for (const { name, from, to } of await this.list()) {
      if (to > beforeMs || !(await isEmpty(this.#db, name))) continue;
      await this.#db.query(`VACUUM ${pg.escapeIdentifier(name)}`);
      const gone = await this.#db
        .tx(async (c) => {
          await c.query("SET LOCAL lock_timeout = '1s'");
          await c.query(`LOCK TABLE ONLY ${pg.escapeIdentifier(this.table)} IN ACCESS EXCLUSIVE MODE`);
          if (!(await isEmpty(c, name))) return false;
          await c.query(`DROP TABLE ${pg.escapeIdentifier(name)}`);
          return true;
        })
        .catch((err: unknown) => {
          if ((err as { code?: string }).code === LOCK_TIMEOUT) return false;
          throw err;
        });
      if (gone) {
        this.#known.delete(from);
        if (this.#last[0] === from) this.#last = [0, 0];
        dropped++;
      }
    }
    return dropped;
  }

  /** The existing partitions with their bounds, oldest first. */
  async list(): Promise<{ name: string; from: number; to: number }[]> {
    const { rows } = await this.#db.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = to_regclass($1)`,
      [this.table],
    );
    const out: { name: string; from: number; to: number }[] = [];
    for (const r of rows) {
      // e.g. FOR VALUES FROM ('1667260800000') TO ('1669852800000')
      const m = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(r.bound);
      if (m) out.push({ name: r.name, from: Number(m[1]), to: Number(m[2]) });
    }
    return out.sort((a, b) => a.from - b.from);
  }
}

async function isEmpty(q: Queryable, name: string): Promise<boolean> {
  const { rows } = await q.query(`SELECT 1 FROM ${pg.escapeIdentifier(name)} LIMIT 1`);
  return rows.length === 0;
}

/** SQLSTATE of an insert whose row has no partition. */
export const NO_PARTITION = "23514";

/**
 * Runs `write` after making sure each table's partitions for `times` exist; when the write still finds
 * one missing (another process dropped it after this one cached it), forgets the cache, re-creates
 * what is missing and runs `write` once more. `write` must be one transaction: it failed whole.
 */
export async function withPartitions<T>(
  needs: readonly [Partitions, () => Iterable<number>][],
  write: () => Promise<T>,
): Promise<T> {
  for (const [p, times] of needs) await p.ensure(times());
  try {
    return await write();
  } catch (err) {
    if ((err as { code?: string }).code !== NO_PARTITION) throw err;
    for (const [p, times] of needs) {
      p.forget();
      await p.ensure(times());
    }
    return write();
  }
}
const LOCK_TIMEOUT = "55P03";

export function periodStart(ms: number, period: Period): number {
  if (period === "day") return Math.floor(ms / DAY_MS) * DAY_MS;
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), period === "month" ? d.getUTCMonth() : 0, 1);
}

function periodEnd(start: number, period: Period): number {
  if (period === "day") return start + DAY_MS;
  const d = new Date(start);
  return period === "month"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
    : Date.UTC(d.getUTCFullYear() + 1, 0, 1);
}

/**
 * e.g. samples_p2026_11_27 (day), chunks_p2026_11 (month), rollup_1d_p2026 (year); years before 1970
 * spell the minus sign "m".
 */
export function partitionName(table: string, start: number, period: Period): string {
  const d = new Date(start);
  const y = d.getUTCFullYear();
  const two = (n: number) => String(n).padStart(2, "0");
  let name = `${table}_p${y < 0 ? `m${-y}` : y}`;
  if (period !== "year") name += `_${two(d.getUTCMonth() + 1)}`;
  if (period === "day") name += `_${two(d.getUTCDate())}`;
  return name;
}
