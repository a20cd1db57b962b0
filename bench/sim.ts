/**
 * Simulator benchmarks: how fast src/sim generates per-minute history with ground truth (backfill),
 * and how many simulated pumps one process can run live through real device agents (live agents).
 *
 *   node --import tsx bench/sim.ts [--scenario scenarios/demo.json --days 30 --step 60 --max-seconds 60]
 *                                  [--live-levels 500,1000,2000,3000 --live-hold 15 --live-stagger 100
 *                                   --live-stagger-ms 100 | --no-live]
 *
 * A *sample* is one telemetry signal value (one data point, e.g. the oil temperature of one pump
 * at one minute); dropped-out values are not counted, ground-truth values are produced (noise-free
 * signals and hidden states, columnar) but not counted. The run backfills the scenario's fleet for
 * `days` simulated days at `step` seconds on one core, after a short warm-up run so the JIT has
 * compiled the hot loop; it stops early (and says so) after `max-seconds` of wall time.
 *
 * Live agents (bench/live-agents.ts): a pumpwatch child process on 127.0.0.1 and, in this process,
 * N DeviceAgents with their own `simulatePump` source, each sending 1 message/s in real time; N ramps
 * through `live-levels`, each held `live-hold` seconds. `liveAgents` is the largest level at which
 * the delivered rate stayed ≥ 95 % of N/s and this process's event-loop delay p99 below 200 ms.
 *
 * Progress goes to stderr; the last stdout line is the result as JSON with `backfillSamplesPerSec`
 * and `liveAgents` (null with --no-live).
 */
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createFleet } from "../src/sim/fleet.js";
import { loadScenario } from "../src/sim/scenario.js";
import { DEFAULT_LIVE_OPTIONS, type LiveResult, measureLiveAgents } from "./live-agents.js";

const { values: flags } = parseArgs({
  options: {
    scenario: { type: "string", default: fileURLToPath(new URL("../scenarios/demo.json", import.meta.url)) },
    days: { type: "string", default: "30" },
    step: { type: "string", default: "60" },
    "max-seconds": { type: "string", default: "60" },
    "live-levels": { type: "string", default: DEFAULT_LIVE_OPTIONS.levels.join(",") },
    "live-hold": { type: "string", default: String(DEFAULT_LIVE_OPTIONS.holdSec) },
    "live-stagger": { type: "string", default: String(DEFAULT_LIVE_OPTIONS.staggerBatch) },
    "live-stagger-ms": { type: "string", default: String(DEFAULT_LIVE_OPTIONS.staggerMs) },
    "no-live": { type: "boolean", default: false },
  },
  strict: true,
});

const days = Number(flags.days);
const stepMs = Number(flags.step) * 1000;
const maxMs = Number(flags["max-seconds"]) * 1000;
const scenario = loadScenario(flags.scenario);

interface Run {
  samples: number;
  truthValues: number;
  events: number;
  seconds: number;
  simulatedDays: number;
  complete: boolean;
}

/** Backfills `days` from the scenario start; returns counts and wall time of the generation only. */
function run(runDays: number, limitMs: number): Run {
  const fleet = createFleet(scenario, { stepMs });
  const to = fleet.start + runDays * 86_400_000;
  let samples = 0;
  let truthValues = 0;
  let events = 0;
  let reached = fleet.start;
  const t0 = performance.now();
  for (const batch of fleet.backfill({ to, stepMs })) {
    samples += batch.samples;
    truthValues += batch.length * batch.truth.length;
    events += batch.events.length;
    reached = Math.max(reached, batch.ts[batch.length - 1] ?? reached);
    if (performance.now() - t0 > limitMs) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    samples,
    truthValues,
    events,
    seconds,
    simulatedDays: (reached - fleet.start) / 86_400_000,
    complete: reached >= to,
  };
}

run(2, maxMs); // warm-up: same code paths, result discarded
const r = run(days, maxMs);
const assets = scenario.companies.reduce((n, c) => n + c.assets.length, 0);
process.stderr.write(
  `backfilled ${assets} assets × ${r.simulatedDays.toFixed(1)} days at ${stepMs / 1000} s: ` +
    `${r.samples} samples (+${r.truthValues} truth values, ${r.events} events) in ${r.seconds.toFixed(2)} s` +
    `${r.complete ? "" : " (stopped at the time limit)"}\n`,
);

let live: LiveResult | undefined;
if (!flags["no-live"]) {
  live = await measureLiveAgents({
    ...DEFAULT_LIVE_OPTIONS,
    levels: flags["live-levels"].split(",").map(Number),
    holdSec: Number(flags["live-hold"]),
    staggerBatch: Number(flags["live-stagger"]),
    staggerMs: Number(flags["live-stagger-ms"]),
    progress: (msg) => process.stderr.write(`[live] ${msg}\n`),
  });
  process.stderr.write(
    `live agents: ${live.liveAgents} (server connects ${JSON.stringify(live.server.connects)}, ` +
      `violations ${JSON.stringify(live.server.violations)}, agents ${JSON.stringify(live.agents)})\n`,
  );
  for (const p of live.firstProblems) process.stderr.write(`[live] ${p}\n`);
}

const best = live?.levels.find((l) => l.passed && l.agents === live?.liveAgents);
const result = {
  backfillSamplesPerSec: Math.round(r.samples / r.seconds),
  liveAgents: live?.liveAgents ?? null,
  // The highest level tried passed: the capacity is at least liveAgents, maybe more (try higher levels).
  liveAgentsIsLowerBound: live ? live.liveAgents === live.levels.at(-1)?.agents : null,
  // Both processes share the machine's cores; CPU as % of one core over the hold of that level.
  liveAgentCpuPct: best?.agentCpuPct ?? null,
  liveServerCpuPct: best?.serverCpuPct ?? null,
  samples: r.samples,
  seconds: Number(r.seconds.toFixed(3)),
  assets,
  simulatedDays: Number(r.simulatedDays.toFixed(2)),
  stepSeconds: stepMs / 1000,
  complete: r.complete,
  live: live && {
    levels: live.levels,
    server: live.server,
    agents: live.agents,
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
