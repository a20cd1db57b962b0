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
