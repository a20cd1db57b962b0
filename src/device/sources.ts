import type { Sample } from "../core/sample.js";
import type { SensorSource } from "../sim/source.js";

/** Plausible readings of a running rotary-vane pump, within the bounds of docs/telemetry.md. */
export const CONSTANT_VALUES: Readonly<Record<string, number>> = {
  inletPressure: 1.2,
  exhaustPressure: 1013,
  oilTemperature: 62.5,
  motorTemperature: 71,
  ambientTemperature: 22,
  motorCurrent: 12.4,
  power: 5.5,
  vibration: 1.8,
  running: 1,
};

/** Always the same values: for trying the agent and the server end to end without a simulator. */
export class ConstantSource implements SensorSource {
  readonly signals: readonly string[];
  readonly #values: Record<string, number>;

  constructor(values: Readonly<Record<string, number>> = CONSTANT_VALUES) {
    this.#values = { ...values };
    this.signals = Object.keys(this.#values);
  }

  read(ts: number): Sample {
    return { ts, values: { ...this.#values } };
  }
}

/**
 * Builds the source for `--simulate MODEL`. src/device may not depend on src/sim beyond the
 * SensorSource type, so whoever wires the CLI passes this in (see `runDeviceCommand`); it throws
 * for an unknown model with a message listing the known ones.
 */
export type SimulateFactory = (model: string, opts: { registrationId: string }) => SensorSource;
