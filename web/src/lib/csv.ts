/**
 * CSV made in the browser (RFC 4180: comma, CRLF, quotes doubled, fields with a comma, quote or line
 * break quoted). Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets
 * a leading `'`, so a device or user name cannot smuggle a formula into the file. Numbers stay numbers.
 */

export type CsvCell = string | number | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: readonly (readonly CsvCell[])[]): string {
  return rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

/** Offers `text` as a file download (Blob and a temporary link; nothing leaves the browser). */
export function downloadText(fileName: string, text: string, type = "text/csv;charset=utf-8"): void {
  // The byte order mark makes spreadsheet programs read the file as UTF-8.
  const blob = new Blob(["\uFEFF", text], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
