/**
 * Live-agent capacity for bench/sim.ts: how many simulated pumps one process can run in live mode,
 * each a real DeviceAgent sending 1 message/s over MQTT/TLS to a real pumpwatch.
 *
 * pumpwatch runs as a child process (test/helpers/child.ts: temporary data folder, 127.0.0.1, ports
 * 0) with one group enrollment created through the operator API. This process then ramps up N
 * agents level by level (agents of earlier levels keep running), each with the group key, an
 * in-memory queue, its own `simulatePump` source, real time and sample and send intervals of 1 s.
 * New agents start in staggered batches, because each one provisions through DPS and then connects
 * to the hub, two TLS handshakes that the server and this process pay for. Once every agent of a
 * level is connected, a short settle time has passed and the packets queued while agents were still
 * connecting have been sent (at most one queued packet per agent on average, waited for at most
 * `maxSettleSec`), the level is held for `holdSec`, so the hold sees steady state. It passes
 * when the agents' delivered (PUBACKed) message rate over the hold is at least `minRateRatio` × N/s
 * and this process's event-loop delay p99 stays below `maxLagP99Ms`. The first failing level ends the
 * ramp; the result is the largest passing level.
 *
 * Every loop is bounded in count and time; traffic goes to 127.0.0.1 only; the agents are closed and
 * the child is killed by pid in a `finally`.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { DeviceAgent } from "../src/device/agent.js";
import { realClock } from "../src/device/clock.js";
import { MemoryQueue } from "../src/device/queue.js";
import { MODEL_NAMES, simulatePump } from "../src/sim/index.js";
import {
  type ChildServer,
  cpuSeconds,
  operatorGet,
  operatorRequest,
  readCa,
  spawnPumpwatch,
} from "../test/helpers/child.js";

export interface LiveOptions {
  /** Agent counts to try, ascending. */
  levels: number[];
  /** Measured time per level, after all agents connected and `settleSec`. */
  holdSec: number;
  /** Wait after the last agent connected before the hold: lets start-up backlogs drain. */
  settleSec: number;
  /** Longest wait, after `settleSec`, for the agents' queues to shrink to one packet per agent. */
  maxSettleSec: number;
  /** Agents started together, every `staggerMs`. */
  staggerBatch: number;
  staggerMs: number;
  /** Longest wait for all agents of a level to be connected; a level that misses it fails. */
  connectTimeoutSec: number;
  /** Pass: delivered messages/s ≥ this × N. */
  minRateRatio: number;
  /** Pass: event-loop delay p99 of this process below this. */
  maxLagP99Ms: number;
  progress(msg: string): void;
}

export const DEFAULT_LIVE_OPTIONS: Omit<LiveOptions, "progress"> = {
  levels: [500, 1000, 2000, 3000],
  holdSec: 15,
  settleSec: 3,
  maxSettleSec: 30,
  staggerBatch: 100,
  staggerMs: 100,
  connectTimeoutSec: 120,
  minRateRatio: 0.95,
  maxLagP99Ms: 200,
};

/** Upper bounds that keep a mistyped option from running away. */
const MAX_AGENTS = 10_000;
const MAX_LEVELS = 20;
const MAX_HOLD_SEC = 300;
/** Longest wait for all agents to close at the end. */
const CLOSE_TIMEOUT_MS = 30_000;
/**
 * Sampling interval of the event-loop delay histograms, here and in the server (prom-client's
 * default). A sample is the time between two timer wake-ups, so an idle loop reads about this
 * much; delays are reported beyond it.
 */
const LAG_RESOLUTION_MS = 10;

export interface LevelResult {
  agents: number;
  passed: boolean;
  /** Why the level failed, if it did. */
  failure?: string | undefined;
  /** From the first new agent's start to all agents connected, s. */
  rampSec: number;
  holdSec: number;
  /** Packets queued in the agents when the hold began (about N in steady state). */
  backlogAtHold: number;
  /** Messages PUBACKed to the agents per second over the hold. */
  deliveredPerSec: number;
  /** deliveredPerSec / N. */
  rateRatio: number;
  /** Samples the server committed per second over the hold (its pumpwatch_samples_stored_total). */
  serverStoredPerSec: number;
  /** Event-loop delay of this (the agents') process over the hold, ms beyond the 10 ms sampling interval. */
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** Event-loop utilisation of this process over the hold (0–1). */
  loopUtilization: number;
  /** CPU time as % of one core over the hold. */
  agentCpuPct: number;
  serverCpuPct: number;
  /** The server's own event-loop delay p99 over the hold (prom-client, reset by each scrape), ms, as above. */
  serverLagP99Ms: number;
  agentRssMb: number;
  serverRssMb: number;
  /** Agents that lost their connection during the hold. */
  disconnectsInHold: number;
  /** Agents connected at the end of the hold. */
  connectedAtEnd: number;
  loadAvg1m: number;
}

export interface LiveResult {
  /** The largest passing level, 0 if none passed. */
  liveAgents: number;
  levels: LevelResult[];
  /** Counters of the server at the end of the ramp (GET /metrics), by label set. */
  server: {
    connects: Record<string, number>;
    violations: Record<string, number>;
    registrations: Record<string, number>;
    packets: Record<string, number>;
  };
  /** What the agents saw over the whole ramp. */
  agents: { started: number; provisions: number; connects: number; disconnects: number; warnings: number };
  /** The first agent disconnect reasons and warnings, for diagnosis. */
  firstProblems: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resident set size of a process in MB, from /proc (Linux). */
function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Every sample of a metric in the Prometheus text format, keyed by its non-empty label values
 * joined with "/" (`{kind="hub",result="ok"}` → `hub/ok`; "" without labels).
 */
function samplesOf(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, "gm");
  for (const m of text.matchAll(re)) {
    const values = [...(m[1] ?? "").matchAll(/="([^"]*)"/g)].map((v) => v[1]).filter((v) => v !== "");
    out[values.join("/")] = Number(m[2]);
  }
  return out;
}

function single(text: string, name: string): number {
  return Object.values(samplesOf(text, name))[0] ?? Number.NaN;
}

interface Target {
  provisioningHost: string;
  idScope: string;
  groupKey: string;
  ca: string;
  stateRoot: string;
}

/** The simulated pumps of this process, each with its own agent, and counters over all of them. */
class BenchFleet {
  readonly agents: DeviceAgent[] = [];
  delivered = 0;
  disconnects = 0;
  warnings = 0;
  readonly firstProblems: string[] = [];
  readonly #t: Target;

  constructor(target: Target) {
    this.#t = target;
  }

  /** Packets queued (or read, not yet queued) in all agents. */
  get backlog(): number {
    let n = 0;
    for (const a of this.agents) {
      const s = a.stats();
      n += s.queue.packets + (s.buffered > 0 ? 1 : 0);
    }
    return n;
  }

  get connected(): number {
    let n = 0;
    for (const a of this.agents) if (a.status === "connected") n++;
    return n;
  }

  /** Starts one more agent with its own simulated pump. */
  add(): void {
    const i = this.agents.length;
    const id = `live-${String(i).padStart(5, "0")}`;
    const source = simulatePump(MODEL_NAMES[i % MODEL_NAMES.length]!, {
      id,
      start: Date.now(),
      stepMs: 1000,
    });
    const agent = new DeviceAgent({
      provisioningHost: this.#t.provisioningHost,
      idScope: this.#t.idScope,
      registrationId: id,
      groupKey: this.#t.groupKey,
      ca: this.#t.ca,
      stateDir: join(this.#t.stateRoot, id),
      source,
      clock: realClock,
      settings: { sampleIntervalSec: 1, sendIntervalSec: 1 },
      queue: new MemoryQueue(),
    });
    agent.on("delivered", () => {
      this.delivered++;
    });
    agent.on("disconnected", (info) => {
      this.disconnects++;
      this.#problem(`${id} disconnected: ${info.reason}`);
    });
    agent.on("warning", (err) => {
      this.warnings++;
      this.#problem(`${id} warning: ${err.message}`);
    });
    this.agents.push(agent);
    agent.start();
  }

  totals(): LiveResult["agents"] {
    let provisions = 0;
    let connects = 0;
    for (const a of this.agents) {
      const s = a.stats();
      provisions += s.provisions;
      connects += s.connects;
    }
    return {
      started: this.agents.length,
      provisions,
      connects,
      disconnects: this.disconnects,
      warnings: this.warnings,
    };
  }

  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.agents.map((a) => a.close())),
      new Promise((r) => {
        timer = setTimeout(r, CLOSE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  #problem(text: string): void {
    if (this.firstProblems.length < 10) this.firstProblems.push(text);
  }
}

function checkOptions(o: LiveOptions): void {
  const ok =
    o.levels.length > 0 &&
    o.levels.length <= MAX_LEVELS &&
    o.levels.every((n, i) => Number.isInteger(n) && n > 0 && n <= MAX_AGENTS && n > (o.levels[i - 1] ?? 0));
  if (!ok) throw new Error(`live levels: 1–${MAX_LEVELS} ascending integers from 1 to ${MAX_AGENTS}`);
  if (!(o.holdSec > 0 && o.holdSec <= MAX_HOLD_SEC)) throw new Error(`hold: 1–${MAX_HOLD_SEC} s`);
  if (!(Number.isInteger(o.staggerBatch) && o.staggerBatch > 0)) throw new Error("stagger batch must be ≥ 1");
  if (!(o.staggerMs >= 0 && o.staggerMs <= 10_000)) throw new Error("stagger interval: 0–10000 ms");
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/** Ramps the agents of one level up to `n`; resolves with the ramp time, or a failure. */
async function ramp(
  fleet: BenchFleet,
  n: number,
  o: LiveOptions,
): Promise<{ rampSec: number; failure?: string }> {
  const t0 = performance.now();
  const deadline = t0 + o.connectTimeoutSec * 1000;
  while (fleet.agents.length < n && performance.now() < deadline) {
    const upTo = Math.min(n, fleet.agents.length + o.staggerBatch);
    while (fleet.agents.length < upTo) fleet.add();
    await sleep(o.staggerMs);
  }
  let connected = fleet.connected;
  let lastReport = performance.now();
  while (connected < n && performance.now() < deadline) {
    await sleep(200);
    connected = fleet.connected;
    if (performance.now() - lastReport > 5000) {
      o.progress(`  ${connected}/${n} connected`);
      lastReport = performance.now();
    }
  }
  const rampSec = (performance.now() - t0) / 1000;
  if (connected < n) {
    return { rampSec, failure: `only ${connected} of ${n} agents connected within ${o.connectTimeoutSec} s` };
  }
  return { rampSec };
}

/** Waits `settleSec`, then until at most one packet per agent is queued (bounded); returns the backlog. */
async function settle(fleet: BenchFleet, n: number, o: LiveOptions): Promise<number> {
  await sleep(o.settleSec * 1000);
  const deadline = performance.now() + o.maxSettleSec * 1000;
  let backlog = fleet.backlog;
  while (backlog > n && performance.now() < deadline) {
    await sleep(500);
    backlog = fleet.backlog;
  }
  return backlog;
}

/** Holds a level for `holdSec` and measures it. */
async function hold(
  fleet: BenchFleet,
  n: number,
  before: { rampSec: number; backlog: number },
  server: ChildServer,
  dataDir: string,
  lag: ReturnType<typeof monitorEventLoopDelay>,
  o: LiveOptions,
): Promise<LevelResult> {
  const m0 = await operatorGet<string>(server, dataDir, "/metrics"); // also resets the server's lag histogram
  const delivered0 = fleet.delivered;
  const disconnects0 = fleet.disconnects;
  const cpu0 = { agent: process.cpuUsage(), server: cpuSeconds(server.pid) };
  const elu0 = performance.eventLoopUtilization();
  lag.reset();
  const t0 = performance.now();
  await sleep(o.holdSec * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const delivered = fleet.delivered - delivered0;
  const cpuAgent = process.cpuUsage(cpu0.agent);
  const cpuServer = cpuSeconds(server.pid) - cpu0.server;
  const elu = performance.eventLoopUtilization(elu0);
  const beyond = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
  const lagP50Ms = beyond(lag.percentile(50));
  const lagP99Ms = beyond(lag.percentile(99));
  const lagMaxMs = beyond(lag.max);
  const connectedAtEnd = fleet.connected;
  const m1 = await operatorGet<string>(server, dataDir, "/metrics");
  const stored = single(m1, "pumpwatch_samples_stored_total") - single(m0, "pumpwatch_samples_stored_total");
  const deliveredPerSec = delivered / seconds;
  const rateRatio = deliveredPerSec / n;
  const failures: string[] = [];
  if (rateRatio < o.minRateRatio)
    failures.push(`delivered ${round(deliveredPerSec)} msg/s < ${o.minRateRatio} × ${n}`);
  if (!(lagP99Ms < o.maxLagP99Ms))
    failures.push(`event-loop delay p99 ${round(lagP99Ms)} ms ≥ ${o.maxLagP99Ms} ms`);
  return {
    agents: n,
    passed: failures.length === 0,
    failure: failures.length > 0 ? failures.join("; ") : undefined,
    rampSec: round(before.rampSec),
    holdSec: round(seconds, 2),
    backlogAtHold: before.backlog,
    deliveredPerSec: round(deliveredPerSec),
    rateRatio: round(rateRatio, 3),
    serverStoredPerSec: round(stored / seconds),
    lagP50Ms: round(lagP50Ms),
    lagP99Ms: round(lagP99Ms),
    lagMaxMs: round(lagMaxMs),
    loopUtilization: round(elu.utilization, 3),
    agentCpuPct: round(((cpuAgent.user + cpuAgent.system) / 1e6 / seconds) * 100),
    serverCpuPct: round((cpuServer / seconds) * 100),
    serverLagP99Ms: round(beyond(single(m1, "pumpwatch_process_nodejs_eventloop_lag_p99_seconds") * 1e9)),
    agentRssMb: round(process.memoryUsage().rss / 2 ** 20, 0),
    serverRssMb: round(rssMb(server.pid), 0),
    disconnectsInHold: fleet.disconnects - disconnects0,
    connectedAtEnd,
    loadAvg1m: round(loadavg()[0] ?? Number.NaN, 2),
  };
}

/** Runs the whole ramp against a fresh pumpwatch child; see the file comment. */
export async function measureLiveAgents(o: LiveOptions): Promise<LiveResult> {
  checkOptions(o);
  const dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-bench-live-"));
  const stateRoot = await mkdtemp(join(tmpdir(), "pumpwatch-bench-agents-"));
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  let server: ChildServer | undefined;
  let fleet: BenchFleet | undefined;
  try {
    server = await spawnPumpwatch(dataDir);
    o.progress(`pumpwatch pid ${server.pid} on mqtts port ${server.mqttPort}; data in ${dataDir}`);
    const enrollment = await operatorRequest<{ idScope: string; groupKey: string }>(
      server,
      dataDir,
      "POST",
      "/api/enrollments/groups",
      { name: "bench-live" },
    );
    fleet = new BenchFleet({
      provisioningHost: `localhost:${server.mqttPort}`,
      idScope: enrollment.idScope,
      groupKey: enrollment.groupKey,
      ca: readCa(dataDir),
      stateRoot,
    });
    lag.enable();
    const levels: LevelResult[] = [];
    for (const n of o.levels) {
      o.progress(
        `level ${n}: starting ${n - fleet.agents.length} agents, ${o.staggerBatch} every ${o.staggerMs} ms`,
      );
      const r = await ramp(fleet, n, o);
      if (r.failure) {
        o.progress(`level ${n}: FAIL (${r.failure})`);
        levels.push(failedRamp(n, r.rampSec, r.failure, fleet));
        break;
      }
      const backlog = await settle(fleet, n, o);
      o.progress(
        `level ${n}: all connected after ${round(r.rampSec)} s; ${backlog} packets queued at the hold`,
      );
      const level = await hold(fleet, n, { rampSec: r.rampSec, backlog }, server, dataDir, lag, o);
      levels.push(level);
      o.progress(
        `level ${n}: ${level.passed ? "pass" : `FAIL (${level.failure})`}: ${level.deliveredPerSec} msg/s ` +
          `(${level.rateRatio} of N), server stored ${level.serverStoredPerSec} samples/s; ` +
          `loop delay p50 ${level.lagP50Ms} p99 ${level.lagP99Ms} max ${level.lagMaxMs} ms, ` +
          `utilisation ${level.loopUtilization}; CPU agents ${level.agentCpuPct} %, ` +
          `server ${level.serverCpuPct} % (server loop p99 ${level.serverLagP99Ms} ms); ` +
          `RSS agents ${level.agentRssMb} MB, server ${level.serverRssMb} MB; ` +
          `${level.disconnectsInHold} disconnects in the hold`,
      );
      if (!level.passed) break;
    }
    const metrics = await operatorGet<string>(server, dataDir, "/metrics");
    const result: LiveResult = {
      liveAgents: Math.max(0, ...levels.filter((l) => l.passed).map((l) => l.agents)),
      levels,
      server: {
        connects: samplesOf(metrics, "pumpwatch_mqtt_connects_total"),
        violations: samplesOf(metrics, "pumpwatch_mqtt_violations_total"),
        registrations: samplesOf(metrics, "pumpwatch_dps_registrations_total"),
        packets: samplesOf(metrics, "pumpwatch_packets_total"),
      },
      agents: fleet.totals(),
      firstProblems: fleet.firstProblems,
    };
    return result;
  } finally {
    lag.disable();
    if (fleet) {
      o.progress(`closing ${fleet.agents.length} agents`);
      await fleet.close();
    }
    if (server) await server.stop("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
    await rm(stateRoot, { recursive: true, force: true });
  }
}

function failedRamp(n: number, rampSec: number, failure: string, fleet: BenchFleet): LevelResult {
  return {
    agents: n,
    passed: false,
    failure,
    rampSec: round(rampSec),
    holdSec: 0,
    backlogAtHold: Number.NaN,
    deliveredPerSec: Number.NaN,
    rateRatio: Number.NaN,
    serverStoredPerSec: Number.NaN,
    lagP50Ms: Number.NaN,
    lagP99Ms: Number.NaN,
    lagMaxMs: Number.NaN,
    loopUtilization: Number.NaN,
    agentCpuPct: Number.NaN,
    serverCpuPct: Number.NaN,
    serverLagP99Ms: Number.NaN,
    agentRssMb: round(process.memoryUsage().rss / 2 ** 20, 0),
    serverRssMb: Number.NaN,
    disconnectsInHold: 0,
    connectedAtEnd: fleet.connected,
    loadAvg1m: round(loadavg()[0] ?? Number.NaN, 2),
  };
}
