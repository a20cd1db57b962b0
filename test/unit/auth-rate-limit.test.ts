import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ACCOUNT_POLICY, LoginLimiter, RateLimiter, SOURCE_POLICY } from "../../src/auth/rate-limit.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2025, 0, 1);

describe("RateLimiter (account policy: 5 failures / 15 min → lockout)", () => {
  it("allows four failures, locks on the fifth for 15 min, then lets the user in again", () => {
    const rl = new RateLimiter(ACCOUNT_POLICY);
    let now = T0;
    for (let i = 0; i < 4; i++) {
      assert.equal(rl.check("anna", now).allowed, true);
      assert.equal(rl.fail("anna", now).allowed, true);
      now += 1000;
    }
    const locked = rl.fail("anna", now);
    assert.deepEqual(locked, { allowed: false, retryAfterMs: 15 * MIN });
    assert.deepEqual(rl.check("anna", now + 5 * MIN), { allowed: false, retryAfterMs: 10 * MIN });
    assert.equal(rl.check("other", now).allowed, true, "other accounts are not affected");
    assert.equal(rl.check("anna", now + 15 * MIN).allowed, true, "lockout expires");
  });

  it("forgets failures that left the sliding window", () => {
    const rl = new RateLimiter(ACCOUNT_POLICY);
    for (let i = 0; i < 4; i++) rl.fail("anna", T0 + i * MIN);
    // At T0 + 15 min the first failure (T0) has left the window: the fifth failure is only the fourth.
    assert.equal(rl.fail("anna", T0 + 15 * MIN).allowed, true);
    assert.equal(rl.fail("anna", T0 + 15 * MIN + 1).allowed, false);
  });

  it("doubles the lockout on repeated lockouts, up to 24 h", () => {
    const rl = new RateLimiter(ACCOUNT_POLICY);
    let now = T0;
    const durations: number[] = [];
    for (let round = 0; round < 9; round++) {
      let d = rl.fail("anna", now);
      for (let i = 1; i < 5; i++) d = rl.fail("anna", now);
      assert.equal(d.allowed, false);
      durations.push(d.retryAfterMs);
      now += d.retryAfterMs; // wait the lockout out, then fail again
      assert.equal(rl.check("anna", now).allowed, true);
    }
    assert.deepEqual(
      durations.map((d) => d / MIN),
      [15, 30, 60, 120, 240, 480, 960, 1440, 1440],
    );
  });

  it("a success resets the lockout level; so do 24 h without failures", () => {
    const rl = new RateLimiter(ACCOUNT_POLICY);
    const lock = (now: number) => {
      let d = rl.fail("anna", now);
      for (let i = 1; i < 5; i++) d = rl.fail("anna", now);
      return d.retryAfterMs;
    };
    assert.equal(lock(T0), 15 * MIN);
    assert.equal(lock(T0 + 15 * MIN), 30 * MIN);
    rl.succeed("anna", T0 + 45 * MIN);
    assert.equal(lock(T0 + 46 * MIN), 15 * MIN, "level reset by success");
    // Lockout ends at T0+61 min; 24 h of quiet after that forgets the level.
    assert.equal(lock(T0 + 61 * MIN + 24 * HOUR), 15 * MIN);
  });

  it("ignores failures reported while locked (the caller should not even check the password)", () => {
    const rl = new RateLimiter(ACCOUNT_POLICY);
    for (let i = 0; i < 5; i++) rl.fail("anna", T0);
    assert.equal(rl.fail("anna", T0 + MIN).retryAfterMs, 14 * MIN);
    assert.equal(rl.check("anna", T0 + 15 * MIN).allowed, true);
  });
});

describe("RateLimiter (source policy: 50 failures / 15 min, sliding)", () => {
  it("blocks the 51st attempt until the oldest failures leave the window; success does not reset", () => {
    const rl = new RateLimiter(SOURCE_POLICY);
    for (let i = 0; i < 50; i++) rl.fail("192.0.2.1", T0 + i * 1000);
    rl.succeed("192.0.2.1", T0 + 50_000);
    const d = rl.check("192.0.2.1", T0 + 60_000);
    assert.equal(d.allowed, false);
    // The first failure (T0) leaves the window at T0 + 15 min.
    assert.equal(d.retryAfterMs, 15 * MIN - 60_000);
    assert.equal(rl.check("192.0.2.1", T0 + 15 * MIN).allowed, true);
    assert.equal(rl.fail("192.0.2.1", T0 + 15 * MIN).allowed, false, "back at 50 within the window");
    assert.equal(rl.check("192.0.2.2", T0).allowed, true);
  });
});

describe("RateLimiter memory", () => {
  it("caps the number of tracked keys, dropping expired entries first, then the least recently used", () => {
    const rl = new RateLimiter(ACCOUNT_POLICY, 100);
    // A locked key, used early.
    for (let i = 0; i < 5; i++) rl.fail("victim", T0);
    for (let i = 0; i < 1000; i++) rl.fail(`user${i}`, T0 + i);
    assert.ok(rl.size <= 100, `size ${rl.size}`);
    assert.equal(rl.check("user999", T0 + 1000).allowed, true);
    assert.equal(rl.check("victim", T0 + 1000).allowed, true, "evicted as least recently used");
  });

  it("drops entries once nothing is left to remember", () => {
    const rl = new RateLimiter(ACCOUNT_POLICY, 10);
    for (let i = 0; i < 10; i++) rl.fail(`old${i}`, T0);
    // 16 min later all old failures have expired: new keys take their place without evicting live ones.
    rl.fail("live", T0 + 16 * MIN);
    rl.fail("live", T0 + 16 * MIN);
    rl.fail("new", T0 + 16 * MIN);
    assert.equal(rl.size, 2);
    rl.sweep(T0 + 32 * MIN);
    assert.equal(rl.size, 0);
    assert.equal(rl.check("nobody", T0).allowed, true);
    assert.equal(rl.size, 0, "check does not create entries");
  });

  it("keeps at most `max` failure times per key", () => {
    const rl = new RateLimiter(SOURCE_POLICY, 10);
    for (let i = 0; i < 10_000; i++) rl.fail("flood", T0 + i);
    // 10 000 failures in 10 s: blocked until the 50th newest leaves the window.
    assert.equal(rl.check("flood", T0 + 10_000).retryAfterMs, 9950 + 15 * MIN - 10_000);
    const entries = (rl as unknown as { entries: Map<string, { failures: number[] }> }).entries;
    assert.equal(entries.get("flood")!.failures.length, 50);
  });

  it("refuses nonsense configuration", () => {
    assert.throws(() => new RateLimiter({ ...ACCOUNT_POLICY, max: 0 }), RangeError);
    assert.throws(() => new RateLimiter(ACCOUNT_POLICY, 0), RangeError);
  });
});

describe("LoginLimiter", () => {
  it("combines account and source, account case-insensitive, and success resets only the account", () => {
    const ll = new LoginLimiter();
    for (let i = 0; i < 4; i++) ll.fail({ account: "Anna@Example.com", source: "198.51.100.7" }, T0);
    const d = ll.fail({ account: "anna@example.com ", source: "198.51.100.8" }, T0);
    assert.deepEqual(d, { allowed: false, retryAfterMs: 15 * MIN });
    assert.equal(ll.check({ account: "ANNA@EXAMPLE.COM", source: "203.0.113.1" }, T0).allowed, false);
    assert.equal(ll.check({ account: "bob@example.com", source: "198.51.100.7" }, T0).allowed, true);
    ll.succeed({ account: "anna@example.com", source: "198.51.100.7" }, T0 + 16 * MIN);
    assert.equal(ll.accounts.size, 0);
  });

  it("blocks a source that guesses across many accounts", () => {
    const ll = new LoginLimiter();
    for (let i = 0; i < 50; i++) ll.fail({ account: `user${i}@example.com`, source: "198.51.100.9" }, T0 + i);
    const d = ll.check({ account: "fresh@example.com", source: "198.51.100.9" }, T0 + 100);
    assert.equal(d.allowed, false);
    assert.equal(d.retryAfterMs, 15 * MIN - 100);
    ll.succeed({ account: "fresh@example.com", source: "198.51.100.9" }, T0 + 100);
    assert.equal(ll.check({ account: "x@example.com", source: "198.51.100.9" }, T0 + 200).allowed, false);
  });
});
