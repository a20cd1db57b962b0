/** Helpers shared by the MQTT load benchmarks (bench/ingest.ts, bench/scale.ts). */

/** An integer option from a flag or an environment variable, within [min, max]. */
export function intOption(
  flag: string | undefined,
  env: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = flag ?? process.env[env];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${env}: expected an integer ${min}–${max}`);
  return n;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A realistic pump sample, ~150 bytes, with a timestamp that is distinct per device. */
export function body(ts: number, seq: number): string {
  const w = (base: number, amp: number, digits: number) =>
    Number((base + amp * Math.sin(seq / 17)).toFixed(digits));
  return JSON.stringify({
    ts: new Date(ts).toISOString(),
    values: {
      inletPressure: w(0.52, 0.05, 3),
      exhaustPressure: w(1013.2, 2, 1),
      oilTemperature: w(71.2, 1.5, 2),
      motorCurrent: w(12.4, 0.3, 2),
      vibration: w(2.31, 0.2, 2),
    },
  });
}

/** The p-quantile (0–1) of sorted values; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export const round = (n: number, digits = 1) => Number(n.toFixed(digits));
