/**
 * Online, per-pump, self-calibrating anomaly detector (pump-domain.md §4.3–4.5, issue 5 item 3).
 *
 * Pure code, no I/O. `fitDetector(signals, rows)` learns from N rows assumed normal:
 *  - per signal a robust location (median) and scale (1.4826·MAD, falling back to the moving-range
 *    estimate median|Δx|/0.954 and then the standard deviation);
 *  - on the standardised residuals z (winsorised at ±`clip`) a regularised covariance
 *    S_ε = (1−ε)·S + ε·I and its inverse, for Hotelling T² = zᵀ S_ε⁻¹ z (with p = 1 this is z²/s²);
 *  - per signal an EWMA (λ) and a two-sided tabular CUSUM (k) on z for small persistent shifts.
 * Each statistic is divided by its control limit; the theoretical limit (χ² quantile for T², L·σ_EWMA,
 * h for CUSUM) is raised to `margin` × the `calibrationQuantile` of that statistic replayed over the
 * training rows, so autocorrelated or heavy-tailed signals calibrate themselves.
 *
 * `update(row)` costs O(p²) and keeps O(p² + m) state: score = max of the normalised statistics
 * (> 1 means a limit was exceeded), anomaly = at least k of the last m rows exceeded (debounce, so an
 * isolated spike does not flag), contributions = each signal's share of the score drivers (sum 1).
 */

export interface DetectorOptions {
  /** EWMA smoothing constant λ (0 < λ ≤ 1). */
  ewmaLambda: number;
  /** EWMA limit in steady-state EWMA standard deviations. */
  ewmaL: number;
  /** CUSUM reference value k (in σ; k = δ/2 for a shift of δσ). */
  cusumK: number;
  /** CUSUM decision interval h (in σ). */
  cusumH: number;
  /** False-alarm probability per row of the T² limit (χ² quantile 1 − α). */
  t2Alpha: number;
  /** Covariance shrinkage towards the identity, 0 ≤ ε < 1. */
  shrinkage: number;
  /** Standardised residuals are winsorised at ±clip before entering the statistics. */
  clip: number;
  /** Quantile of the training replay used for self-calibration of each limit. */
  calibrationQuantile: number;
  /** Multiplier on that quantile. */
  margin: number;
  /** Debounce: anomaly when at least `debounceK` of the last `debounceM` rows exceed a limit. */
  debounceK: number;
  debounceM: number;
  /**
   * The rows are already standardised residuals (e.g. z from ./baseline.ts): use location 0 and
   * scale 1 instead of estimating them from the training rows, which would re-inflate a slow
   * wander that a short training window under-samples.
   */
  standardised: boolean;
}

export const DEFAULT_DETECTOR_OPTIONS: Readonly<DetectorOptions> = {
  ewmaLambda: 0.05,
  ewmaL: 4,
  cusumK: 0.5,
  cusumH: 8,
  t2Alpha: 1e-4,
  shrinkage: 0.05,
  clip: 4,
  calibrationQuantile: 0.999,
  margin: 1.2,
  debounceK: 3,
  debounceM: 5,
  standardised: false,
};

export interface DetectorResult {
  /** max over the normalised statistics; > 1 means at least one control limit was exceeded. */
  score: number;
  /** debounced decision. */
  anomaly: boolean;
  /** each signal's share (0–1, summing to 1 when anything contributes) of what drove the score. */
  contributions: Record<string, number>;
}

export interface DetectorLimits {
  t2: number;
  ewma: number;
  cusum: number;
}

export interface Detector {
  readonly signals: readonly string[];
  readonly center: readonly number[];
  readonly scale: readonly number[];
  readonly limits: Readonly<DetectorLimits>;
  /** per-signal CUSUM reference value after the autocorrelation adjustment. */
  readonly cusumK: readonly number[];
  update(row: readonly number[]): DetectorResult;
  /** Clear the online state (EWMA, CUSUM, debounce) but keep the fitted baseline. */
  reset(): void;
  /** Fitted baseline and online state as plain JSON; {@link detectorFromJSON} restores it. */
  toJSON(): DetectorJSON;
}

/** Serialised {@link Detector}: the fit plus the online state, so a restart resumes mid-episode. */
export interface DetectorJSON {
  v: 1;
  signals: string[];
  center: number[];
  scale: number[];
  inv: number[][];
  limits: DetectorLimits;
  cusumK: number[];
  options: DetectorOptions;
  state: { ewma: number[]; cusumHi: number[]; cusumLo: number[]; recent: number[]; cursor: number };
}

/** Restores a detector written by `Detector.toJSON()`. @throws TypeError for anything else. */
export function detectorFromJSON(json: unknown): Detector {
  const j = json as Partial<DetectorJSON> | null;
  const p = j?.signals?.length ?? 0;
  if (
    j?.v !== 1 ||
    p === 0 ||
    j.center?.length !== p ||
    j.scale?.length !== p ||
    j.inv?.length !== p ||
    j.cusumK?.length !== p ||
    !j.limits ||
    !j.options ||
    j.state?.recent.length !== j.options.debounceM
  )
    throw new TypeError("detectorFromJSON: not a detector state");
  const d = new OnlineDetector(j.signals!, j.center, j.scale, j.inv, j.limits, j.cusumK, j.options);
  d.restore(j.state);
  return d;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return quantileSorted(s, 0.5);
}

export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const pLow = 0.02425;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    );
  }
  if (p > 1 - pLow) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return (
      -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    );
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/** χ² quantile with `dof` degrees of freedom (Wilson–Hilferty). */
export function chiSquareQuantile(p: number, dof: number): number {
  const z = normalQuantile(p);
  const h = 2 / (9 * dof);
  return dof * Math.max(0, 1 - h + z * Math.sqrt(h)) ** 3;
}

/** Inverse of a symmetric positive-definite matrix by Gauss–Jordan with partial pivoting. */
export function invert(m: readonly (readonly number[])[]): number[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) {
      if (Math.abs(a[r]![col]!) > Math.abs(a[piv]![col]!)) piv = r;
    }
    const tmp = a[col]!;
    a[col] = a[piv]!;
    a[piv] = tmp;
    const pr = a[col]!;
    const pv = pr[col]!;
    if (Math.abs(pv) < 1e-12) throw new Error("covariance matrix is singular");
    for (let j = 0; j < 2 * n; j++) pr[j] = pr[j]! / pv;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const row = a[r]!;
      const f = row[col]!;
      if (f === 0) continue;
      for (let j = 0; j < 2 * n; j++) row[j] = row[j]! - f * pr[j]!;
    }
  }
  return a.map((row) => row.slice(n));
}

function robustScale(values: readonly number[], center: number): number {
  const mad = median(values.map((v) => Math.abs(v - center))) * 1.4826;
  if (mad > 0 && Number.isFinite(mad)) return mad;
  if (values.length > 1) {
    const diffs: number[] = [];
    for (let i = 1; i < values.length; i++) diffs.push(Math.abs(values[i]! - values[i - 1]!));
    const mr = median(diffs) / 0.954;
    if (mr > 0 && Number.isFinite(mr)) return mr;
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
    if (sd > 0 && Number.isFinite(sd)) return sd;
  }
  return 1;
}

/** Raw (un-normalised) statistics kept per row; shared by calibration and the online detector. */
class StatState {
  readonly ewma: Float64Array;
  readonly cusumHi: Float64Array;
  readonly cusumLo: Float64Array;
  readonly z: Float64Array;
  readonly sz: Float64Array;
  readonly t2Contrib: Float64Array;
  t2 = 0;

  constructor(
    private readonly p: number,
    private readonly lambda: number,
    private readonly k: readonly number[],
  ) {
    this.ewma = new Float64Array(p);
    this.cusumHi = new Float64Array(p);
    this.cusumLo = new Float64Array(p);
    this.z = new Float64Array(p);
    this.sz = new Float64Array(p);
    this.t2Contrib = new Float64Array(p);
  }

  reset(): void {
    this.ewma.fill(0);
    this.cusumHi.fill(0);
    this.cusumLo.fill(0);
    this.t2 = 0;
  }

  step(
    row: readonly number[],
    center: readonly number[],
    scale: readonly number[],
    inv: readonly (readonly number[])[],
    clip: number,
  ): void {
    const { p, z, sz } = this;
    for (let i = 0; i < p; i++) {
      const raw = (row[i]! - center[i]!) / scale[i]!;
      // T² sees the full residual (a lone spike is left to the debounce), EWMA/CUSUM the winsorised one.
      z[i] = Number.isFinite(raw) ? Math.max(-1e6, Math.min(1e6, raw)) : 0;
      const v = Number.isFinite(raw) ? Math.max(-clip, Math.min(clip, raw)) : 0;
      const k = this.k[i]!;
      this.ewma[i] = this.lambda * v + (1 - this.lambda) * this.ewma[i]!;
      this.cusumHi[i] = Math.max(0, this.cusumHi[i]! + v - k);
      this.cusumLo[i] = Math.max(0, this.cusumLo[i]! - v - k);
    }
    let t2 = 0;
    for (let i = 0; i < p; i++) {
      const invRow = inv[i]!;
      let s = 0;
      for (let j = 0; j < p; j++) s += invRow[j]! * z[j]!;
      sz[i] = s;
      const c = z[i]! * s;
      this.t2Contrib[i] = c;
      t2 += c;
    }
    this.t2 = t2;
  }

  maxEwma(): number {
    let m = 0;
    for (const v of this.ewma) m = Math.max(m, Math.abs(v));
    return m;
  }

  maxCusum(): number {
    let m = 0;
    for (let i = 0; i < this.p; i++) m = Math.max(m, this.cusumHi[i]!, this.cusumLo[i]!);
    return m;
  }
}

/**
 * Fit a detector on `rows` (each row one value per signal, in the order of `signals`), assumed normal.
 * Needs at least 2 rows; ≥ 10·p rows (p = number of signals) are recommended.
 */
export function fitDetector(
  signals: readonly string[],
  rows: readonly (readonly number[])[],
  options: Partial<DetectorOptions> = {},
): Detector {
  const o: DetectorOptions = { ...DEFAULT_DETECTOR_OPTIONS, ...options };
  const p = signals.length;
  if (p === 0) throw new Error("at least one signal is required");
  if (rows.length < 2) throw new Error("at least 2 training rows are required");
  if (o.debounceK < 1 || o.debounceM < o.debounceK) throw new Error("debounce needs 1 ≤ k ≤ m");
  for (const [r, row] of rows.entries()) {
    if (row.length !== p) throw new Error(`training row ${r} has ${row.length} values, expected ${p}`);
  }

  const center: number[] = [];
  const scale: number[] = [];
  for (let i = 0; i < p; i++) {
    const col = rows.map((row) => row[i]!).filter((v) => Number.isFinite(v));
    const c = col.length > 0 && !o.standardised ? median(col) : 0;
    center.push(c);
    scale.push(col.length > 0 && !o.standardised ? robustScale(col, c) : 1);
  }

  // Covariance of the winsorised standardised residuals, shrunk towards the identity.
  const n = rows.length;
  const zs = rows.map((row) =>
    row.map((v, i) => {
      const z = (v - center[i]!) / scale[i]!;
      return Number.isFinite(z) ? Math.max(-o.clip, Math.min(o.clip, z)) : 0;
    }),
  );
  const mean = new Array<number>(p).fill(0);
  for (const z of zs) for (let i = 0; i < p; i++) mean[i] = mean[i]! + z[i]! / n;
  const cov = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (const z of zs) {
    for (let i = 0; i < p; i++) {
      const di = z[i]! - mean[i]!;
      const ci = cov[i]!;
      for (let j = 0; j < p; j++) ci[j] = ci[j]! + (di * (z[j]! - mean[j]!)) / (n - 1);
    }
  }
  // CUSUM assumes independent residuals; for an autocorrelated signal widen its reference value by the
  // variance-inflation factor √((1+ρ₁)/(1−ρ₁)) of the lag-1 autocorrelation ρ₁ (pump-domain.md §4.3).
  const cusumK: number[] = [];
  for (let i = 0; i < p; i++) {
    let num = 0;
    for (let r = 1; r < n; r++) num += (zs[r]![i]! - mean[i]!) * (zs[r - 1]![i]! - mean[i]!);
    const varI = cov[i]![i]! * (n - 1);
    const rho = varI > 0 ? Math.min(0.999, Math.max(0, num / varI)) : 0;
    cusumK.push(o.cusumK * Math.sqrt((1 + rho) / (1 - rho)));
  }
  const reg = cov.map((row, i) => row.map((v, j) => (1 - o.shrinkage) * v + (i === j ? o.shrinkage : 0)));
  const inv = invert(reg);

  // Theoretical limits.
  const base: DetectorLimits = {
    t2: chiSquareQuantile(1 - o.t2Alpha, p),
    ewma: o.ewmaL * Math.sqrt(o.ewmaLambda / (2 - o.ewmaLambda)),
    cusum: o.cusumH,
  };

  // Self-calibration: replay the training rows and raise each limit to margin × its quantile.
  const cal = new StatState(p, o.ewmaLambda, cusumK);
  const t2s: number[] = [];
  const ews: number[] = [];
  const cus: number[] = [];
  for (const row of rows) {
    cal.step(row, center, scale, inv, o.clip);
    t2s.push(cal.t2);
    ews.push(cal.maxEwma());
    cus.push(cal.maxCusum());
  }
  const q = (xs: number[]) =>
    quantileSorted(
      xs.sort((a, b) => a - b),
      o.calibrationQuantile,
    ) * o.margin;
  const limits: DetectorLimits = {
    t2: Math.max(base.t2, q(t2s)),
    ewma: Math.max(base.ewma, q(ews)),
    cusum: Math.max(base.cusum, q(cus)),
  };

  return new OnlineDetector([...signals], center, scale, inv, limits, cusumK, o);
}

class OnlineDetector implements Detector {
  private readonly state: StatState;
  private readonly recent: Uint8Array;
  private cursor = 0;
  private exceeded = 0;

  constructor(
    readonly signals: readonly string[],
    readonly center: readonly number[],
    readonly scale: readonly number[],
    private readonly inv: readonly (readonly number[])[],
    readonly limits: Readonly<DetectorLimits>,
    readonly cusumK: readonly number[],
    private readonly o: DetectorOptions,
  ) {
    this.state = new StatState(signals.length, o.ewmaLambda, cusumK);
    this.recent = new Uint8Array(o.debounceM);
  }

  reset(): void {
    this.state.reset();
    this.recent.fill(0);
    this.cursor = 0;
    this.exceeded = 0;
  }

  toJSON(): DetectorJSON {
    const st = this.state;
    return {
      v: 1,
      signals: [...this.signals],
      center: [...this.center],
      scale: [...this.scale],
      inv: this.inv.map((row) => [...row]),
      limits: { ...this.limits },
      cusumK: [...this.cusumK],
      options: { ...this.o },
      state: {
        ewma: [...st.ewma],
        cusumHi: [...st.cusumHi],
        cusumLo: [...st.cusumLo],
        recent: [...this.recent],
        cursor: this.cursor,
      },
    };
  }

  /** Sets the online state from {@link toJSON} output. */
  restore(s: DetectorJSON["state"]): void {
    this.state.ewma.set(s.ewma);
    this.state.cusumHi.set(s.cusumHi);
    this.state.cusumLo.set(s.cusumLo);
    this.recent.set(s.recent);
    this.cursor = s.cursor;
    this.exceeded = s.recent.reduce((a, b) => a + b, 0);
  }

  update(row: readonly number[]): DetectorResult {
    const p = this.signals.length;
    if (row.length !== p) throw new Error(`row has ${row.length} values, expected ${p}`);
    const s = this.state;
    s.step(row, this.center, this.scale, this.inv, this.o.clip);
    const { limits } = this;

    const t2n = s.t2 / limits.t2;
    let score = t2n;
    const per = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      const e = Math.abs(s.ewma[i]!) / limits.ewma;
      const c = Math.max(s.cusumHi[i]!, s.cusumLo[i]!) / limits.cusum;
      const t = Math.max(0, s.t2Contrib[i]!) / limits.t2;
      per[i] = Math.max(e, c, t);
      score = Math.max(score, e, c);
    }

    const hit = score > 1 ? 1 : 0;
    this.exceeded += hit - this.recent[this.cursor]!;
    this.recent[this.cursor] = hit;
    this.cursor = (this.cursor + 1) % this.recent.length;

    let total = 0;
    for (const v of per) total += v;
    const contributions: Record<string, number> = {};
    for (let i = 0; i < p; i++) contributions[this.signals[i]!] = total > 0 ? per[i]! / total : 0;

    return { score, anomaly: this.exceeded >= this.o.debounceK, contributions };
  }
}
