import assert from "node:assert/strict";
import { it } from "node:test";
import { PumpwatchError } from "../../src/core/errors.js";
import type { SecurityObservation, Stores } from "../../src/store/ports.js";

const T = Date.parse("2026-05-01T00:00:00Z");
const GAP = 600_000;

function obs(subject: string, at: number, over: Partial<SecurityObservation> = {}): SecurityObservation {
  return {
    kind: "auth_failures",
    subject,
    deviceId: null,
    network: "192.0.2.0/24",
    severity: "warning",
    count: 1,
    detail: "",
    at,
    ...over,
  };
}

/**
 * The security event contract (SecurityStore in src/store/ports.ts), run inside the store contract on
 * every backend, with the deliveries of security events in the NotificationStore.
 */
export function securityContract(stores: () => Stores): void {
  it("keeps one security event per detector, subject and episode, summing its observations", async () => {
    const s = stores().security;
    const a = await s.recordSecurityEvent(obs("source:aa", T, { count: 20, detail: "20 failures" }), GAP);
    assert.equal(a.opened, true);
    assert.equal(a.event.episode, 1);
    const b = await s.recordSecurityEvent(obs("source:aa", T + 1000, { severity: "alarm" }), GAP);
    assert.equal(b.opened, false);
    assert.equal(b.event.id, a.event.id);
    assert.deepEqual(
      { count: b.event.count, severity: b.event.severity, detail: b.event.detail, last: b.event.lastSeen },
      { count: 21, severity: "alarm", detail: "20 failures", last: T + 1000 },
    );
    // Another subject and another kind are other events.
    const other = await s.recordSecurityEvent(obs("source:bb", T + 1000), GAP);
    const kind = await s.recordSecurityEvent(obs("source:aa", T + 1000, { kind: "dps_flood" }), GAP);
    assert.equal(new Set([a.event.id, other.event.id, kind.event.id]).size, 3);
    // After the gap, the next episode; the earlier one stays as it was.
    const c = await s.recordSecurityEvent(obs("source:aa", T + 1000 + GAP + 1, { count: 3 }), GAP);
    assert.equal(c.opened, true);
    assert.equal(c.event.episode, 2);
    assert.equal(c.event.count, 3);
    assert.equal(c.event.severity, "warning");
    assert.equal((await s.getSecurityEvent(a.event.id))?.count, 21);
  });

  it("makes concurrent recorders of a new episode add to one event", async () => {
    const s = stores().security;
    const all = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        s.recordSecurityEvent(obs("device:race", T + i, { count: 2 }), GAP),
      ),
    );
    assert.equal(all.filter((r) => r.opened).length, 1);
    const events = (await s.listSecurityEvents({ limit: 1000 })).filter((e) => e.subject === "device:race");
    assert.equal(events.length, 1);
    assert.equal(events[0]!.count, 16);
  });

  it("lists security events last seen first with filters, and acknowledges each once", async () => {
    const s = stores().security;
    const x = await s.recordSecurityEvent(
      obs("device:list-1", T + 5000, { kind: "device_rate", deviceId: "list-1", network: null }),
      GAP,
    );
    await s.recordSecurityEvent(
      obs("device:list-2", T + 6000, { kind: "device_rate", deviceId: "list-2", network: null }),
      GAP,
    );
    const rate = await s.listSecurityEvents({ kind: "device_rate" });
    assert.deepEqual(
      rate.map((e) => e.deviceId),
      ["list-2", "list-1"],
    );
    assert.deepEqual(
      (await s.listSecurityEvents({ deviceId: "list-1" })).map((e) => e.id),
      [x.event.id],
    );
    assert.equal((await s.listSecurityEvents({ kind: "device_rate", since: T + 5500 })).length, 1);
    assert.equal((await s.listSecurityEvents({ kind: "device_rate", limit: 1 })).length, 1);
    const ack = await s.acknowledgeSecurityEvent(x.event.id, "user-1", T + 7000);
    assert.deepEqual([ack.acknowledgedBy, ack.acknowledgedAt], ["user-1", T + 7000]);
    const again = await s.acknowledgeSecurityEvent(x.event.id, "user-2", T + 8000);
    assert.deepEqual([again.acknowledgedBy, again.acknowledgedAt], ["user-1", T + 7000]);
    assert.deepEqual(
      (await s.listSecurityEvents({ kind: "device_rate", acknowledged: false })).map((e) => e.deviceId),
      ["list-2"],
    );
    await assert.rejects(
      s.acknowledgeSecurityEvent(987_654, "user-1", T),
      (e: unknown) => e instanceof PumpwatchError && e.code === "NOT_FOUND",
    );
  });

  it("announces a security event once per target and forgets it with its deliveries when pruned", async () => {
    const { security: s, notifications: n } = stores();
    const { event } = await s.recordSecurityEvent(
      obs("source:prune", T - 100 * 86_400_000, { kind: "dps_enumeration" }),
      GAP,
    );
    const d = {
      alarmId: null,
      securityEventId: event.id,
      episode: event.episode,
      companyId: null,
      kind: "security" as const,
      channel: "webhook" as const,
      target: "wh_security-contract",
      createdAt: T,
    };
    assert.equal(await n.enqueueDeliveries([d, d]), 1);
    assert.equal(await n.enqueueDeliveries([d]), 0);
    const mine = (await n.listDeliveries({ limit: 1000 })).filter((x) => x.securityEventId === event.id);
    assert.equal(mine.length, 1);
    assert.deepEqual([mine[0]!.alarmId, mine[0]!.kind, mine[0]!.companyId], [null, "security", null]);
    assert.ok((await s.pruneSecurityEvents(T - 90 * 86_400_000)) >= 1);
    assert.equal(await s.getSecurityEvent(event.id), undefined);
    const left = (await n.listDeliveries({ limit: 1000 })).filter((x) => x.securityEventId === event.id);
    assert.equal(left.length, 0);
  });
}
