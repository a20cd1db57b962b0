import { randomBytes } from "node:crypto";
import { PumpwatchError } from "../core/errors.js";
import { generateKey, isValidId } from "../core/keys.js";
import type { Device, DevicePatch, Enrollment, RegistryStore } from "../store/ports.js";

/** What an operator sees of a device: never its keys, except right after creating or rotating them. */
export type DeviceView = Omit<Device, "primaryKey" | "secondaryKey">;

export function deviceView(d: Device): DeviceView {
  const { primaryKey: _p, secondaryKey: _s, ...view } = d;
  return view;
}

/** What an operator sees of an enrollment: never its keys (they are shown once, on creation). */
export type EnrollmentView = Omit<Enrollment, "primaryKey" | "secondaryKey">;

/** Company and labels of a device an operator may change; null clears a field. */
export interface DeviceLabelsPatch {
  companyId?: string | null | undefined;
  model?: string | null | undefined;
  pumpType?: string | null | undefined;
  serial?: string | null | undefined;
  name?: string | null | undefined;
  site?: string | null | undefined;
}

const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** The company id pattern of the tenancy API (src/api/tenancy-routes.ts). */
const COMPANY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_LABEL = 200;

/**
 * Registry administration shared by the CLI and the operator API: enrollments, enabling and
 * disabling devices, key rotation, a device's company and labels. The id scope is the one this
 * pumpwatch serves.
 *
 * Company ids are checked for their form only, not for existence: this class sees the registry, not
 * the companies. The caller (the operator API) must check that the company exists before it passes
 * one in; the CLI, which runs without the API, leaves that to the operator.
 */
export class RegistryAdmin {
  readonly #registry: RegistryStore;
  readonly idScope: string;

  constructor(registry: RegistryStore, idScope: string) {
    this.#registry = registry;
    this.idScope = idScope;
  }

  /**
   * Creates a group enrollment; devices derive their keys from `groupKey` (azure-protocol.md §2).
   * Devices provisioned through it are created in `opts.companyId` (default none). BAD_REQUEST for a
   * malformed name or company id, CONFLICT when the group exists.
   */
  async enrollGroup(
    name: string,
    opts: { companyId?: string | null | undefined } = {},
  ): Promise<{ idScope: string; groupName: string; groupKey: string; companyId: string | null }> {
    if (!GROUP_NAME.test(name)) {
      throw new PumpwatchError(
        "BAD_REQUEST",
        "group name must be 1–128 lower-case letters, digits, . _ - (starting with a letter or digit)",
      );
    }
    const e = await this.#registry.createEnrollment({
      kind: "group",
      id: name,
      primaryKey: generateKey(64),
      secondaryKey: generateKey(64),
      enabled: true,
      companyId: checkCompanyId(opts.companyId),
    });
    return { idScope: this.idScope, groupName: e.id, groupKey: e.primaryKey, companyId: e.companyId };
  }

  /**
   * Creates an individual enrollment with its own key; the device is created in `opts.companyId`
   * (default none). BAD_REQUEST for a malformed id or company id, CONFLICT when it exists.
   */
  async enrollDevice(
    registrationId: string,
    opts: { companyId?: string | null | undefined } = {},
  ): Promise<{ idScope: string; registrationId: string; key: string; companyId: string | null }> {
    if (!isValidId(registrationId)) {
      throw new PumpwatchError(
        "BAD_REQUEST",
        "registration id must be 1–128 lower-case letters, digits, - . _ : (ending in a letter, digit or -)",
      );
    }
    const e = await this.#registry.createEnrollment({
      kind: "individual",
      id: registrationId,
      primaryKey: generateKey(32),
      secondaryKey: generateKey(32),
      enabled: true,
      companyId: checkCompanyId(opts.companyId),
    });
    return { idScope: this.idScope, registrationId: e.id, key: e.primaryKey, companyId: e.companyId };
  }

  /** All enrollments, groups first, without their keys. */
  async listEnrollments(): Promise<EnrollmentView[]> {
    return (await this.#registry.listEnrollments()).map(
      ({ primaryKey: _p, secondaryKey: _s, ...view }) => view,
    );
  }

  async setEnrollmentEnabled(kind: "group" | "individual", id: string, enabled: boolean): Promise<void> {
    await this.#registry.updateEnrollment(kind, id, { enabled });
  }

  async setDeviceEnabled(id: string, enabled: boolean): Promise<DeviceView> {
    return deviceView(await this.#registry.updateDevice(id, { enabled }));
  }

  /**
   * Replaces a device key. Rotating the primary key moves the old primary to secondary, so a box
   * still using it keeps working until it is updated; rotating both revokes every old token.
   */
  async rotateKey(
    id: string,
    which: "primary" | "both" = "both",
  ): Promise<{ deviceId: string; primaryKey: string; secondaryKey: string }> {
    const current = await this.#registry.getDevice(id);
    if (!current) throw unknownDevice(id);
    const primaryKey = generateKey(32);
    const secondaryKey = which === "primary" ? current.primaryKey : generateKey(32);
    const d = await this.#registry.updateDevice(id, { primaryKey, secondaryKey });
    return { deviceId: d.id, primaryKey: d.primaryKey, secondaryKey: d.secondaryKey };
  }

  /**
   * Sets a device's company and labels: only the fields present change, null clears one. Re-provisioning
   * keeps a company set here (src/provisioning/service.ts). BAD_REQUEST for a malformed company id, a
   * label that is not a string of 1–200 characters, or nothing to change; NOT_FOUND for an unknown device.
   */
  async updateDevice(id: string, patch: DeviceLabelsPatch): Promise<DeviceView> {
    // Picked field by field, so nothing else (keys, enabled) can come through an untyped caller's object.
    const change: DevicePatch = {};
    if (patch.companyId !== undefined) change.companyId = checkCompanyId(patch.companyId);
    if (patch.model !== undefined) change.model = checkLabel("model", patch.model);
    if (patch.pumpType !== undefined) change.pumpType = checkLabel("pumpType", patch.pumpType);
    if (patch.serial !== undefined) change.serial = checkLabel("serial", patch.serial);
    if (patch.name !== undefined) change.name = checkLabel("name", patch.name);
    if (patch.site !== undefined) change.site = checkLabel("site", patch.site);
    if (Object.keys(change).length === 0) {
      throw new PumpwatchError(
        "BAD_REQUEST",
        "nothing to change: give at least one of companyId, model, pumpType, serial, name, site (null clears it)",
      );
    }
    try {
      return deviceView(await this.#registry.updateDevice(id, change));
    } catch (err) {
      if (err instanceof PumpwatchError && err.code === "NOT_FOUND") throw unknownDevice(id);
      throw err;
    }
  }

  async getDevice(id: string): Promise<DeviceView> {
    const d = await this.#registry.getDevice(id);
    if (!d) throw new PumpwatchError("NOT_FOUND", `device ${id} does not exist`);
    return deviceView(d);
  }

  async listDevices(): Promise<DeviceView[]> {
    return (await this.#registry.listDevices()).map(deviceView);
  }
}

function unknownDevice(id: string): PumpwatchError {
  return new PumpwatchError(
    "NOT_FOUND",
    `device ${id} does not exist; list devices with 'pumpwatch device list'`,
  );
}

/** A company id as given (null or absent: none), or BAD_REQUEST. Existence is the caller's check. */
function checkCompanyId(companyId: string | null | undefined): string | null {
  if (companyId === undefined || companyId === null) return null;
  if (typeof companyId !== "string" || !COMPANY_ID.test(companyId)) {
    throw new PumpwatchError(
      "BAD_REQUEST",
      "company id must be 1–64 letters, digits, . _ - (starting with a letter or digit); " +
        "use the id of an existing company, or null for none",
    );
  }
  return companyId;
}

function checkLabel(field: string, value: string | null): string | null {
  if (value === null) return null;
  if (typeof value !== "string" || value.trim() === "" || value.length > MAX_LABEL) {
    throw new PumpwatchError(
      "BAD_REQUEST",
      `${field} must be a non-blank text of at most ${MAX_LABEL} characters, or null to clear it`,
    );
  }
  return value;
}

/** Reads or creates the DPS id scope of this installation (Azure style: "0ne" + 8 hex digits). */
export async function ensureIdScope(
  registry: RegistryStore,
  configured: string | undefined,
): Promise<string> {
  if (configured) return configured;
  const fresh = `0ne${randomBytes(4).toString("hex").toUpperCase()}`;
  return registry.setSettingIfAbsent("idScope", fresh);
}
