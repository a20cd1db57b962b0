import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

export type Db = Database.Database;

/**
 * Schema versions, applied in order inside one transaction each; `PRAGMA user_version` records the
 * last one applied. Append only: a released migration is never edited.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     enabled INTEGER NOT NULL DEFAULT 1,
     primary_key TEXT NOT NULL,
     secondary_key TEXT NOT NULL,
     company_id TEXT, model TEXT, pump_type TEXT, serial TEXT,
     enrollment_kind TEXT NOT NULL,
     enrollment_name TEXT,
     registration_payload TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     generation INTEGER NOT NULL DEFAULT 1);
   CREATE TABLE enrollments (
     kind TEXT NOT NULL,
     id TEXT NOT NULL,
     primary_key TEXT NOT NULL,
     secondary_key TEXT NOT NULL,
     enabled INTEGER NOT NULL DEFAULT 1,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (kind, id));
   CREATE TABLE twins (
     device_id TEXT PRIMARY KEY,
     desired TEXT NOT NULL DEFAULT '{}',
     desired_version INTEGER NOT NULL DEFAULT 1,
     reported TEXT NOT NULL DEFAULT '{}',
     reported_version INTEGER NOT NULL DEFAULT 1);
   CREATE TABLE message_ids (
     device_id TEXT NOT NULL,
     message_id TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     PRIMARY KEY (device_id, message_id)) WITHOUT ROWID;
   CREATE INDEX message_ids_received ON message_ids (received_at);
   CREATE TABLE samples (device_id TEXT NOT NULL, ts INTEGER NOT NULL, vals TEXT NOT NULL);
   CREATE INDEX samples_device_ts ON samples (device_id, ts);
   CREATE TABLE quarantine (
     id INTEGER PRIMARY KEY,
     received_at INTEGER NOT NULL,
     device_id TEXT, message_id TEXT,
     transport TEXT NOT NULL, topic TEXT NOT NULL,
     reason_code TEXT NOT NULL, reason TEXT NOT NULL,
     payload BLOB NOT NULL);
   CREATE INDEX quarantine_device ON quarantine (device_id, id);`,
];

/** Opens (creating if needed) the database file in WAL mode and brings its schema up to date. */
export function openDb(file: string, opts: { synchronous: "FULL" | "NORMAL" }): Db {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // FULL: a committed transaction survives power loss; NORMAL: it survives a process crash.
  db.pragma(`synchronous = ${opts.synchronous}`);
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
