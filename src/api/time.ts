import { PumpwatchError } from "../core/errors.js";

/** Parses an API time: ISO-8601 or epoch milliseconds; `fallback` when absent. */
export function parseTime(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms))
    throw new PumpwatchError(
      "BAD_REQUEST",
      `'${name}' must be an ISO-8601 time or epoch milliseconds, got '${value}'`,
    );
  return ms;
}

/**
 * Parses an API time range `from`/`to` (see {@link parseTime}): `to` defaults to `defaultTo`,
 * `from` to `defaultSpanMs` before `to`; `from` must be before `to`.
 */
export function parseRange(
  q: { from?: string | undefined; to?: string | undefined },
  defaultSpanMs: number,
  defaultTo: number,
): { fromMs: number; toMs: number } {
  const toMs = parseTime(q.to, defaultTo, "to");
  const fromMs = parseTime(q.from, toMs - defaultSpanMs, "from");
  if (fromMs >= toMs) throw new PumpwatchError("BAD_REQUEST", "'from' must be before 'to'");
  return { fromMs, toMs };
}
