/**
 * JSON Lines output of simulated runs (docs/simulator.md "Output files"): telemetry in the exact
 * payload shape of docs/telemetry.md, ground truth next to it in the same shape plus hidden
 * states, and the event log — so a scoring harness (pump-domain.md §7) can join them on `ts`.
 *
 *   OUT/manifest.json            fleet, time span, step, assets, truth field list
 *   OUT/telemetry/<asset>.jsonl  {"ts":"…Z","values":{signal: value}}   (lost readings absent)
 *   OUT/truth/<asset>.jsonl      {"ts":"…Z","values":{…noise-free…},"state":{…hidden…}}
 *   OUT/truth/events.jsonl       {"ts":"…Z","assetId":…,"kind":"onset"|…}
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Fleet, SimBatch } from "./fleet.js";
import { N_SIGNALS, N_TRUTH, TRUTH_FIELDS } from "./signals.js";
import type { TruthEvent, TruthSink } from "./truth.js";

/** Rounds truth values for the files (0.1 mPa-level precision is noise anyway); NaN → null. */
function num(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1e4) / 1e4) : "null";
}

function iso(ts: number): string {
  return new Date(ts).toISOString();
}

/** One truth row as a JSON line. */
export function truthLine(ts: number, row: ArrayLike<number>): string {
  let values = "";
  for (let i = 0; i < N_SIGNALS; i++) values += `${i ? "," : ""}"${TRUTH_FIELDS[i]}":${num(row[i]!)}`;
  let state = "";
  for (let i = N_SIGNALS; i < N_TRUTH; i++)
    state += `${i > N_SIGNALS ? "," : ""}"${TRUTH_FIELDS[i]}":${num(row[i]!)}`;
  return `{"ts":"${iso(ts)}","values":{${values}},"state":{${state}}}\n`;
}

/** One event as a JSON line, with the timestamp as ISO-8601. */
export function eventLine(e: TruthEvent): string {
  return `${JSON.stringify({ ...e, ts: iso(e.ts) })}\n`;
}

function telemetryLines(b: SimBatch): string {
  let out = "";
  for (let k = 0; k < b.length; k++) {
    let values = "";
    for (let c = 0; c < b.signals.length; c++) {
      const v = b.telemetry[c]![k]!;
      if (!Number.isNaN(v)) values += `${values ? "," : ""}"${b.signals[c]}":${v}`;
    }
    if (values) out += `{"ts":"${iso(b.ts[k]!)}","values":{${values}}}\n`;
  }
  return out;
}

function truthLines(b: SimBatch): string {
  const row = new Float64Array(N_TRUTH);
  let out = "";
  for (let k = 0; k < b.length; k++) {
    for (let i = 0; i < N_TRUTH; i++) row[i] = b.truth[i]![k]!;
    out += truthLine(b.ts[k]!, row);
  }
  return out;
}

/** Result of {@link writeBackfill}. */
export interface WriteSummary {
  samples: number;
  rows: number;
  events: number;
}

/**
 * Backfills the fleet up to `to` and writes telemetry, truth and events under `outDir`
 * (created if missing; existing files of the same assets are overwritten).
 */
export function writeBackfill(
  fleet: Fleet,
  outDir: string,
  opts: { to: number; stepMs?: number },
): WriteSummary {
  const stepMs = opts.stepMs ?? 60_000;
  mkdirSync(join(outDir, "telemetry"), { recursive: true });
  mkdirSync(join(outDir, "truth"), { recursive: true });
  for (const a of fleet.assets) {
    writeFileSync(join(outDir, "telemetry", `${a.id}.jsonl`), "");
    writeFileSync(join(outDir, "truth", `${a.id}.jsonl`), "");
  }
  const eventsFile = join(outDir, "truth", "events.jsonl");
  writeFileSync(eventsFile, "");
  writeFileSync(
    join(outDir, "manifest.json"),
    `${JSON.stringify(
      {
        fleet: fleet.name,
        start: iso(fleet.start),
        begin: iso(Math.min(...fleet.assets.map((a) => a.time))),
        to: iso(opts.to),
        stepSeconds: stepMs / 1000,
        acceleration: fleet.acceleration,
        assets: fleet.assets.map((a) => ({
          id: a.id,
          companyId: a.companyId,
          model: a.model,
          signals: a.signals,
        })),
        truthFields: { values: TRUTH_FIELDS.slice(0, N_SIGNALS), state: TRUTH_FIELDS.slice(N_SIGNALS) },
      },
      null,
      2,
    )}\n`,
  );
  const summary: WriteSummary = { samples: 0, rows: 0, events: 0 };
  const events: TruthEvent[] = [];
  for (const b of fleet.backfill({ to: opts.to, stepMs })) {
    appendFileSync(join(outDir, "telemetry", `${b.assetId}.jsonl`), telemetryLines(b));
    appendFileSync(join(outDir, "truth", `${b.assetId}.jsonl`), truthLines(b));
    summary.samples += b.samples;
    summary.rows += b.length;
    events.push(...b.events); // rare: kept in memory and written in time order at the end
  }
  events.sort((x, y) => x.ts - y.ts);
  appendFileSync(eventsFile, events.map(eventLine).join(""));
  summary.events = events.length;
  return summary;
}

/**
 * A TruthSink for live runs that appends JSON Lines under `outDir/truth/`. Lines are buffered;
 * call `flush()` periodically and before exit.
 */
export class JsonlTruthSink implements TruthSink {
  private readonly rows = new Map<string, string[]>();
  private events: string[] = [];
  private buffered = 0;

  constructor(private readonly outDir: string) {
    mkdirSync(join(outDir, "truth"), { recursive: true });
  }

  truth(assetId: string, ts: number, row: Float64Array): void {
    let list = this.rows.get(assetId);
    if (!list) {
      list = [];
      this.rows.set(assetId, list);
    }
    list.push(truthLine(ts, row));
    if (++this.buffered >= 4096) this.flush();
  }

  event(event: TruthEvent): void {
    this.events.push(eventLine(event));
  }

  /** Writes buffered lines to disk (synchronously). */
  flush(): void {
    for (const [id, lines] of this.rows) {
      if (lines.length > 0) appendFileSync(join(this.outDir, "truth", `${id}.jsonl`), lines.join(""));
      lines.length = 0;
    }
    if (this.events.length > 0)
      appendFileSync(join(this.outDir, "truth", "events.jsonl"), this.events.join(""));
    this.events = [];
    this.buffered = 0;
  }
}
