import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runDetectCommand } from "../../src/analytics/detect-cli.js";
import { chiSquareQuantile, fitDetector, invert, normalQuantile } from "../../src/analytics/detector.js";
import { rng } from "../helpers/random.js";

/** mulberry32 + Box–Muller: a small seeded normal generator for reproducible synthetic data. */
function gaussian(seed: number): () => number {
  const uniform = rng(seed);
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

const SIGNALS = ["power", "exhaust", "temp"];

/** Three signals with realistic offsets/scales and a correlation between power and temperature. */
function pumpRow(g: () => number): number[] {
  const e1 = g();
  const e2 = g();
  const e3 = g();
  return [2.2 + 0.1 * e1, 1050 + 8 * e2, 70 + 1.5 * (0.6 * e1 + 0.8 * e3)];
}
const SIGMA = [0.1, 8, 1.5];

function training(seed: number, n = 2000): { g: () => number; rows: number[][] } {
  const g = gaussian(seed);
  return { g, rows: Array.from({ length: n }, () => pumpRow(g)) };
}

describe("detector helpers", () => {
  it("normal and chi-square quantiles and the matrix inverse are accurate", () => {
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
    assert.ok(Math.abs(normalQuantile(0.0001) + 3.719016) < 1e-5);
    assert.ok(Math.abs(chiSquareQuantile(0.999, 3) - 16.266) < 0.3);
    const inv = invert([
      [2, 1],
      [1, 3],
    ]);
    assert.ok(Math.abs(inv[0]![0]! - 0.6) < 1e-12 && Math.abs(inv[0]![1]! + 0.2) < 1e-12);
  });
});

describe("anomaly detector (synthetic, seeded)", () => {
  it("flags a 1σ mean shift in one of three signals within a bounded delay and attributes it", () => {
    const delays: number[] = [];
    for (const [k, seed] of [11, 12, 13, 14, 15].entries()) {
      const target = k % 3;
      const { g, rows } = training(seed);
      const det = fitDetector(SIGNALS, rows);
      for (let i = 0; i < 500; i++) det.update(pumpRow(g));
      let delay = -1;
      for (let i = 0; i < 400; i++) {
        const row = pumpRow(g);
        row[target] = row[target]! + SIGMA[target]!;
        const r = det.update(row);
        if (r.anomaly) {
          delay = i + 1;
          const top = Object.entries(r.contributions).sort((a, b) => b[1] - a[1])[0]!;
          assert.equal(top[0], SIGNALS[target], `seed ${seed}: attributed to ${top[0]}`);
          const sum = Object.values(r.contributions).reduce((s, v) => s + v, 0);
          assert.ok(Math.abs(sum - 1) < 1e-9);
          break;
        }
      }
      assert.ok(delay > 0, `seed ${seed}: shift in ${SIGNALS[target]} never flagged`);
      delays.push(delay);
    }
    // Measured over 60 seeds: delay median 18 rows, max 72 (EWMA λ = 0.05, CUSUM k = 0.5, h = 8, 3-of-5 debounce).
    assert.ok(Math.max(...delays) <= 80, `delays ${delays.join(",")}`);
  });

  it("keeps the false-positive rate on stationary noise below 0.5 %", () => {
    let flagged = 0;
    let total = 0;
    for (const seed of [21, 22, 23]) {
      const { g, rows } = training(seed);
      const det = fitDetector(SIGNALS, rows);
      for (let i = 0; i < 20_000; i++) {
        total++;
        if (det.update(pumpRow(g)).anomaly) flagged++;
      }
    }
    assert.ok(flagged / total < 0.005, `false-positive rate ${((100 * flagged) / total).toFixed(3)} %`);
  });

  it("does not flag a single spike (debounce), although the spike exceeds the T² limit", () => {
    const { g, rows } = training(31);
    const det = fitDetector(SIGNALS, rows);
    for (let i = 0; i < 300; i++) det.update(pumpRow(g));
    const spike = pumpRow(g);
    spike[1] = spike[1]! + 12 * SIGMA[1]!;
    const r = det.update(spike);
    assert.ok(r.score > 1, "the spike itself exceeds a limit");
    assert.equal(r.anomaly, false);
    for (let i = 0; i < 100; i++) assert.equal(det.update(pumpRow(g)).anomaly, false, `row ${i} after spike`);
  });

  it("works with a single signal and rejects rows of the wrong width", () => {
    const g = gaussian(41);
    const det = fitDetector(
      ["x"],
      Array.from({ length: 500 }, () => [g()]),
    );
    assert.equal(typeof det.update([0.1]).score, "number");
    assert.throws(() => det.update([1, 2]));
  });
});

describe("pumpwatch detect (runDetectCommand)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pumpwatch-detect-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    return runDetectCommand(
      argv,
      (c) => {
        out += c;
      },
      (c) => {
        err += c;
      },
    ).then((code) => ({ code, out, err }));
  }

  const g = gaussian(51);
  const lines = ["a,timestamp,b"];
  for (let i = 0; i < 120; i++) {
    lines.push(
      `${(1 + 0.1 * g()).toFixed(4)},2024-01-01T00:${String(i % 60).padStart(2, "0")}:00Z#${i},${(5 + g()).toFixed(4)}`,
    );
  }
  const csv = join(dir, "ok.csv");
  writeFileSync(csv, lines.join("\n") + "\n");

  it("writes the exact header and one row per replayed row, with the time copied", async () => {
    const { code, out } = await run(["--csv", csv, "--train-rows", "80"]);
    assert.equal(code, 0);
    const rows = out.trimEnd().split("\n");
    assert.equal(rows[0], "time,score,anomaly");
    assert.equal(rows.length, 1 + 40);
    for (const [i, row] of rows.slice(1).entries()) {
      const [time, score, anomaly] = row.split(",");
      assert.equal(time, `2024-01-01T00:${String((80 + i) % 60).padStart(2, "0")}:00Z#${80 + i}`);
      assert.ok(Number.isFinite(Number(score)));
      assert.ok(anomaly === "0" || anomaly === "1");
    }
  });

  it("honours --time-column and --sep", async () => {
    const semi = join(dir, "semi.csv");
    writeFileSync(semi, ["x;t;y", "1;a;2", "1.1;b;2.2", "0.9;c;1.8", "1.05;d;2.1", "1;e;2"].join("\n"));
    const { code, out } = await run(["--csv", semi, "--train-rows", "3", "--time-column", "t", "--sep", ";"]);
    assert.equal(code, 0);
    assert.deepEqual(
      out
        .trimEnd()
        .split("\n")
        .map((l) => l.split(",")[0]),
      ["time", "d", "e"],
    );
  });

  it("fails clearly (exit 2) for a missing file, a non-numeric value and N larger than the file", async () => {
    const missing = await run(["--csv", join(dir, "nope.csv"), "--train-rows", "10"]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /cannot read file/);

    const bad = join(dir, "bad.csv");
    writeFileSync(bad, ["time,a,b", "t1,1,2", "t2,1,2", "t3,1,oops"].join("\n"));
    const nonNumeric = await run(["--csv", bad, "--train-rows", "2"]);
    assert.equal(nonNumeric.code, 2);
    assert.match(nonNumeric.err, /non-numeric value "oops" at line 4 \(data row 3\), column "b"/);

    const tooMany = await run(["--csv", csv, "--train-rows", "500"]);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.err, /--train-rows 500 is larger than the file's 120 data rows/);

    const usage = await run(["--train-rows", "5"]);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /--csv FILE is required/);
  });
});

describe("NAB machine_temperature_system_failure", () => {
  const dataUrl = new URL("../../../shared/data/nab/machine_temperature_system_failure.csv", import.meta.url);
  const labelsUrl = new URL("../../../shared/data/nab/labels.json", import.meta.url);
  const present = existsSync(fileURLToPath(dataUrl)) && existsSync(fileURLToPath(labelsUrl));

  it("flags the labelled failure windows with few false flags outside them", {
    skip: present ? false : "NAB data not found under ../shared/data/nab (skipped)",
  }, async () => {
    const text = readFileSync(fileURLToPath(dataUrl), "utf8").trim().split("\n").slice(1);
    const nTrain = Math.round(text.length * 0.15);
    let out = "";
    const code = await runDetectCommand(
      ["--csv", fileURLToPath(dataUrl), "--train-rows", String(nTrain)],
      (c) => {
        out += c;
      },
    );
    assert.equal(code, 0);
    const rows = out.trimEnd().split("\n").slice(1);
    assert.equal(rows.length, text.length - nTrain);

    const labels = JSON.parse(readFileSync(fileURLToPath(labelsUrl), "utf8")) as Record<
      string,
      { windows: [string, string][] }
    >;
    const toMs = (s: string) => Date.parse(`${s.slice(0, 19).replace(" ", "T")}Z`);
    const windows = labels["realKnownCause/machine_temperature_system_failure.csv"]!.windows.map(
      ([a, b]) => [toMs(a), toMs(b)] as const,
    );
    const hits = windows.map(() => 0);
    let outside = 0;
    let falseFlags = 0;
    for (const row of rows) {
      const [time, , anomaly] = row.split(",");
      const t = toMs(time!);
      const w = windows.findIndex(([a, b]) => t >= a && t <= b);
      if (w >= 0) hits[w] = hits[w]! + (anomaly === "1" ? 1 : 0);
      else {
        outside++;
        if (anomaly === "1") falseFlags++;
      }
    }
    // Window 0 (planned shutdown) lies inside the first 15 % used for training; windows 1–3 are replayed.
    // Measured: window 1 (34 rows flagged, first 2013-12-16 16:05, before the 17:25 label) and window 3
    // (catastrophic failure, 392 rows, first 2014-02-08 03:45) are flagged; window 2 (2014-01-28, the
    // "hard to detect" one) is missed; 0 of 17 590 rows outside the windows are flagged.
    assert.ok(hits[1]! > 0, `window 1 hits ${hits[1]}`);
    assert.ok(hits[3]! > 0, `window 3 hits ${hits[3]}`);
    assert.ok(falseFlags / outside < 0.01, `false-flag share ${((100 * falseFlags) / outside).toFixed(2)} %`);
  });
});
