/**
 * Many agents in one process, as the simulator fleet runs them: 200 agents provision, send, lose
 * their gateway to a restart, and all come back (back-off with full jitter spreads the reconnects)
 * and deliver everything exactly once.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Sample } from "../../src/core/sample.js";
import { DeviceAgent } from "../../src/device/agent.js";
import type { SensorSource } from "../../src/sim/source.js";
import { agentOptions, waitFor } from "../helpers/agent.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const AGENTS = 200;
/** The brief: all back within a minute; the whole test stays under one. */
const RECONNECT_LIMIT_MS = 40_000;
/** Polling 200 agents' state is not free: not too often. */
const POLL_MS = 100;

/** A cheap source that counts what it produced; `on = false` stops it. */
class CountingSource implements SensorSource {
  readonly signals = ["vibration", "running"];
  produced = 0;
  on = true;
  read(ts: number): Sample | undefined {
    if (!this.on) return undefined;
    this.produced++;
    return { ts, values: { vibration: 1.5, running: 1 } };
  }
}

describe("a fleet of agents in one process", () => {
  let s: TestServer;
  let dataDir: string;
  let stateRoot: string;
  const fleet: { agent: DeviceAgent; source: CountingSource; id: string }[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-fleet-data-"));
    stateRoot = await mkdtemp(join(tmpdir(), "pumpwatch-fleet-agent-"));
    s = await startTestServer({ data: dataDir });
  });
  after(async () => {
    await Promise.all(fleet.map((f) => f.agent.close()));
    await s.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(stateRoot, { recursive: true, force: true });
  });

  it(`brings ${AGENTS} agents back within a minute after a gateway restart, losing nothing`, async (t) => {
    const { groupKey } = await s.admin.enrollGroup("fleet");
    const t0 = Date.now();
    for (let i = 0; i < AGENTS; i++) {
      const id = `fleet-${String(i).padStart(4, "0")}`;
      const source = new CountingSource();
      const agent = new DeviceAgent(
        agentOptions(s, {
          id,
          stateRoot,
          groupKey,
          source,
          settings: { sampleIntervalSec: 0.25, sendIntervalSec: 1 },
          backoff: { baseMs: 500, capMs: 8000 },
        }),
      );
      agent.start();
      fleet.push({ agent, source, id });
    }
    const connected = (minConnects: number) =>
      fleet.every((f) => f.agent.status === "connected" && f.agent.stats().connects >= minConnects)
        ? true
        : undefined;
    await waitFor("every agent connected", () => connected(1), 30_000, POLL_MS);
    const provisionedMs = Date.now() - t0;

    const ports = { mqttPort: s.mqttPort, httpsPort: s.httpsPort };
    await s.stop();
    const down = Date.now();
    // Down long enough for every agent to fail a few reconnects and queue a few packets.
    await new Promise((r) => setTimeout(r, 2000));
    s = await startTestServer({ data: dataDir, ...ports });
    await waitFor("every agent reconnected", () => connected(2), RECONNECT_LIMIT_MS, POLL_MS);
    const reconnectMs = Date.now() - down;
    assert.ok(reconnectMs < 60_000);

    for (const f of fleet) f.source.on = false;
    await waitFor(
      "every queue drained",
      () =>
        fleet.every((f) => {
          const st = f.agent.stats();
          return st.buffered === 0 && st.queue.packets === 0 && st.inflight === 0;
        })
          ? true
          : undefined,
      20_000,
      POLL_MS,
    );
    let produced = 0;
    for (const f of fleet) {
      const res = await s.api(`/api/devices/${f.id}/telemetry?limit=100000`);
      assert.equal(res.body.samples.length, f.source.produced, `${f.id}: every sample exactly once`);
      produced += f.source.produced;
    }
    assert.equal(
      fleet.reduce((n, f) => n + f.agent.stats().provisions, 0),
      AGENTS,
      "reconnecting used the cached assignments",
    );
    // Timings for the report, not assertions.
    t.diagnostic(
      `fleet: ${AGENTS} provisioned+connected in ${provisionedMs} ms; reconnected ${reconnectMs} ms after the restart began; ${produced} samples`,
    );
  });
});
