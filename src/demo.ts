import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkPasswordPolicy, hashPassword } from "./auth/password.js";
import { deriveDeviceKey } from "./core/keys.js";
import type { Logger } from "./core/log.js";
import { LiveFleet } from "./fleet/runner.js";
import type { Running } from "./main.js";
import { RegistryAdmin } from "./provisioning/admin.js";
import { loadScenario, MODELS, type Scenario } from "./sim/index.js";
import type { UserRole } from "./store/ports.js";
import { createAccount } from "./tenancy/accounts.js";
import { DEFAULT_TIME_ZONE } from "./tenancy/contract.js";

/** The scenario `npm start` runs (scenarios/demo.json in the package). */
export const DEMO_SCENARIO = fileURLToPath(new URL("../scenarios/demo.json", import.meta.url));

const DEMO_GROUP = "demo";
/** Under the reserved .test top-level domain (RFC 2606): no mail can ever reach a real person. */
const DEMO_DOMAIN = "demo.pumpwatch.test";
const DEMO_ADDRESS = "Demo address\n(simulated company)";
/** Demo accounts and companies are made by the system, not by a person. */
const ACTOR = "system";
export const DEMO_CREDENTIALS_FILE = "demo-credentials.txt";

/** One demo account: how to log in as it. */
export interface DemoLogin {
  email: string;
  password: string;
  role: UserRole;
  /** null for operator staff. */
  companyId: string | null;
}

/** A running demo: the simulated fleet and the demo accounts that can log in. */
export interface Demo {
  fleet: LiveFleet;
  /** Demo accounts that exist now (deleted ones are left out). */
  logins: DemoLogin[];
  /** `<data>/demo-credentials.txt`, where the logins are kept (mode 0600). */
  credentialsFile: string;
  close(): Promise<void>;
}

/**
 * Sixteen base64url characters (96 random bits), checked against the password policy; not starting
 * with "-", which would look like a command-line flag when copied.
 */
function demoPassword(): string {
  for (;;) {
    const pw = randomBytes(12).toString("base64url");
    if (!pw.startsWith("-") && checkPasswordPolicy(pw).ok) return pw;
  }
}

/** First day of the current month in the contract's default time zone, `YYYY-MM-DD`. */
function firstOfMonth(now: number): string {
  const today = new Intl.DateTimeFormat("en-CA", {
    timeZone: DEFAULT_TIME_ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(now);
  return `${today.slice(0, 8)}01`;
}

/** The accounts a scenario's demo has: one operator administrator, an admin and a user per company. */
function wantedLogins(scenario: Scenario): Omit<DemoLogin, "password">[] {
  const out: Omit<DemoLogin, "password">[] = [
    { email: `operator@${DEMO_DOMAIN}`, role: "operatorAdmin", companyId: null },
  ];
  for (const c of scenario.companies) {
    // A company id may hold "_" or capitals, which a mail domain may not.
    const label = c.id.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
    out.push({ email: `admin@${label}.${DEMO_DOMAIN}`, role: "companyAdmin", companyId: c.id });
    out.push({ email: `user@${label}.${DEMO_DOMAIN}`, role: "companyUser", companyId: c.id });
  }
  return out;
}

/** Lines `email password role company` ("-" for staff); "#" starts a comment. */
function readCredentials(file: string): Map<string, DemoLogin> {
  const out = new Map<string, DemoLogin>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [email, password, role, company] = line.trim().split(/\s+/);
    if (!email || email.startsWith("#") || !password || !role || !company) continue;
    out.set(email.toLowerCase(), {
      email,
      password,
      role: role as UserRole,
      companyId: company === "-" ? null : company,
    });
  }
  return out;
}

const CREDENTIALS_HEADER =
  "# pumpwatch demo logins (simulated data). Written once; delete this file to get new passwords on the\n" +
  "# next 'pumpwatch start --demo'. Columns: e-mail, password, role, company (- for operator staff).\n";

/**
 * Makes sure every scenario company exists with a contract, and the demo accounts with passwords.
 *
 * Idempotence: `<data>/demo-credentials.txt` records every demo account ever created. An account
 * listed there is never created again, so a demo user someone deleted stays deleted (deleting is
 * erasure, and a demo should show that it works). Accounts not listed yet (first start, a company
 * new in the scenario, or the file was deleted) are created — or, if one exists under that e-mail
 * already, given a new password — and appended to the file.
 */
async function ensureDemoAccounts(
  running: Running,
  scenario: Scenario,
  file: string,
  log: Logger,
): Promise<DemoLogin[]> {
  const tenancy = running.stores.tenancy;
  const now = Date.now();
  for (const c of scenario.companies) {
    if (!(await tenancy.getCompany(c.id))) {
      await tenancy.createCompany({ id: c.id, name: c.name ?? c.id, postalAddress: DEMO_ADDRESS }, now);
      await tenancy.appendAudit({
        ts: now,
        actor: ACTOR,
        event: "company.created",
        targetType: "company",
        targetId: c.id,
        companyId: c.id,
      });
    }
    if (!(await tenancy.getContract(c.id))) {
      await running.termination.createContract(c.id, { start: firstOfMonth(now) }, ACTOR);
    }
  }

  const recorded = readCredentials(file);
  const created: DemoLogin[] = [];
  for (const want of wantedLogins(scenario)) {
    if (recorded.has(want.email.toLowerCase())) continue;
    const login = { ...want, password: demoPassword() };
    try {
      const user = (await tenancy.getUserByEmail(login.email)) ?? (await createAccount(tenancy, login, now));
      await tenancy.updateUser(user.id, { passwordHash: await hashPassword(login.password) }, now);
      await tenancy.appendAudit({
        ts: now,
        actor: ACTOR,
        event: "user.created",
        targetType: "user",
        targetId: user.id,
        companyId: user.companyId,
      });
      created.push(login);
    } catch (err) {
      // e.g. the company's contract has ended: no new users there. The demo runs without that login.
      log.warn({ err, companyId: login.companyId, role: login.role }, "demo account not created");
    }
  }
  if (created.length > 0) {
    const lines = created.map((l) => `${l.email} ${l.password} ${l.role} ${l.companyId ?? "-"}\n`);
    const header = existsSync(file) ? "" : CREDENTIALS_HEADER;
    writeFileSync(file, header + lines.join(""), { mode: 0o600, flag: "a" });
  }
  log.info({ created: created.length, file }, "demo accounts ready; their logins are in the file");

  const logins: DemoLogin[] = [];
  for (const l of [...recorded.values(), ...created]) {
    if (await tenancy.getUserByEmail(l.email)) logins.push(l);
  }
  return logins;
}

/**
 * The demo fleet: the scenario's pumps as in-process device agents that provision and connect to
 * this pumpwatch over the real protocol (group enrollment "demo"). Every device is labelled as
 * simulated (registration payload `simulated: true`, serial `SIM-…`), and ground truth is written to
 * `<data>/demo/truth`. The scenario's companies are created with a contract, and demo accounts to log
 * in with (see ensureDemoAccounts; their passwords are in `<data>/demo-credentials.txt`).
 */
export async function startDemo(
  running: Running,
  opts: { dataDir: string; scenarioFile?: string | undefined; log: Logger },
): Promise<Demo> {
  const scenario = loadScenario(opts.scenarioFile ?? DEMO_SCENARIO);
  const credentialsFile = join(opts.dataDir, DEMO_CREDENTIALS_FILE);
  const logins = await ensureDemoAccounts(running, scenario, credentialsFile, opts.log);
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
  // Names and sites people would give the pumps, from the scenario.
  const assetConfigs = new Map(scenario.companies.flatMap((c) => c.assets.map((a) => [a.id, a] as const)));
  for (const asset of fleet.fleet.assets) {
    const config = assetConfigs.get(asset.id);
    const labels = {
      companyId: asset.companyId,
      model: asset.model,
      pumpType: MODELS[asset.model].label,
      serial: `SIM-${asset.id}`,
      name: config?.name ?? null,
      site: config?.site ?? null,
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
      existing.serial !== labels.serial ||
      existing.name !== labels.name ||
      existing.site !== labels.site
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
  return { fleet, logins, credentialsFile, close: () => fleet.close() };
}
