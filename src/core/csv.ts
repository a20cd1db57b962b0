/**
 * CSV output as RFC 4180 describes it: fields separated by commas, records ended by CRLF, a field that
 * holds a comma, a double quote, CR or LF enclosed in double quotes with its quotes doubled (§2.5–2.7).
 *
 * Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR)
 * get a leading `'`, as the OWASP "CSV Injection" guidance recommends: exported data may hold text
 * that users typed (alarm comments, maintenance notes, addresses). Numbers are written as numbers, so
 * negative values stay numeric.
 */

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One field: null, undefined and non-finite numbers become empty fields. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  if (typeof value === "boolean") return value ? "true" : "false";
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRow(values: readonly CsvValue[]): string {
  let line = "";
  for (let i = 0; i < values.length; i++) line += (i === 0 ? "" : ",") + csvCell(values[i]);
  return `${line}\r\n`;
}
