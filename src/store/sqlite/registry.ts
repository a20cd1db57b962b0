import { PumpwatchError } from "../../core/errors.js";
import type { SecretBox } from "../../core/secrets.js";
import type {
  Device,
  DevicePatch,
  Enrollment,
  EnrollmentPatch,
  NewDevice,
  NewEnrollment,
  RegistryStore,
  RetentionPolicy,
  Twin,
} from "../ports.js";
import {
  DEVICE_COLUMNS,
  type DeviceRow,
  deviceColumnValue,
  deviceFromRow,
  type EnrollmentRow,
  enrollmentFromRow,
  mergePatch,
  newDeviceValues,
  type TwinRow,
  twinFromRow,
} from "../rows.js";
import { type Db, truncateWal } from "./db.js";

/** Registry on SQLite; device and enrollment keys are sealed with the SecretBox at rest. */
export class SqliteRegistryStore implements RegistryStore {
  readonly #db: Db;
  /** Device and enrollment writes made through this connection (see changeMark). */
  #writes = 0;
  readonly #box: SecretBox;

  constructor(db: Db, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = this.#db.prepare("SELECT value FROM settings WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  async setSettingIfAbsent(key: string, value: string): Promise<string> {
    this.#db.prepare("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)").run(key, value);
    return (await this.getSetting(key))!;
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const row = this.#db.prepare("SELECT * FROM devices WHERE id = ?").get(id) as DeviceRow | undefined;
    return row && deviceFromRow(row, this.#box);
  }

  async createDevice(d: NewDevice): Promise<Device> {
    this.#writes++;
    const now = new Date().toISOString();
    const insert = this.#db.prepare(
      `INSERT OR IGNORE INTO devices (id, enabled, primary_key, secondary_key, company_id, model, pump_type, serial,
         enrollment_kind, enrollment_name, registration_payload, created_at, name, site, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const result = insert.run(...newDeviceValues(d, this.#box, now), now);
    if (result.changes === 0) throw new PumpwatchError("CONFLICT", `device ${d.id} already exists`);
    return (await this.getDevice(d.id))!;
  }

  async updateDevice(id: string, patch: DevicePatch): Promise<Device> {
    this.#writes++;
    const sets: string[] = [];
    const args: unknown[] = [];
    for (const [key, value] of Object.entries(patch) as [keyof DevicePatch, unknown][]) {
      if (value === undefined) continue;
      sets.push(`${DEVICE_COLUMNS[key]} = ?`);
      args.push(deviceColumnValue(key, value, this.#box));
    }
    sets.push("updated_at = ?", "generation = generation + 1");
    args.push(new Date().toISOString(), id);
    const result = this.#db.prepare(`UPDATE devices SET ${sets.join(", ")} WHERE id = ?`).run(...args);
    if (result.changes === 0) throw new PumpwatchError("NOT_FOUND", `device ${id} does not exist`);
    return (await this.getDevice(id))!;
  }

  async listDevices(): Promise<Device[]> {
    const rows = this.#db.prepare("SELECT * FROM devices ORDER BY id").all() as DeviceRow[];
    return rows.map((r) => deviceFromRow(r, this.#box));
  }

  async getEnrollment(kind: Enrollment["kind"], id: string): Promise<Enrollment | undefined> {
    const row = this.#db.prepare("SELECT * FROM enrollments WHERE kind = ? AND id = ?").get(kind, id) as
      | EnrollmentRow
      | undefined;
    return row && enrollmentFromRow(row, this.#box);
  }

  async createEnrollment(e: NewEnrollment): Promise<Enrollment> {
    this.#writes++;
    const now = new Date().toISOString();
    const result = this.#db
      .prepare(
        `INSERT OR IGNORE INTO enrollments (kind, id, primary_key, secondary_key, enabled, company_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        e.kind,
        e.id,
        this.#box.seal(e.primaryKey),
        this.#box.seal(e.secondaryKey),
        e.enabled ? 1 : 0,
        e.companyId ?? null,
        now,
        now,
      );
    if (result.changes === 0)
      throw new PumpwatchError("CONFLICT", `${e.kind} enrollment ${e.id} already exists`);
    return (await this.getEnrollment(e.kind, e.id))!;
  }

  async updateEnrollment(kind: Enrollment["kind"], id: string, patch: EnrollmentPatch): Promise<Enrollment> {
    this.#writes++;
    // Read and write in one immediate transaction, so a concurrent update of another field (another
    // process) is not overwritten with a stale value.
    const update = this.#db.transaction(() => {
      const row = this.#db.prepare("SELECT * FROM enrollments WHERE kind = ? AND id = ?").get(kind, id) as
        | EnrollmentRow
        | undefined;
      if (!row) throw new PumpwatchError("NOT_FOUND", `${kind} enrollment ${id} does not exist`);
      const seal = (k: string | undefined, sealed: string) => (k === undefined ? sealed : this.#box.seal(k));
      this.#db
        .prepare(
          `UPDATE enrollments SET primary_key = ?, secondary_key = ?, enabled = ?, company_id = ?, updated_at = ?
           WHERE kind = ? AND id = ?`,
        )
        .run(
          seal(patch.primaryKey, row.primary_key),
          seal(patch.secondaryKey, row.secondary_key),
          patch.enabled === undefined ? row.enabled : patch.enabled ? 1 : 0,
          patch.companyId === undefined ? row.company_id : patch.companyId,
          new Date().toISOString(),
          kind,
          id,
        );
    });
    update.immediate();
    return (await this.getEnrollment(kind, id))!;
  }

  async listEnrollments(): Promise<Enrollment[]> {
    const rows = this.#db.prepare("SELECT * FROM enrollments ORDER BY kind, id").all() as EnrollmentRow[];
    return rows.map((r) => enrollmentFromRow(r, this.#box));
  }

  async getTwin(deviceId: string): Promise<Twin> {
    const row = this.#db.prepare("SELECT * FROM twins WHERE device_id = ?").get(deviceId) as
      | TwinRow
      | undefined;
    return twinFromRow(row);
  }

  async patchTwin(
    deviceId: string,
    side: "desired" | "reported",
    patch: Record<string, unknown>,
  ): Promise<Twin> {
    const apply = this.#db.transaction(() => {
      this.#db.prepare("INSERT OR IGNORE INTO twins (device_id) VALUES (?)").run(deviceId);
      const row = this.#db.prepare(`SELECT ${side} AS doc FROM twins WHERE device_id = ?`).get(deviceId) as {
        doc: string;
      };
      const merged = mergePatch(JSON.parse(row.doc) as Record<string, unknown>, patch);
      this.#db
        .prepare(`UPDATE twins SET ${side} = ?, ${side}_version = ${side}_version + 1 WHERE device_id = ?`)
        .run(JSON.stringify(merged), deviceId);
    });
    apply.immediate();
    return this.getTwin(deviceId);
  }

  async getRetention(companyId: string | null): Promise<RetentionPolicy | undefined> {
    const row = this.#db
      .prepare("SELECT raw_days, rollup_days FROM retention WHERE company_id = ?")
      .get(companyId ?? "") as { raw_days: number; rollup_days: number } | undefined;
    return row && { rawDays: row.raw_days, rollupDays: row.rollup_days };
  }

  async setRetention(companyId: string | null, policy: RetentionPolicy): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO retention (company_id, raw_days, rollup_days) VALUES (?, ?, ?)
         ON CONFLICT (company_id) DO UPDATE SET raw_days = excluded.raw_days, rollup_days = excluded.rollup_days`,
      )
      .run(companyId ?? "", policy.rawDays, policy.rollupDays);
  }

  async deleteDevices(deviceIds: readonly string[]): Promise<number> {
    this.#writes++;
    const ids = JSON.stringify(deviceIds); // IN (…) ignores repeats
    const del = (sql: string) =>
      this.#db.prepare(`${sql} IN (SELECT value FROM json_each(?))`).run(ids).changes;
    const n = this.#db
      .transaction(() => {
        const deleted = del("DELETE FROM devices WHERE id");
        del("DELETE FROM twins WHERE device_id");
        // An individual enrollment's id is the registration id, which is the device id (src/provisioning).
        del("DELETE FROM enrollments WHERE kind = 'individual' AND id");
        return deleted;
      })
      .immediate();
    truncateWal(this.#db);
    return n;
  }

  async changeMark(): Promise<number> {
    // `data_version` changes only when another connection (another process, the CLI) committed;
    // this connection's own device and enrollment writes are counted here, as PostgreSQL's trigger
    // counts everyone's. Either kind of change moves the mark.
    const other = this.#db.pragma("data_version", { simple: true }) as number;
    return this.#writes * 2 ** 32 + other;
  }
}
