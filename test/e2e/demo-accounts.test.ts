/**
 * The demo's companies, contracts and accounts (`pumpwatch start --demo`): a whole pumpwatch on free
 * ports, a two-pump scenario, logins over the real HTTPS API, and a second start on the same data.
 */
import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../src/core/log.js";
import { type Demo, type DemoLogin, startDemo } from "../../src/demo.js";
import { ApiClient } from "../helpers/client.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const SCENARIO = {
  fleet: { name: "accounts", start: "2026-01-01T00:00:00Z", seed: 3 },
  companies: [
    {
      id: "alpha",
      name: "Alpha Vakuum GmbH",
      assets: [{ id: "al-rv-01", model: "RV100", duty: { type: "continuous", pressure: 100 } }],
    },
    {
      id: "beta",
      name: "Beta Kunststoff AG",
      assets: [{ id: "be-rv-01", model: "RV100", duty: { type: "continuous", pressure: 50 } }],
    },
  ],
};

const log = createLogger({ level: "silent" });

describe("demo companies and accounts", () => {
  let dir: string;
  let scenarioFile: string;
  let s: TestServer | undefined;
  let demo: Demo | undefined;
  const stop = async () => {
    await demo?.close();
    await s?.stop();
    demo = undefined;
    s = undefined;
  };
  const start = async () => {
    s = await startTestServer({ data: dir });
    demo = await startDemo(s, { dataDir: dir, scenarioFile, log });
    return { s, demo };
  };
  const loginAs = async (server: TestServer, l: DemoLogin) => {
    const c = new ApiClient(server);
    const res = await c.login(l.email, l.password);
    assert.equal(res.status, 200, `${l.email}: ${JSON.stringify(res.body)}`);
    return c;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pumpwatch-demo-accounts-"));
    scenarioFile = join(dir, "scenario.json");
    writeFileSync(scenarioFile, JSON.stringify(SCENARIO));
  });
  after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates the scenario's companies with contracts and demo logins that work", async () => {
    const { s, demo } = await start();
    const companies = (await s.api("/api/companies")).body.companies as { id: string; name: string }[];
    assert.deepEqual(
      companies.map((c) => [c.id, c.name]),
      [
        ["alpha", "Alpha Vakuum GmbH"],
        ["beta", "Beta Kunststoff AG"],
      ],
    );
    for (const id of ["alpha", "beta"]) {
      const contract = (await s.api(`/api/companies/${id}/contract`)).body;
      assert.equal(contract.status, "active", JSON.stringify(contract));
      assert.match(contract.start, /^\d{4}-\d{2}-01$/);
    }
    assert.deepEqual(
      demo.logins.map((l) => [l.email, l.role, l.companyId]),
      [
        ["operator@demo.pumpwatch.test", "operatorAdmin", null],
        ["admin@alpha.demo.pumpwatch.test", "companyAdmin", "alpha"],
        ["user@alpha.demo.pumpwatch.test", "companyUser", "alpha"],
        ["admin@beta.demo.pumpwatch.test", "companyAdmin", "beta"],
        ["user@beta.demo.pumpwatch.test", "companyUser", "beta"],
      ],
    );
    assert.equal(statSync(demo.credentialsFile).mode & 0o777, 0o600);

    for (const l of demo.logins) await loginAs(s, l);
    const alphaAdmin = await loginAs(s, demo.logins[1]!);
    const seen = (await alphaAdmin.call("GET", "/api/devices")).body.devices as { id: string }[];
    assert.deepEqual(
      seen.map((d) => d.id),
      ["al-rv-01"],
      "a company administrator sees only the company's pumps",
    );
    const operator = await loginAs(s, demo.logins[0]!);
    const all = (await operator.call("GET", "/api/devices")).body.devices as { id: string }[];
    assert.deepEqual(all.map((d) => d.id).sort(), ["al-rv-01", "be-rv-01"]);
  });

  it("reuses companies, contracts and logins on the next start and does not bring back a deleted one", async () => {
    const first = demo!.logins;
    const contractBefore = (await s!.api("/api/companies/alpha/contract")).body;
    const deleted = first.find((l) => l.email === "user@beta.demo.pumpwatch.test")!;
    const user = await s!.stores.tenancy.getUserByEmail(deleted.email);
    assert.equal((await s!.api(`/api/users/${user!.id}`, { method: "DELETE" })).status, 204);
    await stop();

    const again = await start();
    assert.deepEqual(
      again.demo.logins,
      first.filter((l) => l !== deleted),
      "the same passwords, without the deleted user",
    );
    const tenancy = again.s.stores.tenancy;
    assert.equal((await tenancy.listUsers(null)).length, 1);
    assert.equal((await tenancy.listUsers("alpha")).length, 2);
    assert.equal((await tenancy.listUsers("beta")).length, 1);
    assert.equal(await tenancy.getUserByEmail(deleted.email), undefined);
    assert.equal((await tenancy.listCompanies()).length, 2);
    assert.equal((await again.s.api("/api/companies/alpha/contract")).body.id, contractBefore.id);
    await loginAs(again.s, again.demo.logins[0]!);
  });
});
