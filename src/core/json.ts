/**
 * JSON with every non-ASCII character escaped as \uXXXX. The Azure provisioning SDK decodes DPS
 * responses as ASCII before JSON.parse and crashes on raw UTF-8 (azure-protocol.md §9.1).
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Parses a JSON object; returns undefined for anything else (arrays, scalars, bad JSON). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
