/**
 * Store-and-forward (docs/device-agent.md): while the hub is down, packets wait in the agent's
 * on-disk queue, across an agent restart, and arrive exactly once when the hub is back; a full queue
 * drops its oldest packets and says so in the twin. The server is stopped and started again on the
 * same data folder and the same ports, as after a real outage.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type AgentOptions, DeviceAgent } from "../../src/device/agent.js";
import type { SensorSource } from "../../src/sim/source.js";
import { agentOptions, drained, RecordingSource, storedTimestamps, waitFor } from "../helpers/agent.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("device agent store-and-forward", () => {
  let s: TestServer;
  let dataDir: string;
  let stateRoot: string;
  let groupKey: string;
  const agents: DeviceAgent[] = [];

  /** Stops the server and starts it again after `downMs`, meanwhile running `during`. */
  async function outage(during: () => Promise<void>): Promise<void> {
    const ports = { mqttPort: s.mqttPort, httpsPort: s.httpsPort };
    await s.stop();
    await during();
    s = await startTestServer({ data: dataDir, ...ports });
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-sf-data-"));
    stateRoot = await mkdtemp(join(tmpdir(), "pumpwatch-sf-agent-"));
    s = await startTestServer({ data: dataDir });
    groupKey = (await s.admin.enrollGroup("sf")).groupKey;
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await s.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(stateRoot, { recursive: true, force: true });
  });

  function agent(id: string, source: SensorSource, extra: Partial<AgentOptions> = {}): DeviceAgent {
    const a = new DeviceAgent({
      ...agentOptions(s, {
        id,
        stateRoot,
        groupKey,
        source,
        settings: { sampleIntervalSec: 0.05, sendIntervalSec: 0.2 },
        backoff: { baseMs: 100, capMs: 500 },
      }),
      ...extra,
    });
    agents.push(a);
    a.start();
    return a;
  }

  it("delivers every sample exactly once after a hub outage during which the agent restarted", async () => {
    const id = "sf-restart-0001";
    const produced: number[] = [];
    const first = agent(id, new RecordingSource(produced));
    await waitFor("first deliveries", () => (first.stats().deliveredSamples >= 20 ? true : undefined));
    let second: DeviceAgent | undefined;
    let secondSource: RecordingSource | undefined;
    await outage(async () => {
      await sleep(1000);
      assert.ok(first.stats().queue.packets > 0, "packets wait in the queue while the hub is down");
      await first.close();
      const queuedAtClose = first.stats().queue.packets;
      secondSource = new RecordingSource(produced);
      second = agent(id, secondSource);
      await sleep(1000);
      assert.ok(
        second.stats().queue.packets > queuedAtClose,
        "the restarted agent queues on top of the old queue",
      );
    });
    const a = second!;
    await waitFor("the replay", () =>
      a.stats().deliveredPackets > 0 && a.stats().queue.packets < 3 ? true : undefined,
    );
    secondSource!.on = false;
    await drained(a);
    assert.equal(a.stats().provisions, 0, "the restarted agent used the cached assignment, not DPS");
    const stored = await storedTimestamps(s, id);
    assert.equal(new Set(stored).size, stored.length, "no sample twice");
    assert.deepEqual(
      stored,
      [...produced].sort((x, y) => x - y),
      "every sample read from the source arrived, none invented",
    );
  });

  it("drops the oldest packets when the queue bound is reached offline and reports the count", async () => {
    const id = "sf-bound-0001";
    // Provision first, so the bounded agent connects from its cached assignment at once and drops
    // nothing while it waits for DPS.
    const provisioner = agent(id, new RecordingSource(), { source: undefined });
    await waitFor("provisioned", () => (provisioner.status === "connected" ? true : undefined));
    await provisioner.close();
    const source = new RecordingSource();
    const a = agent(id, source, { queue: { maxPackets: 3, synchronous: "NORMAL" } });
    let droppedEvents = 0;
    a.on("dropped", (n) => {
      droppedEvents += n;
    });
    await waitFor("connected", () => (a.status === "connected" ? true : undefined));
    assert.equal(a.stats().queue.droppedSamples, 0);
    await outage(async () => {
      await sleep(1500);
    });
    await waitFor("reconnected", () => (a.status === "connected" ? true : undefined));
    source.on = false;
    await drained(a);
    const dropped = a.stats().queue.droppedSamples;
    assert.ok(dropped > 0, "some samples were dropped");
    assert.equal(droppedEvents, dropped);
    const stored = await storedTimestamps(s, id);
    const produced = [...source.produced].sort((x, y) => x - y);
    assert.equal(new Set(stored).size, stored.length, "no sample twice");
    // What was lost is one contiguous run from the outage, older than everything sent after it. It
    // may be less than the drop count: a packet in flight when the hub went down can have been
    // stored without its PUBACK reaching the agent, and then dropped from the queue.
    const storedSet = new Set(stored);
    const lost = produced.filter((t) => !storedSet.has(t));
    assert.ok(lost.length > 0 && lost.length <= dropped, `${lost.length} lost, ${dropped} dropped`);
    assert.ok(
      stored.every((t) => produced.includes(t)),
      "none invented",
    );
    const firstLost = produced.indexOf(lost[0]!);
    assert.deepEqual(
      lost,
      produced.slice(firstLost, firstLost + lost.length),
      "the oldest packets went, in one run",
    );
    const reported = await waitFor("the drop count in the twin", async () => {
      const r = (await s.api(`/api/devices/${id}/twin`)).body.reported;
      return r?.queue?.droppedSamples === dropped && r.queue.packets === 0 ? r : undefined;
    });
    assert.equal(reported.queue.droppedPackets, a.stats().queue.droppedPackets);
  });
});
