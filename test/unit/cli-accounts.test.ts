import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { hashToken } from "../../src/auth/tokens.js";
import { loadConfig } from "../../src/core/config.js";
import { openStores } from "../../src/main.js";
import type { AuditEntry, Stores } from "../../src/store/ports.js";
import { CLI_SCRIPT, REPO_ROOT, seedDevices } from "../helpers/child.js";
import { tempFiles } from "../helpers/temp.js";

const tempDb = tempFiles("pumpwatch-cli-accounts-", "pumpwatch.db");
const run = promisify(execFile);
const cli = (data: string, ...args: string[]) =>
  run(process.execPath, ["--import", "tsx", CLI_SCRIPT, ...args, "--data", data], { cwd: REPO_ROOT });
const json = async (p: Promise<{ stdout: string }>) => JSON.parse((await p).stdout);

async function withStores<T>(data: string, f: (s: Stores) => Promise<T>): Promise<T> {
  const stores = openStores(loadConfig({ flags: { data } }));
  try {
    return await f(stores);
  } finally {
    await stores.close();
  }
}

const events = (audit: AuditEntry[]) =>
  audit.map((e) => [e.actor, e.event, e.targetType, e.targetId, e.companyId]).reverse();

// Each CLI run starts a process (~2 s with tsx); the tests use separate data folders and run together.
describe("pumpwatch company and user on the command line", { concurrency: true }, () => {
  it("adds a company with its contract, invites, lists and erases users, and audits each step", async () => {
    const data = dirname(await tempDb());
    const company = await json(
      cli(
        data,
        "company",
        "add",
        "--id",
        "acme",
        "--name",
        "Acme GmbH",
        "--address",
        "Am Vakuum 1\n12345 Pumpstadt",
        "--contract-start",
        "2026-01-01",
      ),
    );
    assert.deepEqual(
      [company.id, company.name, company.postalAddress, company.contract.start, company.contract.status],
      ["acme", "Acme GmbH", "Am Vakuum 1\n12345 Pumpstadt", "2026-01-01", "active"],
    );
    const companies = await json(cli(data, "company", "list"));
    assert.deepEqual(
      companies.map((c: { id: string }) => c.id),
      ["acme"],
    );

    const invited = await json(
      cli(
        data,
        "user",
        "invite",
        "--email",
        "anna@acme.example",
        "--role",
        "companyAdmin",
        "--company",
        "acme",
      ),
    );
    assert.deepEqual(Object.keys(invited).sort(), ["expiresAt", "invitationLink", "user"]);
    assert.deepEqual(
      [invited.user.email, invited.user.role, invited.user.companyId],
      ["anna@acme.example", "companyAdmin", "acme"],
    );
    const m = /^https:\/\/localhost:8443\/#\/invitation\?token=(pwi_[A-Za-z0-9_-]+)$/.exec(
      invited.invitationLink,
    );
    assert.ok(m, invited.invitationLink);
    const days = (Date.parse(invited.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `expires in ${days} days`);
    const staff = await json(
      cli(data, "user", "invite", "--email", "ops@example.com", "--role", "operatorAdmin"),
    );
    assert.equal(staff.user.companyId, null);

    // The rules are those of the API: a company role needs a company.
    await assert.rejects(
      cli(data, "user", "invite", "--email", "x@example.com", "--role", "companyUser"),
      (e: { stderr: string }) => /"role" must be one of operatorAdmin/.test(e.stderr),
    );
    const all = await json(cli(data, "user", "list"));
    assert.deepEqual(
      all.map((u: { email: string; status: string }) => [u.email, u.status]),
      [
        ["ops@example.com", "invited"],
        ["anna@acme.example", "invited"],
      ],
    );
    for (const u of all) {
      assert.deepEqual(Object.keys(u).sort(), [
        "companyId",
        "createdAt",
        "email",
        "id",
        "lockedUntil",
        "phone",
        "postalAddress",
        "role",
        "status",
        "updatedAt",
      ]);
    }
    const ofAcme = await json(cli(data, "user", "list", "--company", "acme"));
    assert.deepEqual(
      ofAcme.map((u: { id: string }) => u.id),
      [invited.user.id],
    );

    await withStores(data, async (s) => {
      const token = await s.tenancy.consumeOneTimeToken(hashToken(m[1]!), "invitation", Date.now());
      assert.equal(token?.userId, invited.user.id, "the link's token belongs to the invited user");
    });

    assert.deepEqual(await json(cli(data, "user", "delete", invited.user.id)), { deleted: invited.user.id });
    await withStores(data, async (s) => {
      assert.equal(await s.tenancy.getUser(invited.user.id), undefined);
      assert.equal(await s.tenancy.getUserByEmail("anna@acme.example"), undefined);
      assert.deepEqual(events(await s.tenancy.listAudit({})), [
        ["operator", "company.created", "company", "acme", "acme"],
        ["operator", "contract.created", "contract", company.contract.id, "acme"],
        ["operator", "user.invited", "user", invited.user.id, "acme"],
        ["operator", "user.invited", "user", staff.user.id, null],
        ["operator", "user.deleted", "user", invited.user.id, "acme"],
      ]);
    });
  });

  it("refuses a company without a name or with a malformed id", async () => {
    const data = dirname(await tempDb());
    await assert.rejects(
      cli(data, "company", "add", "--id", "acme", "--address", "x"),
      (e: { stderr: string }) => /--name is required/.test(e.stderr),
    );
    await assert.rejects(
      cli(data, "company", "add", "--id=-acme", "--name", "A", "--address", "x"),
      (e: { stderr: string }) => /--id must be/.test(e.stderr),
    );
    assert.deepEqual(await json(cli(data, "company", "list")), []);
  });

  it("audits device changes made on the command line as the API does", async () => {
    const data = dirname(await tempDb());
    const [device] = await seedDevices(data, 1);
    const id = device!.id;
    await cli(data, "device", "set", id, "--company", "acme");
    await cli(data, "device", "set", id, "--model", "RV100");
    await cli(data, "device", "disable", id);
    await cli(data, "device", "enable", id);
    const keys = await json(cli(data, "device", "rotate-key", id));
    assert.equal(typeof keys.primaryKey, "string");
    await withStores(data, async (s) => {
      assert.deepEqual(events(await s.tenancy.listAudit({})), [
        ["operator", "device.company.changed", "device", id, "acme"],
        ["operator", "device.disabled", "device", id, "acme"],
        ["operator", "device.enabled", "device", id, "acme"],
        ["operator", "device.key.rotated", "device", id, "acme"],
      ]);
    });
  });
});
