import type { SecretBox } from "../../core/secrets.js";
import type { Stores } from "../ports.js";
import { PostgresAnalyticsStore } from "./analytics.js";
import { migrate } from "./migrate.js";
import { PostgresNotificationStore } from "./notifications.js";
import { PgDb, type PgOptions } from "./pool.js";
import { PostgresRegistryStore } from "./registry.js";
import { PostgresSecurityStore } from "./security.js";
import { PostgresTelemetryStore } from "./telemetry.js";
import { PostgresTenancyStore } from "./tenancy.js";

export interface PostgresStores extends Stores {
  /**
   * Settles when the schema is migrated; rejects (saying where and why) when the server cannot be
   * reached or the migration failed. Every store call waits for it and fails the same way.
   */
  ready: Promise<void>;
}

/**
 * Every store port on one PostgreSQL database (`postgres://user:password@host:port/db`). Returns at
 * once, because `openStores` is synchronous; connecting and migrating happen in the background.
 */
export function openPostgresStores(url: string, box: SecretBox, opts: PgOptions = {}): PostgresStores {
  const db = new PgDb(url, opts);
  const ready = db.start(() => migrate(db));
  return {
    registry: new PostgresRegistryStore(db, box),
    telemetry: new PostgresTelemetryStore(db),
    analytics: new PostgresAnalyticsStore(db),
    tenancy: new PostgresTenancyStore(db),
    notifications: new PostgresNotificationStore(db, box),
    security: new PostgresSecurityStore(db),
    ready,
    async close() {
      await db.close();
    },
  };
}
