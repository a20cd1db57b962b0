/**
 * Customer contracts: notice periods, effective end dates and the notice state machine (issue 6, item 5).
 *
 * Pure functions: no wall clock (`now` is always passed in), no I/O. Instants are epoch milliseconds
 * (UTC); every calendar computation happens in the contract's IANA time zone (default `Europe/Berlin`)
 * through `Intl`, so daylight-saving changes are handled by the platform's tz database.
 *
 * Legal rules implemented (German civil code, BGB §§ 186–193):
 *
 * - § 187(1): a notice period starts with an event, the receipt of the notice (§ 130(1)). The day of
 *   receipt is not counted. Receipt is the local calendar day of `receivedAt` in the contract's zone
 *   (23:30 UTC on 31 January is 00:30 CET on 1 February, so the notice was received on 1 February).
 * - § 188(2) first alternative: a period of N months ends with the expiry of the day of the last month
 *   that corresponds by number to the day of receipt (received 1 Feb + 1 month → 1 Mar); a period of
 *   N weeks ends on the day of the last week with the same weekday name (= receipt + 7·N days);
 *   § 188(1): a period of N days ends with the expiry of the N-th day after receipt.
 * - § 188(3): if the corresponding day does not exist in the last month, the period ends with the
 *   last day of that month (received 31 Jan + 1 month → 28 Feb, or 29 Feb in a leap year).
 * - "N months to the end of a calendar month" (`to: "monthEnd"`): the contract ends with the expiry of
 *   the first last-day-of-a-month that is on or after the day the N-month period ends. A period that
 *   ends exactly on the last day of a month qualifies for that month (received 31 Jan → period ends
 *   28 Feb → contract ends 28 Feb; received 30 Apr → 30 May → end of May; received 1 Feb → 1 Mar → end
 *   of March). Consequence for the default terms: a notice received on any day of a month ends the
 *   contract at the end of the following month. `to: "quarterEnd"` uses 31 Mar / 30 Jun / 30 Sep /
 *   31 Dec, `to: "contractYearEnd"` the last day of a contract year, `to: "none"` the end of the period
 *   itself. N = 0 is allowed ("to the end of the current month": received 31 Jan → ends 31 Jan 24:00).
 * - Contract years and the minimum term are periods that begin at the start of a day (§ 187(2)): they
 *   end with the expiry of the day before the day corresponding by number (§ 188(2) second alternative),
 *   or with the last day of the month if that day does not exist (§ 188(3)): start 2026-01-15 + 12 months
 *   → 2027-01-14; start 2026-01-01 → 2026-12-31; start 2024-02-29 → 2025-02-28.
 * - Minimum term (`minimumTermMonths`): notice may be given during the minimum term but never ends the
 *   contract before the minimum term has expired. The end of the minimum term is itself an admissible
 *   end date: if the notice period ends on or before it, the contract ends exactly when the minimum term
 *   expires; otherwise the regular rule above applies.
 * - § 193 (Sunday/holiday shifts the end to the next working day) is deliberately NOT applied: it does
 *   not apply to notice periods, which protect the recipient (settled case law, e.g. BGH XII ZR 59/04).
 * - The effective end instant (`endsAt`) is 24:00 local time of the last day, i.e. the first instant of
 *   the next local day. That is local midnight, or — in zones whose DST jump skips midnight
 *   (e.g. America/Santiago) — the first existing instant of that day.
 * - Extraordinary termination for good cause (§ 314 BGB for continuing obligations, cf. § 626) takes
 *   effect immediately on receipt (`endsAt = receivedAt`); a reason must be recorded.
 * - Withdrawal: once received, a notice cannot be revoked unilaterally (§ 130(1) sentence 2 only covers a
 *   revocation that arrives no later than the notice); a withdrawal recorded here stands for the two
 *   parties' agreement to continue the contract. It is accepted only while the notice has not taken
 *   effect (`now < endsAt`); afterwards the contract is over and a new one must be concluded.
 */
import { PumpwatchError } from "../core/errors.js";
import { type WallClock, wallClock, zoneFormatter } from "../core/zoned-time.js";

export const DEFAULT_TIME_ZONE = "Europe/Berlin";

/** A notice period: exactly one unit, a whole number ≥ 0. */
export type NoticePeriod = { months: number } | { weeks: number } | { days: number };

/** The date the contract may end on, once the notice period has run. */
export type NoticeAnchor = "monthEnd" | "quarterEnd" | "contractYearEnd" | "none";

/** Agreed notice terms; JSON-serialisable. Validate untrusted input with {@link validateTerms}. */
export interface NoticeTerms {
  period: NoticePeriod;
  to: NoticeAnchor;
  /** Minimum term in months from the contract start (§ 187(2)); absent or 0 = none. */
  minimumTermMonths?: number;
}

/** The statutory-style default: one month to the end of a calendar month. */
export const DEFAULT_TERMS: Readonly<NoticeTerms> = Object.freeze({
  period: Object.freeze({ months: 1 }),
  to: "monthEnd",
});

const ANCHORS: readonly NoticeAnchor[] = ["monthEnd", "quarterEnd", "contractYearEnd", "none"];
const PERIOD_LIMITS = { months: 120, weeks: 520, days: 3650 } as const;
const MAX_MINIMUM_TERM_MONTHS = 240;
const MAX_REASON_LENGTH = 2000;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

function bad(message: string, detail?: Record<string, unknown>): PumpwatchError {
  return new PumpwatchError("BAD_REQUEST", message, detail);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkCount(value: unknown, field: string, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw bad(
      `notice terms: "${field}" must be a whole number from 0 to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Validates untrusted notice terms and returns a normalised copy. `undefined`/`null` mean "nothing
 * agreed" and yield the default terms (one month to the end of a calendar month).
 */
export function validateTerms(raw: unknown): NoticeTerms {
  if (raw === undefined || raw === null) return { period: { months: 1 }, to: "monthEnd" };
  if (!isPlainObject(raw)) {
    throw bad('notice terms must be an object such as {"period": {"months": 1}, "to": "monthEnd"}');
  }
  for (const key of Object.keys(raw)) {
    if (key !== "period" && key !== "to" && key !== "minimumTermMonths") {
      throw bad(`notice terms: unknown field "${key}"; allowed are "period", "to" and "minimumTermMonths"`);
    }
  }
  const rawPeriod = raw["period"];
  const units = isPlainObject(rawPeriod) ? Object.keys(rawPeriod) : [];
  const unit = units[0];
  if (
    !isPlainObject(rawPeriod) ||
    units.length !== 1 ||
    (unit !== "months" && unit !== "weeks" && unit !== "days")
  ) {
    throw bad(
      'notice terms: "period" must be an object with exactly one of "months", "weeks" or "days", e.g. {"months": 1}',
    );
  }
  const count = checkCount(rawPeriod[unit], `period.${unit}`, PERIOD_LIMITS[unit]);
  const period: NoticePeriod =
    unit === "months" ? { months: count } : unit === "weeks" ? { weeks: count } : { days: count };

  const to = raw["to"];
  if (typeof to !== "string" || !(ANCHORS as readonly string[]).includes(to)) {
    throw bad(`notice terms: "to" must be one of ${ANCHORS.map((a) => `"${a}"`).join(", ")}`, { to });
  }
  const terms: NoticeTerms = { period, to: to as NoticeAnchor };
  if (raw["minimumTermMonths"] !== undefined) {
    terms.minimumTermMonths = checkCount(
      raw["minimumTermMonths"],
      "minimumTermMonths",
      MAX_MINIMUM_TERM_MONTHS,
    );
  }
  return terms;
}

// ---------------------------------------------------------------------------------------------
// Civil dates and time zones
// ---------------------------------------------------------------------------------------------

/** A proleptic Gregorian calendar date; `m` is 1–12. */
interface CivilDate {
  y: number;
  m: number;
  d: number;
}

function utcMs(y: number, m: number, d: number, hh = 0, mi = 0, ss = 0): number {
  const dt = new Date(0);
  dt.setUTCFullYear(y, m - 1, d); // unlike Date.UTC, does not map years 0–99 to 1900–1999
  dt.setUTCHours(hh, mi, ss, 0);
  return dt.getTime();
}

function fromUtcMs(ms: number): CivilDate {
  const dt = new Date(ms);
  return { y: dt.getUTCFullYear(), m: dt.getUTCMonth() + 1, d: dt.getUTCDate() };
}

function daysInMonth(y: number, m: number): number {
  return fromUtcMs(utcMs(y, m + 1, 0)).d;
}

function addDays(date: CivilDate, n: number): CivilDate {
  return fromUtcMs(utcMs(date.y, date.m, date.d) + n * DAY_MS);
}

/** Year and month `n` months after (y, m). */
function shiftMonth(y: number, m: number, n: number): { y: number; m: number } {
  const index = y * 12 + (m - 1) + n;
  return { y: Math.floor(index / 12), m: (index % 12) + 1 };
}

function compare(a: CivilDate, b: CivilDate): number {
  return a.y - b.y || a.m - b.m || a.d - b.d;
}

function formatDate(date: CivilDate): string {
  return `${String(date.y).padStart(4, "0")}-${String(date.m).padStart(2, "0")}-${String(date.d).padStart(2, "0")}`;
}

function parseDate(value: unknown, what: string): CivilDate {
  const match = typeof value === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
  if (match) {
    const date = { y: Number(match[1]), m: Number(match[2]), d: Number(match[3]) };
    if (date.m >= 1 && date.m <= 12 && date.d >= 1 && date.d <= daysInMonth(date.y, date.m)) return date;
  }
  throw bad(`${what} must be a calendar date "YYYY-MM-DD", got ${JSON.stringify(value)}`);
}

/** Throws BAD_REQUEST unless `value` is a calendar date `YYYY-MM-DD` (`what` names it in the message). */
export function assertCalendarDate(value: unknown, what: string): asserts value is string {
  parseDate(value, what);
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  try {
    return zoneFormatter(timeZone);
  } catch {
    throw bad(`unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as "Europe/Berlin"`);
  }
}

/** Throws BAD_REQUEST unless `timeZone` is an IANA zone the runtime knows. */
export function assertTimeZone(timeZone: unknown): asserts timeZone is string {
  if (typeof timeZone !== "string" || timeZone === "") {
    throw bad('the contract time zone must be an IANA name such as "Europe/Berlin"');
  }
  formatter(timeZone);
}

function localWallClock(t: number, timeZone: string): WallClock {
  return wallClock(formatter(timeZone), t);
}

/** UTC offset of `timeZone` at instant `t`, in ms (positive east of Greenwich). */
function offsetAt(t: number, timeZone: string): number {
  const w = localWallClock(t, timeZone);
  return utcMs(w.y, w.m, w.d, w.hh, w.mi, w.ss) - (t - (((t % 1000) + 1000) % 1000));
}

function localDate(t: number, timeZone: string): CivilDate {
  const { y, m, d } = localWallClock(t, timeZone);
  return { y, m, d };
}

/** First instant of the local day `date` in `timeZone`: local midnight, or the end of a DST gap over it. */
function startOfLocalDay(date: CivilDate, timeZone: string): number {
  const guess = utcMs(date.y, date.m, date.d);
  const offsets = new Set([DAY_MS, 0, -DAY_MS].map((delta) => offsetAt(guess + delta, timeZone)));
  const candidates = [...offsets].map((offset) => guess - offset);
  const exact = candidates.filter((t) => {
    const w = localWallClock(t, timeZone);
    return compare(w, date) === 0 && w.hh === 0 && w.mi === 0 && w.ss === 0;
  });
  if (exact.length > 0) return Math.min(...exact);
  // Midnight falls into a DST gap: binary-search the transition between the candidates.
  let lo = Math.min(...candidates); // still on the previous local day
  let hi = Math.max(...candidates); // already on `date`
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (compare(localDate(mid, timeZone), date) >= 0) hi = mid;
    else lo = mid;
  }
  return hi;
}

function checkInstant(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || Math.abs(value) > 8.64e15) {
    throw bad(`${what} must be an instant in epoch milliseconds, got ${JSON.stringify(value)}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Periods (§§ 187, 188)
// ---------------------------------------------------------------------------------------------

/** § 187(1) + § 188(1)–(3): the last day of a period that starts with an event on `received`. */
function periodEnd(received: CivilDate, period: NoticePeriod): CivilDate {
  if ("months" in period) {
    const { y, m } = shiftMonth(received.y, received.m, period.months);
    return { y, m, d: Math.min(received.d, daysInMonth(y, m)) };
  }
  if ("weeks" in period) return addDays(received, 7 * period.weeks);
  return addDays(received, period.days);
}

/** § 187(2) + § 188(2) second alternative + § 188(3): last day of `months` months from `start`. */
function termEnd(start: CivilDate, months: number): CivilDate {
  const { y, m } = shiftMonth(start.y, start.m, months);
  if (start.d === 1) {
    const prev = shiftMonth(y, m, -1);
    return { y: prev.y, m: prev.m, d: daysInMonth(prev.y, prev.m) };
  }
  const dim = daysInMonth(y, m);
  return { y, m, d: start.d > dim ? dim : start.d - 1 };
}

/** The first admissible end date (per `to`) on or after `date`. */
function anchor(date: CivilDate, to: NoticeAnchor, start: CivilDate | undefined): CivilDate {
  switch (to) {
    case "none":
      return date;
    case "monthEnd":
      return { y: date.y, m: date.m, d: daysInMonth(date.y, date.m) };
    case "quarterEnd": {
      const m = Math.ceil(date.m / 3) * 3;
      return { y: date.y, m, d: daysInMonth(date.y, m) };
    }
    case "contractYearEnd": {
      if (start === undefined) throw bad("notice to the end of the contract year needs the contract start");
      let year = Math.max(1, date.y - start.y - 1);
      while (compare(termEnd(start, 12 * year), date) < 0) year++;
      return termEnd(start, 12 * year);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Effective end
// ---------------------------------------------------------------------------------------------

export interface EffectiveEnd {
  /** Last day of the contract, local calendar date `YYYY-MM-DD` in the contract's time zone. */
  lastDay: string;
  /** The instant the contract ends: 24:00 local time of `lastDay`, in epoch ms. */
  endsAt: number;
}

export interface EffectiveEndOptions {
  /** Contract start: epoch ms (its local day counts) or a local date `YYYY-MM-DD`. */
  contractStart?: number | string;
  /** Overrides `terms.minimumTermMonths`. */
  minimumTermMonths?: number;
}

/**
 * When an ordinary notice received at `receivedAt` ends the contract (see the file header for the rules).
 * Throws BAD_REQUEST for invalid terms, instants or time zones, and when `to: "contractYearEnd"` or a
 * minimum term is used without `contractStart`.
 */
export function effectiveEnd(
  terms: NoticeTerms,
  receivedAt: number,
  timeZone: string = DEFAULT_TIME_ZONE,
  opts: EffectiveEndOptions = {},
): EffectiveEnd {
  const valid = validateTerms(terms);
  checkInstant(receivedAt, "receivedAt");
  assertTimeZone(timeZone);

  let start: CivilDate | undefined;
  if (typeof opts.contractStart === "string") start = parseDate(opts.contractStart, "contractStart");
  else if (opts.contractStart !== undefined) {
    start = localDate(checkInstant(opts.contractStart, "contractStart"), timeZone);
  }
  const minimumTermMonths = checkCount(
    opts.minimumTermMonths ?? valid.minimumTermMonths ?? 0,
    "minimumTermMonths",
    MAX_MINIMUM_TERM_MONTHS,
  );
  if (valid.to === "contractYearEnd" && start === undefined) {
    throw bad('notice terms "to": "contractYearEnd" need the contract start to find the contract year');
  }
  if (minimumTermMonths > 0 && start === undefined) {
    throw bad("a minimum term needs the contract start; pass contractStart");
  }

  const received = localDate(receivedAt, timeZone);
  const noticeEnds = periodEnd(received, valid.period);
  const minimumEnds =
    minimumTermMonths > 0 && start !== undefined ? termEnd(start, minimumTermMonths) : undefined;
  const last =
    minimumEnds !== undefined && compare(noticeEnds, minimumEnds) <= 0
      ? minimumEnds
      : anchor(noticeEnds, valid.to, start);
  return { lastDay: formatDate(last), endsAt: startOfLocalDay(addDays(last, 1), timeZone) };
}

/**
 * Extraordinary termination for good cause: effective immediately on receipt. `lastDay` is the local
 * day of receipt (the contract's last, partial day).
 */
export function extraordinaryEnd(receivedAt: number, timeZone: string = DEFAULT_TIME_ZONE): EffectiveEnd {
  checkInstant(receivedAt, "receivedAt");
  assertTimeZone(timeZone);
  return { lastDay: formatDate(localDate(receivedAt, timeZone)), endsAt: receivedAt };
}

// ---------------------------------------------------------------------------------------------
// Contract state machine
// ---------------------------------------------------------------------------------------------

export type ContractStatus = "active" | "noticeGiven" | "terminated";
export type NoticeParty = "customer" | "operator";

export interface Notice {
  by: NoticeParty;
  /** When the notice reached the other party (§ 130(1)), epoch ms. */
  receivedAt: number;
  extraordinary: boolean;
  reason: string | null;
  /** Last day of the contract, local `YYYY-MM-DD`. */
  lastDay: string;
  /** When the notice takes effect, epoch ms. */
  endsAt: number;
  /** When the notice was recorded (`now` of {@link giveNotice}), epoch ms. */
  recordedAt: number;
}

export interface Contract {
  id: string;
  companyId: string;
  /** First day of the contract, local `YYYY-MM-DD`. */
  start: string;
  /** IANA time zone for all calendar arithmetic; default `Europe/Berlin`. */
  timeZone: string;
  terms: NoticeTerms;
  notice: Notice | null;
}

export interface GiveNoticeInput {
  receivedAt: number;
  by: NoticeParty;
  /** Termination for good cause, effective immediately; needs a `reason`. */
  extraordinary?: boolean;
  reason?: string;
}

/** The contract's status at `now`: derived, never stored. */
export function statusAt(contract: Contract, now: number): ContractStatus {
  checkInstant(now, "now");
  const notice = contract.notice;
  if (notice === null || now < notice.receivedAt) return "active";
  return now >= notice.endsAt ? "terminated" : "noticeGiven";
}

/**
 * Records a notice received at `input.receivedAt` (≤ `now`) and returns the updated contract.
 * A pending notice is only replaced by one that ends the contract earlier (e.g. an extraordinary
 * notice); otherwise CONFLICT. A terminated contract cannot be given notice (CONFLICT).
 */
export function giveNotice(contract: Contract, input: GiveNoticeInput, now: number): Contract {
  checkInstant(now, "now");
  if (!isPlainObject(input)) throw bad("the notice must be an object with receivedAt and by");
  const receivedAt = checkInstant(input.receivedAt, "receivedAt");
  if (receivedAt > now) {
    throw bad("receivedAt lies in the future; record a notice only once it has been received");
  }
  if (input.by !== "customer" && input.by !== "operator") {
    throw bad(`"by" must be "customer" or "operator", got ${JSON.stringify(input.by)}`);
  }
  if (input.extraordinary !== undefined && typeof input.extraordinary !== "boolean") {
    throw bad('"extraordinary" must be true or false');
  }
  const extraordinary = input.extraordinary === true;
  if (input.reason !== undefined && typeof input.reason !== "string") throw bad('"reason" must be a string');
  const reason = input.reason?.trim() || null;
  if (reason !== null && reason.length > MAX_REASON_LENGTH) {
    throw bad(`"reason" is too long; keep it under ${MAX_REASON_LENGTH} characters`);
  }
  if (extraordinary && reason === null) {
    throw bad(
      "an extraordinary termination needs a reason (the good cause); add one or give ordinary notice",
    );
  }

  if (statusAt(contract, now) === "terminated") {
    throw new PumpwatchError(
      "CONFLICT",
      `contract ${contract.id} already ended on ${contract.notice?.lastDay}; conclude a new contract instead`,
      { contractId: contract.id },
    );
  }
  assertTimeZone(contract.timeZone);
  const start = parseDate(contract.start, "contract start");
  const end = extraordinary
    ? extraordinaryEnd(receivedAt, contract.timeZone)
    : effectiveEnd(contract.terms, receivedAt, contract.timeZone, { contractStart: formatDate(start) });

  const pending = contract.notice;
  if (pending !== null && end.endsAt >= pending.endsAt) {
    throw new PumpwatchError(
      "CONFLICT",
      `contract ${contract.id} already ends on ${pending.lastDay} by an earlier notice; a notice ending on ` +
        `${end.lastDay} has no effect — withdraw the pending notice first if the parties agree`,
      { contractId: contract.id, lastDay: pending.lastDay, endsAt: pending.endsAt },
    );
  }
  const notice: Notice = {
    by: input.by,
    receivedAt,
    extraordinary,
    reason,
    lastDay: end.lastDay,
    endsAt: end.endsAt,
    recordedAt: now,
  };
  return { ...contract, notice };
}

/**
 * Withdraws the pending notice (by agreement of the parties) and returns the contract, active again.
 * CONFLICT if there is no notice or it has already taken effect.
 */
export function withdrawNotice(contract: Contract, now: number): Contract {
  checkInstant(now, "now");
  const notice = contract.notice;
  if (notice === null) {
    throw new PumpwatchError("CONFLICT", `contract ${contract.id} has no notice to withdraw`, {
      contractId: contract.id,
    });
  }
  if (now >= notice.endsAt) {
    throw new PumpwatchError(
      "CONFLICT",
      `the notice took effect on ${notice.lastDay}, so contract ${contract.id} has ended and the notice can ` +
        "no longer be withdrawn; conclude a new contract instead",
      { contractId: contract.id, endsAt: notice.endsAt },
    );
  }
  return { ...contract, notice: null };
}
