import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createLogger } from "../../src/core/log.js";
import { createSecretBox } from "../../src/core/secrets.js";
import type { Stores } from "../../src/store/ports.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { TerminationService } from "../../src/tenancy/termination.js";
import { createSchema, describePostgres, dropSchema, PG_URL } from "../helpers/postgres.js";
import { tempFiles } from "../helpers/temp.js";

const tempDb = tempFiles("pumpwatch-termination-", "pumpwatch.db");
const log = createLogger({ level: "silent" });
const DAY = 86_400_000;
const GRACE = 30 * DAY;
/** Notice received 2026-01-31 10:00 CET (Europe/Berlin). */
const RECEIVED = Date.parse("2026-01-31T09:00:00Z");
/** End of 2026-02-28 in Berlin: 2026-03-01 00:00 CET. */
const ENDS = Date.parse("2026-02-28T23:00:00Z");

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * Stores of one backend that can be closed and opened again on the same data, as a restart would
 * (same master key); `drop` removes the data at the end.
 */
interface Backend {
  open(): Promise<Stores>;
  drop(): Promise<void>;
}

async function sqliteBackend(): Promise<Backend> {
  const file = await tempDb();
  const key = randomBytes(32);
  return {
    open: async () => openSqliteStores(file, createSecretBox(key), { synchronous: "NORMAL" }),
    drop: async () => {},
  };
}

async function postgresBackend(): Promise<Backend> {
  const schema = await createSchema();
  const box = createSecretBox(randomBytes(32));
  return {
    async open() {
      const stores = openPostgresStores(PG_URL, box, { schema });
      await stores.ready;
      return stores;
    },
    drop: () => dropSchema(schema),
  };
}

interface Seeded {
  companyId: string;
  users: { id: string; email: string; phone: string; session: string; token: string }[];
  devices: string[];
}

/** A company with 2 users (each with a session and an API token), 2 devices with samples, an alarm. */
async function seed(stores: Stores, companyId: string, t: number): Promise<Seeded> {
  await stores.tenancy.createCompany({ id: companyId, name: `${companyId} GmbH`, postalAddress: "Weg 1" }, t);
  const users: Seeded["users"] = [];
  for (let i = 1; i <= 2; i++) {
    const id = `${companyId}-u${i}`;
    const email = `user${i}.${companyId}@example.com`;
    const phone = `+49 170 55${i}${companyId.length}987`;
    await stores.tenancy.createUser(
      { id, companyId, role: i === 1 ? "companyAdmin" : "companyUser", email, phone, postalAddress: "Weg 2" },
      t,
    );
    const session = sha(`session-${id}`);
    await stores.tenancy.createSession({
      hash: session,
      userId: id,
      createdAt: t,
      expiresAt: t + 400 * DAY,
      lastSeenAt: t,
    });
    const token = sha(`token-${id}`);
    await stores.tenancy.createApiToken({
      id: `pwt_${id}`,
      hash: token,
      userId: id,
      name: "integration",
      scopes: ["read"],
      createdAt: t,
      expiresAt: null,
    });
    users.push({ id, email, phone, session, token });
  }
  const devices: string[] = [];
  for (let i = 1; i <= 2; i++) {
    const id = `${companyId}-pump${i}`;
    await stores.registry.createDevice({
      id,
      primaryKey: randomBytes(32).toString("base64"),
      secondaryKey: randomBytes(32).toString("base64"),
      enrollmentKind: "manual",
      companyId,
    });
    const samples = [0, 1, 2].map((k) => ({ ts: t + k * 1000, values: { p_inlet_mbar: 10 + k } }));
    assert.deepEqual(
      await stores.telemetry.commit([
        { kind: "accept", deviceId: id, messageId: `m-${id}`, receivedAt: t, samples },
      ]),
      ["stored"],
    );
    devices.push(id);
  }
  await stores.analytics.raiseAlarm({
    deviceId: devices[0]!,
    type: "trip",
    severity: "alarm",
    ts: t,
    message: "tripped",
    signals: [],
    diagnosis: null,
  });
  return { companyId, users, devices };
}

/** What a company still has: live users, sessions, tokens, enabled devices, samples, alarms. */
async function holdings(stores: Stores, s: Seeded, now: number) {
  let users = 0;
  let sessions = 0;
  let tokens = 0;
  for (const u of s.users) {
    if (await stores.tenancy.getUserByEmail(u.email)) users++;
    if (await stores.tenancy.getSessionByHash(u.session, now)) sessions++;
    if (await stores.tenancy.getApiTokenByHash(u.token, now)) tokens++;
  }
  let devices = 0;
  let enabled = 0;
  let samples = 0;
  for (const id of s.devices) {
    const d = await stores.registry.getDevice(id);
    if (d) devices++;
    if (d?.enabled) enabled++;
    samples += await stores.telemetry.countSamples(id);
  }
  const alarms = (await stores.analytics.listAlarms({ deviceIds: s.devices, now })).length;
  return { users, sessions, tokens, devices, enabled, samples, alarms };
}

const FULL = { users: 2, sessions: 2, tokens: 2, devices: 2, enabled: 2, samples: 6, alarms: 1 };

class Clock {
  constructor(public t: number) {}
  now = () => this.t;
}

function service(stores: Stores, clock: Clock, disabled: string[][] = []) {
  return new TerminationService({
    tenancy: stores.tenancy,
    registry: stores.registry,
    telemetry: stores.telemetry,
    analytics: stores.analytics,
    onDevicesDisabled: (ids) => {
      disabled.push([...ids]);
    },
    exportGraceMs: GRACE,
    log,
    now: clock.now,
  });
}

function terminationSuite(name: string, backend: () => Promise<Backend>): void {
  it(`erases users and disables devices at the end, purges after the grace, survives a restart (${name})`, async () => {
    const db = await backend();
    let stores = await db.open();
    const clock = new Clock(Date.parse("2026-01-10T12:00:00Z"));
    const a = await seed(stores, "acme", clock.t);
    const b = await seed(stores, "bravo", clock.t);
    const disabled: string[][] = [];
    let svc = service(stores, clock, disabled);
    try {
      await svc.createContract("acme", { start: "2025-01-01" });
      await svc.createContract("bravo", { start: "2025-01-01", timeZone: "Europe/Berlin" });

      clock.t = Date.parse("2026-02-02T08:00:00Z");
      const preview = await svc.previewNotice("acme", { receivedAt: RECEIVED, by: "customer" });
      assert.deepEqual(preview, { lastDay: "2026-02-28", endsAt: ENDS });
      assert.equal((await svc.getContract("acme")).status, "active", "a preview stores nothing");
      assert.deepEqual(await stores.tenancy.listJobs(), []);

      const noticed = await svc.giveNotice("acme", { receivedAt: RECEIVED, by: "customer" });
      assert.equal(noticed.status, "noticeGiven");
      assert.equal(noticed.lastDay, "2026-02-28");
      assert.equal(noticed.endsAt, ENDS);
      assert.deepEqual(
        (await stores.tenancy.listJobs()).map((j) => [j.key, j.runAt]),
        [["terminate:acme", ENDS]],
      );

      // Before the end: nothing happens.
      clock.t = ENDS - 1;
      assert.deepEqual(await svc.runDue(), []);
      assert.deepEqual(await holdings(stores, a, clock.t), FULL);

      // One second after the end: A's users are erased, A's devices disabled; B is untouched.
      clock.t = ENDS + 1000;
      const run = await svc.runDue();
      assert.deepEqual(run, [
        {
          key: "terminate:acme",
          kind: "terminate",
          result: "terminated",
          counts: { usersErased: 2, devicesDisabled: 2 },
        },
      ]);
      assert.deepEqual(await holdings(stores, a, clock.t), {
        ...FULL,
        users: 0,
        sessions: 0,
        tokens: 0,
        enabled: 0,
      });
      for (const u of a.users) assert.equal(await stores.tenancy.getUser(u.id), undefined);
      assert.deepEqual(await stores.tenancy.listUsers("acme"), []);
      assert.deepEqual(disabled, [a.devices]);
      assert.deepEqual(await holdings(stores, b, clock.t), FULL);
      assert.equal((await svc.getContract("acme")).status, "terminated");
      assert.equal((await svc.getContract("bravo")).status, "active");

      // Run again: nothing due, nothing audited twice.
      assert.deepEqual(await svc.runDue(), []);
      const terminated = async () =>
        (await stores.tenancy.listAudit({})).filter((e) => e.event === "contract.terminated").length;
      assert.equal(await terminated(), 1);
      // The same job run twice (a crash before it was completed): harmless, still one audit record.
      await stores.tenancy.scheduleJob({
        key: "terminate:acme",
        kind: "terminate",
        runAt: ENDS,
        payload: { companyId: "acme", contractId: noticed.id },
      });
      assert.deepEqual(
        (await svc.runDue()).map((o) => [o.result, o.counts]),
        [["terminated", { usersErased: 0, devicesDisabled: 0 }]],
      );
      assert.equal(await terminated(), 1);

      // Restart before the purge date: the purge is still scheduled, in the store alone.
      await svc.close();
      await stores.close();
      stores = await db.open();
      svc = service(stores, clock, disabled);
      assert.deepEqual(
        (await stores.tenancy.listJobs()).map((j) => [j.key, j.runAt]),
        [["purge:acme", ENDS + GRACE]],
      );
      clock.t = ENDS + GRACE - 1;
      assert.deepEqual(await svc.runDue(), []);
      assert.equal((await holdings(stores, a, clock.t)).samples, 6, "kept for export during the grace");

      // After the grace: A's telemetry, alarms and devices are gone; B keeps everything.
      clock.t = ENDS + GRACE + 1000;
      const purged = await svc.runDue();
      assert.deepEqual(
        purged.map((o) => [o.key, o.result]),
        [["purge:acme", "purged"]],
      );
      assert.equal(purged[0]?.counts?.["devices"], 2);
      assert.equal(purged[0]?.counts?.["registry.devices"], 2);
      assert.deepEqual(await holdings(stores, a, clock.t), {
        users: 0,
        sessions: 0,
        tokens: 0,
        devices: 0,
        enabled: 0,
        samples: 0,
        alarms: 0,
      });
      assert.deepEqual(await holdings(stores, b, clock.t), FULL);
      assert.deepEqual(await stores.tenancy.listJobs(), []);
      assert.deepEqual(await svc.runDue(), []);

      // The audit log: ids, event types and times only.
      const audit = await stores.tenancy.listAudit({});
      assert.deepEqual(audit.map((e) => e.event).reverse(), [
        "contract.created",
        "contract.created",
        "contract.notice",
        "contract.terminated",
        "company.purged",
      ]);
      const text = JSON.stringify(audit);
      assert.ok(!text.includes("@"), text);
      for (const u of [...a.users, ...b.users]) {
        assert.ok(!text.includes(u.phone.replace(/\D/g, "").slice(2)), "no phone digits in the audit log");
      }
    } finally {
      await svc.close();
      await stores.close();
      await db.drop();
    }
  });

  it(`does nothing at the end when the notice was withdrawn before (${name})`, async () => {
    const db = await backend();
    const stores = await db.open();
    const clock = new Clock(Date.parse("2026-01-10T12:00:00Z"));
    const c = await seed(stores, "carl", clock.t);
    const disabled: string[][] = [];
    const svc = service(stores, clock, disabled);
    try {
      await svc.createContract("carl", { start: "2025-06-15" });
      clock.t = Date.parse("2026-02-02T08:00:00Z");
      await svc.giveNotice("carl", { receivedAt: RECEIVED, by: "operator" });
      clock.t = ENDS - DAY;
      const active = await svc.withdrawNotice("carl");
      assert.equal(active.status, "active");
      assert.equal(active.endsAt, null);
      assert.deepEqual(await stores.tenancy.listJobs(), []);

      clock.t = ENDS + 1000;
      assert.deepEqual(await svc.runDue(), []);
      clock.t = ENDS + GRACE + 1000;
      assert.deepEqual(await svc.runDue(), []);
      assert.deepEqual(await holdings(stores, c, clock.t), FULL);
      assert.deepEqual(disabled, []);
      assert.equal((await svc.getContract("carl")).status, "active");

      // A run that had already claimed the job before the withdrawal re-reads the contract: no-op.
      await stores.tenancy.scheduleJob({
        key: "terminate:carl",
        kind: "terminate",
        runAt: ENDS,
        payload: { companyId: "carl", contractId: active.id },
      });
      assert.deepEqual(
        (await svc.runDue()).map((o) => o.result),
        ["cancelled"],
      );
      assert.deepEqual(await holdings(stores, c, clock.t), FULL);
      assert.deepEqual(
        (await stores.tenancy.listAudit({ companyId: "carl" })).map((e) => e.event).reverse(),
        ["contract.created", "contract.notice", "contract.notice.withdrawn"],
      );
    } finally {
      await svc.close();
      await stores.close();
      await db.drop();
    }
  });

  it(`retries a failed job after its lease, and ends at once on an extraordinary notice (${name})`, async () => {
    const db = await backend();
    const stores = await db.open();
    const clock = new Clock(Date.parse("2026-01-10T12:00:00Z"));
    const d = await seed(stores, "delta", clock.t);
    let fail = true;
    const svc = new TerminationService({
      tenancy: stores.tenancy,
      registry: stores.registry,
      telemetry: stores.telemetry,
      analytics: stores.analytics,
      onDevicesDisabled: () => {
        if (fail) throw new Error("gateway unavailable");
      },
      exportGraceMs: GRACE,
      leaseMs: 60_000,
      log,
      now: clock.now,
    });
    try {
      await svc.createContract("delta", { start: "2025-01-01" });
      clock.t = Date.parse("2026-02-02T08:00:00Z");
      await svc.giveNotice("delta", { receivedAt: RECEIVED, by: "customer" });
      // A replacing extraordinary notice ends the contract now and moves the job.
      const now = await svc.giveNotice("delta", {
        by: "operator",
        extraordinary: true,
        reason: "non-payment",
      });
      assert.equal(now.endsAt, clock.t);
      assert.deepEqual(
        (await stores.tenancy.listJobs()).map((j) => [j.key, j.runAt]),
        [["terminate:delta", clock.t]],
      );

      assert.deepEqual(
        (await svc.runDue()).map((o) => o.result),
        ["failed"],
      );
      assert.deepEqual(await svc.runDue(), [], "leased until the lease ends");
      fail = false;
      clock.t += 60_000;
      assert.deepEqual(
        (await svc.runDue()).map((o) => o.result),
        ["terminated"],
      );
      const left = await holdings(stores, d, clock.t);
      assert.equal(left.users, 0);
      assert.equal(left.enabled, 0);
    } finally {
      await svc.close();
      await stores.close();
      await db.drop();
    }
  });
}

describe("termination takes effect by itself (SQLite)", () => terminationSuite("SQLite", sqliteBackend));
describePostgres("termination takes effect by itself (PostgreSQL)", () =>
  terminationSuite("PostgreSQL", postgresBackend),
);
