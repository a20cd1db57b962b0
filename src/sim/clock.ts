/**
 * Wall-clock ↔ simulated time for live runs at an acceleration (docs/simulator.md "Live").
 *
 * Ingest rejects timestamps more than a few minutes in the future (docs/telemetry.md), so an
 * accelerated run has to start in the past and may only catch up with the wall clock: with
 * `catchUpStart` the simulated time reaches "now" exactly at the end of the demo window, and the
 * clock then continues in real time.
 */
import type { Sample } from "../core/sample.js";
import type { SensorSource } from "./source.js";

export class SimClock {
  /**
   * @param wallStart wall-clock epoch ms at which the simulation starts running
   * @param simStart simulated epoch ms at that instant (usually the fleet's time zero)
   * @param acceleration simulated seconds per real second (e.g. 60)
   */
  constructor(
    readonly wallStart: number,
    readonly simStart: number,
    readonly acceleration: number,
  ) {
    if (!(acceleration >= 1)) throw new RangeError("acceleration must be at least 1");
  }

  /** Simulated time at wall time `wallMs`: accelerated, but never ahead of the wall clock. */
  toSim(wallMs: number): number {
    const accelerated = this.simStart + (wallMs - this.wallStart) * this.acceleration;
    return Math.max(this.simStart, Math.min(accelerated, Math.max(wallMs, this.simStart)));
  }
}

/**
 * The simulated start for a run that begins at `wallStart` and, at `acceleration`, reaches the
 * wall clock after `spanMs` of real time — e.g. ×60 over 10 min starts 9 h 50 min in the past.
 */
export function catchUpStart(wallStart: number, acceleration: number, spanMs: number): number {
  return wallStart - (acceleration - 1) * spanMs;
}

/**
 * A SensorSource read on the wall clock: `read(wallTs)` reads the inner (simulated) source at
 * `clock.toSim(wallTs)` and returns the sample stamped with simulated time.
 */
export class AcceleratedSource implements SensorSource {
  readonly signals: readonly string[];

  constructor(
    private readonly inner: SensorSource,
    private readonly clock: SimClock,
  ) {
    this.signals = inner.signals;
  }

  read(wallTs: number): Sample | undefined {
    return this.inner.read(this.clock.toSim(wallTs));
  }
}
