import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { runDetectCommand } from "./analytics/detect-cli.js";
import { runEvaluateCommand } from "./analytics/evaluate-cli.js";
import { type ConfigInput, loadConfig } from "./core/config.js";
import { createLogger } from "./core/log.js";
import { startDemo } from "./demo.js";
import { runDeviceCommand } from "./device/cli.js";
import { runSimCommand } from "./fleet/cli.js";
import { openStores, startPumpwatch } from "./main.js";
import { ensureIdScope, RegistryAdmin } from "./provisioning/admin.js";
import { simulatePump } from "./sim/index.js";

const USAGE = `pumpwatch — condition monitoring for industrial vacuum pumps

Usage:
  pumpwatch start [options]                       run the server (provisioning, hub, API)
  pumpwatch start --demo                          … with the demo fleet of simulated pumps (what 'npm start' runs)
  pumpwatch enroll group --name NAME [--company ID]
                                                  create a group enrollment; prints {"idScope","groupName","groupKey","companyId"}
  pumpwatch enroll device --registration-id ID [--company ID]
                                                  create an individual enrollment; prints {"idScope","registrationId","key","companyId"}
  pumpwatch enroll list                           list enrollments without their keys (JSON)
  pumpwatch device list                           list devices (JSON)
  pumpwatch device show ID                        show one device (JSON)
  pumpwatch device set ID [--company ID] [--model M] [--pump-type T] [--serial S]
                                                  set a device's company and labels; an empty value ('') clears one
  pumpwatch device disable|enable ID              disable or enable a device (a disabled device is disconnected)
  pumpwatch device rotate-key ID                  replace both device keys (prints the new keys once)
  pumpwatch device run [options]                  run a device agent (IoT box); 'pumpwatch device run --help'
  pumpwatch sim live|backfill SCENARIO [options]  drive a simulated fleet through device agents; 'pumpwatch sim --help'
  pumpwatch detect --csv FILE --train-rows N      back-test the anomaly detector on recorded data (docs/analytics.md)
  pumpwatch evaluate --scenario FILE [--days N]   score the analytics against simulator ground truth (docs/analytics-quality.md)

Options (every command):
  --data DIR            data folder (default ./data)
  --config FILE         JSON config file (see docs/configuration.md); environment PUMPWATCH_* and flags override it
  --db URL              sqlite (default: <data>/pumpwatch.db), a path ending in .db, or postgres://user@host:5432/db
Options (start):
  --host NAME           public host name: in the server certificate and in assignedHub (default localhost)
  --host-name NAME      further certificate / hub name (repeatable)
  --bind ADDR           listen address (default 0.0.0.0)
  --mqtt-port N         MQTT over TLS for provisioning and hub (default 8883)
  --https-port N        HTTPS for API, device HTTPS, /healthz, /metrics (default 8443)
  --tls-cert F --tls-key F [--tls-ca F]   use your own certificate instead of the generated local CA
  --log-level LEVEL     fatal|error|warn|info|debug|trace (default info)
  --demo                run the demo fleet in-process (simulated data, clearly labelled)
  --demo-scenario FILE  scenario for --demo (default scenarios/demo.json)
Options (enroll, device set):
  --company ID          customer company: devices provisioned through the enrollment are created in it, and
                        keep it when they register again; 'device set --company' moves a device. The CLI
                        does not check that the company exists (the operator API does): give an existing id
`;

const OPTIONS = {
  data: { type: "string" },
  config: { type: "string" },
  host: { type: "string" },
  "host-name": { type: "string", multiple: true },
  bind: { type: "string" },
  "mqtt-port": { type: "string" },
  "https-port": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
  "log-level": { type: "string" },
  db: { type: "string" },
  name: { type: "string" },
  "registration-id": { type: "string" },
  company: { type: "string" },
  model: { type: "string" },
  "pump-type": { type: "string" },
  serial: { type: "string" },
  demo: { type: "boolean" },
  "demo-scenario": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

function portFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--${name} must be a port number 0–65535, got '${v}'`);
  return n;
}

function flagsToConfig(v: Values): ConfigInput {
  const flags: ConfigInput = {};
  const tls: NonNullable<ConfigInput["tls"]> = {};
  if (v.data !== undefined) flags.data = v.data;
  if (v.host !== undefined) flags.host = v.host;
  if (v["host-name"] !== undefined) flags.hostNames = v["host-name"];
  if (v.bind !== undefined) flags.bind = v.bind;
  if (v.db !== undefined) flags.db = v.db;
  if (v["log-level"] !== undefined) flags.logLevel = v["log-level"] as ConfigInput["logLevel"];
  if (v.demo !== undefined) flags.demo = v.demo;
  if (v["demo-scenario"] !== undefined) flags.demoScenario = v["demo-scenario"];
  const mqtt = portFlag(v["mqtt-port"], "mqtt-port");
  const https = portFlag(v["https-port"], "https-port");
  if (mqtt !== undefined) flags.mqttPort = mqtt;
  if (https !== undefined) flags.httpsPort = https;
  if (v["tls-cert"] !== undefined) tls.cert = v["tls-cert"];
  if (v["tls-key"] !== undefined) tls.key = v["tls-key"];
  if (v["tls-ca"] !== undefined) tls.ca = v["tls-ca"];
  if (Object.keys(tls).length > 0) flags.tls = tls;
  return flags;
}

/** A flag of `device set`: absent leaves the field, an empty value clears it. */
function labelFlag(v: string | undefined): string | null | undefined {
  return v === undefined ? undefined : v === "" ? null : v;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Runs the CLI; resolves to the exit code, or never for `start` (runs until a signal). */
export async function main(argv: string[]): Promise<number> {
  // These commands run on a box or a load machine and have options of their own.
  if (argv[0] === "device" && argv[1] === "run") {
    return runDeviceCommand(argv.slice(2), {
      simulate: (model, { registrationId }) => simulatePump(model, { id: registrationId, start: Date.now() }),
    });
  }
  if (argv[0] === "sim") return runSimCommand(argv.slice(1));
  if (argv[0] === "detect") return runDetectCommand(argv.slice(1), (chunk) => process.stdout.write(chunk));
  if (argv[0] === "evaluate") return runEvaluateCommand(argv.slice(1), process.stdout, process.stderr);
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = loadConfig({ file: values.config, env: process.env, flags: flagsToConfig(values) });
  if (command === "start") return start(config);
  if (command !== "enroll" && command !== "device") {
    process.stderr.write(`unknown command '${command}'\n\n${USAGE}`);
    return 2;
  }
  const stores = openStores(config);
  try {
    const admin = new RegistryAdmin(stores.registry, await ensureIdScope(stores.registry, config.idScope));
    const company = { companyId: labelFlag(values.company) };
    if (command === "enroll" && sub === "group" && values.name) {
      print(await admin.enrollGroup(values.name, company));
    } else if (command === "enroll" && sub === "device" && values["registration-id"]) {
      print(await admin.enrollDevice(values["registration-id"], company));
    } else if (command === "enroll" && sub === "list") print(await admin.listEnrollments());
    else if (command === "device" && sub === "list") print(await admin.listDevices());
    else if (command === "device" && sub === "show" && arg) print(await admin.getDevice(arg));
    else if (command === "device" && sub === "set" && arg) {
      print(
        await admin.updateDevice(arg, {
          companyId: labelFlag(values.company),
          model: labelFlag(values.model),
          pumpType: labelFlag(values["pump-type"]),
          serial: labelFlag(values.serial),
        }),
      );
    } else if (command === "device" && (sub === "enable" || sub === "disable") && arg) {
      print(await admin.setDeviceEnabled(arg, sub === "enable"));
    } else if (command === "device" && sub === "rotate-key" && arg) print(await admin.rotateKey(arg));
    else {
      process.stderr.write(`incomplete command: ${positionals.join(" ")}\n\n${USAGE}`);
      return 2;
    }
    return 0;
  } finally {
    await stores.close();
  }
}

async function start(config: ReturnType<typeof loadConfig>): Promise<number> {
  const log = createLogger({ level: config.logLevel });
  const running = await startPumpwatch(config, log);
  log.info(
    {
      mqtt: `mqtts://${config.host}:${running.mqttPort}`,
      https: `https://${config.host}:${running.httpsPort}`,
      idScope: running.idScope,
      assignedHub: running.assignedHub,
      ca: running.caPath,
    },
    `pumpwatch is running; devices must trust the CA in ${running.caPath}`,
  );
  const demo = config.demo
    ? await startDemo(running, { dataDir: config.data, scenarioFile: config.demoScenario, log })
    : undefined;
  if (running.operatorTokenCreated) {
    // Printed once, on the first start; it stays in <data>/operator-token (mode 0600).
    process.stdout.write(
      `\nOperator API token (kept in ${config.data}/operator-token): ${running.operatorToken}\n\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  log.info("shutting down");
  await demo?.close();
  await running.close();
  return 0;
}

// Run when executed directly from source (`node --import tsx src/cli.ts …`, e.g. `npm run evaluate`);
// the installed command runs the compiled module through bin/pumpwatch.js instead.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`pumpwatch: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
