/** Local calendar reading of an instant in an IANA time zone, through Intl. */

/** Local wall-clock time: proleptic Gregorian date (year 0 is 1 BC) and 24-hour time of day. */
export interface WallClock {
  y: number;
  m: number;
  d: number;
  hh: number;
  mi: number;
  ss: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The formatter `wallClock` reads `timeZone` with (one per zone, kept).
 * @throws RangeError for a time zone the runtime does not know.
 */
export function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      calendar: "gregory",
      numberingSystem: "latn",
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local wall-clock time of instant `t` (epoch ms) in the zone of `fmt` (from `zoneFormatter`). */
export function wallClock(fmt: Intl.DateTimeFormat, t: number): WallClock {
  const parts: Record<string, string> = {};
  for (const p of fmt.formatToParts(t)) parts[p.type] = p.value;
  const year = Number(parts["year"]);
  return {
    y: parts["era"] === "BC" ? 1 - year : year,
    m: Number(parts["month"]),
    d: Number(parts["day"]),
    hh: Number(parts["hour"]),
    mi: Number(parts["minute"]),
    ss: Number(parts["second"]),
  };
}
