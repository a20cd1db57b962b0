import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PumpAnalyzer } from "../../src/analytics/analyzer.js";
import type { AlarmTransition } from "../../src/analytics/types.js";
import { batchSamples, createFleet, parseScenario } from "../../src/sim/index.js";
import type { TruthEvent } from "../../src/sim/truth.js";

const DAY = 86_400_000;

/** Runs one simulated pump through a fresh analyzer; maintenance from the scenario is logged. */
function run(asset: Record<string, unknown>, days: number, split?: number) {
  const fleet = createFleet(
    parseScenario({
      fleet: { name: "t", start: "2026-03-02T00:00:00Z", seed: 11 },
      companies: [{ id: "c", name: "C", assets: [{ id: "p", ...asset }] }],
    }),
  );
  let a = new PumpAnalyzer({ deviceId: "p", model: String(asset["model"]) });
  const transitions: AlarmTransition[] = [];
  const truth: TruthEvent[] = [];
  for (const b of fleet.backfill({ to: fleet.start + days * DAY, stepMs: 60_000 })) {
    for (const e of b.events) {
      truth.push(e);
      if (e.kind === "maintenance" && e.action) transitions.push(...a.maintenance(e.action, e.ts));
    }
    for (const s of batchSamples(b)) {
      if (split !== undefined && s.ts >= fleet.start + split * DAY && a.lastTs < fleet.start + split * DAY) {
        a = PumpAnalyzer.fromJSON(JSON.parse(JSON.stringify(a)));
      }
      transitions.push(...a.process(s));
    }
  }
  return { a, transitions, truth, start: fleet.start };
}

describe("PumpAnalyzer", () => {
  const cooling = {
    model: "SCREW100",
    duty: { type: "continuous", pressure: 50 },
    faults: [{ type: "coolingFailure", at: "+3d" }],
    maintenance: [{ at: "+78h", action: "coolingRepair" }],
  };

  it("warns and alarms on cooling loss before the pump's own trip, then reports the trip until it runs again", () => {
    const { transitions, truth, a } = run(cooling, 4);
    const trip = truth.find((e) => e.kind === "trip");
    assert.ok(trip, "the simulated pump trips");
    const temp = transitions.filter((t) => t.type === "rule:oilTemperatureHigh" && t.kind === "raise");
    const warning = temp.find((t) => t.severity === "warning");
    const alarm = temp.find((t) => t.severity === "alarm");
    assert.ok(warning && warning.ts < trip.ts, "warning before the trip");
    assert.ok(alarm && alarm.ts < trip.ts, "alarm before the trip");
    assert.equal(alarm.diagnosis?.code, "F4", `cooling loss diagnosed: ${JSON.stringify(alarm.diagnosis)}`);
    const tripRaise = transitions.find((t) => t.type === "trip" && t.kind === "raise");
    assert.ok(tripRaise, "trip alarm raised");
    assert.equal(tripRaise.severity, "alarm");
    assert.ok(Math.abs(tripRaise.ts - trip.ts) <= 5 * 60_000, "trip reported within 5 min of the stop");
    const tripClear = transitions.find((t) => t.type === "trip" && t.kind === "clear");
    const restart = truth.find((e) => e.kind === "restart" || (e.kind === "maintenance" && e.ts > trip.ts));
    assert.ok(tripClear && restart && tripClear.ts >= restart.ts, "trip clears once the pump runs again");
    const down = a.drainKpis(Number.POSITIVE_INFINITY).reduce((s, h) => s + h.downS, 0);
    assert.ok(down > 0, "unplanned downtime counted");
    assert.deepEqual(a.activeAlarms(), [], "nothing left active after the repair");
  });

  it("continues the same way after a JSON round trip (restart)", () => {
    const whole = run(cooling, 4).transitions.filter((t) => t.ts >= Date.UTC(2026, 2, 4));
    const split = run(cooling, 4, 2).transitions.filter((t) => t.ts >= Date.UTC(2026, 2, 4));
    assert.deepEqual(
      split.map((t) => `${t.type} ${t.kind} ${t.severity} ${t.ts}`),
      whole.map((t) => `${t.type} ${t.kind} ${t.severity} ${t.ts}`),
    );
  });

  it("restores rule debounce timers: a restart inside an alarm episode raises and clears as without it", () => {
    const T0 = Date.UTC(2026, 2, 1);
    const sample = (n: number) => ({
      ts: T0 + n * 10_000,
      values: { vibration: n >= 80 && n < 130 ? 8 + (n % 3) * 0.1 : 2 + (n % 5) * 0.05 },
    });
    const transitions = (cut: number | null) => {
      let a = new PumpAnalyzer({ deviceId: "p", model: null });
      const out: string[] = [];
      for (let n = 0; n < 240; n++) {
        if (n === cut) a = PumpAnalyzer.fromJSON(JSON.parse(JSON.stringify(a)));
        for (const t of a.process(sample(n))) out.push(`${n} ${t.type} ${t.kind} ${t.severity}`);
      }
      return out;
    };
    const whole = transitions(null);
    assert.deepEqual(whole, ["86 rule:vibrationHigh raise alarm", "142 rule:vibrationHigh clear alarm"]);
    // During the on-delay, while active, during the off-delay.
    for (const cut of [83, 100, 135]) assert.deepEqual(transitions(cut), whole, `restarted at sample ${cut}`);
  });

  it("keeps a healthy pump quiet, learns its normal and reports health, forecasts and KPIs", () => {
    const { a, transitions } = run({ model: "RV100", duty: { type: "continuous", pressure: 200 } }, 6);
    assert.deepEqual(
      transitions.map((t) => `${t.type} ${t.kind}`),
      [],
      "no alarm on a healthy pump",
    );
    const status = a.status();
    assert.equal(status.baselineReady, true);
    assert.equal(status.state, "running");
    assert.equal(a.forecasts().length, 4);
    const health = a.health(a.lastTs, 900_000);
    assert.ok(health.score !== null && health.score >= 85, `health ${health.score}`);
    const hours = a.drainKpis(Number.POSITIVE_INFINITY);
    const running = hours.reduce((s, h) => s + h.runningS, 0) / 3600;
    assert.ok(Math.abs(running - 6 * 24) < 1, `operating hours ${running}`);
  });

  it("raises offline after silence and clears it with the next sample", () => {
    const a = new PumpAnalyzer({ deviceId: "p", model: "RV100" });
    a.heard(1_000);
    assert.deepEqual(a.checkOffline(500_000, 900_000, true), []);
    const [raised] = a.checkOffline(1_000_000, 900_000, false);
    assert.equal(raised?.type, "offline");
    assert.match(raised!.message, /offline/);
    assert.deepEqual(a.checkOffline(2_000_000, 900_000, false), [], "raised once");
    const cleared = a.process({ ts: 1_000_100, values: { running: 1, inletPressure: 100 } });
    assert.ok(cleared.some((t) => t.type === "offline" && t.kind === "clear"));
  });

  it("reports a stuck sensor as a sensor fault, not a machine alarm", () => {
    const { transitions } = run(
      {
        model: "RV100",
        duty: { type: "continuous", pressure: 200 },
        faults: [{ type: "sensorStuck", at: "+1d", signal: "exhaustPressure" }],
      },
      2,
    );
    const raise = transitions.find((t) => t.kind === "raise");
    assert.equal(raise?.type, "sensor:exhaustPressure");
    assert.equal(raise?.diagnosis?.code, "S1");
  });
});
