import { KeyedBuckets } from "../gateway/limits.js";

/** The `limits` config keys of provisioning. */
export interface DpsLimitConfig {
  /** Register requests per registration id per minute (also the burst). */
  dpsRegistrationsPerMin: number;
  /** Failed provisioning requests (401, 404, 400) per source address per minute (also the burst). */
  dpsFailuresPerMinPerIp: number;
}

/** Why a provisioning request was refused before it was looked at. */
export type DpsRefusal = "registration_rate" | "source_failures";

/** Reported when a limit starts refusing a key; at most once per key per minute. */
export interface DpsAbuseEvent {
  reason: DpsRefusal;
  /** The registration id (not secret), or undefined for source-address refusals. */
  registrationId: string | undefined;
  remote: string | undefined;
  /** Requests refused for this key since the last report. */
  refused: number;
}

const MINUTE = 60_000;

/**
 * Provisioning abuse limits (DPS itself answers 429 with `retry-after` when throttling, §3.2, §4):
 * a registration id re-registered in a loop, and a source that keeps failing — unknown or guessed
 * registration ids, forged tokens, enumeration — are refused before any key is looked up or any
 * signature computed. Only registers count per id (polls are cheap and bounded by the operation
 * table); every failure counts per source. Nothing secret is kept: keys are ids and addresses.
 */
export class DpsAbuseGuard {
  readonly #perId: KeyedBuckets | undefined;
  readonly #perSource: KeyedBuckets | undefined;
  readonly #onAbuse: (e: DpsAbuseEvent) => void;
  readonly #now: () => number;
  readonly #reported = new Map<string, { at: number; refused: number }>();

  constructor(o: DpsLimitConfig, onAbuse: (e: DpsAbuseEvent) => void, now: () => number = Date.now) {
    const perMin = (n: number) => (n > 0 ? new KeyedBuckets(n / 60, n) : undefined);
    this.#perId = perMin(o.dpsRegistrationsPerMin);
    this.#perSource = perMin(o.dpsFailuresPerMinPerIp);
    this.#onAbuse = onAbuse;
    this.#now = now;
  }

  /**
   * Before a request is handled: seconds the caller should wait (for `retry-after`) when it is
   * refused, else undefined.
   */
  check(req: { registrationId: string; kind: string; remote?: string | undefined }): number | undefined {
    const now = this.#now();
    if (this.#perSource && req.remote !== undefined) {
      const wait = this.#perSource.get(req.remote, now).waitFor(1, now);
      if (wait > 0) return this.#refuse("source_failures", undefined, req.remote, wait, now);
    }
    if (this.#perId && req.kind === "register") {
      const bucket = this.#perId.get(req.registrationId, now);
      if (!bucket.tryTake(1, now))
        return this.#refuse("registration_rate", req.registrationId, req.remote, bucket.waitFor(1, now), now);
    }
    return undefined;
  }

  /** After a request was answered: failures count against the source. */
  record(req: { remote?: string | undefined }, status: number): void {
    if (!this.#perSource || req.remote === undefined || status < 400 || status === 429) return;
    const now = this.#now();
    this.#perSource.get(req.remote, now).tryTake(1, now);
  }

  #refuse(
    reason: DpsRefusal,
    registrationId: string | undefined,
    remote: string | undefined,
    waitMs: number,
    now: number,
  ): number {
    const key = `${reason}|${registrationId ?? remote ?? ""}`;
    const r = this.#reported.get(key);
    if (r && now - r.at < MINUTE) r.refused++;
    else {
      if (this.#reported.size >= 10_000) this.#reported.clear();
      this.#reported.set(key, { at: now, refused: 0 });
      this.#onAbuse({ reason, registrationId, remote, refused: (r?.refused ?? 0) + 1 });
    }
    return Math.max(1, Math.ceil(waitMs / 1000));
  }
}
