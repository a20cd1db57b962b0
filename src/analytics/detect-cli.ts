/**
 * `pumpwatch detect --csv FILE --train-rows N [--time-column NAME] [--sep CHAR]` (issue 5 item 11).
 *
 * Fits the production detector (detector.ts) on the first N data rows, replays the remaining rows in
 * order and writes `time,score,anomaly` CSV to `out`, one row per replayed input row. The time column
 * is `--time-column`, else the first column named time/timestamp, else the first column; every other
 * column is a numeric signal. The file is streamed line by line; only the N training rows are held.
 * Exit codes: 0 ok, 2 usage or data error (message on stderr).
 */

import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { parseArgs as parseCliArgs } from "node:util";
import { type Detector, fitDetector } from "./detector.js";

const USAGE =
  "usage: pumpwatch detect --csv FILE --train-rows N [--time-column NAME] [--sep CHAR]\n" +
  "  fits the anomaly detector on the first N rows, replays the rest, writes CSV time,score,anomaly\n";

class DetectError extends Error {}

interface DetectArgs {
  csv: string;
  trainRows: number;
  timeColumn?: string;
  sep: string;
}

function parseArgs(argv: readonly string[]): DetectArgs | "help" {
  const { values: v } = parseCliArgs({
    args: [...argv],
    options: {
      help: { type: "boolean", short: "h" },
      csv: { type: "string" },
      "train-rows": { type: "string" },
      "time-column": { type: "string" },
      sep: { type: "string" },
    },
  });
  if (v.help) return "help";
  const rows = v["train-rows"];
  const trainRows = Number(rows);
  if (rows !== undefined && (!/^\d+$/.test(rows) || !Number.isSafeInteger(trainRows) || trainRows < 2)) {
    throw new DetectError(`--train-rows must be an integer ≥ 2, got "${rows}"`);
  }
  const rawSep = v.sep ?? ",";
  const sep = rawSep === "\\t" || rawSep === "tab" ? "\t" : rawSep;
  if (sep.length !== 1) throw new DetectError(`--sep must be a single character, got "${rawSep}"`);
  if (v.csv === undefined) throw new DetectError("--csv FILE is required");
  if (rows === undefined) throw new DetectError("--train-rows N is required");
  const timeColumn = v["time-column"];
  return timeColumn === undefined
    ? { csv: v.csv, trainRows, sep }
    : { csv: v.csv, trainRows, timeColumn, sep };
}

function splitLine(line: string, sep: string): string[] {
  return line.split(sep).map((c) => {
    const t = c.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
  });
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function formatScore(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : "0";
}

export async function runDetectCommand(
  argv: string[],
  out: (chunk: string) => void,
  err: (chunk: string) => void = (chunk) => {
    process.stderr.write(chunk);
  },
): Promise<number> {
  let args: DetectArgs | "help";
  try {
    args = parseArgs(argv);
  } catch (e) {
    err(`pumpwatch detect: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    out(USAGE);
    return 0;
  }
  try {
    await access(args.csv);
  } catch {
    err(`pumpwatch detect: cannot read file "${args.csv}"\n`);
    return 2;
  }
  try {
    await replay(args, out);
    return 0;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof DetectError || typeof code === "string") {
      err(`pumpwatch detect: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

async function replay(args: DetectArgs, out: (chunk: string) => void): Promise<void> {
  const rl = createInterface({
    input: createReadStream(args.csv, { encoding: "utf8" }),
    crlfDelay: Infinity,
  });
  let header: string[] | undefined;
  let timeIdx = 0;
  let signalIdx: number[] = [];
  let signalNames: string[] = [];
  const training: number[][] = [];
  let detector: Detector | undefined;
  let lineNo = 0;
  let dataRow = 0;
  let buffer = "";
  const flush = (force: boolean) => {
    if (buffer.length > 0 && (force || buffer.length > 64 * 1024)) {
      out(buffer);
      buffer = "";
    }
  };

  try {
    for await (const rawLine of rl) {
      lineNo++;
      const line = lineNo === 1 ? rawLine.replace(/^\uFEFF/, "") : rawLine;
      if (line.trim() === "") continue;
      const cells = splitLine(line, args.sep);
      if (header === undefined) {
        header = cells;
        if (args.timeColumn !== undefined) {
          timeIdx = header.indexOf(args.timeColumn);
          if (timeIdx < 0) {
            throw new DetectError(
              `time column "${args.timeColumn}" not found in header: ${header.join(", ")}`,
            );
          }
        } else {
          const named = header.findIndex((h) => /^(time|timestamp)$/i.test(h));
          timeIdx = Math.max(named, 0);
        }
        signalIdx = header.map((_, i) => i).filter((i) => i !== timeIdx);
        signalNames = signalIdx.map((i) => header![i]!);
        if (signalIdx.length === 0) throw new DetectError("no signal columns besides the time column");
        continue;
      }
      dataRow++;
      if (cells.length !== header.length) {
        throw new DetectError(
          `line ${lineNo} (data row ${dataRow}) has ${cells.length} fields, expected ${header.length}`,
        );
      }
      const values = signalIdx.map((i) => {
        const cell = cells[i]!;
        const v = cell === "" ? Number.NaN : Number(cell);
        if (!Number.isFinite(v)) {
          throw new DetectError(
            `non-numeric value "${cell}" at line ${lineNo} (data row ${dataRow}), column "${header![i]}"`,
          );
        }
        return v;
      });
      if (detector === undefined) {
        training.push(values);
        if (training.length === args.trainRows) {
          detector = fitDetector(signalNames, training);
          training.length = 0;
          out("time,score,anomaly\n");
        }
        continue;
      }
      const r = detector.update(values);
      buffer += `${csvField(cells[timeIdx]!)},${formatScore(r.score)},${r.anomaly ? 1 : 0}\n`;
      flush(false);
    }
  } finally {
    rl.close();
  }
  if (header === undefined) throw new DetectError(`file "${args.csv}" is empty`);
  if (detector === undefined) {
    throw new DetectError(`--train-rows ${args.trainRows} is larger than the file's ${dataRow} data rows`);
  }
  flush(true);
}
