import type { Config } from "../core/config.js";
import type { Logger } from "../core/log.js";
import type { Stores } from "./ports.js";

type HousekeepingConfig = Pick<Config, "compactEveryMs" | "retention">;

/**
 * Storage housekeeping: compresses closed chunk windows (and writes their rollups) every
 * `compactEveryMs`, and applies each company's retention hourly. One run at a time; failures are
 * logged and retried on the next tick.
 */
export function startHousekeeping(
  stores: Stores,
  config: HousekeepingConfig,
  log: Logger,
): { stop(): Promise<void> } {
  let current: Promise<void> | undefined;
  let lastRetention = 0;
  const work = async () => {
    const now = Date.now();
    const chunks = await stores.telemetry.compact(now);
    if (chunks > 0) log.debug({ chunks }, "compacted chunk windows");
    if (now - lastRetention >= 3600_000) {
      lastRetention = now;
      await applyRetention(stores, config, now, log);
    }
  };
  const tick = () => {
    if (current) return;
    current = work()
      .catch((err: Error) => log.error({ err }, "storage housekeeping failed; retrying on the next tick"))
      .finally(() => {
        current = undefined;
      });
  };
  const timer = setInterval(tick, config.compactEveryMs);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}

/** Applies each company's retention (or the default) to its devices. */
export async function applyRetention(
  stores: Stores,
  config: HousekeepingConfig,
  now: number,
  log: Logger,
): Promise<void> {
  const byCompany = new Map<string | null, string[]>();
  for (const d of await stores.registry.listDevices()) {
    const list = byCompany.get(d.companyId) ?? [];
    list.push(d.id);
    byCompany.set(d.companyId, list);
  }
  for (const [companyId, deviceIds] of byCompany) {
    const policy = (await stores.registry.getRetention(companyId)) ?? config.retention;
    const dropped = await stores.telemetry.applyRetention(deviceIds, policy, now);
    if (dropped.chunks + dropped.rollups > 0) log.info({ companyId, ...dropped }, "retention applied");
  }
}
