import assert from "node:assert/strict";
import { it } from "node:test";
import type { Sample } from "../../src/core/sample.js";
import type { CommitUnit, KpiHourRecord, SeriesQuery, Stores } from "../../src/store/ports.js";

/**
 * The purge part of the store contract (issue 6: a terminated company's data is purged after the
 * export grace period): `TelemetryStore.purgeDevices`, `AnalyticsStore.purgeDevices` and
 * `RegistryStore.deleteDevices` remove everything of the named devices and nothing of the others.
 * Run by `storeContract` for every backend, last, with devices of its own.
 */

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** A UTC midnight in the past of any test run; the purge cases' data spans three days from it. */
const T0 = Date.UTC(2026, 1, 2);
const SIGNALS = ["oilTemperature", "running"] as const;

const A = ["purge-a1", "purge-a2"] as const;
const B = "purge-b1";
const ALL = [...A, B];

function readings(deviceIndex: number): Sample[] {
  const out: Sample[] = [];
  // Every 5 minutes for 3 days: 864 readings.
  for (let i = 0; i < (3 * DAY) / (5 * MIN); i++) {
    out.push({
      ts: T0 + i * 5 * MIN,
      values: {
        oilTemperature: Math.round((60 + deviceIndex + 5 * Math.sin(i / 40)) * 10) / 10,
        running: i % 7 < 5 ? 1 : 0,
      },
    });
  }
  return out;
}

/** One packet per hour: 12 readings each, message id `<device>-<hour>`. */
function packets(deviceId: string, samples: readonly Sample[]): CommitUnit[] {
  const units: CommitUnit[] = [];
  for (let i = 0; i < samples.length; i += 12) {
    units.push({
      kind: "accept",
      deviceId,
      messageId: `${deviceId}-${i / 12}`,
      receivedAt: T0 + (i / 12) * HOUR,
      samples: samples.slice(i, i + 12),
    });
  }
  return units;
}

const quarantined = (deviceId: string | null, reasonCode: string): CommitUnit => ({
  kind: "quarantine",
  deviceId,
  messageId: null,
  receivedAt: T0,
  transport: "mqtt",
  topic: `devices/${deviceId ?? "unknown"}/messages/events/`,
  reasonCode,
  reason: `because ${reasonCode}`,
  payload: Buffer.from("{oops"),
});

const kpi = (deviceId: string, hour: number): KpiHourRecord => ({
  deviceId,
  hour,
  coveredS: 3600,
  runningS: 1800,
  loadS: 1200,
  downS: 0,
  energyKwh: 4.5,
  gasM3: 12,
  starts: 2,
  bandS: [100, 200, 300, 400, 500, 600],
});

/** Queries whose answers come from raw samples, 1-minute, 1-hour and 1-day rollups. */
const SERIES_POINTS = [100_000, 500, 50, 3];

export function purgeContract(get: () => Stores): void {
  /** Everything the ports tell about one device. */
  async function snapshot(deviceId: string) {
    const s = get();
    const series = [];
    for (const points of SERIES_POINTS) {
      const q: SeriesQuery = { deviceId, signals: SIGNALS, fromMs: T0, toMs: T0 + 3 * DAY, points };
      series.push(await s.telemetry.querySeries(q));
    }
    const alarms = await s.analytics.listAlarms({ deviceIds: [deviceId], now: T0 });
    const histories = [];
    for (const a of alarms) histories.push(await s.analytics.alarmHistory(a.id));
    return {
      samples: await s.telemetry.querySamples(deviceId, T0, T0 + 3 * DAY, 100_000),
      count: await s.telemetry.countSamples(deviceId),
      series,
      quarantine: await s.telemetry.listQuarantine({ limit: 100, deviceId }),
      usage: (await s.telemetry.usage()).filter((u) => u.deviceId === deviceId),
      alarms,
      histories,
      events: await s.analytics.alarmEvents([deviceId], T0 - DAY, T0 + 10 * DAY),
      maintenance: await s.analytics.listMaintenance(deviceId, 100),
      state: await s.analytics.loadAnalyzerState(deviceId),
      kpi: await s.analytics.queryKpiHours([deviceId], T0 - DAY, T0 + 10 * DAY),
      device: await s.registry.getDevice(deviceId),
      twin: await s.registry.getTwin(deviceId),
      enrollment: await s.registry.getEnrollment("individual", deviceId),
    };
  }

  it("purges every trace of some devices and leaves the others untouched", async () => {
    const s = get();
    for (const [i, id] of ALL.entries()) {
      await s.registry.createDevice({
        id,
        primaryKey: "AAAA",
        secondaryKey: "BBBB",
        enrollmentKind: "individual",
        companyId: id === B ? "company-b" : "company-a",
      });
      await s.registry.createEnrollment({
        kind: "individual",
        id,
        primaryKey: "KKKK",
        secondaryKey: "LLLL",
        enabled: true,
      });
      await s.registry.patchTwin(id, "reported", { firmware: "1.0" });
      await s.registry.patchTwin(id, "desired", { interval: 60 });
      assert.ok((await s.telemetry.commit(packets(id, readings(i)))).every((o) => o === "stored"));
      await s.telemetry.commit([quarantined(id, "not_json"), quarantined(id, "too_large")]);
      const raised = await s.analytics.raiseAlarm({
        deviceId: id,
        type: "rule:oilTemp",
        severity: "warning",
        ts: T0 + HOUR,
        message: "hot",
        signals: ["oilTemperature"],
        diagnosis: null,
      });
      await s.analytics.commentAlarm(raised.alarm.id, "olga", T0 + 2 * HOUR, "looking");
      await s.analytics.clearAlarm(id, "rule:oilTemp", T0 + 3 * HOUR, "cooled");
      await s.analytics.raiseAlarm({
        deviceId: id,
        type: "trip",
        severity: "alarm",
        ts: T0 + 4 * HOUR,
        message: "tripped",
        signals: ["running"],
        diagnosis: { code: "F1", cause: "overload", confidence: 0.7, action: "check" },
      });
      await s.analytics.addMaintenance(
        { deviceId: id, ts: T0 + 5 * HOUR, action: "oil change", note: "", actor: "otto" },
        T0 + 5 * HOUR,
      );
      await s.analytics.addKpiHours([kpi(id, T0), kpi(id, T0 + HOUR)]);
    }
    await s.analytics.saveAnalyzerStates(ALL.map((deviceId) => ({ deviceId, state: "{}", ts: T0 + DAY })));
    await s.telemetry.commit([quarantined(null, "unknown_device")]);
    // Days 0 and 1 compacted (chunks, rollups), day 2 still raw rows.
    await s.telemetry.compact(T0 + 2 * DAY + HOUR);

    const beforeA = await Promise.all(A.map(snapshot));
    const beforeB = await snapshot(B);
    for (const x of [...beforeA, beforeB]) {
      assert.equal(x.count, 864);
      assert.deepEqual(
        x.series.map((r) => r.resolution),
        ["raw", "1m", "1h", "1d"],
      );
      assert.ok(x.series.every((r) => r.t.length > 0));
      assert.equal(x.quarantine.length, 2);
      assert.equal(x.usage.length, 1);
      assert.equal(x.alarms.length, 2);
      assert.equal(x.events.length, 4);
      assert.equal(x.maintenance.length, 1);
      assert.ok(x.state);
      assert.equal(x.kpi.length, 2);
      assert.ok(x.device && x.enrollment);
      assert.equal(x.twin.reportedVersion, 2);
    }

    const purged = await s.telemetry.purgeDevices([...A, "purge-unknown"]);
    assert.deepEqual(purged, {
      // Day 2 of each device: 288 raw rows.
      samples: 2 * 288,
      chunks: 2 * 2,
      // Per device: 2 hourly rows (one per day) and 2 daily rows per signal.
      rollups: 2 * (2 + 2 * SIGNALS.length),
      quarantine: 2 * 2,
      messageIds: 2 * 72,
    });
    assert.deepEqual(await s.analytics.purgeDevices([...A, "purge-unknown"]), {
      alarms: 2 * 2,
      alarmEvents: 2 * 4,
      maintenance: 2,
      analyzerStates: 2,
      kpiHours: 2 * 2,
    });
    assert.equal(await s.registry.deleteDevices([...A, "purge-unknown"]), 2);

    for (const [i, id] of A.entries()) {
      const x = await snapshot(id);
      assert.deepEqual(x.samples, [], id);
      assert.equal(x.count, 0, id);
      for (const r of x.series) assert.deepEqual(r.t, [], `${id} ${r.resolution}`);
      assert.deepEqual(x.quarantine, [], id);
      assert.deepEqual(x.usage, [], id);
      assert.deepEqual(x.alarms, [], id);
      for (const a of beforeA[i]!.alarms)
        assert.deepEqual(await s.analytics.alarmHistory(a.id), [], `${id} ${a.type}`);
      assert.deepEqual(x.events, [], id);
      assert.deepEqual(x.maintenance, [], id);
      assert.equal(x.state, undefined, id);
      assert.deepEqual(x.kpi, [], id);
      assert.equal(x.device, undefined, id);
      assert.deepEqual(x.twin, { desired: {}, desiredVersion: 1, reported: {}, reportedVersion: 1 }, id);
      assert.equal(x.enrollment, undefined, id);
    }
    // The other company's device, and the quarantine entry of no device, are as they were.
    assert.deepEqual(await snapshot(B), beforeB);
    assert.ok(
      (await s.telemetry.listQuarantine({ limit: 10_000 })).some((q) => q.reasonCode === "unknown_device"),
    );
    // The de-duplication records went too: a re-sent packet of A is new, one of B still a duplicate.
    const again = (id: string) => packets(id, readings(0)).slice(0, 1);
    assert.deepEqual(await s.telemetry.commit([...again(A[0]), ...again(B)]), ["stored", "duplicate"]);
    assert.equal(await s.telemetry.countSamples(A[0]), 12);
    assert.equal(await s.telemetry.countSamples(B), 864);
    // Purging nothing is harmless.
    assert.deepEqual(await s.telemetry.purgeDevices([]), {
      samples: 0,
      chunks: 0,
      rollups: 0,
      quarantine: 0,
      messageIds: 0,
    });
    assert.equal(await s.registry.deleteDevices([]), 0);
  });
}
