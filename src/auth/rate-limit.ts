/**
 * Login throttling: pure and clock-injected (every call takes `now` in milliseconds), in memory only.
 *
 * - Per account: 5 failures within 15 min lock the account for 15 min; each further lockout doubles
 *   the time, up to 24 h. A successful login resets it; so do 24 h without a failure.
 * - Per source address: 50 failures within 15 min block that source until enough of them have left
 *   the window. Success does not reset it (one valid account must not unlock a guessing source).
 *
 * Memory is bounded: an entry keeps at most `max` failure times, entries with nothing left to
 * remember are dropped, and at most `maxKeys` keys are tracked (the least recently used goes first).
 * Source keys (IP addresses) live only here, never in a database or a log line.
 */

export interface LimitPolicy {
  /** Failures allowed within `windowMs`; the `max`-th failure triggers the block. */
  max: number;
  windowMs: number;
  /**
   * Lockout after `max` failures. 0: no lockout, a sliding-window block only (until the window
   * holds fewer than `max` failures again).
   */
  lockoutMs: number;
  /** Cap for the doubling lockout. */
  maxLockoutMs: number;
  /** Whether `succeed` forgets the key. */
  resetOnSuccess: boolean;
}

export interface LimitDecision {
  allowed: boolean;
  /** 0 when allowed; else how long until the next attempt may be made. */
  retryAfterMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const ACCOUNT_POLICY: Readonly<LimitPolicy> = Object.freeze({
  max: 5,
  windowMs: 15 * MINUTE,
  lockoutMs: 15 * MINUTE,
  maxLockoutMs: 24 * HOUR,
  resetOnSuccess: true,
});

export const SOURCE_POLICY: Readonly<LimitPolicy> = Object.freeze({
  max: 50,
  windowMs: 15 * MINUTE,
  lockoutMs: 0,
  maxLockoutMs: 0,
  resetOnSuccess: false,
});

export const DEFAULT_MAX_KEYS = 10_000;

interface Entry {
  /** Failure times within the window, oldest first, at most `max`. */
  failures: number[];
  /** End of the current lockout (0: none). */
  lockedUntil: number;
  /** Lockouts so far: the next one lasts lockoutMs · 2^level. */
  level: number;
  /** Last failure or lockout end, for forgetting `level` after `maxLockoutMs` of quiet. */
  lastActivity: number;
}

const ALLOWED: LimitDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

export class RateLimiter {
  readonly policy: Readonly<LimitPolicy>;
  readonly maxKeys: number;
  private readonly entries = new Map<string, Entry>();

  constructor(policy: Readonly<LimitPolicy>, maxKeys = DEFAULT_MAX_KEYS) {
    if (!(policy.max >= 1 && policy.windowMs > 0 && policy.lockoutMs >= 0)) {
      throw new RangeError("rate limit policy out of range");
    }
    if (!(Number.isSafeInteger(maxKeys) && maxKeys >= 1)) throw new RangeError("maxKeys must be ≥ 1");
    this.policy = policy;
    this.maxKeys = maxKeys;
  }

  /** Number of keys tracked now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  check(key: string, now: number): LimitDecision {
    const e = this.entries.get(key);
    if (!e) return ALLOWED;
    this.prune(e, now);
    if (e.lockedUntil > now) return { allowed: false, retryAfterMs: e.lockedUntil - now };
    const { max, windowMs } = this.policy;
    if (e.failures.length >= max) {
      // Blocked until the oldest failure that keeps the count at `max` leaves the window.
      const until = e.failures[e.failures.length - max]! + windowMs;
      return { allowed: false, retryAfterMs: Math.max(1, until - now) };
    }
    if (this.forgettable(e, now)) this.entries.delete(key);
    return ALLOWED;
  }

  /** Records a failed attempt; returns the decision for the next attempt. */
  fail(key: string, now: number): LimitDecision {
    let e = this.entries.get(key);
    if (e) {
      this.entries.delete(key); // re-insert below: Map order is least recently used first
      this.prune(e, now);
      if (this.forgettable(e, now)) e = undefined;
    }
    if (!e) {
      this.makeRoom(now);
      e = { failures: [], lockedUntil: 0, level: 0, lastActivity: now };
    }
    this.entries.set(key, e);
    if (e.lockedUntil > now) return { allowed: false, retryAfterMs: e.lockedUntil - now };
    const { max, lockoutMs, maxLockoutMs } = this.policy;
    e.failures.push(now);
    if (e.failures.length > max) e.failures.splice(0, e.failures.length - max);
    e.lastActivity = now;
    if (lockoutMs > 0 && e.failures.length >= max) {
      const duration = Math.min(lockoutMs * 2 ** Math.min(e.level, 30), Math.max(maxLockoutMs, lockoutMs));
      e.level += 1;
      e.lockedUntil = now + duration;
      e.lastActivity = e.lockedUntil;
      e.failures = [];
    }
    return this.check(key, now);
  }

  /** Records a successful attempt: forgets the key when the policy says so. */
  succeed(key: string, _now: number): void {
    if (this.policy.resetOnSuccess) this.entries.delete(key);
  }

  /** Drops every entry with nothing left to remember. Called by `fail` when the map is full. */
  sweep(now: number): void {
    for (const [key, e] of this.entries) {
      this.prune(e, now);
      if (this.forgettable(e, now)) this.entries.delete(key);
    }
  }

  private prune(e: Entry, now: number): void {
    const from = now - this.policy.windowMs;
    let drop = 0;
    while (drop < e.failures.length && e.failures[drop]! <= from) drop++;
    if (drop > 0) e.failures.splice(0, drop);
    if (e.lockedUntil !== 0 && e.lockedUntil <= now) e.lockedUntil = 0;
  }

  /** No failures in the window, no lockout, and any lockout history older than `maxLockoutMs`. */
  private forgettable(e: Entry, now: number): boolean {
    if (e.failures.length > 0 || e.lockedUntil > now) return false;
    return e.level === 0 || now - e.lastActivity >= Math.max(this.policy.maxLockoutMs, this.policy.windowMs);
  }

  private makeRoom(now: number): void {
    if (this.entries.size < this.maxKeys) return;
    this.sweep(now);
    while (this.entries.size >= this.maxKeys) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}

export interface LoginAttempt {
  /** The login name as typed; compared case-insensitively. */
  account: string;
  /** The client's address (or any other source identifier); kept in memory only. */
  source: string;
}

/** Both limiters together, as the login route uses them. */
export class LoginLimiter {
  readonly accounts: RateLimiter;
  readonly sources: RateLimiter;

  constructor(
    opts: { account?: Partial<LimitPolicy>; source?: Partial<LimitPolicy>; maxKeys?: number } = {},
  ) {
    this.accounts = new RateLimiter({ ...ACCOUNT_POLICY, ...opts.account }, opts.maxKeys);
    this.sources = new RateLimiter({ ...SOURCE_POLICY, ...opts.source }, opts.maxKeys);
  }

  /** Call before verifying the password; when not allowed, answer 429 with Retry-After. */
  check(attempt: LoginAttempt, now: number): LimitDecision {
    return merge(this.sources.check(attempt.source, now), this.accounts.check(accountKey(attempt), now));
  }

  fail(attempt: LoginAttempt, now: number): LimitDecision {
    return merge(this.sources.fail(attempt.source, now), this.accounts.fail(accountKey(attempt), now));
  }

  succeed(attempt: LoginAttempt, now: number): void {
    this.sources.succeed(attempt.source, now);
    this.accounts.succeed(accountKey(attempt), now);
  }
}

function accountKey(attempt: LoginAttempt): string {
  return attempt.account.normalize("NFC").trim().toLowerCase();
}

function merge(a: LimitDecision, b: LimitDecision): LimitDecision {
  if (a.allowed && b.allowed) return ALLOWED;
  return { allowed: false, retryAfterMs: Math.max(a.retryAfterMs, b.retryAfterMs) };
}
