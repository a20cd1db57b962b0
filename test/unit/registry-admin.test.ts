import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { PumpwatchError } from "../../src/core/errors.js";
import { RegistryAdmin } from "../../src/provisioning/admin.js";
import type { Stores } from "../../src/store/ports.js";
import { CLI_SCRIPT, REPO_ROOT, seedDevices } from "../helpers/child.js";
import { openTestSqlite } from "../helpers/sqlite.js";
import { tempFiles } from "../helpers/temp.js";

const tempDb = tempFiles("pumpwatch-admin-", "pumpwatch.db");

const badRequest = (pattern: RegExp) => (e: unknown) =>
  e instanceof PumpwatchError && e.code === "BAD_REQUEST" && pattern.test(e.message);

describe("registry administration of companies and labels", () => {
  let stores: Stores;
  let admin: RegistryAdmin;
  before(async () => {
    stores = openTestSqlite(await tempDb());
    admin = new RegistryAdmin(stores.registry, "0neTEST0001");
    await stores.registry.createDevice({
      id: "pump-1",
      primaryKey: "AAAA",
      secondaryKey: "BBBB",
      enrollmentKind: "manual",
    });
  });
  after(async () => {
    await stores.close();
  });

  it("creates enrollments with and without a company and lists them without their keys", async () => {
    const group = await admin.enrollGroup("line-acme", { companyId: "acme" });
    assert.equal(group.companyId, "acme");
    assert.equal((await admin.enrollGroup("line-none")).companyId, null);
    const solo = await admin.enrollDevice("pump-solo", { companyId: "Acme_2.de" });
    assert.equal(solo.companyId, "Acme_2.de");
    const listed = await admin.listEnrollments();
    assert.deepEqual(
      listed.map((e) => [e.kind, e.id, e.companyId, e.enabled]),
      [
        ["group", "line-acme", "acme", true],
        ["group", "line-none", null, true],
        ["individual", "pump-solo", "Acme_2.de", true],
      ],
    );
    for (const e of listed) {
      assert.deepEqual(Object.keys(e).sort(), [
        "companyId",
        "createdAt",
        "enabled",
        "id",
        "kind",
        "updatedAt",
      ]);
    }
  });

  it("refuses an enrollment with a malformed company id", async () => {
    await assert.rejects(admin.enrollGroup("line-bad", { companyId: "-acme" }), badRequest(/company id/));
    await assert.rejects(
      admin.enrollDevice("pump-bad", { companyId: "a".repeat(65) }),
      badRequest(/company id/),
    );
    assert.equal(await stores.registry.getEnrollment("group", "line-bad"), undefined);
  });

  it("sets and clears a device's company and labels, changing only the fields given", async () => {
    const set = await admin.updateDevice("pump-1", {
      companyId: "acme",
      model: "RV-200",
      pumpType: "rotary vane",
      serial: "SN-1",
      name: "Tray sealer line 1",
      site: "Werk Kempten",
    });
    assert.deepEqual(
      [set.companyId, set.model, set.pumpType, set.serial, set.name, set.site],
      ["acme", "RV-200", "rotary vane", "SN-1", "Tray sealer line 1", "Werk Kempten"],
    );
    assert.equal("primaryKey" in set, false, "the view has no keys");
    const cleared = await admin.updateDevice("pump-1", { companyId: null, serial: null });
    assert.deepEqual(
      [cleared.companyId, cleared.model, cleared.pumpType, cleared.serial],
      [null, "RV-200", "rotary vane", null],
    );
  });

  it("refuses malformed company ids, blank or over-long labels, empty patches and other fields", async () => {
    await assert.rejects(admin.updateDevice("pump-1", { companyId: "acme corp" }), badRequest(/company id/));
    await assert.rejects(admin.updateDevice("pump-1", { model: "x".repeat(201) }), badRequest(/model .*200/));
    await assert.rejects(admin.updateDevice("pump-1", { serial: "  " }), badRequest(/serial/));
    await assert.rejects(admin.updateDevice("pump-1", {}), badRequest(/nothing to change/));
    // An untyped caller's object cannot change keys or enabled through this method.
    const sneaky = { primaryKey: "ZZZZ", enabled: false } as unknown as { model?: string };
    await assert.rejects(admin.updateDevice("pump-1", sneaky), badRequest(/nothing to change/));
    const device = (await stores.registry.getDevice("pump-1"))!;
    assert.equal(device.primaryKey, "AAAA");
    assert.equal(device.enabled, true);
    assert.equal((await admin.updateDevice("pump-1", { model: "x".repeat(200) })).model?.length, 200);
  });

  it("answers NOT_FOUND with a hint for an unknown device", async () => {
    await assert.rejects(
      admin.updateDevice("nope", { companyId: "acme" }),
      (e: unknown) => e instanceof PumpwatchError && e.code === "NOT_FOUND" && /device list/.test(e.message),
    );
  });
});

describe("pumpwatch enroll and device set on the command line", () => {
  const run = promisify(execFile);
  const cli = (data: string, ...args: string[]) =>
    run(process.execPath, ["--import", "tsx", CLI_SCRIPT, ...args, "--data", data], { cwd: REPO_ROOT });

  it("creates a group enrollment with --company and moves a device with device set", async () => {
    const data = dirname(await tempDb());
    const enrolled = JSON.parse(
      (await cli(data, "enroll", "group", "--name", "line-acme", "--company", "acme")).stdout,
    );
    assert.equal(enrolled.companyId, "acme");
    assert.equal(typeof enrolled.groupKey, "string");
    const listed = JSON.parse((await cli(data, "enroll", "list")).stdout);
    assert.deepEqual(
      listed.map((e: Record<string, unknown>) => [e["id"], e["companyId"], "primaryKey" in e]),
      [["line-acme", "acme", false]],
    );

    const [device] = await seedDevices(data, 1);
    const set = JSON.parse(
      (
        await cli(
          data,
          "device",
          "set",
          device!.id,
          "--company",
          "globex",
          "--pump-type",
          "screw",
          "--serial",
          "",
        )
      ).stdout,
    );
    assert.deepEqual(
      [set.id, set.companyId, set.pumpType, set.serial],
      [device!.id, "globex", "screw", null],
    );
    await assert.rejects(
      cli(data, "device", "set", device!.id, "--company", "no way"),
      (e: { stderr: string }) => /company id must be/.test(e.stderr),
    );
  });
});
