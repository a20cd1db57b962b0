import type { Sample } from "../core/sample.js";

/**
 * What a device agent reads its sensors from: a simulated pump now, real sensors (Modbus) later.
 */
export interface SensorSource {
  /** Names of the signals this source provides (docs/telemetry.md). */
  readonly signals: readonly string[];
  /**
   * Reads the sensors at `ts` (epoch ms, non-decreasing between calls). Signals that dropped out
   * are omitted; undefined when every signal dropped out.
   */
  read(ts: number): Sample | undefined;
}
