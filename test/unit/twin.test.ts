import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createMetrics } from "../../src/core/metrics.js";
import { createSecretBox } from "../../src/core/secrets.js";
import { twinRequest } from "../../src/gateway/twin.js";
import type { RegistryStore } from "../../src/store/ports.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";

const get = { kind: "twinGet", rid: "r-1" } as const;
const patch = { kind: "twinPatchReported", rid: "r-2" } as const;

describe("device twin requests", () => {
  const stores = openSqliteStores(":memory:", createSecretBox(randomBytes(32)), { synchronous: "NORMAL" });
  const deps = { registry: stores.registry, metrics: createMetrics() };

  it("answers GET with top-level desired and reported documents and their versions", async () => {
    const res = await twinRequest(deps, "d-1", get, Buffer.from(" "));
    assert.equal(res.topic, "$iothub/twin/res/200/?$rid=r-1");
    assert.deepEqual(JSON.parse(res.payload), { desired: { $version: 1 }, reported: { $version: 1 } });
  });

  it("answers a reported PATCH with 204 and the new version, and keeps the patch", async () => {
    const res = await twinRequest(deps, "d-1", patch, Buffer.from(JSON.stringify({ agentVersion: "1.2" })));
    assert.equal(res.topic, "$iothub/twin/res/204/?$rid=r-2&$version=2");
    assert.equal(res.payload, "");
    assert.deepEqual((await stores.registry.getTwin("d-1")).reported, { agentVersion: "1.2" });
  });

  it("puts errorCode in the body of a 400, since the SDK ignores the status", async () => {
    const res = await twinRequest(deps, "d-1", patch, Buffer.from("[1,2]"));
    assert.equal(res.topic, "$iothub/twin/res/400/?$rid=r-2");
    assert.equal(JSON.parse(res.payload).errorCode, 400004);
  });

  it("turns a store failure into a 500 with errorCode and hands the error back for logging", async () => {
    const failing = Object.create(stores.registry) as RegistryStore;
    failing.patchTwin = async () => {
      throw new Error("disk I/O error");
    };
    const res = await twinRequest({ ...deps, registry: failing }, "d-1", patch, Buffer.from("{}"));
    assert.equal(res.topic, "$iothub/twin/res/500/?$rid=r-2");
    assert.equal(JSON.parse(res.payload).errorCode, 500000);
    assert.match(res.error?.message ?? "", /disk I\/O/);
  });
});
