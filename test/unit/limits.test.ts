import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeviceThrottle, KeyedBuckets, TokenBucket } from "../../src/gateway/limits.js";
import { type DpsAbuseEvent, DpsAbuseGuard } from "../../src/provisioning/dps-limits.js";

const LIMITS = {
  deviceMessagesPerSec: 10,
  deviceMessageBurst: 20,
  deviceBytesPerSec: 1000,
  deviceByteBurst: 2000,
  throttleMaxDelayMs: 1000,
  connectionsPerIpPerSec: 1,
  connectionBurstPerIp: 1,
};

describe("token buckets", () => {
  it("gives the burst at once, then the sustained rate", () => {
    const b = new TokenBucket(10, 20, 0);
    for (let i = 0; i < 20; i++) assert.equal(b.take(1, 0), 0);
    assert.equal(b.take(1, 0), 100);
    assert.equal(b.take(1, 0), 200);
    // 1 s later 10 tokens came back: the debt of 2 is paid, 8 are left.
    assert.equal(b.waitFor(8, 1000), 0);
    assert.equal(b.tryTake(9, 1000), false);
  });

  it("never holds more than the burst, and forgets quiet keys first when full", () => {
    const k = new KeyedBuckets(1, 5, 3);
    k.get("a", 0).take(5, 0);
    k.get("b", 0);
    k.get("c", 0);
    k.get("d", 0); // evicts the full buckets b and c, keeps a (in debt)
    assert.equal(k.size, 2);
    assert.equal(k.get("a", 0).tryTake(1, 0), false);
  });
});

describe("per-device throttle", () => {
  it("delays a device over its message budget and refuses what would wait too long", () => {
    let now = 0;
    const t = new DeviceThrottle(LIMITS, () => now);
    const delays: number[] = [];
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const a = t.admit("flood", 10);
      if ("refused" in a) refused++;
      else delays.push(a.delayMs);
    }
    assert.deepEqual(delays.slice(0, 20), new Array(20).fill(0));
    assert.equal(delays[20], 100);
    // Waits up to 1 s are shaped (10 more), then refused.
    assert.equal(delays.length, 30);
    assert.equal(refused, 10);
    // Another device is not affected.
    assert.deepEqual(t.admit("quiet", 10), { delayMs: 0 });
    now = 5000;
    assert.deepEqual(t.admit("flood", 10), { delayMs: 0 });
  });

  it("counts payload bytes; one packet larger than the burst waits for a full bucket only", () => {
    const t = new DeviceThrottle(LIMITS, () => 0);
    assert.deepEqual(t.admit("big", 5000), { delayMs: 0 });
    const a = t.admit("big", 500);
    assert.ok("delayMs" in a && a.delayMs === 500, JSON.stringify(a));
  });
});

describe("provisioning abuse guard", () => {
  it("limits registers per registration id and failures per source, and reports once per minute", () => {
    let now = 0;
    const events: DpsAbuseEvent[] = [];
    const g = new DpsAbuseGuard(
      { dpsRegistrationsPerMin: 3, dpsFailuresPerMinPerIp: 5 },
      (e) => events.push(e),
      () => now,
    );
    const reg = { registrationId: "pump-1", kind: "register", remote: "10.0.0.1" };
    for (let i = 0; i < 3; i++) assert.equal(g.check(reg), undefined);
    assert.equal(g.check(reg), 20);
    assert.equal(g.check(reg), 20);
    // Polls are not counted per id.
    assert.equal(g.check({ ...reg, kind: "poll" }), undefined);
    // Another source enumerating ids: five failures, then 429 for that source only.
    for (let i = 0; i < 5; i++) {
      const req = { registrationId: `guess-${i}`, kind: "register", remote: "10.0.0.9" };
      assert.equal(g.check(req), undefined);
      g.record(req, 401);
    }
    assert.ok(g.check({ registrationId: "guess-5", kind: "register", remote: "10.0.0.9" })! >= 1);
    assert.equal(g.check({ registrationId: "pump-2", kind: "register", remote: "10.0.0.1" }), undefined);
    assert.deepEqual(
      events.map((e) => [e.reason, e.registrationId, e.remote, e.refused]),
      [
        ["registration_rate", "pump-1", "10.0.0.1", 1],
        ["source_failures", undefined, "10.0.0.9", 1],
      ],
    );
    now = 61_000;
    assert.equal(g.check(reg), undefined);
  });
});
