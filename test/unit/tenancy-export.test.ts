import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { csvCell, csvRow } from "../../src/core/csv.js";
import { PumpwatchError } from "../../src/core/errors.js";
import type { Sample } from "../../src/core/sample.js";
import type { Stores, TelemetryStore } from "../../src/store/ports.js";
import { DEFAULT_TERMS } from "../../src/tenancy/contract.js";
import { exportCompany, exportUser } from "../../src/tenancy/export.js";
import { openTestSqlite } from "../helpers/sqlite.js";
import { tempFiles } from "../helpers/temp.js";
import { unzip, type ZipFile } from "../helpers/unzip.js";

const tempDb = tempFiles("pumpwatch-export-", "pumpwatch.db");
const DAY = 86_400_000;
const T = Date.parse("2026-03-02T08:00:00Z");
const NOW = T + 10 * DAY;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const isCode = (code: string) => (err: unknown) => err instanceof PumpwatchError && err.code === code;

interface Seeded {
  companyId: string;
  users: { id: string; email: string; phone: string; postalAddress: string; secrets: string[] }[];
  devices: { id: string; keys: string[]; samples: number; signals: string[] }[];
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const text = (files: ZipFile[]) => files.map((f) => f.data.toString("utf8")).join("\n");
const file = (files: ZipFile[], name: string): string => {
  const f = files.find((x) => x.name === name);
  assert.ok(f, `${name} is in the archive`);
  return f.data.toString("utf8");
};
const csvLines = (s: string) => s.split("\r\n").slice(0, -1);

/**
 * A company with 2 users (password hash, session, API token), 2 pumps with samples over several days
 * (the second pump reports one more signal), an alarm acknowledged and commented by the second user,
 * maintenance, KPI hours, a quarantined packet, audit entries and a contract.
 */
async function seed(stores: Stores, companyId: string): Promise<Seeded> {
  const { tenancy, registry, telemetry, analytics } = stores;
  await tenancy.createCompany({ id: companyId, name: `${companyId} GmbH`, postalAddress: "Werkstr. 1" }, T);
  await tenancy.putContract(
    {
      id: `${companyId}-k1`,
      companyId,
      start: "2026-01-01",
      timeZone: "Europe/Berlin",
      terms: DEFAULT_TERMS,
      notice: null,
    },
    null,
  );
  const users: Seeded["users"] = [];
  for (let i = 1; i <= 2; i++) {
    const id = `${companyId}-u${i}`;
    const email = `user${i}.${companyId}@example.com`;
    const phone = `+49 170 ${companyId.length}${i}4455`;
    const postalAddress = `Weg ${i}, ${companyId}stadt`;
    const passwordHash = `scrypt$${randomBytes(12).toString("hex")}`;
    await tenancy.createUser(
      {
        id,
        companyId,
        role: i === 1 ? "companyAdmin" : "companyUser",
        email,
        phone,
        postalAddress,
        passwordHash,
      },
      T,
    );
    const session = sha(`session-${id}`);
    await tenancy.createSession({
      hash: session,
      userId: id,
      createdAt: T,
      expiresAt: NOW + DAY,
      lastSeenAt: T,
    });
    const token = sha(`token-${id}`);
    await tenancy.createApiToken({
      id: `pwt_${id}`,
      hash: token,
      userId: id,
      name: "integration",
      scopes: ["telemetry:read"],
      createdAt: T,
      expiresAt: null,
    });
    await tenancy.appendAudit({
      ts: T + i,
      actor: id,
      event: "login",
      targetType: null,
      targetId: null,
      companyId,
    });
    users.push({ id, email, phone, postalAddress, secrets: [passwordHash, session, token] });
  }
  const devices: Seeded["devices"] = [];
  for (let i = 1; i <= 2; i++) {
    const id = `${companyId}-pump${i}`;
    const keys = [randomBytes(32).toString("base64"), randomBytes(32).toString("base64")];
    await registry.createDevice({
      id,
      primaryKey: keys[0]!,
      secondaryKey: keys[1]!,
      enrollmentKind: "manual",
      companyId,
      model: "RV-12",
    });
    await registry.patchTwin(id, "reported", { firmware: "1.4.2" });
    const signals = i === 1 ? ["p_inlet_mbar", "t_motor_c"] : ["p_inlet_mbar", "t_motor_c", "i_motor_a"];
    // Three days of samples: several chunk windows, so the export reads more than one page.
    const samples: Sample[] = [];
    for (let k = 0; k < 30 * i; k++) {
      const values: Record<string, number> = {};
      for (const [j, n] of signals.entries()) values[n] = k + j - 0.5;
      samples.push({ ts: T + k * (DAY / 10), values });
    }
    await telemetry.commit([{ kind: "accept", deviceId: id, messageId: `m-${id}`, receivedAt: T, samples }]);
    devices.push({ id, keys, samples: samples.length, signals: [...signals].sort() });
  }
  await telemetry.commit([
    {
      kind: "quarantine",
      deviceId: devices[0]!.id,
      messageId: null,
      receivedAt: T,
      transport: "mqtt",
      topic: `devices/${devices[0]!.id}/messages/events/`,
      reasonCode: "MALFORMED",
      reason: "not JSON",
      payload: Buffer.from("{oops"),
    },
  ]);
  const { alarm } = await analytics.raiseAlarm({
    deviceId: devices[0]!.id,
    type: "trip",
    severity: "alarm",
    ts: T,
    message: "pump tripped",
    signals: ["i_motor_a"],
    diagnosis: null,
  });
  await analytics.acknowledgeAlarm(alarm.id, users[1]!.id, T + 1000, "seen");
  await analytics.commentAlarm(alarm.id, users[1]!.id, T + 2000, `checked by ${users[1]!.id}`);
  await analytics.addMaintenance(
    {
      deviceId: devices[1]!.id,
      ts: T,
      action: "oil change",
      note: '=HYPERLINK("x"), "ok"',
      actor: users[0]!.id,
    },
    T,
  );
  await analytics.addKpiHours(
    [0, 1, 2].map((h) => ({
      deviceId: devices[0]!.id,
      hour: T + h * 3_600_000,
      coveredS: 3600,
      runningS: 1800,
      loadS: 900,
      downS: 0,
      energyKwh: 1.5,
      gasM3: 0.25,
      starts: 1,
      bandS: [100, 200],
    })),
  );
  return { companyId, users, devices };
}

/** Records per file as the manifest counts them: JSON array elements, one JSON object, CSV data rows. */
function countRecords(name: string, content: string): number {
  if (name.endsWith(".csv")) return csvLines(content).length - 1;
  if (name.endsWith(".json")) {
    const value: unknown = JSON.parse(content);
    return Array.isArray(value) ? value.length : 1;
  }
  return 0;
}

describe("data-subject export", () => {
  let stores: Stores;
  let a: Seeded;
  let b: Seeded;

  before(async () => {
    stores = openTestSqlite(await tempDb());
    a = await seed(stores, "acme");
    b = await seed(stores, "bravo");
  });
  after(() => stores.close());

  it("exports every file of a company, with the manifest last and its record counts matching", async () => {
    const files = unzip(await readAll(await exportCompany(stores, "acme", NOW)));
    const names = files.map((f) => f.name);
    const twins = a.devices.map((d) => `twins/${d.id}.json`);
    const telemetry = a.devices.map((d) => `telemetry/${d.id}.csv`);
    assert.deepEqual(names, [
      "company.json",
      "contract.json",
      "users.json",
      "users.csv",
      "devices.json",
      "devices.csv",
      ...twins,
      ...telemetry,
      "alarms.json",
      "alarms.csv",
      "maintenance.json",
      "maintenance.csv",
      "kpis.csv",
      "quarantine.json",
      "audit.json",
      "README.txt",
      "manifest.json",
    ]);
    const manifest = JSON.parse(file(files, "manifest.json")) as {
      kind: string;
      companyId: string;
      createdAt: string;
      files: { name: string; records: number }[];
    };
    assert.equal(manifest.kind, "company");
    assert.equal(manifest.companyId, "acme");
    assert.equal(manifest.createdAt, new Date(NOW).toISOString());
    assert.deepEqual(
      manifest.files,
      files
        .slice(0, -1)
        .map((f) => ({ name: f.name, records: countRecords(f.name, f.data.toString("utf8")) })),
    );
    const records = Object.fromEntries(manifest.files.map((f) => [f.name, f.records]));
    assert.equal(records["users.json"], 2);
    assert.equal(records["devices.csv"], 2);
    assert.equal(records["alarms.json"], 1);
    assert.equal(records["maintenance.csv"], 1);
    assert.equal(records["kpis.csv"], 3);
    assert.equal(records["quarantine.json"], 1);
    assert.equal(records["audit.json"], 2);

    const alarms = JSON.parse(file(files, "alarms.json")) as { history: { kind: string }[] }[];
    assert.deepEqual(
      alarms[0]!.history.map((e) => e.kind),
      ["raised", "acknowledged", "commented"],
    );
    assert.deepEqual(JSON.parse(file(files, `twins/${a.devices[0]!.id}.json`)).reported, {
      firmware: "1.4.2",
    });
    assert.match(file(files, "README.txt"), /Datensätze[\s\S]*record counts/);
  });

  it("writes one telemetry row per committed sample, under ts and the sorted signal names", async () => {
    const files = unzip(await readAll(await exportCompany(stores, "acme", NOW)));
    for (const d of a.devices) {
      const lines = csvLines(file(files, `telemetry/${d.id}.csv`));
      assert.equal(lines[0], ["ts", ...d.signals].join(","));
      assert.equal(lines.length - 1, d.samples);
      assert.equal(lines.length - 1, await stores.telemetry.countSamples(d.id));
      assert.equal(lines[1]!.split(",")[0], new Date(T).toISOString());
    }
    // Negative readings stay numbers (no formula neutralisation of numeric cells).
    assert.match(
      file(files, `telemetry/${a.devices[0]!.id}.csv`),
      /^2026-03-02T08:00:00\.000Z,-0\.5,0\.5\r$/m,
    );
  });

  it("holds nothing of another company, and no key, password hash, session or token hash", async () => {
    const all = text(unzip(await readAll(await exportCompany(stores, "acme", NOW))));
    assert.ok(all.includes(a.users[0]!.email) && all.includes(a.devices[1]!.id));
    assert.doesNotMatch(all, /bravo/);
    for (const u of b.users)
      for (const v of [u.id, u.email, u.phone, u.postalAddress]) assert.ok(!all.includes(v));
    for (const d of b.devices) assert.ok(!all.includes(d.id));
    const secrets = [...a.users, ...b.users].flatMap((u) => u.secrets);
    const keys = [...a.devices, ...b.devices].flatMap((d) => d.keys);
    for (const s of [...secrets, ...keys]) assert.ok(!all.includes(s), "no secret in the export");
    assert.doesNotMatch(all, /primaryKey|secondaryKey|passwordHash|"hash"/);
  });

  it("quotes CSV fields and neutralises formulas in text cells", async () => {
    const files = unzip(await readAll(await exportCompany(stores, "acme", NOW)));
    const maintenance = csvLines(file(files, "maintenance.csv"));
    assert.match(maintenance[1]!, /,"'=HYPERLINK\(""x""\), ""ok""",/);
    assert.ok(file(files, "users.csv").includes(`,'${a.users[0]!.phone},`), "phone numbers start with +");
  });

  it("exports one user's data without other users' contact data", async () => {
    const user = a.users[1]!;
    const files = unzip(await readAll(await exportUser(stores, user.id, NOW)));
    assert.deepEqual(
      files.map((f) => f.name),
      [
        "user.json",
        "sessions.json",
        "api-tokens.json",
        "audit.json",
        "audit.csv",
        "alarm-actions.json",
        "maintenance-actions.json",
        "README.txt",
        "manifest.json",
      ],
    );
    const u = JSON.parse(file(files, "user.json")) as Record<string, unknown>;
    assert.equal(u["email"], user.email);
    assert.equal(u["phone"], user.phone);
    assert.equal(u["postalAddress"], user.postalAddress);
    assert.equal(u["role"], "companyUser");
    const tokens = JSON.parse(file(files, "api-tokens.json")) as Record<string, unknown>[];
    assert.deepEqual(Object.keys(tokens[0]!).sort(), [
      "createdAt",
      "expiresAt",
      "id",
      "name",
      "revokedAt",
      "scopes",
    ]);
    const audit = JSON.parse(file(files, "audit.json")) as { actor: string }[];
    assert.deepEqual(
      audit.map((e) => e.actor),
      [user.id],
    );
    const sessions = JSON.parse(file(files, "sessions.json")) as Record<string, unknown>[];
    assert.deepEqual(Object.keys(sessions[0]!).sort(), ["createdAt", "expiresAt", "lastSeenAt"]);
    const actions = JSON.parse(file(files, "alarm-actions.json")) as { kind: string; deviceId: string }[];
    assert.deepEqual(
      actions.map((e) => [e.kind, e.deviceId]),
      [
        ["acknowledged", a.devices[0]!.id],
        ["commented", a.devices[0]!.id],
      ],
    );
    const manifest = JSON.parse(file(files, "manifest.json")) as {
      kind: string;
      userId: string;
      files: unknown[];
    };
    assert.deepEqual(manifest.files, [
      { name: "user.json", records: 1 },
      { name: "sessions.json", records: 1 },
      { name: "api-tokens.json", records: 1 },
      { name: "audit.json", records: 1 },
      { name: "audit.csv", records: 1 },
      { name: "alarm-actions.json", records: 2 },
      { name: "maintenance-actions.json", records: 0 },
      { name: "README.txt", records: 0 },
    ]);
    const all = text(files);
    for (const other of [a.users[0]!, ...b.users]) {
      for (const v of [other.email, other.phone, other.postalAddress]) assert.ok(!all.includes(v));
    }
    for (const s of [...user.secrets, ...a.devices.flatMap((d) => d.keys)]) assert.ok(!all.includes(s));
  });

  it("refuses an unknown company or user before streaming, with NOT_FOUND", async () => {
    await assert.rejects(exportCompany(stores, "nobody", NOW), isCode("NOT_FOUND"));
    await assert.rejects(exportUser(stores, "nobody", NOW), isCode("NOT_FOUND"));
  });

  it("destroys the stream with the error when reading fails halfway", async () => {
    const failing: TelemetryStore = Object.create(stores.telemetry);
    failing.exportSamples = async function* (deviceId) {
      yield [];
      throw new Error(`disk failed while reading ${deviceId}`);
    };
    const stream = await exportCompany({ ...stores, telemetry: failing }, "acme", NOW);
    await assert.rejects(readAll(stream), /disk failed while reading acme-pump1/);
    assert.ok(stream.destroyed);
  });
});

describe("csvRow", () => {
  it("quotes fields with commas, quotes, CR or LF and doubles the quotes (RFC 4180)", () => {
    assert.equal(csvRow(["a", "b,c", 'say "hi"', "x\ny", "p\rq"]), 'a,"b,c","say ""hi""","x\ny","p\rq"\r\n');
  });

  it("prefixes text cells that start like a formula, but not numbers", () => {
    assert.equal(
      csvRow(["=1+2", "+49 170", "-x", "@SUM(A1)", "\tx", -1.5, 0]),
      "'=1+2,'+49 170,'-x,'@SUM(A1),'\tx,-1.5,0\r\n",
    );
    assert.equal(csvCell("\r=cmd"), `"'\r=cmd"`);
    assert.equal(csvCell('=A1,"x"'), `"'=A1,""x"""`);
  });

  it("writes null, undefined and non-finite numbers as empty fields", () => {
    assert.equal(csvRow([null, undefined, Number.NaN, true, "plain"]), ",,,true,plain\r\n");
  });
});
