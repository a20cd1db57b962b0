import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AgentOptions, DeviceAgent } from "../device/agent.js";
import { ScaledClock } from "../device/clock.js";
import { MemoryQueue } from "../device/queue.js";
import {
  batchSamples,
  catchUpStart,
  createFleet,
  type Fleet,
  JsonlTruthSink,
  type Scenario,
  type SimAsset,
} from "../sim/index.js";

/**
 * Runs a simulated fleet through real device agents over the real protocol: each simulated pump
 * drives its own DeviceAgent (DPS, MQTT/TLS, store-and-forward). Used by the demo (`pumpwatch start
 * --demo`) and by `pumpwatch sim live|backfill` against any pumpwatch. The simulator knows nothing
 * of MQTT and the agent nothing of the simulator; this folder joins them.
 */

/** Where the agents provision: a group enrollment of the target pumpwatch. */
export interface FleetTarget {
  provisioningHost: string;
  idScope: string;
  groupKey: string;
  ca?: string | Buffer | undefined;
}

export interface LiveFleetOptions extends FleetTarget {
  scenario: Scenario;
  /** Agent state (queues, cached assignments) goes to `<stateDir>/agents/<asset>`, ground truth to `<stateDir>/truth`. */
  stateDir: string;
  /** Simulated seconds per real second (default: the scenario's acceleration). */
  speed?: number;
  /**
   * Real time until simulated time reaches the wall clock (default 10 min). The run starts that
   * far × speed in the past, because ingest refuses timestamps from the future; then it runs in
   * real time.
   */
  catchUpMs?: number;
  /** Simulated seconds between readings and between packets (defaults 10 and 60). */
  sampleIntervalSec?: number;
  sendIntervalSec?: number;
  /** On-disk queues survive restarts; in-memory ones are lighter for large simulated fleets. */
  durableQueues?: boolean;
  now?: number;
}

export interface FleetEvents {
  provisioned: [asset: SimAsset, deviceId: string];
  warning: [assetId: string, err: Error];
}

/** A live simulated fleet; `close()` stops the agents and flushes the ground truth. */
export class LiveFleet extends EventEmitter<FleetEvents> {
  readonly fleet: Fleet;
  readonly agents = new Map<string, DeviceAgent>();
  readonly truthDir: string;
  readonly #sink: JsonlTruthSink;
  readonly #flush: NodeJS.Timeout;

  constructor(o: LiveFleetOptions) {
    super();
    const now = o.now ?? Date.now();
    this.truthDir = join(o.stateDir, "truth");
    this.#sink = new JsonlTruthSink(o.stateDir);
    const acceleration = o.speed ?? o.scenario.fleet.acceleration;
    const { start, wallStart } = runOrigin(o.stateDir, {
      scenario: o.scenario.fleet.name,
      acceleration,
      wallStart: now,
      start: catchUpStart(now, acceleration, o.catchUpMs ?? 10 * 60_000),
    });
    this.fleet = createFleet(o.scenario, {
      start,
      stepMs: (o.sampleIntervalSec ?? 10) * 1000,
      sink: this.#sink,
    });
    for (const asset of this.fleet.assets) {
      const agent = new DeviceAgent({
        ...agentIdentity(o, this.fleet, asset),
        source: asset,
        clock: new ScaledClock({ speed: acceleration, origin: start, catchUp: true, realStart: wallStart }),
        settings: { sampleIntervalSec: o.sampleIntervalSec ?? 10, sendIntervalSec: o.sendIntervalSec ?? 60 },
        ...(o.durableQueues === false ? { queue: new MemoryQueue() } : {}),
      });
      agent.on("provisioned", (info) => this.emit("provisioned", asset, info.deviceId));
      agent.on("warning", (err) => this.emit("warning", asset.id, err));
      this.agents.set(asset.id, agent);
    }
    this.#flush = setInterval(() => this.#sink.flush(), 5000);
    this.#flush.unref();
  }

  start(): void {
    for (const agent of this.agents.values()) agent.start();
  }

  async close(): Promise<void> {
    clearInterval(this.#flush);
    await Promise.all([...this.agents.values()].map((a) => a.close()));
    this.#sink.flush();
  }
}

interface RunOrigin {
  scenario: string;
  acceleration: number;
  /** Wall time at which simulated time was `start`. */
  wallStart: number;
  start: number;
}

/**
 * The time origin of a live run, kept in `<stateDir>/run.json`: a restarted run continues the same
 * simulated timeline (faults unfold as the scenario says) instead of replaying hours it already sent.
 */
function runOrigin(stateDir: string, fresh: RunOrigin): RunOrigin {
  const file = join(stateDir, "run.json");
  if (existsSync(file)) {
    const kept = JSON.parse(readFileSync(file, "utf8")) as RunOrigin;
    if (kept.scenario === fresh.scenario && kept.acceleration === fresh.acceleration) return kept;
  }
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(fresh)}\n`);
  return fresh;
}

/** What every simulated pump's agent shares: provisioning at `target`, state under `<stateDir>/agents/<asset>`, and the pump's identity in the DPS payload. */
function agentIdentity(
  target: FleetTarget & { stateDir: string },
  fleet: Fleet,
  asset: SimAsset,
): Pick<
  AgentOptions,
  "provisioningHost" | "idScope" | "registrationId" | "groupKey" | "ca" | "stateDir" | "provisioningPayload"
> {
  return {
    provisioningHost: target.provisioningHost,
    idScope: target.idScope,
    registrationId: asset.id,
    groupKey: target.groupKey,
    ca: target.ca,
    stateDir: join(target.stateDir, "agents", asset.id),
    provisioningPayload: {
      simulated: true,
      scenario: fleet.name,
      model: asset.model,
      company: asset.companyId,
    },
  };
}

export interface BackfillFleetOptions extends FleetTarget {
  scenario: Scenario;
  stateDir: string;
  /** Simulated days of history ending now. */
  days: number;
  /** Sample interval of the history, seconds (default 60). */
  stepSec?: number;
  now?: number;
}

/**
 * Sends `days` of per-minute history of every pump through its agent as batches with their
 * original timestamps, writing ground truth next to it. Resolves when every packet was acknowledged.
 */
export async function backfillFleet(
  o: BackfillFleetOptions,
): Promise<{ assets: number; samples: number; values: number }> {
  const now = o.now ?? Date.now();
  const stepMs = (o.stepSec ?? 60) * 1000;
  const sink = new JsonlTruthSink(o.stateDir);
  const fleet = createFleet(o.scenario, { start: now - o.days * 86_400_000, stepMs });
  const agents = new Map<string, DeviceAgent>();
  for (const asset of fleet.assets) {
    const agent = new DeviceAgent({
      ...agentIdentity(o, fleet, asset),
    });
    agents.set(asset.id, agent);
    agent.start();
  }
  let samples = 0;
  let values = 0;
  const pending: Promise<void>[] = [];
  try {
    for (const batch of fleet.backfill({ to: now, stepMs })) {
      for (let k = 0; k < batch.length; k++) sink.truth(batch.assetId, batch.ts[k]!, truthRow(batch, k));
      for (const e of batch.events) sink.event(e);
      const list = batchSamples(batch);
      samples += list.length;
      values += batch.samples;
      pending.push(agents.get(batch.assetId)!.backfill(list));
      // Bound memory: wait for the fleet's current day before generating the next.
      if (pending.length >= agents.size) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
  } finally {
    sink.flush();
    await Promise.all([...agents.values()].map((a) => a.close()));
  }
  return { assets: agents.size, samples, values };
}

function truthRow(batch: { truth: Float64Array[] }, k: number): Float64Array {
  const row = new Float64Array(batch.truth.length);
  for (let c = 0; c < batch.truth.length; c++) row[c] = batch.truth[c]![k]!;
  return row;
}
