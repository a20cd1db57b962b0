import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PumpwatchError } from "../../src/core/errors.js";
import type { AlarmEvent, AlarmRaise, AnalyticsStore, KpiHourRecord, Stores } from "../../src/store/ports.js";

/** Two separately opened stores on one fresh database (two connections or pools); `close` closes both. */
export interface StorePair {
  a: AnalyticsStore;
  b: AnalyticsStore;
  close(): Promise<void>;
}

/**
 * The analytics store contract (AnalyticsStore in src/store/ports.ts): every backend must pass it.
 * `open` returns fresh, empty stores; `openPair` two stores on one fresh database.
 */
export function analyticsContract(
  name: string,
  open: () => Promise<Stores>,
  openPair: () => Promise<StorePair>,
): void {
  describe(`analytics store contract: ${name}`, () => {
    let stores: Stores;
    let store: AnalyticsStore;
    before(async () => {
      stores = await open();
      store = stores.analytics;
    });
    after(async () => {
      await stores.close();
    });

    const T = Date.parse("2026-03-01T00:00:00Z");
    const raise = (deviceId: string, type: string, over: Partial<AlarmRaise> = {}): AlarmRaise => ({
      deviceId,
      type,
      severity: "warning",
      ts: T,
      message: `${type} on ${deviceId}`,
      signals: ["oilTemperature"],
      diagnosis: null,
      ...over,
    });
    const isCode = (code: string) => (e: unknown) => e instanceof PumpwatchError && e.code === code;

    it("keeps one record through raise, escalation, acknowledgement, clear and a new episode", async () => {
      const first = await store.raiseAlarm(raise("life", "rule:oilTemp"));
      assert.equal(first.event, "raised");
      assert.equal(first.alarm.occurrences, 1);
      assert.equal(first.alarm.active, true);
      assert.equal(first.alarm.acknowledged, false);
      assert.equal(first.alarm.firstRaisedAt, T);
      assert.deepEqual(first.alarm.signals, ["oilTemperature"]);
      assert.equal(first.alarm.diagnosis, null);
      const id = first.alarm.id;

      const same = await store.raiseAlarm(raise("life", "rule:oilTemp", { ts: T + 1, message: "hotter" }));
      assert.equal(same.event, null);
      assert.equal(same.alarm.id, id);
      assert.equal(same.alarm.message, "hotter");
      assert.equal(same.alarm.lastRaisedAt, T + 1);
      assert.equal(same.alarm.occurrences, 1);

      const diagnosis = { code: "F2", cause: "oil degradation", confidence: 0.8, action: "change the oil" };
      const up = await store.raiseAlarm(
        raise("life", "rule:oilTemp", { ts: T + 2, severity: "alarm", message: "too hot", diagnosis }),
      );
      assert.equal(up.event, "escalated");
      assert.equal(up.alarm.severity, "alarm");
      assert.equal(up.alarm.occurrences, 1);
      assert.deepEqual(up.alarm.diagnosis, diagnosis);

      const acked = await store.acknowledgeAlarm(id, "olga", T + 3, "looking");
      assert.equal(acked.acknowledged, true);
      assert.equal(acked.acknowledgedBy, "olga");
      assert.equal(acked.acknowledgedAt, T + 3);
      const again = await store.acknowledgeAlarm(id, "otto", T + 4, "me too");
      assert.equal(again.acknowledgedBy, "olga");

      const down = await store.raiseAlarm(raise("life", "rule:oilTemp", { ts: T + 5, message: "cooling" }));
      assert.equal(down.event, "deescalated");
      assert.equal(down.alarm.acknowledged, true, "a change of severity keeps the acknowledgement");

      const cleared = await store.clearAlarm("life", "rule:oilTemp", T + 6, "back to normal");
      assert.equal(cleared?.active, false);
      assert.equal(cleared?.clearedAt, T + 6);
      assert.equal(await store.clearAlarm("life", "rule:oilTemp", T + 7, "again"), undefined);
      assert.equal(await store.clearAlarm("life", "rule:never", T + 7, "none"), undefined);

      const next = await store.raiseAlarm(raise("life", "rule:oilTemp", { ts: T + 8, message: "hot again" }));
      assert.equal(next.event, "raised");
      assert.equal(next.alarm.id, id);
      assert.equal(next.alarm.occurrences, 2);
      assert.equal(next.alarm.active, true);
      assert.equal(next.alarm.acknowledged, false);
      assert.equal(next.alarm.acknowledgedAt, null);
      assert.equal(next.alarm.acknowledgedBy, null);
      assert.equal(next.alarm.clearedAt, null);
      assert.equal(next.alarm.firstRaisedAt, T);
      assert.equal(next.alarm.lastRaisedAt, T + 8);
      assert.deepEqual(await store.getAlarm(id), next.alarm);

      const history = await store.alarmHistory(id);
      assert.deepEqual(
        history.map((e) => [e.kind, e.severity, e.actor, e.text, e.ts]),
        [
          ["raised", "warning", "system", "rule:oilTemp on life", T],
          ["escalated", "alarm", "system", "too hot", T + 2],
          ["acknowledged", "alarm", "olga", "looking", T + 3],
          ["deescalated", "warning", "system", "cooling", T + 5],
          ["cleared", "warning", "system", "back to normal", T + 6],
          ["raised", "warning", "system", "hot again", T + 8],
        ],
      );
      assert.ok(history.every((e) => e.alarmId === id));
      assert.deepEqual(await store.alarmHistory(999_999), []);
    });

    it("ignores replayed transitions: no second episode, no event, nothing moved back", async () => {
      const d = "replay";
      const type = "rule:vibration";
      await store.raiseAlarm(raise(d, type, { ts: T }));
      await store.raiseAlarm(raise(d, type, { ts: T + 10, severity: "alarm" }));
      // Replayed while active: the older warning neither de-escalates nor moves lastRaisedAt back.
      const early = await store.raiseAlarm(raise(d, type, { ts: T }));
      assert.equal(early.event, null);
      assert.equal(early.alarm.severity, "alarm");
      assert.equal(early.alarm.lastRaisedAt, T + 10);
      // A clear older than the last raise is a replay too.
      assert.equal(await store.clearAlarm(d, type, T + 5, "old clear"), undefined);
      const cleared = await store.clearAlarm(d, type, T + 20, "clear");
      assert.equal(cleared?.clearedAt, T + 20);
      // The whole episode again (analysis re-run after a crash): nothing changes.
      for (const r of [raise(d, type, { ts: T }), raise(d, type, { ts: T + 10, severity: "alarm" })]) {
        const again = await store.raiseAlarm(r);
        assert.equal(again.event, null);
        assert.equal(again.alarm.active, false);
      }
      assert.equal(await store.clearAlarm(d, type, T + 20, "clear"), undefined);
      const [rec] = await store.listAlarms({ deviceIds: [d] });
      assert.equal(rec?.occurrences, 1);
      assert.equal(rec?.clearedAt, T + 20);
      assert.deepEqual(
        (await store.alarmHistory(rec!.id)).map((e) => e.kind),
        ["raised", "escalated", "cleared"],
      );
      // A newer raise opens the next episode.
      const next = await store.raiseAlarm(raise(d, type, { ts: T + 30 }));
      assert.equal(next.event, "raised");
      assert.equal(next.alarm.occurrences, 2);
    });

    it("answers NOT_FOUND for unknown alarms and BAD_REQUEST for an empty comment", async () => {
      await assert.rejects(store.acknowledgeAlarm(999_999, "olga", T, ""), isCode("NOT_FOUND"));
      await assert.rejects(store.shelveAlarm(999_999, T + 1000, "olga", T, ""), isCode("NOT_FOUND"));
      await assert.rejects(store.commentAlarm(999_999, "olga", T, "hello"), isCode("NOT_FOUND"));
      assert.equal(await store.getAlarm(999_999), undefined);
      const { alarm } = await store.raiseAlarm(raise("errs", "anomaly"));
      await assert.rejects(store.commentAlarm(alarm.id, "olga", T, "  "), isCode("BAD_REQUEST"));
      await assert.rejects(store.shelveAlarm(alarm.id, T - 1, "olga", T, "past"), isCode("BAD_REQUEST"));
      assert.deepEqual(
        (await store.alarmHistory(alarm.id)).map((e) => e.kind),
        ["raised"],
      );
    });

    it("records comments in the history", async () => {
      const { alarm } = await store.raiseAlarm(raise("talk", "offline", { severity: "alarm" }));
      const c = await store.commentAlarm(alarm.id, "olga", T + 10, "box unplugged for service");
      assert.equal(c.kind, "commented");
      assert.equal(c.alarmId, alarm.id);
      assert.equal(c.actor, "olga");
      assert.equal(c.severity, "alarm");
      assert.equal(c.text, "box unplugged for service");
      const history = await store.alarmHistory(alarm.id);
      assert.deepEqual(history.at(-1), c);
    });

    it("shelves and unshelves, and lists with and without shelved alarms", async () => {
      const a = (await store.raiseAlarm(raise("shelf", "rule:a", { ts: T + 1 }))).alarm;
      const b = (await store.raiseAlarm(raise("shelf", "rule:b", { ts: T + 2, severity: "alarm" }))).alarm;
      const shelved = await store.shelveAlarm(a.id, T + 3_600_000, "olga", T + 10, "known, parts ordered");
      assert.equal(shelved.shelvedUntil, T + 3_600_000);

      const ids = async (f: Parameters<AnalyticsStore["listAlarms"]>[0]) =>
        (await store.listAlarms({ deviceIds: ["shelf"], ...f })).map((x) => x.id);
      assert.deepEqual(await ids({}), [b.id, a.id], "newest lastRaisedAt first, shelved included by default");
      assert.deepEqual(await ids({ includeShelved: false, now: T + 20 }), [b.id]);
      assert.deepEqual(await ids({ includeShelved: false, now: T + 3_600_000 }), [b.id, a.id], "expired");
      assert.deepEqual(await ids({ severity: "alarm" }), [b.id]);
      assert.deepEqual(await ids({ since: T + 2 }), [b.id]);
      assert.deepEqual(await ids({ limit: 1 }), [b.id]);

      const back = await store.shelveAlarm(a.id, null, "olga", T + 30, "parts arrived");
      assert.equal(back.shelvedUntil, null);
      assert.deepEqual(await ids({ includeShelved: false, now: T + 40 }), [b.id, a.id]);
      assert.deepEqual(
        (await store.alarmHistory(a.id)).map((e) => [e.kind, e.actor, e.text]),
        [
          ["raised", "system", "rule:a on shelf"],
          ["shelved", "olga", "known, parts ordered"],
          ["unshelved", "olga", "parts arrived"],
        ],
      );
    });

    it("filters alarms by device, state and acknowledgement", async () => {
      const x = (await store.raiseAlarm(raise("flt-1", "rule:x", { ts: T + 1 }))).alarm;
      const y = (await store.raiseAlarm(raise("flt-2", "rule:y", { ts: T + 2 }))).alarm;
      const z = (await store.raiseAlarm(raise("flt-2", "rule:z", { ts: T + 3 }))).alarm;
      await store.clearAlarm("flt-2", "rule:y", T + 4, "ok");
      await store.acknowledgeAlarm(z.id, "olga", T + 5, "");
      const ids = async (f: Parameters<AnalyticsStore["listAlarms"]>[0]) =>
        (await store.listAlarms(f)).map((a) => a.id);
      assert.deepEqual(await ids({ deviceIds: ["flt-1", "flt-2"] }), [z.id, y.id, x.id]);
      assert.deepEqual(await ids({ deviceIds: ["flt-2"] }), [z.id, y.id]);
      assert.deepEqual(await ids({ deviceIds: [] }), []);
      assert.deepEqual(await ids({ deviceIds: ["flt-1", "flt-2"], active: true }), [z.id, x.id]);
      assert.deepEqual(await ids({ deviceIds: ["flt-1", "flt-2"], active: false }), [y.id]);
      assert.deepEqual(await ids({ deviceIds: ["flt-1", "flt-2"], acknowledged: true }), [z.id]);
      assert.deepEqual(await ids({ deviceIds: ["flt-1", "flt-2"], acknowledged: false }), [y.id, x.id]);
      const all = await ids({});
      for (const id of [x.id, y.id, z.id]) assert.ok(all.includes(id));
    });

    it("lists the events of several devices' alarms in time order", async () => {
      const U = T + 86_400_000;
      const p = (await store.raiseAlarm(raise("ev-1", "rule:p", { ts: U + 10 }))).alarm;
      const q = (await store.raiseAlarm(raise("ev-2", "rule:q", { ts: U + 5 }))).alarm;
      await store.clearAlarm("ev-1", "rule:p", U + 30, "ok");
      await store.raiseAlarm(raise("ev-3", "rule:r", { ts: U + 20 }));
      await store.acknowledgeAlarm(q.id, "olga", U + 40, "seen");
      const events = await store.alarmEvents(["ev-1", "ev-2"], U, U + 40);
      assert.deepEqual(
        events.map((e) => [e.deviceId, e.type, e.kind, e.ts, e.alarmId]),
        [
          ["ev-2", "rule:q", "raised", U + 5, q.id],
          ["ev-1", "rule:p", "raised", U + 10, p.id],
          ["ev-1", "rule:p", "cleared", U + 30, p.id],
        ],
      );
      const everyone = await store.alarmEvents(undefined, U, U + 41);
      assert.deepEqual(
        everyone.map((e) => `${e.deviceId}:${e.kind}`),
        ["ev-2:raised", "ev-1:raised", "ev-3:raised", "ev-1:cleared", "ev-2:acknowledged"],
      );
      assert.deepEqual(await store.alarmEvents([], U, U + 41), []);
    });

    it("keeps the maintenance log newest first", async () => {
      const add = (ts: number, action: string) =>
        store.addMaintenance({ deviceId: "mnt", ts, action, note: `${action} done`, actor: "tech" }, T + 99);
      const oil = await add(T + 2, "oilChange");
      await add(T + 1, "filterChange");
      await add(T + 3, "inspection");
      await store.addMaintenance({ deviceId: "other", ts: T, action: "x", note: "", actor: "a" }, T);
      assert.deepEqual(oil, {
        id: oil.id,
        deviceId: "mnt",
        ts: T + 2,
        action: "oilChange",
        note: "oilChange done",
        actor: "tech",
        createdAt: T + 99,
      });
      const list = await store.listMaintenance("mnt", 10);
      assert.deepEqual(
        list.map((m) => m.action),
        ["inspection", "oilChange", "filterChange"],
      );
      assert.deepEqual(list[1], oil);
      assert.equal((await store.listMaintenance("mnt", 2)).length, 2);
      assert.deepEqual(await store.listMaintenance("nobody", 10), []);
    });

    it("upserts analyzer states in batches", async () => {
      assert.equal(await store.loadAnalyzerState("st-1"), undefined);
      await store.saveAnalyzerStates([
        { deviceId: "st-1", state: '{"v":1}', ts: T },
        { deviceId: "st-2", state: '{"v":2}', ts: T },
      ]);
      await store.saveAnalyzerStates([
        { deviceId: "st-1", state: '{"v":3}', ts: T + 1 },
        { deviceId: "st-1", state: '{"v":4}', ts: T + 2 },
      ]);
      await store.saveAnalyzerStates([]);
      assert.deepEqual(await store.loadAnalyzerState("st-1"), { state: '{"v":4}', ts: T + 2 });
      assert.deepEqual(await store.loadAnalyzerState("st-2"), { state: '{"v":2}', ts: T });
    });

    it("adds KPI hours to what is stored and queries them by device and hour", async () => {
      const H = 3_600_000;
      const kpi = (deviceId: string, hour: number, k: number): KpiHourRecord => ({
        deviceId,
        hour,
        coveredS: 1800 * k,
        runningS: 1000 * k,
        loadS: 500.5 * k,
        downS: 10 * k,
        energyKwh: 1.25 * k,
        gasM3: 3.5 * k,
        starts: 2 * k,
        bandS: [100 * k, 200 * k, 0, 0, 300 * k, 400 * k],
      });
      await store.addKpiHours([kpi("kpi-b", T, 1), kpi("kpi-a", T + H, 1), kpi("kpi-a", T, 1)]);
      await store.addKpiHours([kpi("kpi-a", T, 2), kpi("kpi-a", T, 1), kpi("kpi-b", T + 2 * H, 1)]);
      await store.addKpiHours([]);
      const rows = await store.queryKpiHours(["kpi-a", "kpi-b"], T, T + 2 * H);
      assert.deepEqual(rows, [kpi("kpi-a", T, 4), kpi("kpi-a", T + H, 1), kpi("kpi-b", T, 1)]);
      assert.deepEqual(await store.queryKpiHours(["kpi-b"], T + H, T + 3 * H), [kpi("kpi-b", T + 2 * H, 1)]);
      const all = await store.queryKpiHours(undefined, T, T + 3 * H);
      assert.deepEqual(
        all.filter((r) => r.deviceId.startsWith("kpi-")).map((r) => `${r.deviceId}@${(r.hour - T) / H}`),
        ["kpi-a@0", "kpi-a@1", "kpi-b@0", "kpi-b@2"],
      );
      assert.deepEqual(await store.queryKpiHours([], T, T + 3 * H), []);
      // Fewer bands than six count as zero in the missing ones.
      await store.addKpiHours([{ ...kpi("kpi-c", T, 1), bandS: [5] }]);
      assert.deepEqual((await store.queryKpiHours(["kpi-c"], T, T + H))[0]?.bandS, [5, 0, 0, 0, 0, 0]);
    });

    it("keeps one record and counts every episode under concurrent raises and clears from two stores", async () => {
      const pair = await openPair();
      try {
        const outcomes = await Promise.all(
          Array.from({ length: 100 }, (_, i) => {
            const s = i % 4 < 2 ? pair.a : pair.b;
            if (i % 2 === 1) return s.clearAlarm("race", "anomaly", T + i, `clear ${i}`).then(() => null);
            const severity = i % 3 === 0 ? "alarm" : "warning";
            return s.raiseAlarm(raise("race", "anomaly", { ts: T + i, severity, message: `raise ${i}` }));
          }),
        );
        for (const s of [pair.a, pair.b]) {
          const list = await s.listAlarms({ deviceIds: ["race"] });
          assert.equal(list.length, 1, "exactly one record for (device, type)");
        }
        const [alarm] = await pair.a.listAlarms({ deviceIds: ["race"] });
        const history = await pair.b.alarmHistory(alarm!.id);
        const raised = history.filter((e) => e.kind === "raised").length;
        assert.ok(raised >= 1);
        assert.equal(alarm!.occurrences, raised, "one occurrence per recorded raise, none lost");
        const reported = outcomes.filter((o) => o?.event === "raised").length;
        assert.equal(reported, raised, "every raise reported as 'raised' is in the history");
        assertConsistent(history);
        assert.equal(alarm!.active, history.at(-1)!.kind !== "cleared");
      } finally {
        await pair.close();
      }
    });
  });
}

/** Replays a history: raised only when inactive, cleared and (de)escalated only when active. */
function assertConsistent(history: readonly AlarmEvent[]): void {
  let active = false;
  let severity: string | undefined;
  for (const e of history) {
    if (e.kind === "raised") assert.equal(active, false, `event ${e.id}: raised while active`);
    if (e.kind === "cleared") assert.equal(active, true, `event ${e.id}: cleared while inactive`);
    if (e.kind === "escalated" || e.kind === "deescalated") {
      assert.equal(active, true, `event ${e.id}: ${e.kind} while inactive`);
      assert.notEqual(e.severity, severity, `event ${e.id}: ${e.kind} to the same severity`);
    }
    if (e.kind === "raised") active = true;
    if (e.kind === "cleared") active = false;
    severity = e.severity;
  }
}
