import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS, statementsFor } from "../migrations.js";

export type Db = Database.Database;

// The schema lives in ../migrations.ts, shared with PostgreSQL: add a migration there, not here.
// `PRAGMA user_version` records how many of its migrations were applied.

/** Opens (creating if needed) the database file in WAL mode and brings its schema up to date. */
export function openDb(file: string, opts: { synchronous: "FULL" | "NORMAL" }): Db {
  if (file !== ":memory:") {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Owner only: the file holds personal data and sealed device keys. SQLite gives the -wal and
    // -shm files the database file's mode, so they follow.
    closeSync(openSync(file, "a", 0o600));
    chmodSync(file, 0o600);
  }
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // FULL: a committed transaction survives power loss; NORMAL: it survives a process crash.
  db.pragma(`synchronous = ${opts.synchronous}`);
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  // Erasure (issue 6): deleted content is overwritten with zeros instead of lingering in free space and
  // free pages, so an erased user's e-mail and phone leave the file (docs/storage.md#tenancy).
  db.pragma("secure_delete = ON");
  migrate(db);
  return db;
}

/**
 * Copies the WAL into the database file and truncates it: `secure_delete` zeroed the freed bytes in
 * the file, but the WAL frames still hold the deleted rows as written. Call after an erasure or purge
 * has committed. Best effort: a reader in another connection can keep it from completing; the next
 * erasure or SQLite's automatic checkpoints catch up.
 */
export function truncateWal(db: Db): void {
  db.pragma("wal_checkpoint(TRUNCATE)");
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(statementsFor(MIGRATIONS[v]!, "sqlite").join(";\n"));
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
