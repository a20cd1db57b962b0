import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, it } from "node:test";
import { alarmEpisodes, quantile, scoreAlarms } from "../../src/analytics/evaluate.js";
import { runEvaluateCommand } from "../../src/analytics/evaluate-cli.js";
import type { AlarmTransition } from "../../src/analytics/types.js";
import type { TruthEvent } from "../../src/sim/index.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse("2026-01-05T00:00:00Z");

/** The six numbers, in the order of `EvaluationSummary` and of the command's JSON line. */
const SUMMARY_KEYS = [
  "slowFaultRecall",
  "slowFaultLeadMet",
  "fastFaultsBeforeTrip",
  "falseWarningsPerPumpQuarter",
  "falseAlarmsPerPumpYear",
  "diagnosisAccuracy",
];

function alarm(
  deviceId: string,
  ts: number,
  kind: "raise" | "clear" = "raise",
  o: { type?: string; severity?: "warning" | "alarm"; code?: string } = {},
): AlarmTransition {
  return {
    deviceId,
    type: o.type ?? "anomaly",
    kind,
    severity: o.severity ?? "warning",
    ts,
    message: "",
    signals: [],
    diagnosis: o.code ? { code: o.code, cause: "", confidence: 1, action: "" } : null,
  };
}

/** Truth events of one fault: onset, detectable, failure (and trip), repair. */
function fault(
  assetId: string,
  faultId: string,
  type: TruthEvent["fault"] & string,
  code: string,
  t: { onset: number; detectable?: number; failure?: number; trip?: number; repair?: number },
): TruthEvent[] {
  const base = { assetId, faultId, fault: type, code };
  const out: TruthEvent[] = [{ ...base, kind: "onset", ts: t.onset }];
  if (t.detectable !== undefined) out.push({ ...base, kind: "detectable", ts: t.detectable });
  if (t.failure !== undefined) out.push({ ...base, kind: "failure", ts: t.failure });
  if (t.trip !== undefined) out.push({ assetId, kind: "trip", reason: "thermal", ts: t.trip });
  if (t.repair !== undefined) out.push({ ...base, kind: "repair", ts: t.repair });
  return out;
}

const PUMPS = [
  { id: "rv", model: "RV100" },
  { id: "screw", model: "SCREW100" },
  { id: "ok", model: "CLAW100" },
];

describe("alarmEpisodes", () => {
  it("merges re-raises less than 1 h after a clear and keeps the highest severity", () => {
    const eps = alarmEpisodes(
      [
        alarm("p", T0),
        alarm("p", T0 + 10 * MIN, "clear"),
        alarm("p", T0 + 50 * MIN, "raise", { severity: "alarm", code: "F7" }),
        alarm("p", T0 + 60 * MIN, "clear"),
        alarm("p", T0 + 3 * HOUR),
        alarm("p", T0 + 3 * HOUR, "raise", { type: "rule:x" }),
      ],
      T0 + DAY,
    );
    assert.equal(eps.length, 3);
    assert.deepEqual(
      eps.map((e) => [e.type, e.start - T0, e.end - T0, e.severity, e.diagnosis?.code ?? null]),
      [
        ["anomaly", 0, 60 * MIN, "alarm", "F7"],
        ["anomaly", 3 * HOUR, DAY, "warning", null],
        ["rule:x", 3 * HOUR, DAY, "warning", null],
      ],
    );
  });
});

describe("scoreAlarms", () => {
  const truth = [
    // slow fault: detectable day 10, failure day 40 (TTF 40 d → grace 4 d), repaired day 42
    ...fault("rv", "mist", "exhaustFilterSaturation", "F1", {
      onset: T0,
      detectable: T0 + 10 * DAY,
      failure: T0 + 40 * DAY,
      repair: T0 + 42 * DAY,
    }),
    // fast fault on the water-cooled screw: F4b, trip 12 min after onset
    ...fault("screw", "water", "coolingFailure", "F4", {
      onset: T0 + 50 * DAY,
      detectable: T0 + 50 * DAY + MIN,
      failure: T0 + 50 * DAY + 12 * MIN,
      trip: T0 + 50 * DAY + 12 * MIN,
      repair: T0 + 50 * DAY + 4 * HOUR,
    }),
    { assetId: "screw", kind: "restart", ts: T0 + 50 * DAY + 4 * HOUR } as TruthEvent,
    // oil ageing that was never detected
    ...fault("rv", "oil", "oilAgeing", "F2", {
      onset: T0 + 60 * DAY,
      detectable: T0 + 62 * DAY,
      failure: T0 + 80 * DAY,
      repair: T0 + 81 * DAY,
    }),
  ];
  const alarms = [
    alarm("rv", T0 + 5 * DAY), // before detectable: inside the fault's span, neither TP nor FP
    alarm("rv", T0 + 5 * DAY + HOUR, "clear"),
    alarm("rv", T0 + 20 * DAY, "raise", { code: "F1" }), // TP, lead 20 d
    alarm("rv", T0 + 43 * DAY, "clear"),
    alarm("screw", T0 + 50 * DAY + 3 * MIN, "raise", { type: "rule:t", code: "F4" }), // TP, 9 min before trip
    alarm("screw", T0 + 50 * DAY + 3 * HOUR, "clear", { type: "rule:t" }),
    alarm("ok", T0 + 30 * DAY, "raise", { type: "offline", severity: "alarm" }), // ignored
    alarm("ok", T0 + 31 * DAY), // false warning
    alarm("ok", T0 + 31 * DAY + 2 * HOUR, "clear"),
    alarm("ok", T0 + 70 * DAY, "raise", { severity: "alarm" }), // false alarm
  ];
  const report = scoreAlarms({ truth, alarms, pumps: PUMPS, startMs: T0, endMs: T0 + 91.32 * DAY });

  it("scores each fault event: window, detection, lead, delay, diagnosis", () => {
    const [f1, f4b, f2] = report.events;
    assert.equal(f1?.key, "F1");
    assert.deepEqual(f1?.window, { start: T0 + 10 * DAY, end: T0 + 44 * DAY });
    assert.equal(f1?.detected, true);
    assert.equal(f1?.leadMs, 20 * DAY);
    assert.equal(f1?.delayMs, 10 * DAY);
    assert.equal(f1?.leadMet, true);
    assert.equal(f1?.diagnosisCorrect, true);
    assert.equal(f4b?.key, "F4b");
    assert.equal(f4b?.leadMs, 9 * MIN);
    assert.equal(f4b?.leadMet, true);
    assert.equal(f4b?.beforeTrip, true);
    assert.equal(f4b?.diagnosisCorrect, true);
    assert.equal(f2?.detected, false);
    assert.equal(f2?.leadMet, false);
    assert.equal(f2?.diagnosisCorrect, null);
  });

  it("counts episodes outside every fault span as false positives, split by severity", () => {
    assert.equal(report.falseWarnings, 1);
    assert.equal(report.falseAlarms, 1);
    assert.deepEqual(
      report.falsePositives.map((e) => e.start - T0),
      [31 * DAY, 70 * DAY],
    );
    assert.ok(Math.abs(report.pumpMonths - 9) < 1e-9);
  });

  it("aggregates per fault type and returns the six-key summary", () => {
    assert.deepEqual(
      report.byType.map((t) => [t.key, t.events, t.detected, t.recall]),
      [
        ["F1", 1, 1, 1],
        ["F2", 1, 0, 0],
        ["F4b", 1, 1, 1],
      ],
    );
    assert.deepEqual(Object.keys(report.summary), SUMMARY_KEYS);
    const s = report.summary;
    assert.equal(s.slowFaultRecall, 0.5);
    assert.equal(s.slowFaultLeadMet, 0.5);
    assert.equal(s.fastFaultsBeforeTrip, 1);
    assert.ok(Math.abs((s.falseWarningsPerPumpQuarter ?? 0) - 1 / 3) < 1e-9);
    assert.ok(Math.abs((s.falseAlarmsPerPumpYear ?? 0) - 4 / 3) < 1e-9);
    assert.equal(s.diagnosisAccuracy, 1);
  });

  it("uses [onset, onset + 30 min] for a leak and skips faults that never became detectable", () => {
    const r = scoreAlarms({
      truth: [
        ...fault("ok", "hose", "leak", "F6", { onset: T0 + DAY, repair: T0 + 2 * DAY }),
        ...fault("ok", "b", "bearingDegradation", "F7", { onset: T0 + 3 * DAY, repair: T0 + 4 * DAY }),
      ],
      alarms: [alarm("ok", T0 + DAY + 20 * MIN, "raise", { code: "F1" })],
      pumps: PUMPS,
      startMs: T0,
      endMs: T0 + 10 * DAY,
    });
    assert.deepEqual(r.events[0]?.window, { start: T0 + DAY, end: T0 + DAY + 30 * MIN });
    assert.equal(r.events[0]?.detected, true);
    assert.equal(r.events[0]?.diagnosisCorrect, false);
    assert.equal(r.events[1]?.window, null);
    assert.equal(r.summary.slowFaultRecall, null);
    assert.equal(r.falsePositives.length, 0);
  });

  it("quantile interpolates linearly", () => {
    assert.equal(quantile([], 0.5), null);
    assert.equal(quantile([3, 1, 2], 0.5), 2);
    assert.ok(Math.abs((quantile([0, 10], 0.1) ?? 0) - 1) < 1e-12);
  });
});

describe("pumpwatch evaluate", () => {
  const dir = mkdtempSync(join(tmpdir(), "pw-evaluate-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function collect(): { stream: PassThrough; text: () => string } {
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (c: Buffer) => {
      text += c.toString("utf8");
    });
    return { stream, text: () => text };
  }

  it("backfills a tiny scenario, prints the table and ends with the JSON line", async () => {
    const file = join(dir, "tiny.json");
    writeFileSync(
      file,
      JSON.stringify({
        fleet: { name: "tiny", start: "2026-01-05T00:00:00Z", seed: 7 },
        companies: [
          {
            id: "c",
            name: "C",
            assets: [
              { id: "ok", model: "CLAW100", duty: { type: "receiver" } },
              {
                id: "hot",
                model: "SCREW100",
                duty: { type: "continuous", pressure: 50 },
                faults: [{ id: "water", type: "coolingFailure", at: "+5d" }],
                maintenance: [{ at: "+124h", action: "coolingRepair" }],
              },
            ],
          },
        ],
      }),
    );
    const out = collect();
    const err = collect();
    const code = await runEvaluateCommand(["--scenario", file, "--days", "10"], out.stream, err.stream);
    assert.equal(code, 0, err.text());
    const lines = out.text().trimEnd().split("\n");
    assert.match(out.text(), /^F4b\s+coolingFailure\s+1\s/m);
    assert.match(out.text(), /samples\/s/);
    const summary = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(summary), SUMMARY_KEYS);
    assert.equal(summary["slowFaultRecall"], null);
    assert.equal(typeof summary["falseWarningsPerPumpQuarter"], "number");
  });

  it("--json-only prints only the JSON line; bad arguments exit 2", async () => {
    const out = collect();
    const err = collect();
    assert.equal(await runEvaluateCommand(["--days", "3"], out.stream, err.stream), 2);
    assert.match(err.text(), /--scenario FILE is required/);
    assert.equal(
      await runEvaluateCommand(["--scenario", join(dir, "missing.json")], out.stream, err.stream),
      2,
    );
    assert.match(err.text(), /cannot read scenario/);
    const ok = collect();
    const file = join(dir, "tiny.json");
    assert.equal(
      await runEvaluateCommand(["--scenario", file, "--days", "1", "--json-only"], ok.stream, err.stream),
      0,
    );
    assert.equal(ok.text().trimEnd().split("\n").length, 1);
  });
});
