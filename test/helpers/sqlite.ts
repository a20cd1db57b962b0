import { randomBytes } from "node:crypto";
import { createSecretBox } from "../../src/core/secrets.js";
import type { Stores } from "../../src/store/ports.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";

/** SQLite stores on `file` with a fresh secret box, synchronous NORMAL (fast, as tests want). */
export const openTestSqlite = (file: string): Stores =>
  openSqliteStores(file, createSecretBox(randomBytes(32)), { synchronous: "NORMAL" });

/** One store of two connections on one file, as two processes would have; `close` closes both. */
export function sqlitePair<K extends Exclude<keyof Stores, "close">>(
  file: string,
  port: K,
): { a: Stores[K]; b: Stores[K]; close(): Promise<void> } {
  const a = openTestSqlite(file);
  const b = openTestSqlite(file);
  return {
    a: a[port],
    b: b[port],
    async close() {
      await a.close();
      await b.close();
    },
  };
}
