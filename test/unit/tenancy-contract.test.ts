import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PumpwatchError } from "../../src/core/errors.js";
import {
  type Contract,
  DEFAULT_TERMS,
  effectiveEnd,
  extraordinaryEnd,
  giveNotice,
  type NoticeTerms,
  statusAt,
  validateTerms,
  withdrawNotice,
} from "../../src/tenancy/contract.js";

const HOUR = 3_600_000;
const MONTH_1: NoticeTerms = { period: { months: 1 }, to: "monthEnd" };

/** An instant given as local wall time with an explicit UTC offset in hours (no library under test). */
function at(iso: string, offsetHours: number): number {
  return Date.parse(`${iso}Z`) - offsetHours * HOUR;
}

/** Local noon-ish in Berlin on a date: 10:00 UTC is 11:00 CET or 12:00 CEST, never near midnight. */
function berlinDay(date: string): number {
  return Date.parse(`${date}T10:00:00Z`);
}

/** Berlin offset on the 1st of a month (DST switches on the last Sunday, so the 1st is unambiguous). */
function berlinOffsetOnFirst(month: number): number {
  return month >= 4 && month <= 10 ? 2 : 1;
}

/** Berlin local midnight at the start of the 1st of the month after `lastDay` (a month's last day). */
function berlinMidnightAfterMonthEnd(lastDay: string): number {
  const [y, m] = lastDay.split("-").map(Number) as [number, number];
  const ny = m === 12 ? y + 1 : y;
  const nm = m === 12 ? 1 : m + 1;
  return at(`${ny}-${String(nm).padStart(2, "0")}-01T00:00:00`, berlinOffsetOnFirst(nm));
}

function assertError(fn: () => unknown, code: "BAD_REQUEST" | "CONFLICT", pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PumpwatchError, `expected PumpwatchError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

const pad = (n: number): string => String(n).padStart(2, "0");

// Month lengths written out by hand, independent of the implementation.
const MONTH_LENGTHS: Record<number, number[]> = {
  2024: [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
  2025: [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
  2026: [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
};

function monthLength(y: number, m: number): number {
  return MONTH_LENGTHS[y]![m - 1]!;
}

describe("effectiveEnd: the issue's examples (one month to the end of a calendar month)", () => {
  it("received 31 January ends with 28 February (§ 188(3)), 29 February in a leap year", () => {
    const r = effectiveEnd(MONTH_1, berlinDay("2026-01-31"));
    assert.equal(r.lastDay, "2026-02-28");
    assert.equal(r.endsAt, at("2026-03-01T00:00:00", 1));
    assert.equal(effectiveEnd(MONTH_1, berlinDay("2024-01-31")).lastDay, "2024-02-29");
  });

  it("received 1 February ends with 31 March (period ends 1 March)", () => {
    const r = effectiveEnd(MONTH_1, berlinDay("2026-02-01"));
    assert.equal(r.lastDay, "2026-03-31");
    assert.equal(r.endsAt, at("2026-04-01T00:00:00", 2)); // CEST since 29 March
  });

  it("received 28 February (non-leap) ends with 31 March", () => {
    assert.equal(effectiveEnd(MONTH_1, berlinDay("2025-02-28")).lastDay, "2025-03-31");
  });

  it("a period ending exactly on a month's last day qualifies for that month", () => {
    // 30 April + 1 month = 30 May (not a month end) → end of May
    assert.equal(effectiveEnd(MONTH_1, berlinDay("2026-04-30")).lastDay, "2026-05-31");
    // 30 May + 1 month = 30 June, the last day of June → end of June
    assert.equal(effectiveEnd(MONTH_1, berlinDay("2026-05-30")).lastDay, "2026-06-30");
    // 31 May + 1 month: 31 June does not exist → 30 June (§ 188(3)) → end of June
    assert.equal(effectiveEnd(MONTH_1, berlinDay("2026-05-31")).lastDay, "2026-06-30");
  });

  it("uses the default terms and the Berlin zone when nothing else is given", () => {
    assert.deepEqual(DEFAULT_TERMS, { period: { months: 1 }, to: "monthEnd" });
    assert.deepEqual(effectiveEnd(DEFAULT_TERMS, berlinDay("2026-01-31")), {
      lastDay: "2026-02-28",
      endsAt: at("2026-03-01T00:00:00", 1),
    });
  });
});

describe("effectiveEnd: every month end of a leap and a non-leap year", () => {
  for (const year of [2024, 2025]) {
    for (let month = 1; month <= 12; month++) {
      const ny = month === 12 ? year + 1 : year;
      const nm = month === 12 ? 1 : month + 1;
      const expected = `${ny}-${pad(nm)}-${pad(monthLength(ny, nm))}`;
      const days = [1, 28, 29, 30, 31].filter((d) => d <= monthLength(year, month));
      it(`${year}-${pad(month)}: received on the ${days.join("/")} → ends ${expected}`, () => {
        for (const day of days) {
          const received = `${year}-${pad(month)}-${pad(day)}`;
          const r = effectiveEnd(MONTH_1, berlinDay(received));
          assert.equal(r.lastDay, expected, `received ${received}`);
          assert.equal(r.endsAt, berlinMidnightAfterMonthEnd(expected), `endsAt for ${received}`);
        }
      });
    }
  }

  it("with 0 months, a notice received on a month's last day ends that day", () => {
    for (const year of [2024, 2025]) {
      for (let month = 1; month <= 12; month++) {
        const last = `${year}-${pad(month)}-${pad(monthLength(year, month))}`;
        const r = effectiveEnd({ period: { months: 0 }, to: "monthEnd" }, berlinDay(last));
        assert.equal(r.lastDay, last);
        assert.equal(r.endsAt, berlinMidnightAfterMonthEnd(last));
      }
    }
  });
});

describe("effectiveEnd: year end", () => {
  it("received 30 November ends 31 December (period ends 30 December)", () => {
    const r = effectiveEnd(MONTH_1, berlinDay("2025-11-30"));
    assert.equal(r.lastDay, "2025-12-31");
    assert.equal(r.endsAt, at("2026-01-01T00:00:00", 1));
  });

  it("received 1 December ends 31 January of the next year", () => {
    const r = effectiveEnd(MONTH_1, berlinDay("2025-12-01"));
    assert.equal(r.lastDay, "2026-01-31");
    assert.equal(r.endsAt, at("2026-02-01T00:00:00", 1));
  });

  it("received 31 December ends 31 January of the next year", () => {
    assert.equal(effectiveEnd(MONTH_1, berlinDay("2025-12-31")).lastDay, "2026-01-31");
  });

  it("received late on 31 December in Berlin vs. already 1 January in Berlin", () => {
    // 22:59 UTC = 23:59 CET on 31 Dec; 23:00 UTC = 00:00 CET on 1 Jan
    assert.equal(effectiveEnd(MONTH_1, Date.parse("2025-12-31T22:59:59.999Z")).lastDay, "2026-01-31");
    assert.equal(effectiveEnd(MONTH_1, Date.parse("2025-12-31T23:00:00Z")).lastDay, "2026-02-28");
  });
});

describe("effectiveEnd: daylight saving time and time zones", () => {
  it("received 2026-03-28 (day before DST starts): ends 30 April, endsAt = midnight CEST (UTC+2)", () => {
    const r = effectiveEnd(MONTH_1, berlinDay("2026-03-28"));
    assert.equal(r.lastDay, "2026-04-30");
    assert.equal(r.endsAt, Date.parse("2026-04-30T22:00:00Z"));
  });

  it("received 2026-10-24 (day before DST ends): ends 30 November, endsAt = midnight CET (UTC+1)", () => {
    const r = effectiveEnd(MONTH_1, berlinDay("2026-10-24"));
    assert.equal(r.lastDay, "2026-11-30");
    assert.equal(r.endsAt, Date.parse("2026-11-30T23:00:00Z"));
  });

  it("ends on the DST-change days themselves at the right local midnight", () => {
    const days1 = { period: { days: 1 }, to: "none" } as const;
    // 29 March 2026 (23 h long): starts 00:00 CET, ends 24:00 CEST = 22:00 UTC
    assert.deepEqual(effectiveEnd(days1, berlinDay("2026-03-28")), {
      lastDay: "2026-03-29",
      endsAt: Date.parse("2026-03-29T22:00:00Z"),
    });
    // 25 October 2026 (25 h long): ends 24:00 CET = 23:00 UTC
    assert.deepEqual(effectiveEnd(days1, berlinDay("2026-10-24")), {
      lastDay: "2026-10-25",
      endsAt: Date.parse("2026-10-25T23:00:00Z"),
    });
    // 0 months to month end received on 28 March: 31 March 24:00 CEST
    const r = effectiveEnd({ period: { months: 0 }, to: "monthEnd" }, berlinDay("2026-03-28"));
    assert.equal(r.endsAt, Date.parse("2026-03-31T22:00:00Z"));
  });

  it("23:30 CET on 31 January is still 31 January; 23:30 UTC is already 1 February in Berlin", () => {
    const sameDay = effectiveEnd(MONTH_1, Date.parse("2026-01-31T22:30:00Z"));
    assert.deepEqual(sameDay, { lastDay: "2026-02-28", endsAt: Date.parse("2026-02-28T23:00:00Z") });
    const nextDay = effectiveEnd(MONTH_1, Date.parse("2026-01-31T23:30:00Z"));
    assert.deepEqual(nextDay, { lastDay: "2026-03-31", endsAt: Date.parse("2026-03-31T22:00:00Z") });
  });

  it("local midnight exactly counts as the new day", () => {
    assert.equal(effectiveEnd(MONTH_1, at("2026-02-01T00:00:00", 1)).lastDay, "2026-03-31");
    assert.equal(effectiveEnd(MONTH_1, at("2026-02-01T00:00:00", 1) - 1).lastDay, "2026-02-28");
  });

  it("the same instant is a different receipt day in New York, Berlin and Tokyo", () => {
    const t = Date.parse("2026-01-31T23:30:00Z"); // 18:30 EST 31 Jan, 00:30 CET / 08:30 JST 1 Feb
    assert.deepEqual(effectiveEnd(MONTH_1, t, "America/New_York"), {
      lastDay: "2026-02-28",
      endsAt: Date.parse("2026-03-01T05:00:00Z"), // midnight EST (UTC−5)
    });
    assert.deepEqual(effectiveEnd(MONTH_1, t, "Europe/Berlin"), {
      lastDay: "2026-03-31",
      endsAt: Date.parse("2026-03-31T22:00:00Z"),
    });
    assert.deepEqual(effectiveEnd(MONTH_1, t, "Asia/Tokyo"), {
      lastDay: "2026-03-31",
      endsAt: Date.parse("2026-03-31T15:00:00Z"), // midnight JST (UTC+9, no DST)
    });
  });

  it("New York: ends at midnight EDT (UTC−4) in summer", () => {
    const r = effectiveEnd(MONTH_1, Date.parse("2026-05-15T16:00:00Z"), "America/New_York");
    assert.deepEqual(r, { lastDay: "2026-06-30", endsAt: Date.parse("2026-07-01T04:00:00Z") });
  });

  it("a zone whose DST jump skips midnight ends at the first instant of the next day", () => {
    // America/Santiago, 2024-09-08: 24:00 on 7 Sep (UTC−4) jumps to 01:00 on 8 Sep (UTC−3)
    const r = effectiveEnd(
      { period: { days: 0 }, to: "none" },
      Date.parse("2024-09-07T16:00:00Z"),
      "America/Santiago",
    );
    assert.deepEqual(r, { lastDay: "2024-09-07", endsAt: Date.parse("2024-09-08T04:00:00Z") });
  });
});

describe("effectiveEnd: other agreed terms", () => {
  const quarter3: NoticeTerms = { period: { months: 3 }, to: "quarterEnd" };

  it("3 months to the end of a calendar quarter", () => {
    const cases: [string, string][] = [
      ["2025-12-31", "2026-03-31"], // period ends 31 Mar, itself a quarter end
      ["2026-01-01", "2026-06-30"], // period ends 1 Apr
      ["2026-03-31", "2026-06-30"], // period ends 30 Jun
      ["2026-04-01", "2026-09-30"],
      ["2026-09-30", "2026-12-31"], // period ends 30 Dec
      ["2026-10-01", "2027-03-31"], // period ends 1 Jan
      ["2025-11-30", "2026-03-31"], // period ends 28 Feb (§ 188(3))
    ];
    for (const [received, lastDay] of cases) {
      assert.equal(effectiveEnd(quarter3, berlinDay(received)).lastDay, lastDay, `received ${received}`);
    }
    assert.equal(effectiveEnd(quarter3, berlinDay("2025-12-31")).endsAt, Date.parse("2026-03-31T22:00:00Z"));
  });

  it("0 months to the end of a calendar month ends the current month", () => {
    const m0: NoticeTerms = { period: { months: 0 }, to: "monthEnd" };
    assert.equal(effectiveEnd(m0, berlinDay("2026-02-15")).lastDay, "2026-02-28");
    assert.equal(effectiveEnd(m0, berlinDay("2026-01-31")).lastDay, "2026-01-31");
    assert.equal(effectiveEnd(m0, berlinDay("2024-02-01")).lastDay, "2024-02-29");
  });

  it("N months to month end: 2 and 12 months", () => {
    assert.equal(
      effectiveEnd({ period: { months: 2 }, to: "monthEnd" }, berlinDay("2025-12-31")).lastDay,
      "2026-02-28",
    );
    assert.equal(
      effectiveEnd({ period: { months: 12 }, to: "monthEnd" }, berlinDay("2024-02-29")).lastDay,
      "2025-02-28",
    );
  });

  it("6 weeks without a fixed end date ends on the same weekday (§ 188(2))", () => {
    const w6: NoticeTerms = { period: { weeks: 6 }, to: "none" };
    const r = effectiveEnd(w6, berlinDay("2026-01-14")); // a Wednesday
    assert.equal(r.lastDay, "2026-02-25"); // a Wednesday
    assert.equal(new Date(`${r.lastDay}T12:00:00Z`).getUTCDay(), 3);
    assert.equal(r.endsAt, Date.parse("2026-02-25T23:00:00Z"));
    // across the leap day
    assert.equal(effectiveEnd(w6, berlinDay("2024-02-01")).lastDay, "2024-03-14");
  });

  it("6 weeks to the end of a quarter", () => {
    const w6q: NoticeTerms = { period: { weeks: 6 }, to: "quarterEnd" };
    assert.equal(effectiveEnd(w6q, berlinDay("2026-02-17")).lastDay, "2026-03-31"); // period ends 31 Mar
    assert.equal(effectiveEnd(w6q, berlinDay("2026-02-18")).lastDay, "2026-06-30"); // period ends 1 Apr
  });

  it("N days without a fixed end date (§ 188(1))", () => {
    assert.equal(
      effectiveEnd({ period: { days: 14 }, to: "none" }, berlinDay("2026-02-20")).lastDay,
      "2026-03-06",
    );
    assert.equal(
      effectiveEnd({ period: { days: 14 }, to: "none" }, berlinDay("2024-02-20")).lastDay,
      "2024-03-05",
    );
    assert.equal(
      effectiveEnd({ period: { days: 0 }, to: "none" }, berlinDay("2026-02-20")).lastDay,
      "2026-02-20",
    );
  });

  it("3 months to the end of the contract year", () => {
    const cy: NoticeTerms = { period: { months: 3 }, to: "contractYearEnd" };
    const opts = { contractStart: "2025-04-01" }; // contract years end 31 March
    assert.equal(effectiveEnd(cy, berlinDay("2025-12-31"), undefined, opts).lastDay, "2026-03-31");
    assert.equal(effectiveEnd(cy, berlinDay("2026-01-01"), undefined, opts).lastDay, "2027-03-31");
    assert.equal(effectiveEnd(cy, berlinDay("2025-05-01"), undefined, opts).lastDay, "2026-03-31");
    // a contract starting on 29 Feb: its years end on 28 Feb (§ 188(3)), 28 Feb also in leap years
    const leap = { contractStart: "2024-02-29" };
    assert.equal(effectiveEnd(cy, berlinDay("2024-11-30"), undefined, leap).lastDay, "2025-02-28"); // period ends 28 Feb (§ 188(3))
    assert.equal(effectiveEnd(cy, berlinDay("2024-12-01"), undefined, leap).lastDay, "2026-02-28");
    assert.equal(effectiveEnd(cy, berlinDay("2027-10-01"), undefined, leap).lastDay, "2028-02-28");
    // contract start as an instant: its Berlin day counts (23:30 UTC on 31 Mar = 1 Apr in Berlin)
    const instant = { contractStart: Date.parse("2025-03-31T23:30:00Z") };
    assert.equal(effectiveEnd(cy, berlinDay("2025-12-31"), undefined, instant).lastDay, "2026-03-31");
  });

  it("minimum term: the contract cannot end before it expires, and its end is an admissible end date", () => {
    const terms: NoticeTerms = { period: { months: 1 }, to: "monthEnd", minimumTermMonths: 12 };
    const opts = { contractStart: "2026-01-15" }; // minimum term ends 2027-01-14
    assert.equal(effectiveEnd(terms, berlinDay("2026-03-01"), undefined, opts).lastDay, "2027-01-14");
    assert.equal(effectiveEnd(terms, berlinDay("2026-12-14"), undefined, opts).lastDay, "2027-01-14");
    assert.equal(effectiveEnd(terms, berlinDay("2026-12-15"), undefined, opts).lastDay, "2027-01-31");
    assert.equal(
      effectiveEnd(terms, berlinDay("2026-03-01"), undefined, opts).endsAt,
      Date.parse("2027-01-14T23:00:00Z"),
    );
    // starting on the 1st: 12 months end on 31 December
    const jan1 = { contractStart: "2026-01-01" };
    assert.equal(effectiveEnd(terms, berlinDay("2026-02-10"), undefined, jan1).lastDay, "2026-12-31");
    assert.equal(effectiveEnd(terms, berlinDay("2026-12-01"), undefined, jan1).lastDay, "2027-01-31");
    // opts.minimumTermMonths overrides the terms; 0 switches it off
    assert.equal(
      effectiveEnd(terms, berlinDay("2026-03-01"), undefined, { ...opts, minimumTermMonths: 0 }).lastDay,
      "2026-04-30",
    );
    assert.equal(
      effectiveEnd(MONTH_1, berlinDay("2026-03-01"), undefined, { ...opts, minimumTermMonths: 24 }).lastDay,
      "2028-01-14",
    );
  });

  it("needs the contract start for contract years and minimum terms", () => {
    assertError(
      () => effectiveEnd({ period: { months: 3 }, to: "contractYearEnd" }, berlinDay("2026-01-01")),
      "BAD_REQUEST",
      /contract start/,
    );
    assertError(
      () => effectiveEnd({ ...MONTH_1, minimumTermMonths: 12 }, berlinDay("2026-01-01")),
      "BAD_REQUEST",
      /contractStart/,
    );
    assertError(
      () => effectiveEnd(MONTH_1, berlinDay("2026-01-01"), undefined, { contractStart: "2026-02-30" }),
      "BAD_REQUEST",
      /YYYY-MM-DD/,
    );
  });

  it("rejects unknown time zones and bad instants", () => {
    assertError(() => effectiveEnd(MONTH_1, berlinDay("2026-01-01"), "Mars/Olympus"), "BAD_REQUEST", /IANA/);
    assertError(() => effectiveEnd(MONTH_1, Number.NaN), "BAD_REQUEST", /epoch milliseconds/);
  });
});

describe("extraordinaryEnd", () => {
  it("is effective immediately on receipt", () => {
    const t = Date.parse("2026-01-31T23:30:00Z");
    assert.deepEqual(extraordinaryEnd(t), { lastDay: "2026-02-01", endsAt: t });
    assert.equal(extraordinaryEnd(t, "America/New_York").lastDay, "2026-01-31");
  });
});

describe("validateTerms", () => {
  it("accepts valid terms and returns a normalised copy", () => {
    const raw = { period: { weeks: 6 }, to: "quarterEnd", minimumTermMonths: 12 };
    const terms = validateTerms(raw);
    assert.deepEqual(terms, raw);
    assert.notEqual(terms, raw);
    assert.deepEqual(validateTerms(JSON.parse(JSON.stringify(terms))), terms);
  });

  it("defaults to one month to the end of a calendar month when nothing was agreed", () => {
    assert.deepEqual(validateTerms(undefined), { period: { months: 1 }, to: "monthEnd" });
    assert.deepEqual(validateTerms(null), { period: { months: 1 }, to: "monthEnd" });
  });

  it("rejects malformed terms with a message saying what is expected", () => {
    const cases: [unknown, RegExp][] = [
      ["1 month", /must be an object/],
      [[], /must be an object/],
      [{ to: "monthEnd" }, /"period" must be an object with exactly one of/],
      [{ period: {}, to: "monthEnd" }, /exactly one of/],
      [{ period: { months: 1, weeks: 2 }, to: "monthEnd" }, /exactly one of/],
      [{ period: { years: 1 }, to: "monthEnd" }, /exactly one of/],
      [{ period: { months: -1 }, to: "monthEnd" }, /"period.months" must be a whole number from 0 to 120/],
      [{ period: { months: 1.5 }, to: "monthEnd" }, /whole number/],
      [{ period: { months: "1" }, to: "monthEnd" }, /whole number/],
      [{ period: { days: 100000 }, to: "none" }, /"period.days" must be a whole number from 0 to 3650/],
      [{ period: { months: 1 } }, /"to" must be one of "monthEnd", "quarterEnd", "contractYearEnd", "none"/],
      [{ period: { months: 1 }, to: "yearEnd" }, /"to" must be one of/],
      [{ period: { months: 1 }, to: "monthEnd", minimumTermMonths: -3 }, /"minimumTermMonths" must be/],
      [{ period: { months: 1 }, to: "monthEnd", noticePeriod: 3 }, /unknown field "noticePeriod"/],
    ];
    for (const [raw, pattern] of cases) {
      assertError(() => validateTerms(raw), "BAD_REQUEST", pattern);
    }
  });
});

describe("contract state machine", () => {
  const contract: Contract = {
    id: "ctr-1",
    companyId: "acme",
    start: "2025-06-01",
    timeZone: "Europe/Berlin",
    terms: { period: { months: 1 }, to: "monthEnd" },
    notice: null,
  };
  const received = berlinDay("2026-01-31");
  const endsAt = at("2026-03-01T00:00:00", 1);

  it("active → noticeGiven → terminated, derived from now", () => {
    assert.equal(statusAt(contract, received), "active");
    const noticed = giveNotice(contract, { receivedAt: received, by: "customer" }, received + HOUR);
    assert.deepEqual(noticed.notice, {
      by: "customer",
      receivedAt: received,
      extraordinary: false,
      reason: null,
      lastDay: "2026-02-28",
      endsAt,
      recordedAt: received + HOUR,
    });
    assert.equal(contract.notice, null, "the input contract is not mutated");
    assert.equal(statusAt(noticed, received - 1), "active");
    assert.equal(statusAt(noticed, received), "noticeGiven");
    assert.equal(statusAt(noticed, endsAt - 1), "noticeGiven");
    assert.equal(statusAt(noticed, endsAt), "terminated");
    // JSON round trip keeps the contract usable
    const copy = JSON.parse(JSON.stringify(noticed)) as Contract;
    assert.equal(statusAt(copy, endsAt), "terminated");
  });

  it("applies the contract's time zone and minimum term", () => {
    const tokyo: Contract = {
      ...contract,
      timeZone: "Asia/Tokyo",
      start: "2025-12-01",
      terms: { ...contract.terms, minimumTermMonths: 6 },
    };
    const t = Date.parse("2026-01-31T23:30:00Z"); // 1 Feb in Tokyo → regular end 31 Mar, minimum term to 31 May
    const noticed = giveNotice(tokyo, { receivedAt: t, by: "operator" }, t);
    assert.equal(noticed.notice?.lastDay, "2026-05-31");
    assert.equal(noticed.notice?.endsAt, Date.parse("2026-05-31T15:00:00Z"));
  });

  it("extraordinary termination is effective immediately and needs a reason", () => {
    const t = berlinDay("2026-02-10");
    const ended = giveNotice(
      contract,
      { receivedAt: t, by: "operator", extraordinary: true, reason: "  payment default  " },
      t,
    );
    assert.equal(ended.notice?.endsAt, t);
    assert.equal(ended.notice?.reason, "payment default");
    assert.equal(statusAt(ended, t - 1), "active");
    assert.equal(statusAt(ended, t), "terminated");
    assertError(
      () => giveNotice(contract, { receivedAt: t, by: "operator", extraordinary: true }, t),
      "BAD_REQUEST",
      /needs a reason/,
    );
  });

  it("an extraordinary notice replaces a pending ordinary notice; a later-ending one conflicts", () => {
    const noticed = giveNotice(contract, { receivedAt: received, by: "customer" }, received);
    const t = berlinDay("2026-02-10");
    const ended = giveNotice(noticed, { receivedAt: t, by: "customer", extraordinary: true, reason: "x" }, t);
    assert.equal(ended.notice?.endsAt, t);
    assertError(
      () => giveNotice(noticed, { receivedAt: t, by: "operator" }, t),
      "CONFLICT",
      /already ends on 2026-02-28.*withdraw the pending notice/,
    );
  });

  it("withdrawal before the notice takes effect makes the contract active again", () => {
    const noticed = giveNotice(contract, { receivedAt: received, by: "customer" }, received);
    const withdrawn = withdrawNotice(noticed, endsAt - 1);
    assert.equal(withdrawn.notice, null);
    assert.equal(statusAt(withdrawn, endsAt + 365 * 24 * HOUR), "active");
    // and notice can be given again afterwards
    const again = giveNotice(withdrawn, { receivedAt: endsAt, by: "customer" }, endsAt);
    assert.equal(again.notice?.lastDay, "2026-04-30");
  });

  it("withdrawal after the notice took effect is a conflict", () => {
    const noticed = giveNotice(contract, { receivedAt: received, by: "customer" }, received);
    assertError(() => withdrawNotice(noticed, endsAt), "CONFLICT", /took effect on 2026-02-28.*new contract/);
    const t = berlinDay("2026-02-10");
    const ended = giveNotice(
      contract,
      { receivedAt: t, by: "operator", extraordinary: true, reason: "x" },
      t,
    );
    assertError(() => withdrawNotice(ended, t), "CONFLICT", /no longer be withdrawn/);
    assertError(() => withdrawNotice(contract, t), "CONFLICT", /no notice to withdraw/);
  });

  it("a terminated contract cannot be given notice again", () => {
    const noticed = giveNotice(contract, { receivedAt: received, by: "customer" }, received);
    assertError(
      () => giveNotice(noticed, { receivedAt: endsAt, by: "operator" }, endsAt),
      "CONFLICT",
      /already ended on 2026-02-28/,
    );
  });

  it("rejects invalid notices", () => {
    assertError(
      () => giveNotice(contract, { receivedAt: received + 1, by: "customer" }, received),
      "BAD_REQUEST",
      /future/,
    );
    assertError(
      () => giveNotice(contract, { receivedAt: received, by: "someone" as "customer" }, received),
      "BAD_REQUEST",
      /"by" must be "customer" or "operator"/,
    );
    assertError(
      () =>
        giveNotice({ ...contract, timeZone: "Berlin" }, { receivedAt: received, by: "customer" }, received),
      "BAD_REQUEST",
      /unknown time zone/,
    );
    assertError(
      () =>
        giveNotice({ ...contract, start: "1.6.2025" }, { receivedAt: received, by: "customer" }, received),
      "BAD_REQUEST",
      /contract start must be a calendar date/,
    );
  });
});
