/**
 * Seeded random data for property tests (no dependency): mulberry32, and generators of the columns a
 * telemetry store meets — decimal sensor readings, counters, integers, arbitrary doubles, edge values,
 * missing values — so a failing seed can be replayed.
 */

export type Rand = () => number;

export function rng(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function int(r: Rand, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function pick<T>(r: Rand, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}

const EDGE = [
  0,
  -0,
  1,
  -1,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 60,
  0.1 + 0.2,
  1e-300,
  123456.789,
];

function randomBits(r: Rand): number {
  const b = new Uint32Array(2);
  b[0] = Math.floor(r() * 2 ** 32);
  b[1] = Math.floor(r() * 2 ** 32);
  return new Float64Array(b.buffer)[0]!;
}

export type ColumnKind =
  | "decimal"
  | "counter"
  | "integer"
  | "huge"
  | "tiny"
  | "bits"
  | "edge"
  | "constant"
  | "mixed";
export const COLUMN_KINDS: readonly ColumnKind[] = [
  "decimal",
  "counter",
  "integer",
  "huge",
  "tiny",
  "bits",
  "edge",
  "constant",
  "mixed",
];

/** A column of `n` values of one kind; `missing` is the share of NaN (missing) entries. */
export function column(r: Rand, n: number, kind: ColumnKind, missing: number): Float64Array {
  const out = new Float64Array(n);
  const d = int(r, 0, 6);
  const p = 10 ** d;
  let walk = (r() - 0.5) * 2000;
  const constant = pick(r, EDGE.concat([71.3, -12.25]));
  for (let i = 0; i < n; i++) {
    let v: number;
    switch (kind) {
      case "decimal":
        walk += (r() - 0.5) * 10;
        v = Math.round(walk * p) / p;
        break;
      case "counter":
        v = Math.round((1000 + i * 0.0028) * 100) / 100;
        break;
      case "integer":
        v = int(r, -1_000_000, 1_000_000);
        break;
      case "huge":
        v = (r() - 0.5) * 1e20;
        break;
      case "tiny":
        v = (r() - 0.5) * 1e-12;
        break;
      case "bits":
        v = randomBits(r);
        break;
      case "edge":
        v = pick(r, EDGE);
        break;
      case "constant":
        v = constant;
        break;
      default:
        v = r() < 0.5 ? Math.round(r() * 1000) / 10 : pick(r, EDGE);
    }
    out[i] = r() < missing ? Number.NaN : v;
  }
  return out;
}

/** Timestamps: regular 10 s with jitter, gaps, duplicates; sorted unless `unsorted`. */
export function timestamps(r: Rand, n: number, start: number, unsorted = false): Float64Array {
  const ts = new Float64Array(n);
  let t = start;
  for (let i = 0; i < n; i++) {
    const k = r();
    if (k < 0.05)
      t += 0; // duplicate timestamp
    else if (k < 0.08)
      t += int(r, 1, 3_600_000); // gap
    else t += 10_000 + (r() < 0.3 ? int(r, -500, 500) : 0);
    ts[i] = t;
  }
  if (unsorted) for (let i = 0; i < n / 10; i++) ts[int(r, 0, n - 1)] = start + int(r, -1e9, 1e9);
  return ts;
}

/** Element-wise identity, NaN equal to NaN, −0 distinct from +0. */
export function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): string | undefined {
  if (a.length !== b.length) return `length ${a.length} ≠ ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `at ${i}: ${a[i]} ≠ ${b[i]}`;
  return undefined;
}
