import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadScenario } from "../sim/index.js";
import { backfillFleet, LiveFleet } from "./runner.js";

export const SIM_USAGE = `Usage:
  pumpwatch sim live SCENARIO [options]       each simulated pump drives its own device agent, live (×speed)
  pumpwatch sim backfill SCENARIO [options]   send --days of per-minute history through the agents, then exit

Options:
  --provisioning-host HOST[:PORT]   DPS endpoint of the target pumpwatch (MQTT/TLS)
  --id-scope SCOPE                  its id scope
  --group-key KEY|@FILE             key of a group enrollment there ('pumpwatch enroll group')
  --ca FILE                         CA to trust (e.g. <data>/tls/ca.pem)
  --state-dir DIR                   agent queues and ground truth (default ./sim-state)
  --speed N                         live: simulated seconds per real second (default: the scenario's)
  --catch-up-min N                  live: real minutes until simulated time reaches now (default 10)
  --memory-queues                   live: in-memory queues (lighter; not restart-safe)
  --days N                          backfill: days of history ending now (default 30)
`;

const OPTIONS = {
  "provisioning-host": { type: "string" },
  "id-scope": { type: "string" },
  "group-key": { type: "string" },
  ca: { type: "string" },
  "state-dir": { type: "string" },
  speed: { type: "string" },
  "catch-up-min": { type: "string" },
  "memory-queues": { type: "boolean" },
  days: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function positive(v: string | undefined, name: string, fallback: number | undefined): number | undefined {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} must be a positive number, got '${v}'`);
  return n;
}

function secret(v: string): string {
  return v.startsWith("@") ? readFileSync(v.slice(1), "utf8").trim() : v;
}

/** `pumpwatch sim live|backfill SCENARIO …`: runs a scenario's fleet against any pumpwatch. */
export async function runSimCommand(
  argv: string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const [mode, file] = positionals;
  if (v.help || (mode !== "live" && mode !== "backfill") || !file) {
    out(SIM_USAGE);
    return v.help ? 0 : 2;
  }
  const host = v["provisioning-host"];
  const idScope = v["id-scope"];
  const groupKey = v["group-key"];
  if (!host || !idScope || !groupKey) {
    out(`--provisioning-host, --id-scope and --group-key are required\n\n${SIM_USAGE}`);
    return 2;
  }
  const target = {
    scenario: loadScenario(file),
    provisioningHost: host,
    idScope,
    groupKey: secret(groupKey),
    ca: v.ca === undefined ? undefined : readFileSync(v.ca),
    stateDir: v["state-dir"] ?? "./sim-state",
  };
  if (mode === "backfill") {
    const result = await backfillFleet({ ...target, days: positive(v.days, "days", 30)! });
    out(JSON.stringify(result));
    return 0;
  }
  const speed = positive(v.speed, "speed", undefined);
  const fleet = new LiveFleet({
    ...target,
    ...(speed === undefined ? {} : { speed }),
    catchUpMs: positive(v["catch-up-min"], "catch-up-min", 10)! * 60_000,
    durableQueues: !v["memory-queues"],
  });
  fleet.on("provisioned", (asset, deviceId) => out(`provisioned ${asset.id} as ${deviceId}`));
  fleet.start();
  out(`running ${fleet.agents.size} simulated pumps; ground truth in ${fleet.truthDir}; Ctrl-C stops`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await fleet.close();
  return 0;
}
