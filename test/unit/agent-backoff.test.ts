import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AUTH_BACKOFF, backoffDelay, NETWORK_BACKOFF } from "../../src/device/backoff.js";

describe("reconnect back-off", () => {
  const policy = { baseMs: 100, capMs: 1000 };

  it("doubles the upper bound with every attempt until the cap", () => {
    const almostOne = () => 0.999_999;
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 30].map((n) => backoffDelay(n, policy, almostOne)),
      [99, 199, 399, 799, 999, 999, 999],
    );
  });

  it("draws the whole interval from zero (full jitter)", () => {
    assert.equal(
      backoffDelay(3, policy, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(3, policy, () => 0.5),
      400,
    );
    const delays = Array.from({ length: 2000 }, () => backoffDelay(10, policy));
    assert.ok(Math.min(...delays) < 100, "some retries come almost at once");
    assert.ok(Math.max(...delays) > 900, "some wait nearly the cap");
    assert.ok(delays.every((d) => d >= 0 && d < 1000));
  });

  it("stays finite for absurd attempt counts", () => {
    assert.equal(
      backoffDelay(10_000, NETWORK_BACKOFF, () => 0.5),
      NETWORK_BACKOFF.capMs / 2,
    );
    assert.equal(
      backoffDelay(-3, policy, () => 0.5),
      50,
    );
  });

  it("waits far longer after refused credentials than after network failures", () => {
    assert.ok(AUTH_BACKOFF.baseMs >= 10 * NETWORK_BACKOFF.baseMs);
    assert.ok(AUTH_BACKOFF.capMs > NETWORK_BACKOFF.capMs);
  });
});
