import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deriveDeviceKey } from "./core/keys.js";
import type { Logger } from "./core/log.js";
import { LiveFleet } from "./fleet/runner.js";
import type { Running } from "./main.js";
import { RegistryAdmin } from "./provisioning/admin.js";
import { loadScenario, MODELS } from "./sim/index.js";

/** The scenario `npm start` runs (scenarios/demo.json in the package). */
export const DEMO_SCENARIO = fileURLToPath(new URL("../scenarios/demo.json", import.meta.url));

const DEMO_GROUP = "demo";

/**
 * The demo fleet: the scenario's pumps as in-process device agents that provision and connect to
 * this pumpwatch over the real protocol (group enrollment "demo"). Every device is labelled as
 * simulated (registration payload `simulated: true`, serial `SIM-…`), and ground truth is written to
 * `<data>/demo/truth`.
 */
export async function startDemo(
  running: Running,
  opts: { dataDir: string; scenarioFile?: string | undefined; log: Logger },
): Promise<LiveFleet> {
  const scenario = loadScenario(opts.scenarioFile ?? DEMO_SCENARIO);
  const registry = running.stores.registry;
  let group = await registry.getEnrollment("group", DEMO_GROUP);
  if (!group) {
    await new RegistryAdmin(registry, running.idScope).enrollGroup(DEMO_GROUP);
    group = (await registry.getEnrollment("group", DEMO_GROUP))!;
  }
  const fleet = new LiveFleet({
    scenario,
    stateDir: join(opts.dataDir, "demo"),
    provisioningHost: `localhost:${running.mqttPort}`,
    idScope: running.idScope,
    groupKey: group.primaryKey,
    ca: running.ca,
  });
  // Label the pumps before their agents provision: provisioning then caches the labelled record in
  // the server's device directory, which analytics reads the pump model from. (Writing the labels
  // to the registry after provisioning would leave the in-process directory with model null, and
  // every pump would be analysed with the generic rules only.)
  for (const asset of fleet.fleet.assets) {
    const labels = {
      companyId: asset.companyId,
      model: asset.model,
      pumpType: MODELS[asset.model].label,
      serial: `SIM-${asset.id}`,
    };
    const existing = await registry.getDevice(asset.id);
    if (!existing) {
      await registry.createDevice({
        id: asset.id,
        primaryKey: deriveDeviceKey(group.primaryKey, asset.id),
        secondaryKey: deriveDeviceKey(group.secondaryKey, asset.id),
        enrollmentKind: "group",
        enrollmentName: DEMO_GROUP,
        ...labels,
      });
    } else if (
      existing.companyId !== labels.companyId ||
      existing.model !== labels.model ||
      existing.pumpType !== labels.pumpType ||
      existing.serial !== labels.serial
    ) {
      await registry.updateDevice(asset.id, labels);
    }
  }
  fleet.on("warning", (assetId, err) => opts.log.debug({ err, assetId }, "demo agent warning"));
  fleet.start();
  opts.log.info(
    { pumps: fleet.agents.size, scenario: scenario.fleet.name, truth: fleet.truthDir },
    `demo: ${fleet.agents.size} SIMULATED pumps send simulated data (scenario ${scenario.fleet.name}); ground truth in ${fleet.truthDir}`,
  );
  return fleet;
}
