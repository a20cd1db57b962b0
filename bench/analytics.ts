/**
 * Analytics cost: how fast the per-pump analyzer (src/analytics/analyzer.ts — segmentation,
 * residuals, rules, anomaly monitor, sanity, forecasts, KPIs) processes samples, measured against
 * what ingest itself spends per sample in the same process: decoding and validating the packet
 * (`decodeTelemetry`, the baseline).
 *
 *   node --import tsx bench/analytics.ts [--scenario scenarios/demo.json --days 14 --rounds 3 --generic]
 *
 * The scenario's fleet is backfilled at 1-min steps first (not timed). Each round decodes every
 * sample as a one-sample JSON packet (baseline), then runs fresh analyzers over the same samples.
 * A *sample* is one reading of one pump (one timestamp, all its signals). Reported: samples/s of
 * both, `costRatio` = analytics time / decode time per sample, µs per sample, the analyzer state
 * per pump (JSON bytes) and the heap growth per pump. `ingestHeadroom` = analytics samples/s on one
 * core divided by the ingest benchmark's committed rate (`--ingest-rate`, default the figure in
 * docs/benchmarks.md). That is an idle-core figure: in the server the analytics shares one event loop
 * with ingest, which already uses most of a core at that rate (see bench/ingest.ts, which measures
 * the two together). `--generic` analyses every pump without its model (generic rules only), as
 * the ingest benchmark's devices are.
 *
 * Progress goes to stderr; the last stdout line is the result as JSON.
 */
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { PumpAnalyzer } from "../src/analytics/analyzer.js";
import type { Sample } from "../src/core/sample.js";
import { decodeTelemetry } from "../src/ingest/telemetry.js";
import { batchSamples, createFleet } from "../src/sim/fleet.js";
import { loadScenario } from "../src/sim/scenario.js";
import { sourceVersion } from "./source-version.js";

const { values: flags } = parseArgs({
  options: {
    scenario: { type: "string", default: fileURLToPath(new URL("../scenarios/demo.json", import.meta.url)) },
    days: { type: "string", default: "14" },
    rounds: { type: "string", default: "3" },
    "ingest-rate": { type: "string", default: "28280" },
    generic: { type: "boolean", default: false },
  },
  strict: true,
});

const version = sourceVersion();
const days = Number(flags.days);
const rounds = Number(flags.rounds);
if (!Number.isInteger(days) || days < 1 || days > 365) throw new Error("--days: expected 1–365");
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error("--rounds: expected 1–20");
const scenario = loadScenario(flags.scenario);
const fleet = createFleet(scenario);
const models = new Map(
  scenario.companies.flatMap((c) => c.assets.map((a) => [a.id, flags.generic ? null : a.model] as const)),
);

const perPump = new Map<string, Sample[]>();
for (const batch of fleet.backfill({ to: fleet.start + days * 86_400_000, stepMs: 60_000 })) {
  const list = perPump.get(batch.assetId) ?? [];
  for (const s of batchSamples(batch)) list.push(s);
  perPump.set(batch.assetId, list);
}
const total = [...perPump.values()].reduce((n, l) => n + l.length, 0);
process.stderr.write(`${perPump.size} pumps, ${total} samples (${days} days at 1 min)\n`);

const packets = [...perPump.values()].flatMap((l) =>
  l.map((s) => Buffer.from(JSON.stringify({ ts: new Date(s.ts).toISOString(), values: s.values }))),
);

function decodeRound(): number {
  const t = performance.now();
  const opts = { nowMs: fleet.start + (days + 1) * 86_400_000, maxFutureMs: 300_000, maxSamples: 10_000 };
  let ok = 0;
  for (const p of packets) if (decodeTelemetry(p, opts).ok) ok++;
  if (ok !== packets.length) throw new Error(`baseline decoded ${ok} of ${packets.length}`);
  return performance.now() - t;
}

function analyticsRound(): { ms: number; transitions: number; analyzers: PumpAnalyzer[] } {
  const analyzers: PumpAnalyzer[] = [];
  let transitions = 0;
  const t = performance.now();
  for (const [id, samples] of perPump) {
    const a = new PumpAnalyzer({ deviceId: id, model: models.get(id) ?? null });
    for (const s of samples) transitions += a.process(s).length;
    a.drainKpis(Number.POSITIVE_INFINITY);
    analyzers.push(a);
  }
  return { ms: performance.now() - t, transitions, analyzers };
}

let best = { decodeMs: Number.POSITIVE_INFINITY, analyticsMs: Number.POSITIVE_INFINITY, transitions: 0 };
for (let r = 0; r < rounds; r++) {
  const decodeMs = decodeRound();
  const a = analyticsRound();
  process.stderr.write(`round ${r + 1}: decode ${decodeMs.toFixed(0)} ms, analytics ${a.ms.toFixed(0)} ms\n`);
  best = {
    decodeMs: Math.min(best.decodeMs, decodeMs),
    analyticsMs: Math.min(best.analyticsMs, a.ms),
    transitions: a.transitions,
  };
}

// Memory: heap growth when one analyzer per pump is kept, after the data went through them.
globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const kept = analyticsRound().analyzers;
globalThis.gc?.();
const heapAfter = process.memoryUsage().heapUsed;
const stateBytes = kept.reduce((n, a) => n + JSON.stringify(a).length, 0) / kept.length;

const analyticsPerSec = total / (best.analyticsMs / 1000);
const result = {
  pumps: perPump.size,
  samples: total,
  days,
  generic: flags.generic === true,
  decodePerSec: Math.round(total / (best.decodeMs / 1000)),
  analyticsPerSec: Math.round(analyticsPerSec),
  costRatio: Number((best.analyticsMs / best.decodeMs).toFixed(2)),
  analyticsUsPerSample: Number(((best.analyticsMs * 1000) / total).toFixed(2)),
  transitions: best.transitions,
  stateBytesPerPump: Math.round(stateBytes),
  heapBytesPerPump: globalThis.gc ? Math.round((heapAfter - heapBefore) / kept.length) : null,
  ingestRate: Number(flags["ingest-rate"]),
  ingestHeadroom: Number((analyticsPerSec / Number(flags["ingest-rate"])).toFixed(2)),
  ...version,
};
console.log(JSON.stringify(result));
