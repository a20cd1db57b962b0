import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { beforeEach, describe, it } from "node:test";
import { createMetrics } from "../../src/core/metrics.js";
import { createSecretBox } from "../../src/core/secrets.js";
import { DeviceDirectory } from "../../src/ingest/directory.js";
import { type IncomingPacket, Ingest, type IngestOptions } from "../../src/ingest/ingest.js";
import type { CommitOutcome, Stores, TelemetryStore } from "../../src/store/ports.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";

const now = Date.parse("2026-11-27T10:00:00Z");

function packet(over: Partial<IncomingPacket> = {}): IncomingPacket {
  return {
    transport: "mqtt",
    authDeviceId: "pump-1",
    topicDeviceId: "pump-1",
    topic: "devices/pump-1/messages/events/",
    messageId: `m-${Math.random()}`,
    payload: Buffer.from(JSON.stringify({ ts: "2026-11-27T09:59:00Z", values: { oilTemperature: 70 } })),
    receivedAt: now,
    ...over,
  };
}

function submit(
  ingest: Ingest,
  p: IncomingPacket,
): Promise<{ outcome: CommitOutcome | undefined; reason: string | undefined }> {
  return new Promise((resolve, reject) =>
    ingest.submit(p, (err, outcome, reason) => (err ? reject(err) : resolve({ outcome, reason }))),
  );
}

describe("ingest", () => {
  let stores: Stores;
  let commits: number;
  let failNext: boolean;
  let ingest: Ingest;

  beforeEach(async () => {
    stores = openSqliteStores(":memory:", createSecretBox(randomBytes(32)), { synchronous: "NORMAL" });
    await stores.registry.createDevice({
      id: "pump-1",
      primaryKey: "AAAA",
      secondaryKey: "BBBB",
      enrollmentKind: "manual",
    });
    await stores.registry.createDevice({
      id: "pump-off",
      primaryKey: "AAAA",
      secondaryKey: "BBBB",
      enrollmentKind: "manual",
      enabled: false,
    });
    commits = 0;
    failNext = false;
    // Counts commits and can fail one, as a full disk would; the real store does the work.
    const store: TelemetryStore = Object.create(stores.telemetry);
    store.commit = async (units) => {
      commits++;
      if (failNext) {
        failNext = false;
        throw new Error("disk full");
      }
      return stores.telemetry.commit(units);
    };
    const directory = new DeviceDirectory(stores.registry);
    await directory.get("pump-1");
    await directory.get("pump-off");
    const options: IngestOptions = {
      store,
      directory,
      metrics: createMetrics(),
      commitDelayMs: 2,
      maxFutureMs: 300_000,
      maxSamplesPerPacket: 100,
    };
    ingest = new Ingest(options);
  });

  it("acknowledges a valid packet only after its samples are in the store", async () => {
    let storedAtAck = -1;
    await new Promise<void>((resolve) =>
      ingest.submit(packet(), (err, outcome) => {
        assert.equal(err, null);
        assert.equal(outcome, "stored");
        stores.telemetry.countSamples("pump-1").then((n) => {
          storedAtAck = n;
          resolve();
        });
      }),
    );
    assert.equal(storedAtAck, 1);
  });

  it("commits packets that arrive together in one group commit", async () => {
    const results = await Promise.all(Array.from({ length: 200 }, () => submit(ingest, packet())));
    assert.ok(results.every((r) => r.outcome === "stored"));
    assert.equal(commits, 1);
    assert.equal(await stores.telemetry.countSamples("pump-1"), 200);
  });

  it("acknowledges a repeated message id without storing it twice", async () => {
    assert.equal((await submit(ingest, packet({ messageId: "same" }))).outcome, "stored");
    assert.equal((await submit(ingest, packet({ messageId: "same" }))).outcome, "duplicate");
    assert.equal(await stores.telemetry.countSamples("pump-1"), 1);
  });

  const rejected: [string, Partial<IncomingPacket>, string][] = [
    ["invalid JSON", { payload: Buffer.from("{nope") }, "not_json"],
    ["a missing message id", { messageId: undefined }, "missing_message_id"],
    ["another device's topic", { topicDeviceId: "pump-2" }, "foreign_topic"],
    ["an unknown device", { authDeviceId: "ghost", topicDeviceId: "ghost" }, "unknown_device"],
    ["a disabled device", { authDeviceId: "pump-off", topicDeviceId: "pump-off" }, "device_disabled"],
  ];
  for (const [what, over, code] of rejected) {
    it(`quarantines a packet with ${what} and acknowledges it (${code})`, async () => {
      const r = await submit(ingest, packet(over));
      assert.equal(r.outcome, "quarantined");
      assert.match(r.reason ?? "", new RegExp(`^${code}: `));
      const [entry] = await stores.telemetry.listQuarantine({ limit: 1 });
      assert.equal(entry?.reasonCode, code);
      assert.equal(await stores.telemetry.countSamples("pump-1"), 0);
    });
  }

  it("quarantines data of a device whose contract does not allow collection", async () => {
    const directory = new DeviceDirectory(stores.registry);
    await directory.get("pump-1");
    const strict = new Ingest({
      store: stores.telemetry,
      directory,
      metrics: createMetrics(),
      commitDelayMs: 0,
      maxFutureMs: 300_000,
      maxSamplesPerPacket: 100,
      policy: { refusal: () => "contract ended" },
    });
    const r = await submit(strict, packet());
    assert.equal(r.outcome, "quarantined");
    assert.equal(r.reason, "collection_not_allowed: contract ended");
  });

  it("fails every packet of a group whose commit failed, and commits later packets", async () => {
    failNext = true;
    const failed = await Promise.allSettled([submit(ingest, packet()), submit(ingest, packet())]);
    assert.deepEqual(
      failed.map((f) => f.status),
      ["rejected", "rejected"],
    );
    assert.equal(await stores.telemetry.countSamples("pump-1"), 0);
    assert.equal((await submit(ingest, packet())).outcome, "stored");
  });
});
