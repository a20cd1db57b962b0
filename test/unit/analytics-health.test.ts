import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fleetHealth, type PumpHealthInput, pumpHealth } from "../../src/analytics/health.js";
import type { Forecast, HealthReport } from "../../src/analytics/types.js";

const NOW = Date.UTC(2026, 10, 27, 10, 0, 0);
const MIN = 60_000;

function input(over: Partial<PumpHealthInput> = {}): PumpHealthInput {
  return {
    now: NOW,
    lastDataTs: NOW - MIN,
    offlineAfterMs: 15 * MIN,
    activeAlarms: [],
    forecasts: [forecast("oil", "ok"), forecast("service", "ok")],
    residualZ: { oilTemperature: 0.4, vibration: -0.8, power: 1.1 },
    baselineReady: true,
    anomalyScore: 0.3,
    ...over,
  };
}

function forecast(
  id: Forecast["id"],
  status: Forecast["status"],
  severity: Forecast["severity"] = null,
): Forecast {
  return {
    id,
    label: id,
    status,
    indicator: null,
    threshold: 1,
    unit: "",
    p10: null,
    p50: null,
    p90: null,
    recommendation: `${id} ${status}`,
    severity,
    asOf: NOW,
  };
}

const statuses = (r: HealthReport): Record<string, string> =>
  Object.fromEntries(r.checks.map((c) => [c.id, c.status]));

describe("pumpHealth", () => {
  it("reports eight named checks, all passing for a healthy pump, score 100", () => {
    const r = pumpHealth(input());
    assert.deepEqual(
      r.checks.map((c) => c.label),
      [
        "Data connection",
        "Temperatures",
        "Exhaust pressure / filter",
        "Oil",
        "Bearings / vibration",
        "Power & current",
        "Operating pattern",
        "Service due",
      ],
    );
    assert.ok(r.checks.every((c) => c.status === "pass" && c.detail.endsWith(".")));
    assert.equal(r.score, 100);
    assert.equal(r.checks[0]!.detail, "Last data 1 min ago.");
  });

  it("returns a null score when no check has data", () => {
    const r = pumpHealth(
      input({ lastDataTs: null, forecasts: [], residualZ: null, baselineReady: false, anomalyScore: null }),
    );
    assert.equal(r.score, null);
    assert.ok(r.checks.every((c) => c.status === "no-data"));
    assert.equal(
      r.checks.find((c) => c.id === "pattern")!.detail,
      "Still learning this pump's normal behaviour.",
    );
  });

  it("fails the data connection when the box is silent and caps the score", () => {
    const r = pumpHealth(input({ lastDataTs: NOW - 200 * MIN }));
    const c = r.checks[0]!;
    assert.equal(c.status, "fail");
    assert.equal(c.detail, "No data for 3 h 20 min (offline after 15 min).");
    assert.equal(r.score, 40);
  });

  it("routes alarms to the check of their signal or forecast", () => {
    const r = pumpHealth(
      input({
        activeAlarms: [
          { type: "rule:oilTemperatureRise", severity: "warning" },
          { type: "rule:exhaustPressureHigh", severity: "warning" },
          { type: "forecast:oil", severity: "alarm" },
          { type: "sensor:vibration", severity: "warning" },
          { type: "rule:powerHigh", severity: "warning" },
          { type: "anomaly", severity: "warning" },
          { type: "forecast:service", severity: "warning" },
        ],
      }),
    );
    assert.deepEqual(statuses(r), {
      connection: "pass",
      temperatures: "warn",
      exhaust: "warn",
      oil: "fail",
      bearings: "warn",
      power: "warn",
      pattern: "warn",
      service: "warn",
    });
    assert.equal(r.checks[1]!.detail, "Warning active: oil temperature rise.");
    assert.equal(r.checks[4]!.detail, "Warning active: vibration sensor fault.");
    // 100 − 15·(1 + 0.7 + 1 + 1 + 0.5 + 0.5) − 40·0.7 = 1.5 → 2
    assert.equal(r.score, 2);
  });

  it("caps the score at 40 when a critical check fails", () => {
    const r = pumpHealth(input({ activeAlarms: [{ type: "rule:vibrationHigh", severity: "alarm" }] }));
    assert.equal(statuses(r)["bearings"], "fail");
    assert.equal(r.score, 40);
    const filter = pumpHealth(
      input({ activeAlarms: [{ type: "rule:exhaustPressureHigh", severity: "alarm" }] }),
    );
    assert.equal(filter.score, 72); // 100 − 40·0.7, not critical
  });

  it("uses forecast status and severity, and residual z-scores", () => {
    const r = pumpHealth(
      input({
        forecasts: [
          forecast("exhaustFilter", "due"),
          forecast("oil", "degrading", "alarm"),
          forecast("bearing", "insufficient-data"),
          forecast("service", "overdue"),
        ],
        residualZ: { oilTemperature: 3.4, vibration: 0.2 },
      }),
    );
    const s = statuses(r);
    assert.equal(s["exhaust"], "warn");
    assert.equal(s["oil"], "fail");
    assert.equal(s["bearings"], "pass");
    assert.equal(s["service"], "fail");
    assert.equal(s["temperatures"], "warn");
    assert.equal(r.checks[1]!.detail, "Oil temperature deviates from its learned normal (z = 3.4).");
    assert.equal(r.checks[2]!.detail, "ExhaustFilter due.");
  });

  it("warns on the operating pattern when the anomaly score exceeds its limit", () => {
    const r = pumpHealth(input({ anomalyScore: 1.7 }));
    assert.equal(statuses(r)["pattern"], "warn");
    assert.equal(r.score, 93); // 100 − 15·0.5 = 92.5 → 93
  });

  it("is deterministic regardless of alarm order", () => {
    const alarms = [
      { type: "rule:motorCurrentHigh", severity: "warning" as const },
      { type: "rule:powerHigh", severity: "warning" as const },
    ];
    assert.deepEqual(
      pumpHealth(input({ activeAlarms: alarms })),
      pumpHealth(input({ activeAlarms: [...alarms].reverse() })),
    );
  });
});

describe("fleetHealth", () => {
  const report = (score: number | null, status: "pass" | "warn" | "fail" | "no-data"): HealthReport => ({
    score,
    checks: [{ id: "x", label: "X", status, detail: "" }],
  });

  it("counts pumps by their worst check and lets one failing pump show in the score", () => {
    const reports = [
      ...Array.from({ length: 9 }, (_, i) => ({ deviceId: `ok-${i}`, report: report(100, "pass") })),
      { deviceId: "bad", report: report(10, "fail") },
      { deviceId: "meh", report: report(85, "warn") },
      { deviceId: "new", report: report(null, "no-data") },
    ];
    const f = fleetHealth(reports);
    assert.equal(f.pumps, 12);
    assert.equal(f.ok, 9);
    assert.equal(f.warning, 1);
    assert.equal(f.alarm, 1);
    assert.equal(f.noData, 1);
    assert.equal(f.score, 40); // mean 90.5, capped at worst 10 + 30
    assert.deepEqual(
      f.worst.map((w) => w.deviceId),
      ["bad", "meh", "ok-0", "ok-1", "ok-2"],
    );
  });

  it("is the plain mean when no pump is far below it, and null without scores", () => {
    assert.equal(
      fleetHealth([
        { deviceId: "a", report: report(90, "warn") },
        { deviceId: "b", report: report(100, "pass") },
      ]).score,
      95,
    );
    const empty = fleetHealth([{ deviceId: "a", report: report(null, "no-data") }]);
    assert.equal(empty.score, null);
    assert.deepEqual(empty.worst, []);
  });
});
