/**
 * The seam between a sensor provider and the device agent: the agent polls a SensorSource and
 * sends what it returns as telemetry (docs/telemetry.md). The simulator's SimAsset implements it;
 * a real box would implement it over its I/O.
 */
import type { Sample } from "../core/sample.js";

export interface SensorSource {
  /**
   * Names of the signals this source can deliver, fixed for its lifetime. They are built-in
   * signals of docs/telemetry.md with their fixed units (hPa abs, °C, A, kW, mm/s, h, 0/1).
   */
  readonly signals: readonly string[];
  /**
   * Reads the sensors at `ts` (epoch ms, non-decreasing); dropped-out signals are omitted;
   * undefined if all dropped.
   *
   * A reading summarises the time since the previous read the way a box does (mean of the
   * interval; counters and the running flag at its end). Reading twice at the same `ts` reads
   * the same physical state again with fresh sensor noise.
   *
   * @throws RangeError if `ts` is earlier than the previous read's `ts`.
   */
  read(ts: number): Sample | undefined;
}
