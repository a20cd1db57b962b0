/**
 * What the device agent end-to-end tests share (test/e2e/agent-*.test.ts): polling, a recording
 * sensor source, the options of an agent against a test server, and reading back what was stored.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Sample } from "../../src/core/sample.js";
import type { AgentOptions, DeviceAgent } from "../../src/device/agent.js";
import { ConstantSource } from "../../src/device/sources.js";
import type { SensorSource } from "../../src/sim/source.js";
import type { TestServer } from "./server.js";

/** Polls `probe` every `intervalMs` until it returns a defined value; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 50,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Constant values; remembers the timestamp of every sample it produced (in `produced`, which sources
 * may share); `on = false` stops it.
 */
export class RecordingSource implements SensorSource {
  readonly #inner = new ConstantSource();
  readonly signals = this.#inner.signals;
  constructor(readonly produced: number[] = []) {}
  on = true;
  read(ts: number): Sample | undefined {
    if (!this.on) return undefined;
    this.produced.push(ts);
    return this.#inner.read(ts);
  }
}

/** Options of an agent provisioning through test server `s` with a group key; state in `stateRoot/id`. */
export function agentOptions(
  s: TestServer,
  o: Pick<AgentOptions, "groupKey" | "source" | "settings" | "backoff"> & { id: string; stateRoot: string },
): AgentOptions {
  return {
    provisioningHost: `localhost:${s.mqttPort}`,
    idScope: s.idScope,
    registrationId: o.id,
    groupKey: o.groupKey,
    ca: s.ca,
    stateDir: join(o.stateRoot, o.id),
    source: o.source,
    settings: o.settings,
    queue: { synchronous: "NORMAL" },
    backoff: o.backoff,
  };
}

/** Timestamps of a device's samples as the operator API returns them. */
export async function storedTimestamps(s: TestServer, id: string): Promise<number[]> {
  const res = await s.api(`/api/devices/${id}/telemetry?limit=100000`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.samples as { ts: string }[]).map((x) => Date.parse(x.ts));
}

/** Waits until the agent has sent everything it sampled. */
export async function drained(agent: DeviceAgent): Promise<void> {
  await waitFor("the agent to send everything", () => {
    const st = agent.stats();
    return st.buffered === 0 && st.queue.packets === 0 && st.inflight === 0 ? true : undefined;
  });
}
