/**
 * The schema of every SQL backend, written once where the dialects agree and overridden where they
 * differ (as Eclipse Hono keeps its JDBC statements). Each migration is one schema version — SQLite
 * records it in `PRAGMA user_version`, PostgreSQL in `schema_version` — applied in order, each inside
 * a transaction. Append only: a released migration is never edited, so that a database created by
 * an older pumpwatch reaches the same schema as a new one.
 */

export type Dialect = "sqlite" | "postgres";

/**
 * One statement: a shared text, or one text per dialect. A dialect missing from the object skips the
 * statement (e.g. PostgreSQL's change-mark trigger has no SQLite counterpart).
 */
export type Statement = string | Partial<Record<Dialect, string>>;

export interface Migration {
  /** What the version adds, for people reading `schema_version`. */
  name: string;
  statements: readonly Statement[];
}

/** Statements of one migration in one dialect, in order. */
export function statementsFor(m: Migration, dialect: Dialect): string[] {
  const out: string[] = [];
  for (const s of m.statements) {
    const text = typeof s === "string" ? s : s[dialect];
    if (text !== undefined) out.push(text);
  }
  return out;
}

// The SQLite texts below are kept character for character as the first releases created them:
// SQLite stores each CREATE statement verbatim in sqlite_master, so existing files and new ones agree.
export const MIGRATIONS: readonly Migration[] = [
  {
    name: "registry, message ids, samples, quarantine",
    statements: [
      "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
      `CREATE TABLE devices (
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
     generation INTEGER NOT NULL DEFAULT 1)`,
      `CREATE TABLE enrollments (
     kind TEXT NOT NULL,
     id TEXT NOT NULL,
     primary_key TEXT NOT NULL,
     secondary_key TEXT NOT NULL,
     enabled INTEGER NOT NULL DEFAULT 1,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (kind, id))`,
      `CREATE TABLE twins (
     device_id TEXT PRIMARY KEY,
     desired TEXT NOT NULL DEFAULT '{}',
     desired_version INTEGER NOT NULL DEFAULT 1,
     reported TEXT NOT NULL DEFAULT '{}',
     reported_version INTEGER NOT NULL DEFAULT 1)`,
      {
        // Epoch milliseconds need 64 bits: SQLite's INTEGER is, PostgreSQL's is not.
        sqlite: `CREATE TABLE message_ids (
     device_id TEXT NOT NULL,
     message_id TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     PRIMARY KEY (device_id, message_id)) WITHOUT ROWID`,
        postgres: `CREATE TABLE message_ids (
     device_id TEXT NOT NULL,
     message_id TEXT NOT NULL,
     received_at BIGINT NOT NULL,
     PRIMARY KEY (device_id, message_id))`,
      },
      "CREATE INDEX message_ids_received ON message_ids (received_at)",
      { postgres: "CREATE SEQUENCE samples_seq" },
      {
        sqlite: "CREATE TABLE samples (device_id TEXT NOT NULL, ts INTEGER NOT NULL, vals TEXT NOT NULL)",
        // Partitioned by time so that old data leaves by dropping partitions (src/store/postgres/partitions.ts
        // creates them on demand). seq stands in for SQLite's rowid: samples with equal timestamps keep
        // their commit order (an identity column cannot be used on a partitioned table before PG 17).
        postgres: `CREATE TABLE samples (
     device_id TEXT NOT NULL,
     ts BIGINT NOT NULL,
     seq BIGINT NOT NULL DEFAULT nextval('samples_seq'),
     vals TEXT NOT NULL) PARTITION BY RANGE (ts)`,
      },
      "CREATE INDEX samples_device_ts ON samples (device_id, ts)",
      {
        sqlite: `CREATE TABLE quarantine (
     id INTEGER PRIMARY KEY,
     received_at INTEGER NOT NULL,
     device_id TEXT, message_id TEXT,
     transport TEXT NOT NULL, topic TEXT NOT NULL,
     reason_code TEXT NOT NULL, reason TEXT NOT NULL,
     payload BLOB NOT NULL)`,
        postgres: `CREATE TABLE quarantine (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     received_at BIGINT NOT NULL,
     device_id TEXT, message_id TEXT,
     transport TEXT NOT NULL, topic TEXT NOT NULL,
     reason_code TEXT NOT NULL, reason TEXT NOT NULL,
     payload BYTEA NOT NULL)`,
      },
      "CREATE INDEX quarantine_device ON quarantine (device_id, id)",
      // SQLite's PRAGMA data_version tells a connection that another one committed; PostgreSQL has no
      // such counter, so every change to devices or enrollments bumps this one row (RegistryStore.changeMark).
      {
        postgres:
          "CREATE TABLE registry_mark (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), n BIGINT NOT NULL)",
      },
      { postgres: "INSERT INTO registry_mark (n) VALUES (0)" },
      {
        postgres: `CREATE FUNCTION bump_registry_mark() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN UPDATE registry_mark SET n = n + 1; RETURN NULL; END $$`,
      },
      {
        postgres: `CREATE TRIGGER devices_changed AFTER INSERT OR UPDATE OR DELETE ON devices
     FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_mark()`,
      },
      {
        postgres: `CREATE TRIGGER enrollments_changed AFTER INSERT OR UPDATE OR DELETE ON enrollments
     FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_mark()`,
      },
    ],
  },
  {
    name: "retention per company",
    statements: [
      // company_id '' stands for devices without a company.
      `CREATE TABLE retention (
     company_id TEXT PRIMARY KEY,
     raw_days INTEGER NOT NULL,
     rollup_days INTEGER NOT NULL)`,
    ],
  },
  {
    name: "compressed chunks, 1-hour and 1-day rollups",
    // Compressed telemetry (docs/storage.md): one chunk per device and UTC day holding the day's samples
    // (data) and 1-minute rollups (rollup), both encoded by src/store/timeseries; rollup comes before data
    // in the record so that reading it does not walk data's overflow pages. 1-hour rollups as one encoded
    // row per device and day (src/store/timeseries encodeAggregates), because a year of one pump as
    // 87,600 hour rows took 70 ms to read and 0.23 bytes per sample on SQLite (and more on PostgreSQL,
    // with its 24-byte row headers and per-row client decoding), as 365 day rows a few ms and a tenth of
    // the bytes; 1-day rollups as rows, keyed so that one signal's range is one index range. On
    // PostgreSQL all three are partitioned by time like samples (REAL there is 4 bytes: the rollups need
    // DOUBLE PRECISION).
    statements: [
      {
        sqlite: `CREATE TABLE chunks (
     device_id TEXT NOT NULL,
     start_ms INTEGER NOT NULL,
     n_rows INTEGER NOT NULL,
     n_values INTEGER NOT NULL,
     first_ts INTEGER NOT NULL,
     last_ts INTEGER NOT NULL,
     n_bytes INTEGER NOT NULL,
     rollup BLOB NOT NULL,
     data BLOB NOT NULL,
     PRIMARY KEY (device_id, start_ms))`,
        postgres: `CREATE TABLE chunks (
     device_id TEXT NOT NULL,
     start_ms BIGINT NOT NULL,
     n_rows INTEGER NOT NULL,
     n_values INTEGER NOT NULL,
     first_ts BIGINT NOT NULL,
     last_ts BIGINT NOT NULL,
     n_bytes INTEGER NOT NULL,
     rollup BYTEA NOT NULL,
     data BYTEA NOT NULL,
     PRIMARY KEY (device_id, start_ms)) PARTITION BY RANGE (start_ms)`,
      },
      {
        sqlite: `CREATE TABLE rollup_1h (
     device_id TEXT NOT NULL,
     day INTEGER NOT NULL,
     data BLOB NOT NULL,
     PRIMARY KEY (device_id, day))`,
        postgres: `CREATE TABLE rollup_1h (
     device_id TEXT NOT NULL,
     day BIGINT NOT NULL,
     data BYTEA NOT NULL,
     PRIMARY KEY (device_id, day)) PARTITION BY RANGE (day)`,
      },
      {
        sqlite: `CREATE TABLE rollup_1d (
     device_id TEXT NOT NULL, signal TEXT NOT NULL, bucket INTEGER NOT NULL,
     v_min REAL NOT NULL, v_max REAL NOT NULL, v_sum REAL NOT NULL, n INTEGER NOT NULL,
     last_ts INTEGER NOT NULL, v_last REAL NOT NULL,
     PRIMARY KEY (device_id, signal, bucket)) WITHOUT ROWID`,
        postgres: `CREATE TABLE rollup_1d (
     device_id TEXT NOT NULL, signal TEXT NOT NULL, bucket BIGINT NOT NULL,
     v_min DOUBLE PRECISION NOT NULL, v_max DOUBLE PRECISION NOT NULL, v_sum DOUBLE PRECISION NOT NULL,
     n INTEGER NOT NULL, last_ts BIGINT NOT NULL, v_last DOUBLE PRECISION NOT NULL,
     PRIMARY KEY (device_id, signal, bucket)) PARTITION BY RANGE (bucket)`,
      },
    ],
  },
  {
    name: "analytics: alarms and their history, maintenance log, analyzer state, hourly KPIs",
    // The alarm lifecycle (AnalyticsStore, docs/storage.md#analytics): one row per (device, type) — the
    // unique key is what keeps concurrent raisers in several processes to one record — and its append-only
    // history. signals and diagnosis are JSON text; every time is epoch ms (BIGINT on PostgreSQL); flags
    // are 0/1 integers as in devices. kpi_hours keeps one pump-hour of raw integrals with the six
    // pressure-band times as columns, so that adding to a row is plain SQL.
    statements: [
      {
        sqlite: `CREATE TABLE alarms (
     id INTEGER PRIMARY KEY,
     device_id TEXT NOT NULL,
     type TEXT NOT NULL,
     severity TEXT NOT NULL,
     active INTEGER NOT NULL,
     acknowledged INTEGER NOT NULL,
     occurrences INTEGER NOT NULL,
     message TEXT NOT NULL,
     signals TEXT NOT NULL,
     diagnosis TEXT,
     first_raised_at INTEGER NOT NULL,
     last_raised_at INTEGER NOT NULL,
     cleared_at INTEGER,
     acknowledged_at INTEGER,
     acknowledged_by TEXT,
     shelved_until INTEGER,
     updated_at INTEGER NOT NULL,
     UNIQUE (device_id, type))`,
        postgres: `CREATE TABLE alarms (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     device_id TEXT NOT NULL,
     type TEXT NOT NULL,
     severity TEXT NOT NULL,
     active INTEGER NOT NULL,
     acknowledged INTEGER NOT NULL,
     occurrences INTEGER NOT NULL,
     message TEXT NOT NULL,
     signals TEXT NOT NULL,
     diagnosis TEXT,
     first_raised_at BIGINT NOT NULL,
     last_raised_at BIGINT NOT NULL,
     cleared_at BIGINT,
     acknowledged_at BIGINT,
     acknowledged_by TEXT,
     shelved_until BIGINT,
     updated_at BIGINT NOT NULL,
     UNIQUE (device_id, type))`,
      },
      "CREATE INDEX alarms_last_raised ON alarms (last_raised_at)",
      {
        sqlite: `CREATE TABLE alarm_events (
     id INTEGER PRIMARY KEY,
     alarm_id INTEGER NOT NULL REFERENCES alarms (id),
     ts INTEGER NOT NULL,
     kind TEXT NOT NULL,
     severity TEXT NOT NULL,
     actor TEXT NOT NULL,
     text TEXT NOT NULL)`,
        postgres: `CREATE TABLE alarm_events (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     alarm_id BIGINT NOT NULL REFERENCES alarms (id),
     ts BIGINT NOT NULL,
     kind TEXT NOT NULL,
     severity TEXT NOT NULL,
     actor TEXT NOT NULL,
     text TEXT NOT NULL)`,
      },
      "CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id, ts)",
      "CREATE INDEX alarm_events_ts ON alarm_events (ts)",
      {
        sqlite: `CREATE TABLE maintenance_log (
     id INTEGER PRIMARY KEY,
     device_id TEXT NOT NULL,
     ts INTEGER NOT NULL,
     action TEXT NOT NULL,
     note TEXT NOT NULL,
     actor TEXT NOT NULL,
     created_at INTEGER NOT NULL)`,
        postgres: `CREATE TABLE maintenance_log (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     device_id TEXT NOT NULL,
     ts BIGINT NOT NULL,
     action TEXT NOT NULL,
     note TEXT NOT NULL,
     actor TEXT NOT NULL,
     created_at BIGINT NOT NULL)`,
      },
      "CREATE INDEX maintenance_log_device_ts ON maintenance_log (device_id, ts)",
      {
        sqlite:
          "CREATE TABLE analyzer_state (device_id TEXT PRIMARY KEY, state TEXT NOT NULL, ts INTEGER NOT NULL)",
        postgres:
          "CREATE TABLE analyzer_state (device_id TEXT PRIMARY KEY, state TEXT NOT NULL, ts BIGINT NOT NULL)",
      },
      {
        sqlite: `CREATE TABLE kpi_hours (
     device_id TEXT NOT NULL,
     hour INTEGER NOT NULL,
     covered_s REAL NOT NULL, running_s REAL NOT NULL, load_s REAL NOT NULL, down_s REAL NOT NULL,
     energy_kwh REAL NOT NULL, gas_m3 REAL NOT NULL, starts INTEGER NOT NULL,
     band_0 REAL NOT NULL, band_1 REAL NOT NULL, band_2 REAL NOT NULL,
     band_3 REAL NOT NULL, band_4 REAL NOT NULL, band_5 REAL NOT NULL,
     PRIMARY KEY (device_id, hour)) WITHOUT ROWID`,
        postgres: `CREATE TABLE kpi_hours (
     device_id TEXT NOT NULL,
     hour BIGINT NOT NULL,
     covered_s DOUBLE PRECISION NOT NULL, running_s DOUBLE PRECISION NOT NULL,
     load_s DOUBLE PRECISION NOT NULL, down_s DOUBLE PRECISION NOT NULL,
     energy_kwh DOUBLE PRECISION NOT NULL, gas_m3 DOUBLE PRECISION NOT NULL, starts BIGINT NOT NULL,
     band_0 DOUBLE PRECISION NOT NULL, band_1 DOUBLE PRECISION NOT NULL, band_2 DOUBLE PRECISION NOT NULL,
     band_3 DOUBLE PRECISION NOT NULL, band_4 DOUBLE PRECISION NOT NULL, band_5 DOUBLE PRECISION NOT NULL,
     PRIMARY KEY (device_id, hour))`,
      },
    ],
  },
  {
    name: "tenancy: companies, users, sessions, API and one-time tokens, contracts, audit log, jobs",
    // TenancyStore (docs/storage.md#tenancy). Personal data are exactly users.email, phone and
    // postal_address; email_key (the e-mail in lower case, set by the store) carries the case-insensitive
    // uniqueness. Tokens are stored as SHA-256 hashes only. Sessions, API tokens and one-time tokens
    // reference their user, so erasing a user must delete them first (the store does, in one
    // transaction). audit_log has no foreign keys: its records outlive the users they name by id.
    // Times are epoch ms (BIGINT on PostgreSQL); scopes, contract and payload are JSON text.
    statements: [
      {
        sqlite: `CREATE TABLE companies (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     postal_address TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL)`,
        postgres: `CREATE TABLE companies (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     postal_address TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL)`,
      },
      {
        sqlite: `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     company_id TEXT REFERENCES companies (id),
     role TEXT NOT NULL,
     email TEXT NOT NULL,
     email_key TEXT NOT NULL UNIQUE,
     phone TEXT,
     postal_address TEXT,
     password_hash TEXT,
     failed_logins INTEGER NOT NULL,
     locked_until INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL)`,
        postgres: `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     company_id TEXT REFERENCES companies (id),
     role TEXT NOT NULL,
     email TEXT NOT NULL,
     email_key TEXT NOT NULL UNIQUE,
     phone TEXT,
     postal_address TEXT,
     password_hash TEXT,
     failed_logins INTEGER NOT NULL,
     locked_until BIGINT,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL)`,
      },
      "CREATE INDEX users_company ON users (company_id)",
      {
        sqlite: `CREATE TABLE sessions (
     hash TEXT PRIMARY KEY,
     user_id TEXT NOT NULL REFERENCES users (id),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL)`,
        postgres: `CREATE TABLE sessions (
     hash TEXT PRIMARY KEY,
     user_id TEXT NOT NULL REFERENCES users (id),
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     last_seen_at BIGINT NOT NULL)`,
      },
      "CREATE INDEX sessions_user ON sessions (user_id)",
      "CREATE INDEX sessions_expires ON sessions (expires_at)",
      {
        sqlite: `CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY,
     hash TEXT NOT NULL UNIQUE,
     user_id TEXT NOT NULL REFERENCES users (id),
     name TEXT NOT NULL,
     scopes TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     revoked_at INTEGER)`,
        postgres: `CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY,
     hash TEXT NOT NULL UNIQUE,
     user_id TEXT NOT NULL REFERENCES users (id),
     name TEXT NOT NULL,
     scopes TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     expires_at BIGINT,
     revoked_at BIGINT)`,
      },
      "CREATE INDEX api_tokens_user ON api_tokens (user_id)",
      {
        sqlite: `CREATE TABLE one_time_tokens (
     hash TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     user_id TEXT NOT NULL REFERENCES users (id),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     used_at INTEGER)`,
        postgres: `CREATE TABLE one_time_tokens (
     hash TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     user_id TEXT NOT NULL REFERENCES users (id),
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     used_at BIGINT)`,
      },
      "CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id)",
      "CREATE INDEX one_time_tokens_expires ON one_time_tokens (expires_at)",
      {
        sqlite: `CREATE TABLE contracts (
     company_id TEXT PRIMARY KEY REFERENCES companies (id),
     id TEXT NOT NULL UNIQUE,
     contract TEXT NOT NULL,
     ends_at INTEGER)`,
        postgres: `CREATE TABLE contracts (
     company_id TEXT PRIMARY KEY REFERENCES companies (id),
     id TEXT NOT NULL UNIQUE,
     contract TEXT NOT NULL,
     ends_at BIGINT)`,
      },
      "CREATE INDEX contracts_ends ON contracts (ends_at)",
      {
        sqlite: `CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     actor TEXT NOT NULL,
     event TEXT NOT NULL,
     target_type TEXT,
     target_id TEXT,
     company_id TEXT)`,
        postgres: `CREATE TABLE audit_log (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     ts BIGINT NOT NULL,
     actor TEXT NOT NULL,
     event TEXT NOT NULL,
     target_type TEXT,
     target_id TEXT,
     company_id TEXT)`,
      },
      "CREATE INDEX audit_log_ts ON audit_log (ts)",
      "CREATE INDEX audit_log_company ON audit_log (company_id, ts)",
      {
        sqlite: `CREATE TABLE jobs (
     key TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     run_at INTEGER NOT NULL,
     payload TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     lease_until INTEGER)`,
        postgres: `CREATE TABLE jobs (
     key TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     run_at BIGINT NOT NULL,
     payload TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     lease_until BIGINT)`,
      },
      "CREATE INDEX jobs_run_at ON jobs (run_at)",
    ],
  },
  {
    name: "company of an enrollment",
    // Devices provisioned through an enrollment are created in its company (src/provisioning/service.ts).
    // Nullable and without a foreign key, like devices.company_id: the operator API checks that the
    // company exists when it sets one (src/provisioning/admin.ts).
    statements: ["ALTER TABLE enrollments ADD COLUMN company_id TEXT"],
  },
  {
    name: "alarm notifications: subscriptions, webhooks, deliveries, reminders",
    // Subscriptions go with their user (erasure) and deliveries and reminders with their alarm (purge)
    // by ON DELETE CASCADE. The unique key of a delivery makes one message per episode, kind and target
    // however often the alarm event is seen (src/notify/notifier.ts). Webhook secrets are sealed.
    statements: [
      `CREATE TABLE notification_subscriptions (
     user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
     device_id TEXT,
     min_severity TEXT NOT NULL,
     email INTEGER NOT NULL,
     locale TEXT NOT NULL)`,
      "CREATE UNIQUE INDEX notification_subscriptions_key ON notification_subscriptions (user_id, coalesce(device_id, ''))",
      "CREATE INDEX notification_subscriptions_device ON notification_subscriptions (device_id)",
      {
        sqlite: `CREATE TABLE webhooks (
     id TEXT PRIMARY KEY,
     company_id TEXT,
     url TEXT NOT NULL,
     secret TEXT NOT NULL,
     min_severity TEXT NOT NULL,
     enabled INTEGER NOT NULL,
     created_at INTEGER NOT NULL)`,
        postgres: `CREATE TABLE webhooks (
     id TEXT PRIMARY KEY,
     company_id TEXT,
     url TEXT NOT NULL,
     secret TEXT NOT NULL,
     min_severity TEXT NOT NULL,
     enabled INTEGER NOT NULL,
     created_at BIGINT NOT NULL)`,
      },
      "CREATE INDEX webhooks_company ON webhooks (company_id)",
      {
        sqlite: `CREATE TABLE notification_deliveries (
     id INTEGER PRIMARY KEY,
     alarm_id INTEGER NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
     episode INTEGER NOT NULL,
     company_id TEXT,
     kind TEXT NOT NULL,
     channel TEXT NOT NULL,
     target TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     next_attempt_at INTEGER NOT NULL,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     sent_at INTEGER,
     UNIQUE (alarm_id, episode, kind, channel, target))`,
        postgres: `CREATE TABLE notification_deliveries (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     alarm_id BIGINT NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
     episode INTEGER NOT NULL,
     company_id TEXT,
     kind TEXT NOT NULL,
     channel TEXT NOT NULL,
     target TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     next_attempt_at BIGINT NOT NULL,
     last_error TEXT,
     created_at BIGINT NOT NULL,
     sent_at BIGINT,
     UNIQUE (alarm_id, episode, kind, channel, target))`,
      },
      "CREATE INDEX notification_deliveries_due ON notification_deliveries (status, next_attempt_at)",
      "CREATE INDEX notification_deliveries_company ON notification_deliveries (company_id, created_at)",
      {
        sqlite: `CREATE TABLE notification_reminders (
     alarm_id INTEGER NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
     episode INTEGER NOT NULL,
     due_at INTEGER NOT NULL,
     PRIMARY KEY (alarm_id, episode))`,
        postgres: `CREATE TABLE notification_reminders (
     alarm_id BIGINT NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
     episode INTEGER NOT NULL,
     due_at BIGINT NOT NULL,
     PRIMARY KEY (alarm_id, episode))`,
      },
      "CREATE INDEX notification_reminders_due ON notification_reminders (due_at)",
    ],
  },
  {
    name: "display name and site of a device",
    // Labels people give a pump ("Tray sealer line 1") and the site it stands at ("Werk Rosenheim"):
    // the dashboard shows, filters and groups by them. Not personal data.
    statements: ["ALTER TABLE devices ADD COLUMN name TEXT", "ALTER TABLE devices ADD COLUMN site TEXT"],
  },
  {
    name: "security events; notification deliveries of security events",
    // One row per detector, subject and episode (src/security/): the unique key makes concurrent
    // recorders add to one row. `subject` names a device or a keyed hash of a source address, never
    // the address (docs/data-protection.md). A delivery now belongs to an alarm or to a security
    // event: SQLite cannot drop NOT NULL in place, so its table is rebuilt; PostgreSQL alters it.
    statements: [
      {
        sqlite: `CREATE TABLE security_events (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL,
     subject TEXT NOT NULL,
     episode INTEGER NOT NULL,
     device_id TEXT,
     network TEXT,
     severity TEXT NOT NULL,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     count INTEGER NOT NULL,
     detail TEXT NOT NULL,
     acknowledged_at INTEGER,
     acknowledged_by TEXT,
     UNIQUE (kind, subject, episode))`,
        postgres: `CREATE TABLE security_events (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     kind TEXT NOT NULL,
     subject TEXT NOT NULL,
     episode INTEGER NOT NULL,
     device_id TEXT,
     network TEXT,
     severity TEXT NOT NULL,
     first_seen BIGINT NOT NULL,
     last_seen BIGINT NOT NULL,
     count BIGINT NOT NULL,
     detail TEXT NOT NULL,
     acknowledged_at BIGINT,
     acknowledged_by TEXT,
     UNIQUE (kind, subject, episode))`,
      },
      "CREATE INDEX security_events_last_seen ON security_events (last_seen)",
      {
        sqlite: `CREATE TABLE notification_deliveries_v2 (
     id INTEGER PRIMARY KEY,
     alarm_id INTEGER REFERENCES alarms (id) ON DELETE CASCADE,
     security_event_id INTEGER REFERENCES security_events (id) ON DELETE CASCADE,
     episode INTEGER NOT NULL,
     company_id TEXT,
     kind TEXT NOT NULL,
     channel TEXT NOT NULL,
     target TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     next_attempt_at INTEGER NOT NULL,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     sent_at INTEGER,
     UNIQUE (alarm_id, episode, kind, channel, target),
     CHECK ((alarm_id IS NULL) <> (security_event_id IS NULL)))`,
      },
      {
        sqlite: `INSERT INTO notification_deliveries_v2 (id, alarm_id, security_event_id, episode, company_id, kind,
     channel, target, status, attempts, next_attempt_at, last_error, created_at, sent_at)
     SELECT id, alarm_id, NULL, episode, company_id, kind, channel, target, status, attempts, next_attempt_at,
     last_error, created_at, sent_at FROM notification_deliveries`,
      },
      { sqlite: "DROP TABLE notification_deliveries" },
      { sqlite: "ALTER TABLE notification_deliveries_v2 RENAME TO notification_deliveries" },
      {
        sqlite:
          "CREATE INDEX notification_deliveries_due ON notification_deliveries (status, next_attempt_at)",
      },
      {
        sqlite:
          "CREATE INDEX notification_deliveries_company ON notification_deliveries (company_id, created_at)",
      },
      { postgres: "ALTER TABLE notification_deliveries ALTER COLUMN alarm_id DROP NOT NULL" },
      {
        postgres:
          "ALTER TABLE notification_deliveries ADD COLUMN security_event_id BIGINT REFERENCES security_events (id) ON DELETE CASCADE",
      },
      {
        postgres:
          "ALTER TABLE notification_deliveries ADD CHECK ((alarm_id IS NULL) <> (security_event_id IS NULL))",
      },
      `CREATE UNIQUE INDEX notification_deliveries_security ON notification_deliveries
     (security_event_id, kind, channel, target) WHERE security_event_id IS NOT NULL`,
    ],
  },
];
