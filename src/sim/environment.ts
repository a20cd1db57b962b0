/**
 * Ambient conditions of one site (pump-domain.md §6.5 "Environment"): a daily and a seasonal
 * temperature wave with AR(1) weather noise, and atmospheric pressure as a slow random walk
 * around 1013 hPa.
 */
import type { Rng } from "./rng.js";

/** Environment settings; every field has the §6.5 default. */
export interface EnvironmentParams {
  /** Annual mean ambient temperature, °C (22). */
  meanC: number;
  /** Daily amplitude, K (4); the peak is at 15:00 local time. */
  dailyAmplitudeK: number;
  /** Seasonal amplitude, K (5); the peak is at `seasonPeakDay`. */
  seasonalAmplitudeK: number;
  /** Day of the year of the seasonal maximum (196 ≈ 15 July, northern hemisphere). */
  seasonPeakDay: number;
  /** Standard deviation of the AR(1) weather noise, K (0.5). */
  noiseK: number;
  /** Local time offset from UTC, h, for the daily wave and shift schedules (0). */
  utcOffsetHours: number;
}

export const DEFAULT_ENVIRONMENT: EnvironmentParams = {
  meanC: 22,
  dailyAmplitudeK: 4,
  seasonalAmplitudeK: 5,
  seasonPeakDay: 196,
  noiseK: 0.5,
  utcOffsetHours: 0,
};

const DAY_MS = 86_400_000;
const YEAR_DAYS = 365.2425;
/** Correlation time of the weather noise (sim). */
const NOISE_TAU_S = 3600;
/** Atmospheric pressure: mean, stationary σ ≈ 10 hPa, correlation time 2 days (§6.5). */
const P_ATM_MEAN = 101_300;
const P_ATM_SIGMA = 1000;
const P_ATM_TAU_S = 2 * 86_400;

/** Local hour of day 0…24 for an epoch-ms time and a UTC offset. */
export function localHour(tMs: number, utcOffsetHours: number): number {
  const local = tMs + utcOffsetHours * 3_600_000;
  return (((local % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000;
}

/** Local day of week, 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function localWeekday(tMs: number, utcOffsetHours: number): number {
  const days = Math.floor((tMs + utcOffsetHours * 3_600_000) / DAY_MS);
  return (((days + 4) % 7) + 7) % 7;
}

/** The deterministic part of the ambient temperature, °C (no weather noise). */
export function ambientBase(p: EnvironmentParams, tMs: number): number {
  const hour = localHour(tMs, p.utcOffsetHours);
  // Day of year from the epoch; drifts by < 1 day over a century, fine for a season wave.
  const dayOfYear = (tMs / DAY_MS) % YEAR_DAYS;
  return (
    p.meanC +
    p.dailyAmplitudeK * Math.cos((2 * Math.PI * (hour - 15)) / 24) +
    p.seasonalAmplitudeK * Math.cos((2 * Math.PI * (dayOfYear - p.seasonPeakDay)) / YEAR_DAYS)
  );
}

/** Ambient state of one asset's site, advanced with the asset. */
export class Environment {
  /** Ambient temperature, °C. */
  tAmb: number;
  /** Atmospheric pressure, Pa. */
  pAtm = P_ATM_MEAN;
  private noise = 0;
  private pDev = 0;

  constructor(
    readonly params: EnvironmentParams,
    tMs: number,
    private readonly rng: Rng,
  ) {
    // Start in the stationary distribution so there is no artificial transient.
    this.noise = params.noiseK * rng.normal();
    this.pDev = P_ATM_SIGMA * rng.normal();
    this.pAtm = P_ATM_MEAN + this.pDev;
    this.tAmb = ambientBase(params, tMs) + this.noise;
  }

  /** Advances by dtS seconds to time tMs (end of the step). Exact AR(1)/OU updates for any dt. */
  step(tMs: number, dtS: number): void {
    const a = Math.exp(-dtS / NOISE_TAU_S);
    this.noise = a * this.noise + this.params.noiseK * Math.sqrt(1 - a * a) * this.rng.normal();
    const b = Math.exp(-dtS / P_ATM_TAU_S);
    this.pDev = b * this.pDev + P_ATM_SIGMA * Math.sqrt(1 - b * b) * this.rng.normal();
    this.pAtm = P_ATM_MEAN + this.pDev;
    this.tAmb = ambientBase(this.params, tMs) + this.noise;
  }
}
