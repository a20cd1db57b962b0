/**
 * `pumpwatch evaluate --scenario FILE [--days N] [--json-only]` (issue 12, docs/analytics-quality.md).
 *
 * Backfills a simulator scenario at 1-minute steps, chunk by chunk (one day per asset at a time, so
 * memory stays flat), feeds each pump's samples in time order into its own analyzer together with
 * the maintenance the simulator carried out (logged as a technician would), collects the alarm
 * transitions and scores them against the ground truth (evaluate.ts, pump-domain.md §7). Prints a
 * table per fault type and ends with one JSON line holding the six numbers.
 * Exit codes: 0 done, 2 usage or scenario error (message on stderr).
 */
import type { Writable } from "node:stream";
import { setImmediate as nextTick } from "node:timers/promises";
import { parseArgs as parseCliArgs } from "node:util";
import type { Sample } from "../core/sample.js";
import {
  batchSampleAt,
  createFleet,
  loadScenario,
  type MaintenanceAction,
  type ModelName,
  ScenarioError,
  SIGNALS,
  type SimBatch,
  type TruthEvent,
} from "../sim/index.js";
import { PumpAnalyzer } from "./analyzer.js";
import {
  type EvaluationReport,
  type EvaluationSummary,
  type FaultTypeScore,
  type PumpInfo,
  scoreAlarms,
} from "./evaluate.js";
import type { AlarmTransition } from "./types.js";

const USAGE =
  "usage: pumpwatch evaluate --scenario FILE [--days N] [--json-only]\n" +
  "  backfills the scenario (1-min steps, N days from fleet.start, default 182) through the analytics,\n" +
  "  scores the alarms against the simulator's ground truth and ends with one JSON line\n";

const DAY = 86_400_000;
const STEP_MS = 60_000;
const RUNNING = SIGNALS.indexOf("running");

/** What the harness needs of a per-pump analyzer (src/analytics/analyzer.ts `PumpAnalyzer`). */
export interface AlarmAnalyzer {
  process(sample: Sample): readonly AlarmTransition[];
  maintenance(action: MaintenanceAction, ts: number): readonly AlarmTransition[];
}

export type AnalyzerFactory = (options: { deviceId: string; model: ModelName }) => AlarmAnalyzer;

/** The analyzer scored by `pumpwatch evaluate`: the production one. */
const DEFAULT_ANALYZER: AnalyzerFactory = (o) => new PumpAnalyzer(o);

class EvaluateError extends Error {}

interface EvaluateArgs {
  scenario: string;
  days: number;
  jsonOnly: boolean;
}

function parseArgs(argv: readonly string[]): EvaluateArgs | "help" {
  const { values: v } = parseCliArgs({
    args: [...argv],
    options: {
      help: { type: "boolean", short: "h" },
      "json-only": { type: "boolean" },
      scenario: { type: "string" },
      days: { type: "string" },
    },
  });
  if (v.help) return "help";
  const days = v.days === undefined ? 182 : Number(v.days);
  if (!(days > 0) || !Number.isFinite(days))
    throw new EvaluateError(`--days must be a positive number, got "${v.days}"`);
  if (v.scenario === undefined) throw new EvaluateError("--scenario FILE is required");
  return { scenario: v.scenario, days, jsonOnly: v["json-only"] ?? false };
}

/** Runs `pumpwatch evaluate`; resolves to the exit code. `createAnalyzer` is for tests. */
export async function runEvaluateCommand(
  args: string[],
  out: Writable,
  err: Writable,
  createAnalyzer: AnalyzerFactory = DEFAULT_ANALYZER,
): Promise<number> {
  let parsed: EvaluateArgs | "help";
  try {
    parsed = parseArgs(args);
  } catch (e) {
    err.write(`pumpwatch evaluate: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed === "help") {
    out.write(USAGE);
    return 0;
  }
  let run: Replay;
  try {
    run = await replay(parsed, createAnalyzer);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    err.write(`pumpwatch evaluate: ${e.message}\n`);
    return 2;
  }
  const report = scoreAlarms(run);
  if (!parsed.jsonOnly) out.write(formatReport(report, run));
  out.write(`${JSON.stringify(roundSummary(report.summary))}\n`);
  return 0;
}

/** Everything a replay of the scenario produced. */
interface Replay {
  truth: TruthEvent[];
  alarms: AlarmTransition[];
  pumps: PumpInfo[];
  startMs: number;
  endMs: number;
  samples: number;
  seconds: number;
}

/** Backfills the scenario and runs every pump's analyzer over its samples and maintenance log. */
async function replay(args: EvaluateArgs, createAnalyzer: AnalyzerFactory): Promise<Replay> {
  const scenario = loadScenario(args.scenario);
  const fleet = createFleet(scenario, { stepMs: STEP_MS });
  const startMs = fleet.start;
  const endMs = startMs + Math.floor((args.days * DAY) / STEP_MS) * STEP_MS;
  const pumps = new Map<string, { info: PumpInfo & { runningHours: number }; analyzer: AlarmAnalyzer }>();
  for (const a of fleet.assets) {
    const info = { id: a.id, model: a.model, runningHours: 0 };
    pumps.set(a.id, { info, analyzer: createAnalyzer({ deviceId: a.id, model: a.model }) });
  }
  const truth: TruthEvent[] = [];
  const alarms: AlarmTransition[] = [];
  let samples = 0;
  const began = performance.now();
  for (const batch of fleet.backfill({ to: endMs, stepMs: STEP_MS })) {
    const pump = pumps.get(batch.assetId)!;
    truth.push(...batch.events);
    samples += batch.samples;
    pump.info.runningHours += runningHours(batch);
    alarms.push(...analyseBatch(batch, pump.analyzer));
    await nextTick(); // one asset-day per turn: stays responsive to signals
  }
  const seconds = (performance.now() - began) / 1000;
  return { truth, alarms, pumps: [...pumps.values()].map((p) => p.info), startMs, endMs, samples, seconds };
}

/**
 * Feeds one batch to the pump's analyzer in time order. A maintenance event stamped at the start of
 * a step goes in before the sample that ends the step.
 */
function analyseBatch(batch: SimBatch, analyzer: AlarmAnalyzer): AlarmTransition[] {
  const maintenance = batch.events.filter((e) => e.kind === "maintenance" && e.action !== undefined);
  const out: AlarmTransition[] = [];
  let m = 0;
  for (let k = 0; k < batch.length; k++) {
    const ts = batch.ts[k]!;
    for (; m < maintenance.length && maintenance[m]!.ts < ts; m++) {
      out.push(...analyzer.maintenance(maintenance[m]!.action!, maintenance[m]!.ts));
    }
    const sample = batchSampleAt(batch, k);
    if (sample) out.push(...analyzer.process(sample));
  }
  for (; m < maintenance.length; m++)
    out.push(...analyzer.maintenance(maintenance[m]!.action!, maintenance[m]!.ts));
  return out;
}

/** Running hours of a batch, from the noise-free running fraction. */
function runningHours(batch: SimBatch): number {
  const running = batch.truth[RUNNING]!;
  let sum = 0;
  for (let k = 0; k < batch.length; k++) sum += running[k]!;
  return (sum * batch.stepMs) / 3_600_000;
}

/** The summary with shares and rates rounded to 4 decimals, keys in the order. */
function roundSummary(s: EvaluationSummary): EvaluationSummary {
  const r = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);
  return {
    slowFaultRecall: r(s.slowFaultRecall),
    slowFaultLeadMet: r(s.slowFaultLeadMet),
    fastFaultsBeforeTrip: r(s.fastFaultsBeforeTrip),
    falseWarningsPerPumpQuarter: r(s.falseWarningsPerPumpQuarter),
    falseAlarmsPerPumpYear: r(s.falseAlarmsPerPumpYear),
    diagnosisAccuracy: r(s.diagnosisAccuracy),
  };
}

const COLUMNS = [
  "fault",
  "type",
  "events",
  "recall",
  "lead med",
  "lead P10",
  "target",
  "lead met",
  "delay med",
  "diagnosis",
];

/** Human-readable report: one row per fault type, then false positives and throughput. */
function formatReport(report: EvaluationReport, run: Replay): string {
  const rows = report.byType.map(typeRow);
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    `${cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd()}\n`;
  const days = (run.endMs - run.startMs) / DAY;
  let text = `evaluation: ${run.pumps.length} pumps × ${days.toFixed(1)} days, ${report.episodes} alarm episodes\n\n`;
  text += line(COLUMNS) + rows.map(line).join("");
  text += `\nfalse warnings: ${report.falseWarnings} (${fmtRate(report.falseWarningsPerPumpMonth, 3)} per pump-quarter)\n`;
  text += `false alarms:   ${report.falseAlarms} (${fmtRate(report.falseAlarmsPerPumpMonth, 12)} per pump-year)\n`;
  if (report.falsePositivesPer1000RunningHours !== null) {
    text += `false positives per 1000 running hours: ${report.falsePositivesPer1000RunningHours.toFixed(3)}\n`;
  }
  text += falsePositivesByType(report);
  text += shortfalls(report, run.startMs);
  const rate = run.seconds > 0 ? Math.round(run.samples / run.seconds) : 0;
  text += `throughput: ${run.samples} samples in ${run.seconds.toFixed(1)} s = ${rate} samples/s (simulation + analytics)\n`;
  return text;
}

/** Events missed or warned later than their target, with the pump: where to look first. */
function shortfalls(report: EvaluationReport, startMs: number): string {
  const day = (t: number | null) => (t === null ? "–" : `day ${((t - startMs) / DAY).toFixed(1)}`);
  return report.events
    .filter((e) => e.window !== null && (!e.detected || e.leadMet === false))
    .map((e) =>
      e.detected
        ? `  late:   ${e.key} ${e.assetId}: lead ${fmtDuration(e.leadMs)} (failure ${day(e.failure)})\n`
        : `  missed: ${e.key} ${e.assetId}: detectable ${day(e.detectable)}, failure ${day(e.failure)}\n`,
    )
    .join("");
}

/** False-positive episodes per alarm type (warnings/alarms) and the pumps they came from: what to tune. */
function falsePositivesByType(report: EvaluationReport): string {
  const byType = new Map<string, { warnings: number; alarms: number; pumps: Set<string> }>();
  for (const e of report.falsePositives) {
    const t = byType.get(e.type) ?? { warnings: 0, alarms: 0, pumps: new Set<string>() };
    if (e.severity === "alarm") t.alarms++;
    else t.warnings++;
    t.pumps.add(e.deviceId);
    byType.set(e.type, t);
  }
  const rows = [...byType].sort((a, b) => b[1].warnings + b[1].alarms - (a[1].warnings + a[1].alarms));
  return rows
    .map(
      ([type, t]) =>
        `  ${type}: ${t.warnings} warnings, ${t.alarms} alarms on ${[...t.pumps].sort().join(", ")}\n`,
    )
    .join("");
}

function typeRow(t: FaultTypeScore): string[] {
  return [
    t.key,
    t.fault,
    String(t.events),
    t.scorable === 0 ? "–" : `${t.detected}/${t.scorable} ${fmtShare(t.recall)}`,
    fmtDuration(t.leadMedianMs),
    fmtDuration(t.leadP10Ms),
    fmtDuration(t.leadTargetMs),
    fmtShare(t.leadMet),
    fmtDuration(t.delayMedianMs),
    fmtShare(t.diagnosisAccuracy),
  ];
}

function fmtShare(x: number | null): string {
  return x === null ? "–" : `${Math.round(x * 100)} %`;
}

function fmtRate(perMonth: number | null, months: number): string {
  return perMonth === null ? "–" : (perMonth * months).toFixed(2);
}

/** "–", "45 s", "12 min", "5.5 h", "16.2 d"; negative durations keep their sign. */
function fmtDuration(ms: number | null): string {
  if (ms === null) return "–";
  const a = Math.abs(ms);
  const sign = ms < 0 ? "-" : "";
  if (a < 120_000) return `${sign}${Math.round(a / 1000)} s`;
  if (a < 2 * 3_600_000) return `${sign}${Math.round(a / 60_000)} min`;
  if (a < 2 * DAY) return `${sign}${(a / 3_600_000).toFixed(1)} h`;
  return `${sign}${(a / DAY).toFixed(1)} d`;
}
