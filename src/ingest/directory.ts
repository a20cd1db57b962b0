import type { Device, RegistryStore } from "../store/ports.js";

/**
 * Read-through cache of device records for the hot path (CONNECT auth and per-packet checks).
 * `refresh()` reloads the cached devices when the registry changed underneath (another process,
 * the CLI) and reports which ones changed, so the gateway can drop connections of devices that were
 * disabled or whose keys were rotated.
 */
export class DeviceDirectory {
  readonly #registry: RegistryStore;
  readonly #cache = new Map<string, Device>();
  #mark = -1;

  constructor(registry: RegistryStore) {
    this.#registry = registry;
  }

  async get(id: string): Promise<Device | undefined> {
    const hit = this.#cache.get(id);
    if (hit) return hit;
    const device = await this.#registry.getDevice(id);
    if (device) this.#cache.set(id, device);
    return device;
  }

  /** The cached record, if loaded; ingest uses it for devices that are connected. */
  peek(id: string): Device | undefined {
    return this.#cache.get(id);
  }

  /** Records a change made through this process. */
  put(device: Device): void {
    this.#cache.set(device.id, device);
  }

  forget(id: string): void {
    this.#cache.delete(id);
  }

  /** Reloads cached devices if the registry changed elsewhere; returns those whose record changed. */
  async refresh(): Promise<Device[]> {
    const mark = await this.#registry.changeMark();
    if (mark === this.#mark) return [];
    this.#mark = mark;
    const changed: Device[] = [];
    for (const [id, old] of this.#cache) {
      const fresh = await this.#registry.getDevice(id);
      if (!fresh) {
        this.#cache.delete(id);
        changed.push({ ...old, enabled: false });
      } else if (fresh.generation !== old.generation) {
        this.#cache.set(id, fresh);
        changed.push(fresh);
      }
    }
    return changed;
  }
}
