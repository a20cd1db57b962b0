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
import type { PgDb } from "./pool.js";

/** Registry on PostgreSQL; device and enrollment keys are sealed with the SecretBox at rest. */
export class PostgresRegistryStore implements RegistryStore {
  readonly #db: PgDb;
  readonly #box: SecretBox;

  constructor(db: PgDb, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  async getSetting(key: string): Promise<string | undefined> {
    const { rows } = await this.#db.query<{ value: string }>("SELECT value FROM settings WHERE key = $1", [
      key,
    ]);
    return rows[0]?.value;
  }

  async setSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.#db.query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", [
      key,
      value,
    ]);
    return (await this.getSetting(key))!;
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const { rows } = await this.#db.query<DeviceRow>({
      name: "pw_get_device",
      text: "SELECT * FROM devices WHERE id = $1",
      values: [id],
    });
    return rows[0] && deviceFromRow(rows[0], this.#box);
  }

  async createDevice(d: NewDevice): Promise<Device> {
    const now = new Date().toISOString();
    const { rows } = await this.#db.query<DeviceRow>(
      `INSERT INTO devices (id, enabled, primary_key, secondary_key, company_id, model, pump_type, serial,
         enrollment_kind, enrollment_name, registration_payload, created_at, name, site, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $12)
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      newDeviceValues(d, this.#box, now),
    );
    if (!rows[0]) throw new PumpwatchError("CONFLICT", `device ${d.id} already exists`);
    return deviceFromRow(rows[0], this.#box);
  }

  async updateDevice(id: string, patch: DevicePatch): Promise<Device> {
    const sets: string[] = [];
    const args: unknown[] = [];
    for (const [key, value] of Object.entries(patch) as [keyof DevicePatch, unknown][]) {
      if (value === undefined) continue;
      args.push(deviceColumnValue(key, value, this.#box));
      sets.push(`${DEVICE_COLUMNS[key]} = $${args.length}`);
    }
    args.push(new Date().toISOString(), id);
    sets.push(`updated_at = $${args.length - 1}`, "generation = generation + 1");
    const { rows } = await this.#db.query<DeviceRow>(
      `UPDATE devices SET ${sets.join(", ")} WHERE id = $${args.length} RETURNING *`,
      args,
    );
    if (!rows[0]) throw new PumpwatchError("NOT_FOUND", `device ${id} does not exist`);
    return deviceFromRow(rows[0], this.#box);
  }

  async listDevices(): Promise<Device[]> {
    const { rows } = await this.#db.query<DeviceRow>("SELECT * FROM devices ORDER BY id");
    return rows.map((r) => deviceFromRow(r, this.#box));
  }

  async getEnrollment(kind: Enrollment["kind"], id: string): Promise<Enrollment | undefined> {
    const { rows } = await this.#db.query<EnrollmentRow>(
      "SELECT * FROM enrollments WHERE kind = $1 AND id = $2",
      [kind, id],
    );
    return rows[0] && enrollmentFromRow(rows[0], this.#box);
  }

  async createEnrollment(e: NewEnrollment): Promise<Enrollment> {
    const { rows } = await this.#db.query<EnrollmentRow>(
      `INSERT INTO enrollments (kind, id, primary_key, secondary_key, enabled, company_id, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (kind, id) DO NOTHING RETURNING *`,
      [
        e.kind,
        e.id,
        this.#box.seal(e.primaryKey),
        this.#box.seal(e.secondaryKey),
        e.enabled ? 1 : 0,
        e.companyId ?? null,
        nowIso(),
      ],
    );
    if (!rows[0]) throw new PumpwatchError("CONFLICT", `${e.kind} enrollment ${e.id} already exists`);
    return enrollmentFromRow(rows[0], this.#box);
  }

  async updateEnrollment(kind: Enrollment["kind"], id: string, patch: EnrollmentPatch): Promise<Enrollment> {
    // One statement, so a concurrent update of another field is not overwritten with a stale value.
    // company_id may be set to NULL, so it cannot use COALESCE: $5 says whether to change it.
    const seal = (k: string | undefined) => (k === undefined ? null : this.#box.seal(k));
    const { rows } = await this.#db.query<EnrollmentRow>(
      `UPDATE enrollments SET primary_key = COALESCE($1, primary_key), secondary_key = COALESCE($2, secondary_key),
         enabled = COALESCE($3, enabled), company_id = CASE WHEN $5::boolean THEN $4::text ELSE company_id END,
         updated_at = $6
       WHERE kind = $7 AND id = $8 RETURNING *`,
      [
        seal(patch.primaryKey),
        seal(patch.secondaryKey),
        patch.enabled === undefined ? null : patch.enabled ? 1 : 0,
        patch.companyId ?? null,
        patch.companyId !== undefined,
        nowIso(),
        kind,
        id,
      ],
    );
    if (!rows[0]) throw new PumpwatchError("NOT_FOUND", `${kind} enrollment ${id} does not exist`);
    return enrollmentFromRow(rows[0], this.#box);
  }

  async listEnrollments(): Promise<Enrollment[]> {
    const { rows } = await this.#db.query<EnrollmentRow>("SELECT * FROM enrollments ORDER BY kind, id");
    return rows.map((r) => enrollmentFromRow(r, this.#box));
  }

  async getTwin(deviceId: string): Promise<Twin> {
    const { rows } = await this.#db.query<TwinRow>("SELECT * FROM twins WHERE device_id = $1", [deviceId]);
    return twinFromRow(rows[0]);
  }

  async patchTwin(
    deviceId: string,
    side: "desired" | "reported",
    patch: Record<string, unknown>,
  ): Promise<Twin> {
    const row = await this.#db.tx(async (c) => {
      await c.query("INSERT INTO twins (device_id) VALUES ($1) ON CONFLICT (device_id) DO NOTHING", [
        deviceId,
      ]);
      // FOR UPDATE: two concurrent patches of one twin merge one after the other, none is lost.
      const current = await c.query<{ doc: string }>(
        `SELECT ${side} AS doc FROM twins WHERE device_id = $1 FOR UPDATE`,
        [deviceId],
      );
      const merged = mergePatch(JSON.parse(current.rows[0]!.doc) as Record<string, unknown>, patch);
      const updated = await c.query<TwinRow>(
        `UPDATE twins SET ${side} = $1, ${side}_version = ${side}_version + 1 WHERE device_id = $2 RETURNING *`,
        [JSON.stringify(merged), deviceId],
      );
      return updated.rows[0];
    });
    return twinFromRow(row);
  }

  async getRetention(companyId: string | null): Promise<RetentionPolicy | undefined> {
    const { rows } = await this.#db.query<{ raw_days: number; rollup_days: number }>(
      "SELECT raw_days, rollup_days FROM retention WHERE company_id = $1",
      [companyId ?? ""],
    );
    const r = rows[0];
    return r && { rawDays: r.raw_days, rollupDays: r.rollup_days };
  }

  async setRetention(companyId: string | null, policy: RetentionPolicy): Promise<void> {
    await this.#db.query(
      `INSERT INTO retention (company_id, raw_days, rollup_days) VALUES ($1, $2, $3)
       ON CONFLICT (company_id) DO UPDATE SET raw_days = excluded.raw_days, rollup_days = excluded.rollup_days`,
      [companyId ?? "", policy.rawDays, policy.rollupDays],
    );
  }

  async deleteDevices(deviceIds: readonly string[]): Promise<number> {
    const ids = [...new Set(deviceIds)];
    if (ids.length === 0) return 0;
    return this.#db.tx(async (c) => {
      const { rowCount } = await c.query("DELETE FROM devices WHERE id = ANY($1::text[])", [ids]);
      await c.query("DELETE FROM twins WHERE device_id = ANY($1::text[])", [ids]);
      // An individual enrollment's id is the registration id, which is the device id (src/provisioning).
      await c.query("DELETE FROM enrollments WHERE kind = 'individual' AND id = ANY($1::text[])", [ids]);
      return rowCount ?? 0;
    });
  }

  async changeMark(): Promise<number> {
    // Bumped by triggers on devices and enrollments (src/store/migrations.ts), whoever changed them.
    const { rows } = await this.#db.query<{ n: number }>({
      name: "pw_change_mark",
      text: "SELECT n FROM registry_mark",
    });
    return rows[0]!.n;
  }
}

function nowIso(): string {
  return new Date().toISOString();
}
