import assert from "node:assert/strict";
import { it } from "node:test";
import { PumpwatchError } from "../../src/core/errors.js";
import type { NewDelivery, Stores } from "../../src/store/ports.js";

const T = Date.parse("2026-03-01T00:00:00Z");
const isCode = (code: string) => (e: unknown) => e instanceof PumpwatchError && e.code === code;

/**
 * The notification store contract (NotificationStore in src/store/ports.ts), run inside the tenancy
 * contract's suite on every backend (it needs users and alarms). `stores` returns fresh stores.
 */
export function notificationCases(stores: () => Stores): void {
  const raise = (deviceId: string, type = "rule:oilTemp") =>
    stores().analytics.raiseAlarm({
      deviceId,
      type,
      severity: "warning",
      ts: T,
      message: "oil hot",
      signals: [],
      diagnosis: null,
    });

  it("keeps each user's subscriptions, replaces them at once, and erases them with the user", async () => {
    const { tenancy, notifications: n } = stores();
    await tenancy.createCompany({ id: "ntf-a", name: "Notify A", postalAddress: "x" }, T);
    await tenancy.createCompany({ id: "ntf-b", name: "Notify B", postalAddress: "x" }, T);
    const mk = (id: string, companyId: string | null) =>
      tenancy.createUser(
        {
          id,
          companyId,
          role: companyId ? "companyUser" : "serviceTechnician",
          email: `${id}@example.com`,
        },
        T,
      );
    await mk("ntf-ua", "ntf-a");
    await mk("ntf-ub", "ntf-b");
    await mk("ntf-op", null);
    const saved = await n.replaceSubscriptions("ntf-ua", [
      { deviceId: "pump-a2", minSeverity: "alarm", email: true, locale: "en" },
      { deviceId: null, minSeverity: "warning", email: true, locale: "de" },
    ]);
    assert.deepEqual(
      saved.map((s) => s.deviceId),
      [null, "pump-a2"],
    );
    assert.deepEqual(saved[1], {
      userId: "ntf-ua",
      deviceId: "pump-a2",
      minSeverity: "alarm",
      email: true,
      locale: "en",
    });
    await n.replaceSubscriptions("ntf-ub", [
      { deviceId: null, minSeverity: "warning", email: true, locale: "de" },
    ]);
    await n.replaceSubscriptions("ntf-op", [
      { deviceId: "pump-a1", minSeverity: "alarm", email: true, locale: "de" },
    ]);
    await assert.rejects(
      n.replaceSubscriptions("ntf-ua", [
        { deviceId: "p", minSeverity: "warning", email: true, locale: "de" },
        { deviceId: "p", minSeverity: "alarm", email: true, locale: "de" },
      ]),
      isCode("BAD_REQUEST"),
    );
    await assert.rejects(
      n.replaceSubscriptions("ntf-nobody", [
        { deviceId: null, minSeverity: "warning", email: true, locale: "de" },
      ]),
      isCode("NOT_FOUND"),
    );
    assert.equal((await n.listSubscriptions("ntf-ua")).length, 2, "a refused replacement changes nothing");

    const who = async (device: string, company: string | null) =>
      (await n.subscribersFor(device, company)).map((s) => `${s.userId}:${s.deviceId ?? "*"}`).sort();
    assert.deepEqual(await who("pump-a1", "ntf-a"), ["ntf-op:pump-a1", "ntf-ua:*"]);
    assert.deepEqual(await who("pump-a2", "ntf-a"), ["ntf-ua:*", "ntf-ua:pump-a2"]);
    assert.deepEqual(await who("pump-b1", "ntf-b"), ["ntf-ub:*"]);
    assert.deepEqual(await who("pump-a1", null), ["ntf-op:pump-a1"]);

    assert.deepEqual(await n.replaceSubscriptions("ntf-ub", []), []);
    assert.equal(await tenancy.deleteUser("ntf-ua"), true);
    assert.deepEqual(await n.listSubscriptions("ntf-ua"), []);
    assert.equal(await tenancy.deleteCompanyUsers("ntf-b"), 1);
    assert.deepEqual(await who("pump-a1", "ntf-a"), ["ntf-op:pump-a1"]);
  });

  it("keeps webhooks with their secret, by company or operator-wide", async () => {
    const { notifications: n } = stores();
    const hook = {
      id: "wh_1",
      companyId: "ntf-a",
      url: "https://hooks.example.com/a",
      secret: "whsec_abc",
      minSeverity: "alarm" as const,
      enabled: true,
      createdAt: T,
    };
    assert.deepEqual(await n.createWebhook(hook), hook);
    await n.createWebhook({ ...hook, id: "wh_2", companyId: null, createdAt: T + 1 });
    await assert.rejects(n.createWebhook(hook), isCode("CONFLICT"));
    assert.deepEqual(await n.getWebhook("wh_1"), hook);
    assert.equal(await n.getWebhook("wh_none"), undefined);
    assert.deepEqual(
      (await n.listWebhooks()).map((w) => w.id),
      ["wh_1", "wh_2"],
    );
    assert.deepEqual(
      (await n.listWebhooks("ntf-a")).map((w) => w.id),
      ["wh_1"],
    );
    assert.deepEqual(
      (await n.listWebhooks(null)).map((w) => w.id),
      ["wh_2"],
    );
    assert.equal(await n.deleteWebhook("wh_2"), true);
    assert.equal(await n.deleteWebhook("wh_2"), false);
  });

  it("creates one delivery per episode, kind, channel and target, and leases each due one once", async () => {
    const { notifications: n } = stores();
    const { alarm } = await raise("ntf-pump-1");
    const base: Omit<NewDelivery, "channel" | "target"> = {
      alarmId: alarm.id,
      episode: alarm.occurrences,
      companyId: "ntf-a",
      kind: "raised",
      createdAt: T,
    };
    const ds: NewDelivery[] = [
      { ...base, channel: "email", target: "u1" },
      { ...base, channel: "webhook", target: "wh_1" },
    ];
    assert.equal(await n.enqueueDeliveries(ds), 2);
    assert.equal(await n.enqueueDeliveries(ds), 0, "the same messages again are not created");
    assert.equal(
      await n.enqueueDeliveries([{ ...base, kind: "escalated", channel: "email", target: "u1" }]),
      1,
    );
    assert.deepEqual(await n.notifiedTargets(alarm.id, alarm.occurrences), [
      { channel: "email", target: "u1" },
      { channel: "webhook", target: "wh_1" },
    ]);

    // Ten concurrent claimers: each delivery is handed out once.
    const claims = await Promise.all(Array.from({ length: 10 }, () => n.claimDueDeliveries(T, 10, 60_000)));
    const claimed = claims.flat();
    assert.equal(claimed.length, 3);
    assert.equal(new Set(claimed.map((d) => d.id)).size, 3);
    const first = claimed.find((d) => d.kind === "raised" && d.channel === "email")!;
    assert.equal(first.attempts, 1);
    assert.equal(first.status, "pending");
    assert.equal(first.nextAttemptAt, T + 60_000);
    assert.deepEqual(await n.claimDueDeliveries(T + 59_999, 10, 60_000), []);

    const retry = await n.finishDelivery(first.id, {
      status: "pending",
      nextAttemptAt: T + 1000,
      error: "HTTP 500",
    });
    assert.equal(retry.lastError, "HTTP 500");
    const again = await n.claimDueDeliveries(T + 1000, 10, 60_000);
    assert.deepEqual(
      again.map((d) => [d.id, d.attempts]),
      [[first.id, 2]],
    );
    const sent = await n.finishDelivery(first.id, { status: "sent", at: T + 1001 });
    assert.equal(sent.status, "sent");
    assert.equal(sent.sentAt, T + 1001);
    const other = claimed.find((d) => d.channel === "webhook")!;
    assert.equal(
      (await n.finishDelivery(other.id, { status: "failed", error: "webhook deleted" })).status,
      "failed",
    );
    await assert.rejects(n.finishDelivery(999_999, { status: "sent", at: T }), isCode("NOT_FOUND"));
    // Unfinished leases end: the escalation is handed out again.
    assert.equal((await n.claimDueDeliveries(T + 60_000, 10, 60_000)).length, 1);

    assert.equal((await n.listDeliveries({ alarmId: alarm.id })).length, 3);
    assert.deepEqual(
      (await n.listDeliveries({ status: "sent" })).map((d) => d.id),
      [first.id],
    );
    assert.equal((await n.listDeliveries({ companyId: "ntf-b" })).length, 0);
    assert.equal((await n.listDeliveries({ alarmId: alarm.id, limit: 1 })).length, 1);
  });

  it("hands each episode's reminder out once, and forgets deliveries with their purged alarm", async () => {
    const { notifications: n, analytics } = stores();
    const { alarm } = await raise("ntf-pump-2");
    await n.scheduleReminder(alarm.id, 1, T + 1000);
    await n.scheduleReminder(alarm.id, 1, T + 5000);
    assert.deepEqual(await n.takeDueReminders(T + 999, 10), []);
    const taken = await Promise.all([n.takeDueReminders(T + 1000, 10), n.takeDueReminders(T + 1000, 10)]);
    assert.deepEqual(taken.flat(), [{ alarmId: alarm.id, episode: 1 }]);
    assert.deepEqual(await n.takeDueReminders(T + 10_000, 10), []);

    await n.scheduleReminder(alarm.id, 2, T);
    await n.enqueueDeliveries([
      {
        alarmId: alarm.id,
        episode: 1,
        companyId: null,
        kind: "raised",
        channel: "email",
        target: "u",
        createdAt: T,
      },
    ]);
    await analytics.purgeDevices(["ntf-pump-2"]);
    assert.deepEqual(await n.listDeliveries({ alarmId: alarm.id }), []);
    assert.deepEqual(await n.takeDueReminders(T + 10_000, 10), []);
  });
}
