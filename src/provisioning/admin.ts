import { randomBytes } from "node:crypto";
import { PumpwatchError } from "../core/errors.js";
import { generateKey, isValidId } from "../core/keys.js";
import type { Device, RegistryStore } from "../store/ports.js";

/** What an operator sees of a device: never its keys, except right after creating or rotating them. */
export type DeviceView = Omit<Device, "primaryKey" | "secondaryKey">;

export function deviceView(d: Device): DeviceView {
  const { primaryKey: _p, secondaryKey: _s, ...view } = d;
  return view;
}

const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/**
 * Registry administration shared by the CLI and the operator API: enrollments, enabling and
 * disabling devices, key rotation. The id scope is the one this pumpwatch serves.
 */
export class RegistryAdmin {
  readonly #registry: RegistryStore;
  readonly idScope: string;

  constructor(registry: RegistryStore, idScope: string) {
    this.#registry = registry;
    this.idScope = idScope;
  }

  /** Creates a group enrollment; devices derive their keys from `groupKey` (azure-protocol.md §2). */
  async enrollGroup(name: string): Promise<{ idScope: string; groupName: string; groupKey: string }> {
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
    });
    return { idScope: this.idScope, groupName: e.id, groupKey: e.primaryKey };
  }

  /** Creates an individual enrollment with its own key. */
  async enrollDevice(
    registrationId: string,
  ): Promise<{ idScope: string; registrationId: string; key: string }> {
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
    });
    return { idScope: this.idScope, registrationId: e.id, key: e.primaryKey };
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
    if (!current)
      throw new PumpwatchError(
        "NOT_FOUND",
        `device ${id} does not exist; list devices with 'pumpwatch device list'`,
      );
    const primaryKey = generateKey(32);
    const secondaryKey = which === "primary" ? current.primaryKey : generateKey(32);
    const d = await this.#registry.updateDevice(id, { primaryKey, secondaryKey });
    return { deviceId: d.id, primaryKey: d.primaryKey, secondaryKey: d.secondaryKey };
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

/** Reads or creates the DPS id scope of this installation (Azure style: "0ne" + 8 hex digits). */
export async function ensureIdScope(
  registry: RegistryStore,
  configured: string | undefined,
): Promise<string> {
  if (configured) return configured;
  const fresh = `0ne${randomBytes(4).toString("hex").toUpperCase()}`;
  return registry.setSettingIfAbsent("idScope", fresh);
}
