import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { PumpwatchError } from "../../src/core/errors.js";
import { createSecretBox, type SecretBox } from "../../src/core/secrets.js";
import type { CommitUnit, Stores } from "../../src/store/ports.js";
import { securityContract } from "./security-contract.js";
import { historyContract } from "./store-contract-history.js";
import { purgeContract } from "./store-contract-purge.js";

/**
 * The store contract: every backend (SQLite now, PostgreSQL later) must pass this same suite.
 * `open` returns fresh, empty stores.
 */
export function storeContract(name: string, open: () => Promise<Stores>): void {
  describe(`store contract: ${name}`, () => {
    let stores: Stores;
    before(async () => {
      stores = await open();
    });
    after(async () => {
      await stores.close();
    });

    const accept = (deviceId: string, messageId: string, ts: number): CommitUnit => ({
      kind: "accept",
      deviceId,
      messageId,
      receivedAt: Date.now(),
      samples: [{ ts, values: { oilTemperature: ts % 100 } }],
    });

    it("creates a device once and refuses a second device with the same id", async () => {
      const d = await stores.registry.createDevice({
        id: "c-1",
        primaryKey: "AAAA",
        secondaryKey: "BBBB",
        enrollmentKind: "manual",
      });
      assert.equal(d.enabled, true);
      assert.equal(d.primaryKey, "AAAA");
      assert.deepEqual([d.name, d.site], [null, null]);
      await assert.rejects(
        stores.registry.createDevice({
          id: "c-1",
          primaryKey: "AAAA",
          secondaryKey: "BBBB",
          enrollmentKind: "manual",
        }),
        (e: unknown) => e instanceof PumpwatchError && e.code === "CONFLICT",
      );
    });

    it("keeps a device's display name and site, set on creation or later", async () => {
      const d = await stores.registry.createDevice({
        id: "c-labels",
        primaryKey: "AAAA",
        secondaryKey: "BBBB",
        enrollmentKind: "manual",
        name: "Tray sealer line 1",
        site: "Werk Kempten",
      });
      assert.deepEqual(
        [d.name, d.site, d.createdAt === d.updatedAt],
        ["Tray sealer line 1", "Werk Kempten", true],
      );
      const moved = await stores.registry.updateDevice("c-labels", { site: "Werk Hamburg", name: null });
      assert.deepEqual([moved.name, moved.site], [null, "Werk Hamburg"]);
      assert.deepEqual((await stores.registry.getDevice("c-labels"))?.site, "Werk Hamburg");
    });

    it("updates a device and bumps its generation; unknown ids are NOT_FOUND", async () => {
      const before = (await stores.registry.getDevice("c-1"))!;
      const after = await stores.registry.updateDevice("c-1", { enabled: false, primaryKey: "CCCC" });
      assert.equal(after.enabled, false);
      assert.equal(after.primaryKey, "CCCC");
      assert.equal(after.secondaryKey, "BBBB");
      assert.equal(after.generation, before.generation + 1);
      await assert.rejects(
        stores.registry.updateDevice("nope", { enabled: true }),
        (e: unknown) => e instanceof PumpwatchError && e.code === "NOT_FOUND",
      );
    });

    it("keeps enrollments per kind and updates them", async () => {
      await stores.registry.createEnrollment({
        kind: "group",
        id: "g",
        primaryKey: "K1",
        secondaryKey: "K2",
        enabled: true,
      });
      await stores.registry.createEnrollment({
        kind: "individual",
        id: "g",
        primaryKey: "K3",
        secondaryKey: "K4",
        enabled: true,
      });
      const g = await stores.registry.updateEnrollment("group", "g", { enabled: false });
      assert.equal(g.enabled, false);
      assert.equal((await stores.registry.getEnrollment("individual", "g"))?.primaryKey, "K3");
      assert.equal((await stores.registry.listEnrollments()).length, 2);
      assert.equal(g.companyId, null, "an enrollment without a company has companyId null");
    });

    it("keeps an enrollment's company and changes or clears it only when the patch names it", async () => {
      const created = await stores.registry.createEnrollment({
        kind: "group",
        id: "acme-line",
        primaryKey: "K5",
        secondaryKey: "K6",
        enabled: true,
        companyId: "acme",
      });
      assert.equal(created.companyId, "acme");
      assert.equal((await stores.registry.getEnrollment("group", "acme-line"))?.companyId, "acme");
      const listed = (await stores.registry.listEnrollments()).find((e) => e.id === "acme-line");
      assert.equal(listed?.companyId, "acme");

      const disabled = await stores.registry.updateEnrollment("group", "acme-line", { enabled: false });
      assert.equal(disabled.companyId, "acme", "a patch without companyId keeps it");
      assert.equal(disabled.primaryKey, "K5");

      const moved = await stores.registry.updateEnrollment("group", "acme-line", { companyId: "globex" });
      assert.equal(moved.companyId, "globex");
      assert.equal(moved.enabled, false, "a patch of the company keeps the other fields");
      assert.equal(moved.secondaryKey, "K6");
      assert.equal((await stores.registry.getEnrollment("group", "acme-line"))?.companyId, "globex");

      const cleared = await stores.registry.updateEnrollment("group", "acme-line", { companyId: null });
      assert.equal(cleared.companyId, null);
      assert.equal((await stores.registry.getEnrollment("group", "acme-line"))?.companyId, null);
      await assert.rejects(
        stores.registry.updateEnrollment("group", "nope", { companyId: "acme" }),
        (e: unknown) => e instanceof PumpwatchError && e.code === "NOT_FOUND",
      );
    });

    it("merges twin patches, deletes keys set to null and bumps the version", async () => {
      await stores.registry.patchTwin("c-1", "reported", { a: 1, nested: { x: 1, y: 2 } });
      const t = await stores.registry.patchTwin("c-1", "reported", {
        a: null,
        nested: { y: 3 },
        $version: 99,
      });
      assert.deepEqual(t.reported, { nested: { x: 1, y: 3 } });
      assert.equal(t.reportedVersion, 3);
      assert.equal(t.desiredVersion, 1);
    });

    it("keeps the first value of a setting", async () => {
      assert.equal(await stores.registry.setSettingIfAbsent("s", "one"), "one");
      assert.equal(await stores.registry.setSettingIfAbsent("s", "two"), "one");
    });

    it("stores accepted packets once and reports a repeated message id as duplicate", async () => {
      const outcomes = await stores.telemetry.commit([
        accept("c-1", "m1", 1000),
        accept("c-1", "m2", 2000),
        accept("c-1", "m1", 3000),
      ]);
      assert.deepEqual(outcomes, ["stored", "stored", "duplicate"]);
      assert.deepEqual(await stores.telemetry.commit([accept("c-1", "m2", 4000)]), ["duplicate"]);
      // The same message id from another device is a different message.
      assert.deepEqual(await stores.telemetry.commit([accept("c-2", "m1", 1000)]), ["stored"]);
      const samples = await stores.telemetry.querySamples("c-1", 0, 10_000, 100);
      assert.deepEqual(
        samples.map((s) => s.ts),
        [1000, 2000],
      );
      assert.equal(await stores.telemetry.countSamples("c-1"), 2);
    });

    it("returns samples in time order within [from, to) and honours the limit", async () => {
      await stores.telemetry.commit([
        accept("c-3", "a", 300),
        accept("c-3", "b", 100),
        accept("c-3", "c", 200),
      ]);
      assert.deepEqual(
        (await stores.telemetry.querySamples("c-3", 0, 1000, 10)).map((s) => s.ts),
        [100, 200, 300],
      );
      assert.deepEqual(
        (await stores.telemetry.querySamples("c-3", 100, 300, 10)).map((s) => s.ts),
        [100, 200],
      );
      assert.deepEqual(
        (await stores.telemetry.querySamples("c-3", 0, 1000, 2)).map((s) => s.ts),
        [100, 200],
      );
    });

    it("keeps quarantined packets with their reason and payload, newest first", async () => {
      const q = (reasonCode: string): CommitUnit => ({
        kind: "quarantine",
        deviceId: "c-1",
        messageId: null,
        receivedAt: Date.now(),
        transport: "mqtt",
        topic: "devices/c-1/messages/events/",
        reasonCode,
        reason: `because ${reasonCode}`,
        payload: Buffer.from("{oops"),
      });
      assert.deepEqual(await stores.telemetry.commit([q("not_json"), q("missing_message_id")]), [
        "quarantined",
        "quarantined",
      ]);
      const entries = await stores.telemetry.listQuarantine({ limit: 10, deviceId: "c-1" });
      assert.deepEqual(
        entries.map((e) => e.reasonCode),
        ["missing_message_id", "not_json"],
      );
      assert.equal(Buffer.from(entries[0]!.payload, "base64").toString(), "{oops");
    });

    it("forgets old message ids when pruned, so the id is new again", async () => {
      const old: CommitUnit = { ...accept("c-4", "old", 1), receivedAt: 1000 } as CommitUnit;
      await stores.telemetry.commit([old]);
      assert.equal(await stores.telemetry.pruneMessageIds(2000), 1);
      assert.deepEqual(await stores.telemetry.commit([accept("c-4", "old", 5)]), ["stored"]);
    });

    historyContract(() => stores);
    purgeContract(() => stores);
    securityContract(() => stores);
  });
}

/**
 * Tests of two stores opened on the same database (another process, or the CLI next to the server):
 * `location` prepares a fresh, empty database and returns how to open stores on it with a master key.
 * Registers its tests in the current suite.
 */
export function sharedDatabaseContract(location: () => Promise<(box: SecretBox) => Stores>): void {
  it("cannot open the keys with another master key", async () => {
    const open = await location();
    const a = open(createSecretBox(randomBytes(32)));
    await a.registry.createDevice({
      id: "p-2",
      primaryKey: "AAAA",
      secondaryKey: "BBBB",
      enrollmentKind: "manual",
    });
    await a.close();
    const b = open(createSecretBox(randomBytes(32)));
    await assert.rejects(b.registry.getDevice("p-2"));
    await b.close();
  });

  it("sees registry changes committed by another connection through changeMark", async () => {
    const open = await location();
    const box = createSecretBox(randomBytes(32));
    const a = open(box);
    const b = open(box);
    const before = await a.registry.changeMark();
    await b.registry.createDevice({
      id: "p-3",
      primaryKey: "AAAA",
      secondaryKey: "BBBB",
      enrollmentKind: "manual",
    });
    const afterCreate = await a.registry.changeMark();
    assert.notEqual(afterCreate, before);
    await b.registry.createEnrollment({
      kind: "group",
      id: "g",
      primaryKey: "K",
      secondaryKey: "L",
      enabled: true,
    });
    assert.notEqual(await a.registry.changeMark(), afterCreate);
    // A change through the same connection moves the mark too (in-process writers, e.g. the demo).
    const own = await a.registry.changeMark();
    await a.registry.updateDevice("p-3", { model: "RV100" });
    assert.notEqual(await a.registry.changeMark(), own);
    await a.close();
    await b.close();
  });
}
