import type { Sample } from "../core/sample.js";
import type { SensorSource } from "../sim/source.js";
import type { Clock, ClockTimer } from "./clock.js";

/**
 * Reads the source every sample interval and hands the collected samples over every send interval,
 * with one clock timer per agent. Sample times are a fixed grid (`start + k · interval`) rather than
 * "when the timer fired": a late timer (a busy event loop with thousands of agents) catches up with
 * every missed reading at its own time, so no reading is lost or shifted.
 */
export class Sampler {
  readonly #clock: Clock;
  readonly #source: SensorSource;
  readonly #sink: (samples: Sample[]) => void;
  #sampleMs: number;
  #sendMs: number;
  #nextSample = 0;
  #nextSend = 0;
  #lastSend = 0;
  #buffer: Sample[] = [];
  #timer: ClockTimer | undefined;
  #running = false;
  #reads = 0;

  constructor(
    clock: Clock,
    source: SensorSource,
    intervals: { sampleMs: number; sendMs: number },
    sink: (samples: Sample[]) => void,
  ) {
    this.#clock = clock;
    this.#source = source;
    this.#sampleMs = intervals.sampleMs;
    this.#sendMs = intervals.sendMs;
    this.#sink = sink;
  }

  /** Samples read but not yet handed over. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Samples read from the source so far (including dropped-out readings that returned nothing). */
  get reads(): number {
    return this.#reads;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const now = Math.floor(this.#clock.now());
    this.#nextSample = now;
    this.#lastSend = now;
    this.#nextSend = now + this.#sendMs;
    this.#tick();
  }

  /** Changes the intervals; the next reading and hand-over are measured from the previous ones. */
  setIntervals(sampleMs: number, sendMs: number): void {
    if (sampleMs === this.#sampleMs && sendMs === this.#sendMs) return;
    if (sampleMs !== this.#sampleMs) this.#nextSample = this.#nextSample - this.#sampleMs + sampleMs;
    this.#sampleMs = sampleMs;
    this.#sendMs = sendMs;
    this.#nextSend = this.#lastSend + sendMs;
    if (!this.#running) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#tick();
  }

  /** Hands over what was read so far. */
  flush(): void {
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#sink(batch);
  }

  /** Stops the timer and hands over what was read, so a graceful stop loses nothing. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.flush();
  }

  #tick(): void {
    this.#timer = undefined;
    if (!this.#running) return;
    const now = this.#clock.now();
    while (this.#nextSample <= now) {
      const s = this.#source.read(this.#nextSample);
      this.#reads++;
      if (s) this.#buffer.push(s);
      this.#nextSample += this.#sampleMs;
    }
    if (this.#nextSend <= now) {
      this.#lastSend = now;
      while (this.#nextSend <= now) this.#nextSend += this.#sendMs;
      this.flush();
    }
    this.#timer = this.#clock.setTimer(() => this.#tick(), Math.min(this.#nextSample, this.#nextSend) - now);
  }
}
