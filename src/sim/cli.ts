/**
 * Command line of the simulator: validate a scenario, or backfill it into JSON Lines files.
 *
 *   node --import tsx src/sim/cli.ts SCENARIO [--out DIR] [--days N] [--history-days N]
 *                                              [--step S] [--start ISO] [--seed N] [--check]
 *
 * Exit codes: 0 done, 1 invalid scenario or arguments (the message says what to fix).
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { writeBackfill } from "./files.js";
import { createFleet } from "./fleet.js";
import { loadScenario, ScenarioError } from "./scenario.js";

export const SIM_USAGE = `Usage: node --import tsx src/sim/cli.ts SCENARIO [options]

Validates a simulator scenario (docs/simulator.md) and backfills its fleet into JSON Lines:
OUT/telemetry/<asset>.jsonl, OUT/truth/<asset>.jsonl, OUT/truth/events.jsonl, OUT/manifest.json.

Options:
  --out DIR            output folder (default ./sim-out)
  --days N             simulated days after time zero (default 1)
  --history-days N     also simulate N days before time zero (default 0)
  --step S             sample interval in seconds (default 60)
  --start ISO          time zero instead of fleet.start, e.g. 2026-06-01T06:00:00Z
  --seed N             fleet seed instead of fleet.seed
  --check              only validate and list the assets
  -h, --help           this text
`;

/** Runs the CLI with the given arguments; returns the exit code. Output goes to the writers. */
export function runSimCli(args: string[], out: (s: string) => void, err: (s: string) => void): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (e) {
    err(`${(e as Error).message}\n\n${SIM_USAGE}`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length !== 1) {
    (values.help ? out : err)(SIM_USAGE);
    return values.help ? 0 : 1;
  }
  try {
    const scenario = loadScenario(positionals[0]!);
    const start = values.start === undefined ? undefined : Date.parse(values.start);
    if (start !== undefined && Number.isNaN(start))
      throw new ScenarioError(`--start: not an ISO-8601 time: ${values.start}`);
    const days = Number(values.days);
    const historyDays = Number(values["history-days"]);
    const stepS = Number(values.step);
    if (!(days > 0) || !(historyDays >= 0) || !(stepS > 0)) {
      throw new ScenarioError("--days and --step must be positive numbers, --history-days zero or more");
    }
    const fleet = createFleet(scenario, {
      ...(start === undefined ? {} : { start }),
      ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
      historyMs: historyDays * 86_400_000,
      stepMs: stepS * 1000,
    });
    if (values.check) {
      for (const a of fleet.assets) out(`${a.companyId}\t${a.id}\t${a.model}\t${a.signals.join(",")}\n`);
      return 0;
    }
    const summary = writeBackfill(fleet, values.out, {
      to: fleet.start + days * 86_400_000,
      stepMs: stepS * 1000,
    });
    out(`${JSON.stringify({ out: values.out, assets: fleet.assets.length, ...summary })}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ScenarioError) {
      err(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: "string", default: "./sim-out" },
      days: { type: "string", default: "1" },
      "history-days": { type: "string", default: "0" },
      step: { type: "string", default: "60" },
      start: { type: "string" },
      seed: { type: "string" },
      check: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

// Run when executed directly (not when imported by tests).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runSimCli(
    process.argv.slice(2),
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  );
}
