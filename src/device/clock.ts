/**
 * Time as the agent's sampling sees it. Real time for a box; virtual time running N times faster
 * for simulation; a manual clock for tests. Only sampling and sending follow this clock: the
 * protocol (SAS expiry, back-off, keep-alive) talks to a real server and always uses real time.
 */
export interface Clock {
  /** Current time, epoch milliseconds. Non-decreasing. */
  now(): number;
  /** Calls `fn` once after `delayMs` of this clock's time. */
  setTimer(fn: () => void, delayMs: number): ClockTimer;
  clearTimer(timer: ClockTimer): void;
}

/** Opaque handle of a pending timer. */
export type ClockTimer = object;

const MAX_DELAY_MS = 2 ** 31 - 1;

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, delayMs) => setTimeout(fn, Math.min(Math.max(delayMs, 0), MAX_DELAY_MS)),
  clearTimer: (t) => clearTimeout(t as NodeJS.Timeout),
};

/**
 * Virtual time running `speed` times faster than real time, starting at `origin` (default: now).
 * Start it in the past when the samples go to a real server: a timestamp more than the server's
 * `limits.maxFutureSec` ahead of its clock is rejected (docs/telemetry.md). With `catchUp`, virtual
 * time never overtakes the wall clock: it runs ×speed until it reaches "now", then in real time
 * (as the simulator's SimClock does), so an accelerated demo can run for ever.
 */
export class ScaledClock implements Clock {
  readonly speed: number;
  readonly #origin: number;
  readonly #realStart: number;
  readonly #catchUp: boolean;

  /** `realStart`: the wall time at which virtual time was `origin` (default: now), to resume a run. */
  constructor(opts: { speed: number; origin?: number; catchUp?: boolean; realStart?: number }) {
    if (!(opts.speed > 0) || !Number.isFinite(opts.speed)) throw new RangeError("speed must be > 0");
    this.speed = opts.speed;
    this.#realStart = opts.realStart ?? Date.now();
    this.#origin = opts.origin ?? this.#realStart;
    this.#catchUp = opts.catchUp ?? false;
  }

  now(): number {
    const wall = Date.now();
    const accelerated = this.#origin + (wall - this.#realStart) * this.speed;
    return Math.floor(this.#catchUp ? Math.min(accelerated, Math.max(wall, this.#origin)) : accelerated);
  }

  /** A timer spanning the catch-up moment fires early; the sampler then simply waits again. */
  setTimer(fn: () => void, delayMs: number): ClockTimer {
    const wall = Date.now();
    const caughtUp = this.#catchUp && this.#origin + (wall - this.#realStart) * this.speed >= wall;
    const rate = caughtUp ? 1 : this.speed;
    return setTimeout(fn, Math.min(Math.max(delayMs / rate, 0), MAX_DELAY_MS));
  }

  clearTimer(t: ClockTimer): void {
    clearTimeout(t as NodeJS.Timeout);
  }
}

interface ManualTimer {
  at: number;
  fn: () => void;
  seq: number;
}

/** A clock that moves only when told to; timers fire in time order during `advance`. For tests. */
export class ManualClock implements Clock {
  #now: number;
  #timers: ManualTimer[] = [];
  #seq = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, delayMs: number): ClockTimer {
    const t: ManualTimer = { at: this.#now + Math.max(delayMs, 0), fn, seq: this.#seq++ };
    this.#timers.push(t);
    return t;
  }

  clearTimer(t: ClockTimer): void {
    this.#timers = this.#timers.filter((x) => x !== (t as unknown as ManualTimer));
  }

  /** Moves time forward by `ms`, firing due timers (including ones they set) in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = end;
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }
}
