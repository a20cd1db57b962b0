/**
 * One reading of one pump: a timestamp and signal values in their fixed units (docs/telemetry.md).
 * Shared by the device side (agent, simulator) and the server side (ingest, stores).
 */
export interface Sample {
  /** Epoch milliseconds (UTC). */
  ts: number;
  values: Record<string, number>;
}
