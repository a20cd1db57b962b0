import pg from "pg";

export interface PgOptions {
  /** Schema to work in (created by the caller); default: the server's search_path, usually `public`. */
  schema?: string | undefined;
  /** Connections in the pool. */
  max?: number | undefined;
}

export type PgClient = pg.PoolClient;
export type Queryable = { query(text: string): Promise<pg.QueryResult> };

// int8 (count(*), BIGINT epoch milliseconds) comes back as a string by default because it may
// exceed 2^53; our values are epoch ms, row counts and byte sizes, all far below that.
const types = new pg.TypeOverrides();
types.setTypeParser(pg.types.builtins.INT8, Number);

/**
 * A connection pool whose every query waits for `ready` (the schema migration), so the stores can
 * be handed out synchronously — `openStores` is synchronous — while the first query still reports a
 * server that is unreachable or a migration that failed.
 */
export class PgDb {
  readonly pool: pg.Pool;
  /** Where this pool connects, without the password, for error messages. */
  readonly where: string;
  readonly schema: string | undefined;
  #ready: Promise<void> = Promise.resolve();

  constructor(url: string, opts: PgOptions = {}) {
    this.where = redact(url);
    this.schema = opts.schema;
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 10,
      types,
      connectionTimeoutMillis: 10_000,
      // A startup parameter rather than a SET after connecting: it holds for every pooled connection.
      ...(opts.schema ? { options: `-c search_path=${pg.escapeIdentifier(opts.schema)}` } : {}),
    });
    // An idle connection that dies (server restart) is dropped by the pool; the next query opens a
    // new one or reports the failure to its caller, so there is nothing to do here but not crash.
    this.pool.on("error", () => {});
  }

  /** Runs `init` once before any other query; its failure fails every later query. */
  start(init: () => Promise<void>): Promise<void> {
    const ready = init().catch((err: unknown) => {
      throw this.explain(err);
    });
    // Callers that never query must not see an unhandled rejection; those that do get the error.
    ready.catch(() => {});
    this.#ready = ready;
    return ready;
  }

  get ready(): Promise<void> {
    return this.#ready;
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    await this.#ready;
    return this.pool.query<R>(text as string, values);
  }

  /** A query whose rows come as arrays (no per-row objects: cheaper for many rows). */
  async queryArray<R extends unknown[]>(config: pg.QueryConfig): Promise<pg.QueryArrayResult<R>> {
    await this.#ready;
    return this.pool.query<R>({ ...config, rowMode: "array" });
  }

  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  async tx<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
    await this.#ready;
    return this.rawTx(fn);
  }

  /** `tx` without waiting for `ready`: for the migration itself. */
  async rawTx<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      client.release();
      return result;
    } catch (err) {
      // A failed ROLLBACK means the connection is broken: destroy it instead of returning it.
      const broken = await client.query("ROLLBACK").then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      client.release(broken ?? undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Turns a connection failure into a message that says where and what to check. */
  explain(err: unknown): Error {
    const e = err as Error & { code?: string };
    if (
      e.code === "ECONNREFUSED" ||
      e.code === "ENOTFOUND" ||
      e.code === "ETIMEDOUT" ||
      /timeout/i.test(e.message)
    ) {
      return new Error(
        `PostgreSQL not reachable at ${this.where} (${e.code ?? e.message}): is the server running?`,
        {
          cause: err,
        },
      );
    }
    if (e.code === "28000" || e.code === "28P01" || e.code === "3D000") {
      return new Error(`PostgreSQL at ${this.where} refused the connection: ${e.message}`, { cause: err });
    }
    return e;
  }
}

/** The URL without its password. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable PostgreSQL URL)";
  }
}
