/**
 * The device agent against a whole pumpwatch over real TLS on free ports: provisioning with group
 * and individual keys, delivery visible through the operator API, the twin in both directions,
 * token renewal, and re-provisioning when the hub refuses cached credentials.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type AgentOptions, DeviceAgent } from "../../src/device/agent.js";
import { ConstantSource } from "../../src/device/sources.js";
import { agentOptions, drained, RecordingSource, storedTimestamps, waitFor } from "../helpers/agent.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

/** Stops the source, waits until the agent has sent everything, then checks exactly-once delivery. */
async function assertDeliveredExactlyOnce(
  s: TestServer,
  agent: DeviceAgent,
  source: RecordingSource,
  id: string,
) {
  source.on = false;
  await drained(agent);
  const stored = await storedTimestamps(s, id);
  assert.ok(source.produced.length > 0);
  assert.deepEqual(
    stored,
    [...source.produced].sort((a, b) => a - b),
  );
}

describe("device agent end to end", () => {
  let s: TestServer;
  let groupKey: string;
  let stateRoot: string;
  const agents: DeviceAgent[] = [];

  before(async () => {
    // The hub cuts a connection 1 s after its token expired, so a renewal that comes late shows.
    s = await startTestServer({ limits: { sasSkewSec: 1 } });
    groupKey = (await s.admin.enrollGroup("agents")).groupKey;
    stateRoot = await mkdtemp(join(tmpdir(), "pumpwatch-agent-"));
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await s.stop();
    await rm(stateRoot, { recursive: true, force: true });
  });

  function agent(id: string, extra: Partial<AgentOptions> = {}): DeviceAgent {
    const a = new DeviceAgent({
      ...agentOptions(s, {
        id,
        stateRoot,
        groupKey,
        source: new RecordingSource(),
        settings: { sampleIntervalSec: 0.1, sendIntervalSec: 0.5 },
        backoff: { baseMs: 100, capMs: 1000 },
      }),
      ...extra,
    });
    agents.push(a);
    a.start();
    return a;
  }

  it("provisions with a group key and delivers samples that appear through the operator API", async () => {
    const source = new RecordingSource();
    const a = agent("agent-group-0001", { source });
    const provisioned = new Promise((r) => a.once("provisioned", r));
    await waitFor("30 samples delivered", () => (a.stats().deliveredSamples >= 30 ? true : undefined));
    assert.deepEqual(await provisioned, {
      assignedHub: s.assignedHub,
      deviceId: "agent-group-0001",
      cached: false,
    });
    await assertDeliveredExactlyOnce(s, a, source, "agent-group-0001");
    const device = await s.api("/api/devices/agent-group-0001");
    assert.equal(device.body.enrollmentKind, "group");
  });

  it("provisions with an individual key", async () => {
    const { key } = await s.admin.enrollDevice("agent-solo-0001");
    const a = agent("agent-solo-0001", { groupKey: undefined, key });
    await waitFor("a delivery", () => (a.stats().deliveredPackets >= 1 ? true : undefined));
    assert.equal((await s.api("/api/devices/agent-solo-0001")).body.enrollmentKind, "individual");
  });

  it("applies a desired interval pushed through the API and reports its properties in the twin", async () => {
    const id = "agent-twin-0001";
    const a = agent(id);
    await waitFor("connected", () => (a.status === "connected" ? true : undefined));
    const reported = await waitFor("reported properties", async () => {
      const twin = await s.api(`/api/devices/${id}/twin`);
      return twin.body.reported?.agentVersion ? twin.body.reported : undefined;
    });
    assert.equal(typeof reported.agentVersion, "string");
    assert.deepEqual(reported.signals, new ConstantSource().signals);
    assert.equal(reported.sampleIntervalSec, 0.1);
    assert.equal(reported.sendIntervalSec, 0.5);
    assert.equal(typeof reported.queue.packets, "number");
    assert.equal(reported.queue.droppedSamples, 0);

    const applied = new Promise((r) => a.on("settings", (st) => st.sendIntervalSec === 0.25 && r(st)));
    const patch = await s.api(`/api/devices/${id}/twin`, {
      method: "PATCH",
      body: { desired: { sampleIntervalSec: 0.05, sendIntervalSec: 0.25 } },
    });
    assert.equal(patch.status, 200);
    assert.deepEqual(await applied, { sampleIntervalSec: 0.05, sendIntervalSec: 0.25 });
    await waitFor("the new intervals in the reported properties", async () => {
      const r = (await s.api(`/api/devices/${id}/twin`)).body.reported;
      return r.sampleIntervalSec === 0.05 && r.sendIntervalSec === 0.25 ? true : undefined;
    });

    await s.api(`/api/devices/${id}/twin`, { method: "PATCH", body: { desired: { sendIntervalSec: -5 } } });
    const rejected = await waitFor("the rejection in the reported properties", async () => {
      const r = (await s.api(`/api/devices/${id}/twin`)).body.reported;
      return r.desiredRejected?.sendIntervalSec ? r : undefined;
    });
    assert.equal(rejected.sendIntervalSec, 0.5, "back to the configured value");
    assert.match(rejected.desiredRejected.sendIntervalSec, /from 0.05 to 86400/);
  });

  it("takes the desired intervals it finds in the twin when it connects", async () => {
    const id = "agent-twin-0002";
    // The device must exist before its twin can be set: provision it once with a first agent.
    const first = agent(id);
    await waitFor("connected", () => (first.status === "connected" ? true : undefined));
    await first.close();
    await s.api(`/api/devices/${id}/twin`, { method: "PATCH", body: { desired: { sendIntervalSec: 0.3 } } });
    const second = agent(id);
    await waitFor("the twin's interval", () => (second.settings.sendIntervalSec === 0.3 ? true : undefined));
    assert.equal(second.stats().provisions, 0, "the cached assignment was used");
  });

  it("keeps delivering across token renewals with a short token lifetime", async () => {
    const id = "agent-renew-0001";
    const source = new RecordingSource();
    const a = agent(id, { source, tokenLifetimeSec: 4 });
    let unplanned = 0;
    a.on("disconnected", () => unplanned++);
    await waitFor("three connections (two renewals)", () => (a.stats().connects >= 3 ? true : undefined));
    assert.equal(unplanned, 0, "renewal is a planned reconnect, not a failure");
    await assertDeliveredExactlyOnce(s, a, source, id);
  });

  it("backfills historical samples with their original timestamps through the queue", async () => {
    const id = "agent-backfill-0001";
    const a = agent(id, { source: undefined, packetLimits: { maxSamples: 100 } });
    const start = Date.now() - 86_400_000;
    const history = Array.from({ length: 5000 }, (_, i) => ({
      ts: start + i * 1000,
      values: { running: 1 },
    }));
    const t0 = Date.now();
    await a.backfill(history);
    const ms = Date.now() - t0;
    assert.equal(a.stats().deliveredPackets, 50);
    assert.deepEqual(
      await storedTimestamps(s, id),
      history.map((h) => h.ts),
    );
    assert.ok(a.stats().queue.packets === 0);
    assert.ok(ms < 10_000, `${ms} ms`);
  });

  it("provisions again when the hub refuses its cached credentials", async () => {
    const id = "agent-reprov-0001";
    const first = agent(id);
    await waitFor("connected", () => (first.status === "connected" ? true : undefined));
    await first.close();
    // The hub now holds other keys for this device: the cached assignment's token is refused (CONNACK 5).
    await s.api(`/api/devices/${id}/rotate-key`, { method: "POST", body: {} });
    const second = agent(id);
    const reasons: string[] = [];
    second.on("disconnected", (d) => reasons.push(d.reason));
    await waitFor("a delivery after re-provisioning", () =>
      second.stats().deliveredPackets >= 1 ? true : undefined,
    );
    assert.equal(second.stats().provisions, 1);
    assert.match(reasons[0] ?? "", /refused/);
  });

  it("waits long instead of retrying fast when the hub refuses even a fresh assignment", async () => {
    const id = "agent-disabled-0001";
    const a = agent(id, { authBackoff: { baseMs: 60_000, capMs: 60_000 }, random: () => 0.5 });
    await waitFor("connected", () => (a.status === "connected" ? true : undefined));
    const retries: { reason: string; retryInMs: number }[] = [];
    a.on("disconnected", (d) => retries.push(d));
    await s.api(`/api/devices/${id}/disable`, { method: "POST", body: {} });
    const slow = await waitFor("a slow retry", () => retries.find((r) => r.retryInMs >= 30_000));
    assert.match(slow.reason, /refused/);
    assert.equal(a.stats().provisions, 2, "re-provisioned once before backing off");
    assert.equal(
      retries.filter((r) => /refused/.test(r.reason)).length,
      2,
      "the first refusal re-provisions at once",
    );
    assert.equal(a.status, "waiting");
  });
});
