import type { SecretBox } from "../../core/secrets.js";
import type { Stores } from "../ports.js";
import { SqliteAnalyticsStore } from "./analytics.js";
import { openDb } from "./db.js";
import { SqliteNotificationStore } from "./notifications.js";
import { SqliteRegistryStore } from "./registry.js";
import { SqliteSecurityStore } from "./security.js";
import { SqliteTelemetryStore } from "./telemetry.js";
import { SqliteTenancyStore } from "./tenancy.js";

/** The embedded default: every store port on one SQLite file. */
export function openSqliteStores(
  file: string,
  box: SecretBox,
  opts: { synchronous: "FULL" | "NORMAL" },
): Stores {
  const db = openDb(file, opts);
  return {
    registry: new SqliteRegistryStore(db, box),
    telemetry: new SqliteTelemetryStore(db),
    analytics: new SqliteAnalyticsStore(db),
    tenancy: new SqliteTenancyStore(db),
    notifications: new SqliteNotificationStore(db, box),
    security: new SqliteSecurityStore(db),
    async close() {
      db.close();
    },
  };
}
