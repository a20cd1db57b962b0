/** Exponential back-off bounds: the n-th retry waits at most `min(capMs, baseMs · 2^n)`. */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** After network failures: quick first retry, at most a minute apart. */
export const NETWORK_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 60_000 };

/**
 * After the hub or DPS refused our credentials (CONNACK 5, DPS 401) even with a fresh
 * registration: retrying fast cannot help and only loads the server, so wait long.
 */
export const AUTH_BACKOFF: BackoffPolicy = { baseMs: 30_000, capMs: 15 * 60_000 };

/**
 * "Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015): a uniformly random
 * delay in [0, min(cap, base · 2^attempt)). Randomising the whole interval spreads a fleet that lost
 * its gateway at the same moment, so a restarted gateway is not hit by all boxes at once.
 * `attempt` counts from 0; `random` returns [0, 1).
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 52));
  return Math.floor(random() * exp);
}
