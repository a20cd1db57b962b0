import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { aggregateKpis, BAND_LABELS, KpiAccumulator, type KpiAlarmEvent } from "../../src/analytics/kpi.js";
import type { KpiHour, Segment } from "../../src/analytics/types.js";
import type { Sample } from "../../src/core/sample.js";
import { batchSamples, createFleet, parseScenario } from "../../src/sim/index.js";
import { deriveModel } from "../../src/sim/models.js";

const H = 3_600_000;
const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0); // a whole UTC hour

function seg(ts: number, dtSec: number, running: boolean, extra: Partial<Segment> = {}): Segment {
  return {
    ts,
    state: running ? "running" : "stopped",
    dtSec,
    running,
    runningSince: running ? ts : Number.NaN,
    started: false,
    thermalSteady: running,
    loaded: false,
    ...extra,
  };
}

/** Feeds one-minute samples (ts = end of each minute) from `from` for `minutes`. */
function feed(
  acc: KpiAccumulator,
  from: number,
  minutes: number,
  values: Record<string, number>,
  running: boolean,
  extra: Partial<Segment> = {},
  down = false,
): void {
  for (let k = 1; k <= minutes; k++) {
    const ts = from + k * MIN;
    acc.update({ ts, values }, seg(ts, 60, running, extra), down);
  }
}

const close = (actual: number, expected: number, tol: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} ± ${tol}`);

describe("KpiAccumulator", () => {
  it("integrates 30 min at 2 kW within one hour to 1 kWh", () => {
    const acc = new KpiAccumulator("p1", "RV100");
    feed(acc, T0, 30, { power: 2, running: 1, inletPressure: 5 }, true);
    feed(acc, T0 + 30 * MIN, 30, { power: 0, running: 0 }, false);
    const [hour, ...rest] = acc.drain(T0 + H);
    assert.equal(rest.length, 0);
    assert.equal(hour!.hour, T0);
    close(hour!.energyKwh, 1, 1e-9, "energy");
    close(hour!.coveredS, 3600, 1e-9, "covered");
    close(hour!.runningS, 1800, 1e-9, "running");
    assert.deepEqual(hour!.bandS, [0, 1800, 0, 0, 0, 0]);
  });

  it("splits an interval across the hour boundary and counts the start where it ends", () => {
    const acc = new KpiAccumulator("p1", null);
    const ts = T0 + H + 30_000; // 11:00:30, interval 10:59:30–11:00:30
    acc.update({ ts, values: { power: 3.6 } }, seg(ts, 60, true, { started: true, loaded: true }), false);
    const [h10, h11] = acc.drain(Number.POSITIVE_INFINITY);
    assert.equal(h10!.hour, T0);
    assert.equal(h11!.hour, T0 + H);
    for (const h of [h10!, h11!]) {
      close(h.coveredS, 30, 1e-9, "covered");
      close(h.loadS, 30, 1e-9, "load");
      close(h.energyKwh, 0.03, 1e-12, "energy");
    }
    assert.equal(h10!.starts, 0);
    assert.equal(h11!.starts, 1);
  });

  it("puts a sample stamped on the hour into the hour it closes", () => {
    const acc = new KpiAccumulator("p1", null);
    acc.update({ ts: T0 + H, values: {} }, seg(T0 + H, 60, true, { started: true }), false);
    const rows = acc.drain(T0 + H);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.hour, T0);
    assert.equal(rows[0]!.starts, 1);
  });

  it("sorts running seconds into pressure bands (an edge belongs to the band above)", () => {
    const acc = new KpiAccumulator("p1", "RV100");
    const pressures = [0.5, 1, 5, 50, 200, 400, 900];
    pressures.forEach((p, i) => {
      const ts = T0 + (i + 1) * MIN;
      acc.update({ ts, values: { inletPressure: p } }, seg(ts, 60, true), false);
    });
    const ts = T0 + 10 * MIN;
    acc.update({ ts, values: { inletPressure: 0.5 } }, seg(ts, 60, false), false); // stopped: no band
    const [h] = acc.drain(Number.POSITIVE_INFINITY);
    assert.deepEqual(h!.bandS, [60, 120, 60, 60, 60, 60]);
    assert.equal(BAND_LABELS[1], "1-10");
  });

  it("computes gas at inlet conditions from the model's nominal speed and ultimate pressure", () => {
    const acc = new KpiAccumulator("p1", "RV100");
    feed(acc, T0, 60, { inletPressure: 1000 }, true);
    feed(acc, T0 + H, 60, { inletPressure: 0.1 }, true); // at p_ult nothing is pumped
    const [a, b] = acc.drain(Number.POSITIVE_INFINITY);
    close(a!.gasM3, 100 * (1 - 0.1 / 1000), 1e-9, "gas at 1000 hPa");
    assert.equal(b!.gasM3, 0);
    const unknown = new KpiAccumulator("p2", null);
    feed(unknown, T0, 60, { inletPressure: 1000 }, true);
    assert.equal(unknown.drain(Number.POSITIVE_INFINITY)[0]!.gasM3, 0);
  });

  it("estimates power from motor current with the motor model's cos φ (E3)", () => {
    const d = deriveModel("RV100");
    const acc = new KpiAccumulator("p1", "RV100");
    feed(acc, T0, 60, { motorCurrent: d.p.iRatedA }, true);
    feed(acc, T0 + H, 60, { motorCurrent: d.iMag }, true); // magnetising current only: no load
    const [rated, idle] = acc.drain(Number.POSITIVE_INFINITY);
    close(rated!.energyKwh, (d.pRated / d.p.etaM + d.pM0) / 1000, 1e-6, "rated electrical power");
    close(idle!.energyKwh, 0, 1e-9, "no-load power");
  });

  it("counts downtime only while stopped with an alarm standing", () => {
    const acc = new KpiAccumulator("p1", null);
    feed(acc, T0, 20, {}, false, {}, true);
    feed(acc, T0 + 20 * MIN, 20, {}, true, {}, true);
    feed(acc, T0 + 40 * MIN, 20, {}, false, {}, false);
    const [h] = acc.drain(T0 + H);
    close(h!.downS, 1200, 1e-9, "down");
  });

  it("drains only completed hours and resumes a partial hour after a JSON round trip", () => {
    const acc = new KpiAccumulator("p1", "RV100");
    feed(acc, T0, 90, { power: 1 }, true);
    assert.equal(acc.drain(T0 + H - 1).length, 0);
    assert.equal(acc.drain(T0 + H).length, 1);
    const restored = KpiAccumulator.fromJSON(JSON.parse(JSON.stringify(acc)));
    feed(restored, T0 + 90 * MIN, 30, { power: 1 }, true);
    const [h] = restored.drain(T0 + 2 * H);
    assert.equal(h!.hour, T0 + H);
    close(h!.coveredS, 3600, 1e-9, "covered");
    close(h!.energyKwh, 1, 1e-9, "energy");
    assert.throws(() => KpiAccumulator.fromJSON({ v: 2 }), TypeError);
  });
});

/** An hour of steady running: 1 kWh, 10 m³, one start. */
function hourRow(deviceId: string, hour: number, over: Partial<KpiHour> = {}): KpiHour {
  return {
    deviceId,
    hour,
    coveredS: 3600,
    runningS: 3600,
    loadS: 1800,
    downS: 0,
    energyKwh: 1,
    gasM3: 10,
    starts: 1,
    bandS: [0, 0, 3600, 0, 0, 0],
    ...over,
  };
}

const hoursBetween = (deviceId: string, from: number, to: number): KpiHour[] =>
  Array.from({ length: (to - from) / H }, (_, i) => hourRow(deviceId, from + i * H));

describe("aggregateKpis", () => {
  it("uses local days in Europe/Berlin, including the 23 h and 25 h DST days", () => {
    // Spring forward on Sun 29 March 2026, fall back on Sun 25 October 2026.
    // [local midnight of the day before as UTC, length of the DST day]
    for (const [from, short] of [
      [Date.UTC(2026, 2, 27, 23), 23], // 28 March, CET (UTC+1)
      [Date.UTC(2026, 9, 23, 22), 25], // 24 October, CEST (UTC+2)
    ] as const) {
      const to = from + (48 + short) * H;
      const rows = aggregateKpis(hoursBetween("p1", from, to), [], {
        period: "day",
        timeZone: "Europe/Berlin",
        from,
        to,
      });
      assert.equal(rows.length, 3);
      assert.deepEqual(
        rows.map((r) => r.calendarHours),
        [24, short, 24],
      );
      assert.deepEqual(
        rows.map((r) => r.operatingHours),
        [24, short, 24],
      );
      assert.equal(rows[1]!.periodStart, from + 24 * H);
      assert.equal(rows[2]!.periodStart, from + 24 * H + short * H);
    }
  });

  it("derives the KPIs of a period from the hourly integrals", () => {
    const from = Date.UTC(2026, 5, 1);
    const hours = [
      ...hoursBetween("p1", from, from + 10 * H),
      hourRow("p1", from + 10 * H, { runningS: 0, loadS: 0, downS: 1800, energyKwh: 0, gasM3: 0, starts: 0 }),
      hourRow("p1", from + 11 * H, { starts: 7, bandS: [3600, 0, 0, 0, 0, 0] }),
    ];
    const [r] = aggregateKpis(hours, [], { period: "day", from, to: from + 24 * H });
    assert.equal(r!.calendarHours, 24);
    assert.equal(r!.coveredHours, 12);
    assert.equal(r!.operatingHours, 11);
    assert.equal(r!.loadHours, 5.5);
    assert.equal(r!.idleHours, 5.5);
    close(r!.utilisation!, 11 / 12, 1e-12, "utilisation");
    close(r!.availability!, 11.5 / 12, 1e-12, "availability");
    assert.equal(r!.energyKwh, 11);
    close(r!.specificEnergyKwhPerM3!, 0.1, 1e-12, "specific energy");
    close(r!.startsPerHour!, 17 / r!.coveredHours, 1e-12, "starts per hour of data");
    assert.equal(r!.maxStartsInAnHour, 7);
    assert.deepEqual(r!.hoursInBand, {
      "<1": 1,
      "1-10": 0,
      "10-100": 11,
      "100-250": 0,
      "250-500": 0,
      ">500": 0,
    });
    assert.equal(r!.mtbfHours, null);
    assert.equal(r!.mttrHours, null);
  });

  it("groups ISO weeks from Monday and calendar months", () => {
    const from = Date.UTC(2026, 1, 25); // Wednesday 25 Feb
    const to = Date.UTC(2026, 2, 10);
    const hours = hoursBetween("p1", from, to);
    const weeks = aggregateKpis(hours, [], { period: "week", from, to });
    assert.deepEqual(
      weeks.map((w) => new Date(w.periodStart).toISOString().slice(0, 10)),
      ["2026-02-23", "2026-03-02", "2026-03-09"],
    );
    assert.deepEqual(
      weeks.map((w) => w.operatingHours),
      [5 * 24, 7 * 24, 24],
    );
    assert.equal(weeks[0]!.calendarHours, 5 * 24);
    const months = aggregateKpis(hours, [], { period: "month", timeZone: "Europe/Berlin", from, to });
    assert.equal(months.length, 2);
    assert.equal(months[0]!.periodStart, Date.UTC(2026, 1, 1) - H);
    assert.equal(months[0]!.periodEnd, Date.UTC(2026, 2, 1) - H);
    assert.equal(months[0]!.operatingHours + months[1]!.operatingHours, 13 * 24);
  });

  it("sums all pumps into one fleet row per period", () => {
    const from = Date.UTC(2026, 5, 1);
    const to = from + 24 * H;
    const hours = [...hoursBetween("a", from, from + 4 * H), ...hoursBetween("b", from, from + 6 * H)];
    const perPump = aggregateKpis(hours, [], { period: "day", from, to });
    assert.deepEqual(
      perPump.map((r) => [r.deviceId, r.operatingHours]),
      [
        ["a", 4],
        ["b", 6],
      ],
    );
    const [fleet, ...more] = aggregateKpis(hours, [], { period: "day", from, to, fleet: true });
    assert.equal(more.length, 0);
    assert.equal(fleet!.deviceId, "fleet");
    assert.equal(fleet!.operatingHours, 10);
    assert.equal(fleet!.energyKwh, 10);
    assert.equal(fleet!.maxStartsInAnHour, 1);
  });

  it("counts alarm episodes and derives MTBF and MTTR from the alarm history", () => {
    const from = Date.UTC(2026, 5, 1);
    const to = from + 24 * H;
    let id = 0;
    const ev = (
      alarmId: number,
      hoursIn: number,
      kind: KpiAlarmEvent["kind"],
      severity: "warning" | "alarm",
    ) =>
      ({
        id: ++id,
        alarmId,
        ts: from + hoursIn * H,
        kind,
        severity,
        actor: "system",
        text: "",
        deviceId: "p1",
        type: `rule:r${alarmId}`,
      }) satisfies KpiAlarmEvent;
    const events = [
      ev(1, 1, "raised", "warning"),
      ev(1, 2, "escalated", "alarm"),
      ev(1, 3, "deescalated", "warning"),
      ev(1, 4, "cleared", "warning"), // alarm episode of 2 h
      ev(1, 4.5, "acknowledged", "warning"),
      ev(2, 5, "raised", "alarm"),
      ev(2, 6, "cleared", "alarm"), // 1 h
      ev(3, 7, "raised", "warning"),
      ev(4, 23, "raised", "alarm"), // never cleared: no repair time
      ev(5, 25, "raised", "alarm"), // after `to`
    ];
    const [r] = aggregateKpis(hoursBetween("p1", from, to), events, { period: "day", from, to });
    assert.equal(r!.alarmCount, 3);
    assert.equal(r!.warningCount, 2);
    assert.equal(r!.mtbfHours, 8);
    assert.equal(r!.mttrHours, 1.5);
  });
});

describe("KPIs of a simulated RV100 on a packaging schedule", () => {
  // Mon–Fri 06:00–22:00 shifts (the packaging default, pump-domain.md §6.5 D2), local time = UTC.
  const start = Date.UTC(2026, 5, 6); // Saturday
  const scenario = parseScenario({
    fleet: { name: "kpi", start: new Date(start).toISOString().replace(".000", ""), seed: 7 },
    companies: [
      {
        id: "c",
        name: "C",
        environment: { utcOffsetHours: 0 },
        assets: [{ id: "rv", model: "RV100", duty: { type: "packaging" } }],
      },
    ],
  });
  const fleet = createFleet(scenario);
  const acc = new KpiAccumulator("rv", "RV100");
  let prev: Sample | null = null;
  for (const batch of fleet.backfill({ to: start + 3 * 24 * H, stepMs: 60_000 })) {
    for (const s of batchSamples(batch)) {
      const running = s.values["running"] === 1;
      const wasRunning = prev?.values["running"] === 1;
      const dtSec = prev ? Math.min(300, (s.ts - prev.ts) / 1000) : 60;
      const segment = seg(s.ts, dtSec, running, {
        started: running && prev !== null && !wasRunning,
        loaded: running && (s.values["inletPressure"] ?? 0) > 10,
      });
      acc.update(s, segment, false);
      prev = s;
    }
  }
  const [, sunday, monday] = aggregateKpis(acc.drain(Number.POSITIVE_INFINITY), [], {
    period: "day",
    from: start,
    to: start + 3 * 24 * H,
  });

  it("runs ≈16 h on a weekday and ≈0 h on a Sunday", () => {
    close(monday!.operatingHours, 16, 0.25, "Monday operating hours");
    close(monday!.coveredHours, 24, 0.1, "Monday covered hours");
    close(sunday!.operatingHours, 0, 0.05, "Sunday operating hours");
    assert.ok(monday!.startsPerHour! <= 1, `starts/h ${monday!.startsPerHour}`);
    assert.ok(monday!.loadHours > 0 && monday!.loadHours < monday!.operatingHours, "load < operating");
  });

  it("gives energy consistent with the mean running power × operating hours", () => {
    const kw = monday!.energyKwh / monday!.operatingHours;
    // §6.4: RV100 draws ≈1.2 kW at ultimate, up to ≈2.7 kW near 373 mbar.
    assert.ok(kw > 1.1 && kw < 2.7, `mean running power ${kw} kW`);
    assert.ok(sunday!.energyKwh < 0.1, `Sunday energy ${sunday!.energyKwh}`);
    assert.ok(monday!.specificEnergyKwhPerM3! > 0, "specific energy");
  });
});
