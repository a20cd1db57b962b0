/**
 * Public API of the pump simulator (docs/simulator.md). It knows nothing about MQTT or the
 * server; the device agent consumes it through `SensorSource` (./source.js).
 *
 * - Scenarios: `loadScenario(file)` / `parseScenario(json)` → `Scenario` (throws `ScenarioError`).
 * - Fleet: `createFleet(scenario, options)` → `Fleet` with `assets: SimAsset[]` (each a SensorSource).
 * - Live: `asset.read(ts)`, `fleet.readAll(ts)`; `SimClock` / `AcceleratedSource` for ×N runs;
 *   ground truth through a `TruthSink` (`JsonlTruthSink` writes files).
 * - Backfill: `fleet.backfill({ to })` yields columnar `SimBatch`es with ground truth;
 *   `batchSamples(batch)` converts to Samples (`batchSampleAt(batch, k)`: one row);
 *   `writeBackfill(fleet, dir, { to })` writes JSON Lines.
 */
export type { MaintenanceSpec } from "./asset.js";
export { SimAsset } from "./asset.js";
export { AcceleratedSource, catchUpStart, SimClock } from "./clock.js";
export { FAULT_CATALOGUE, FAULT_TYPES, type FaultType } from "./faults.js";
export { JsonlTruthSink, writeBackfill } from "./files.js";
export {
  type BackfillOptions,
  batchSampleAt,
  batchSamples,
  createFleet,
  Fleet,
  type FleetOptions,
  type SimBatch,
  simulatePump,
} from "./fleet.js";
export { MAINTENANCE_ACTIONS, type MaintenanceAction } from "./health.js";
export { LIMITS, MODEL_NAMES, MODELS, type ModelName } from "./models.js";
export { loadScenario, parseScenario, type Scenario, ScenarioError, type ScenarioInput } from "./scenario.js";
export { SIGNALS, type SignalName, TRUTH_FIELDS, type TruthField } from "./signals.js";
export type { SensorSource } from "./source.js";
export type { TruthEvent, TruthEventKind, TruthSink } from "./truth.js";
