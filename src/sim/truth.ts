/**
 * Ground truth (pump-domain.md §6.1, §6.10): the fault event log and the sink interface through
 * which live runs hand out noise-free signals and hidden states. Scoring (§7) joins these on
 * timestamps with the telemetry.
 */
import type { FaultType } from "./faults.js";
import type { MaintenanceAction } from "./health.js";

/**
 * Kinds of ground-truth event:
 * - `onset`: the fault starts; `detectable`: its noise-free effect first exceeds 3σ of a
 *   monitored signal's noise (§6.1); `failure`: functional failure / manufacturer limit;
 *   `repair`: a maintenance action ended it.
 * - `maintenance`: an action was carried out; `trip`: a protective trip stopped the pump (E12);
 *   `restart`: a stopped pump was released again.
 */
export type TruthEventKind =
  | "onset"
  | "detectable"
  | "failure"
  | "repair"
  | "maintenance"
  | "trip"
  | "restart";

/** One line of the event log. */
export interface TruthEvent {
  /** Epoch ms, on the simulation grid (end of the step in which it happened). */
  ts: number;
  assetId: string;
  kind: TruthEventKind;
  /** Scenario fault id, its type and catalogue code (§6.7), for fault events. */
  faultId?: string;
  fault?: FaultType;
  code?: string;
  /** Maintenance action, for `maintenance` events. */
  action?: MaintenanceAction;
  /** Signal, for sensor faults and sensor replacement. */
  signal?: string;
  /** Trip cause (`thermal`, `overload`), for `trip` events. */
  reason?: string;
}

/**
 * Receives the ground truth of live runs. Called synchronously from `SimAsset.read`, so it must be
 * cheap; a sink that throws aborts the read.
 */
export interface TruthSink {
  /**
   * Once per read, with the noise-free values over the same interval as the sample (same `ts`),
   * in TRUTH_FIELDS order. `row` is reused by the caller: copy what you keep.
   */
  truth(assetId: string, ts: number, row: Float64Array): void;
  /** Every event, in order. */
  event(event: TruthEvent): void;
}
