import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { runDetectCommand } from "./analytics/detect-cli.js";
import { runEvaluateCommand } from "./analytics/evaluate-cli.js";
import { type Config, type ConfigInput, loadConfig, splitList } from "./core/config.js";
import { PumpwatchError } from "./core/errors.js";
import { createLogger } from "./core/log.js";
import { type DemoLogin, startDemo } from "./demo.js";
import { runDeviceCommand } from "./device/cli.js";
import { runSimCommand } from "./fleet/cli.js";
import { openStores, startPumpwatch } from "./main.js";
import { ensureIdScope, RegistryAdmin } from "./provisioning/admin.js";
import { startRole } from "./scale/roles.js";
import { simulatePump } from "./sim/index.js";
import type { Stores, TenancyStore, User } from "./store/ports.js";
import { createAccount, issueLink, userView } from "./tenancy/accounts.js";
import { TerminationService } from "./tenancy/termination.js";

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
  pumpwatch device set ID [--company ID] [--model M] [--pump-type T] [--serial S] [--name N] [--site S]
                                                  set a device's company and labels; an empty value ('') clears one
  pumpwatch device disable|enable ID              disable or enable a device (a disabled device is disconnected)
  pumpwatch device rotate-key ID                  replace both device keys (prints the new keys once)
  pumpwatch company add --id ID --name NAME --address ADDRESS [--contract-start YYYY-MM-DD]
                                                  create a customer company (and its contract from that first day)
  pumpwatch company list                          list companies (JSON)
  pumpwatch user invite --email E --role R [--company ID] [--phone P] [--address A]
                                                  create a user and print a one-time invitation link (sets the password);
                                                  roles: operatorAdmin, serviceTechnician (no --company),
                                                  companyAdmin, companyUser (with --company)
  pumpwatch user list [--company ID]              list users without password hashes (JSON); all without --company
  pumpwatch user delete ID                        erase a user (with sessions, API tokens and links)
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
  --bus URLS            NATS JetStream servers (comma list, nats://host:4222): scale-out mode, needs
                        --db postgres://… (docs/scale-out.md); default: none, the embedded default
  --role ROLE           with --bus: all (default), gateway, ingest, analytics or api
Options (enroll, device set):
  --company ID          customer company: devices provisioned through the enrollment are created in it, and
                        keep it when they register again; 'device set --company' moves a device. The CLI
                        does not check that the company exists (the operator API does): give an existing id
Options (company, user):
  --address TEXT        postal address; lines separated by newlines (bash: --address $'Street 1\n12345 Town')
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
  site: { type: "string" },
  demo: { type: "boolean" },
  "demo-scenario": { type: "string" },
  id: { type: "string" },
  address: { type: "string" },
  "contract-start": { type: "string" },
  email: { type: "string" },
  role: { type: "string" },
  bus: { type: "string" },
  phone: { type: "string" },
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

function flagsToConfig(v: Values, command: string | undefined): ConfigInput {
  const flags: ConfigInput = {};
  // `--role` of `start` is the process role; `user invite --role` is a user's role.
  if (command === "start" && v.role !== undefined) flags.role = v.role as ConfigInput["role"];
  if (v.bus !== undefined) flags.bus = splitList(v.bus);
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

/** The command line acts as the operator (like the operator token in the API). */
const OPERATOR = "operator";
/** As the API and the registry check company ids (src/api/tenancy-routes.ts, src/provisioning/admin.ts). */
const COMPANY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DAY_MS = 86_400_000;

function auditOperator(
  tenancy: TenancyStore,
  event: string,
  targetType: string,
  targetId: string,
  companyId: string | null,
): Promise<unknown> {
  return tenancy.appendAudit({ ts: Date.now(), actor: OPERATOR, event, targetType, targetId, companyId });
}

/** The base of links for people: the configured public URL, else the server's own HTTPS address. */
export function publicUrlOf(config: Config): string {
  return config.publicUrl ?? `https://${config.host}:${config.httpsPort}`;
}

function required(v: string | undefined, flag: string, hint: string): string {
  if (v === undefined || v.trim() === "") {
    throw new PumpwatchError("BAD_REQUEST", `--${flag} is required: ${hint}`);
  }
  return v;
}

/**
 * Creates the company's contract through the TerminationService, the one place that knows contract
 * rules (validation, audit). The CLI runs no scheduler: the service is built without `start()` and
 * the running server's own service picks up whatever is due.
 */
export async function createContractOffline(
  stores: Stores,
  config: Config,
  companyId: string,
  start: string,
): Promise<unknown> {
  const termination = new TerminationService({
    tenancy: stores.tenancy,
    registry: stores.registry,
    telemetry: stores.telemetry,
    analytics: stores.analytics,
    onDevicesDisabled: () => {},
    exportGraceMs: config.exportGraceDays * DAY_MS,
    log: createLogger({ level: "silent" }),
  });
  try {
    return await termination.createContract(companyId, { start }, OPERATOR);
  } finally {
    await termination.close();
  }
}

/** `pumpwatch company …` and `pumpwatch user …`: the first accounts of an installation, without the API. */
async function runAccountCommand(config: Config, values: Values, positionals: string[]): Promise<number> {
  const [command, sub, arg] = positionals;
  const stores = openStores(config);
  const tenancy = stores.tenancy;
  const now = Date.now();
  try {
    if (command === "company" && sub === "add") {
      const id = required(values.id, "id", "the company's id, e.g. --id acme");
      if (!COMPANY_ID.test(id)) {
        throw new PumpwatchError(
          "BAD_REQUEST",
          "--id must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        );
      }
      const name = required(values.name, "name", 'the company\'s name, e.g. --name "Acme GmbH"');
      const postalAddress = required(values.address, "address", "the company's postal address");
      const contractStart = values["contract-start"];
      const company = await tenancy.createCompany({ id, name: name.trim(), postalAddress }, now);
      await auditOperator(tenancy, "company.created", "company", id, id);
      const contract =
        contractStart === undefined ? null : await createContractOffline(stores, config, id, contractStart);
      print({ ...company, contract });
    } else if (command === "company" && sub === "list") {
      print(await tenancy.listCompanies());
    } else if (command === "user" && sub === "invite") {
      const companyId = values.company ?? null;
      const user = await createAccount(
        tenancy,
        {
          email: required(values.email, "email", "the person's e-mail address"),
          role: required(
            values.role,
            "role",
            companyId === null ? "operatorAdmin or serviceTechnician" : "companyAdmin or companyUser",
          ),
          companyId,
          phone: values.phone,
          postalAddress: values.address,
        },
        now,
      );
      const { link, expiresAt } = await issueLink(tenancy, user, "invitation", {
        now,
        lifetimeMs: config.auth.invitationDays * DAY_MS,
        publicUrl: publicUrlOf(config),
      });
      await auditOperator(tenancy, "user.invited", "user", user.id, user.companyId);
      print({
        user: { id: user.id, email: user.email, role: user.role, companyId: user.companyId },
        invitationLink: link,
        expiresAt: new Date(expiresAt).toISOString(),
      });
    } else if (command === "user" && sub === "list") {
      let users: User[];
      if (values.company !== undefined) {
        if (!(await tenancy.getCompany(values.company))) {
          throw new PumpwatchError("NOT_FOUND", `no company '${values.company}'; see pumpwatch company list`);
        }
        users = await tenancy.listUsers(values.company);
      } else {
        users = await tenancy.listUsers(null);
        for (const c of await tenancy.listCompanies()) users.push(...(await tenancy.listUsers(c.id)));
      }
      print(users.map(userView));
    } else if (command === "user" && sub === "delete" && arg) {
      // The operator on the command line may delete the last administrator too: the CLI is how an
      // installation recovers (invite a new one), and the operator token keeps the API usable.
      const user = await tenancy.getUser(arg);
      if (!user) throw new PumpwatchError("NOT_FOUND", `no user '${arg}'; see pumpwatch user list`);
      await tenancy.deleteUser(user.id);
      await auditOperator(tenancy, "user.deleted", "user", user.id, user.companyId);
      print({ deleted: user.id });
    } else {
      process.stderr.write(`incomplete command: ${positionals.join(" ")}\n\n${USAGE}`);
      return 2;
    }
    return 0;
  } finally {
    await stores.close();
  }
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
  const config = loadConfig({ file: values.config, env: process.env, flags: flagsToConfig(values, command) });
  if (command === "start") return start(config);
  if (command === "company" || command === "user") return runAccountCommand(config, values, positionals);
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
      const before = await admin.getDevice(arg);
      const view = await admin.updateDevice(arg, {
        companyId: labelFlag(values.company),
        model: labelFlag(values.model),
        pumpType: labelFlag(values["pump-type"]),
        serial: labelFlag(values.serial),
        name: labelFlag(values.name),
        site: labelFlag(values.site),
      });
      if (view.companyId !== before.companyId) {
        await auditOperator(stores.tenancy, "device.company.changed", "device", arg, view.companyId);
      }
      print(view);
    } else if (command === "device" && (sub === "enable" || sub === "disable") && arg) {
      const view = await admin.setDeviceEnabled(arg, sub === "enable");
      await auditOperator(stores.tenancy, `device.${sub}d`, "device", arg, view.companyId);
      print(view);
    } else if (command === "device" && sub === "rotate-key" && arg) {
      const keys = await admin.rotateKey(arg);
      const { companyId } = await admin.getDevice(arg);
      await auditOperator(stores.tenancy, "device.key.rotated", "device", arg, companyId);
      print(keys);
    } else {
      process.stderr.write(`incomplete command: ${positionals.join(" ")}\n\n${USAGE}`);
      return 2;
    }
    return 0;
  } finally {
    await stores.close();
  }
}

/** The block `start --demo` prints: where to log in and the demo accounts. */
export function demoLoginText(url: string, logins: readonly DemoLogin[], file: string): string {
  if (logins.length === 0) return "";
  const width = Math.max(...logins.map((l) => l.email.length));
  const lines = logins.map((l) => `  ${l.email.padEnd(width)}  ${l.password}  ${l.role}`);
  return `\nDemo logins (simulated data) at ${url} (kept in ${file}):\n${lines.join("\n")}\n\n`;
}

/** `start --bus …`: one role of a scaled-out installation, until a signal. */
async function startScaled(config: Config): Promise<number> {
  if (config.demo) throw new PumpwatchError("BAD_REQUEST", "--demo is not available with --bus");
  const log = createLogger({ level: config.logLevel });
  const running = await startRole(config, log);
  log.info(
    {
      role: running.role,
      bus: config.bus,
      ...(running.mqttPort ? { mqtt: `mqtts://${config.host}:${running.mqttPort}` } : {}),
      https: `https://${config.host}:${running.httpsPort}`,
      idScope: running.idScope,
      assignedHub: running.assignedHub,
      ca: running.caPath,
    },
    `pumpwatch ${running.role} is running on the bus`,
  );
  if (running.operatorTokenCreated && running.operatorToken) {
    process.stdout.write(
      `\nOperator API token (kept in ${config.data}/operator-token): ${running.operatorToken}\n\n`,
    );
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  log.info("shutting down");
  await running.close();
  return 0;
}

async function start(config: ReturnType<typeof loadConfig>): Promise<number> {
  if (config.bus.length > 0) return startScaled(config);
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
  // For the person at the terminal only: stdout, never the log (it holds no e-mails or secrets).
  if (demo)
    process.stdout.write(
      demoLoginText(`https://${config.host}:${running.httpsPort}/`, demo.logins, demo.credentialsFile),
    );
  const staff = await running.stores.tenancy.listUsers(null);
  if (!staff.some((u) => u.role === "operatorAdmin")) {
    process.stdout.write(
      "No administrator account yet: create the first one with " +
        "'pumpwatch user invite --email you@example.com --role operatorAdmin' " +
        "(prints an invitation link); until then the operator token works for the API.\n",
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
