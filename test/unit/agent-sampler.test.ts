import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Sample } from "../../src/core/sample.js";
import { ManualClock, ScaledClock } from "../../src/device/clock.js";
import { Sampler } from "../../src/device/sampler.js";
import type { SensorSource } from "../../src/sim/source.js";

/** A source that records every read and returns the read time as its value. */
function recordingSource(dropEvery = 0): SensorSource & { reads: number[] } {
  const reads: number[] = [];
  return {
    signals: ["vibration"],
    reads,
    read(ts: number): Sample | undefined {
      reads.push(ts);
      if (dropEvery > 0 && reads.length % dropEvery === 0) return undefined;
      return { ts, values: { vibration: ts % 100 } };
    },
  };
}

function setup(sampleMs: number, sendMs: number, dropEvery = 0) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const source = recordingSource(dropEvery);
  const batches: Sample[][] = [];
  const sampler = new Sampler(clock, source, { sampleMs, sendMs }, (b) => batches.push(b));
  return { clock, source, batches, sampler, t0: clock.now() };
}

describe("agent sampler", () => {
  it("reads on a fixed grid and hands over one batch per send interval", () => {
    const { clock, source, batches, sampler, t0 } = setup(1000, 5000);
    sampler.start();
    clock.advance(10_000);
    assert.deepEqual(
      source.reads.map((t) => t - t0),
      [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000],
    );
    assert.deepEqual(
      batches.map((b) => b.map((s) => s.ts - t0)),
      [
        [0, 1000, 2000, 3000, 4000, 5000],
        [6000, 7000, 8000, 9000, 10_000],
      ],
    );
    sampler.stop();
  });

  it("catches up every missed reading at its own time when the timer fires late", () => {
    const { clock, source, sampler, t0 } = setup(100, 1000);
    sampler.start();
    // One huge step stands for an event loop that was blocked: the grid is still complete.
    clock.advance(2_050);
    assert.equal(source.reads.length, 21);
    assert.deepEqual(
      source.reads.slice(-2).map((t) => t - t0),
      [1900, 2000],
    );
    sampler.stop();
  });

  it("leaves out readings where every signal dropped out", () => {
    const { clock, batches, sampler } = setup(1000, 10_000, 2);
    sampler.start();
    clock.advance(9_000);
    sampler.stop();
    assert.equal(batches.flat().length, 5);
  });

  it("hands over what was read when stopped, and nothing afterwards", () => {
    const { clock, source, batches, sampler } = setup(1000, 60_000);
    sampler.start();
    clock.advance(2500);
    sampler.stop();
    assert.equal(batches.flat().length, 3);
    clock.advance(10_000);
    assert.equal(source.reads.length, 3);
    assert.equal(clock.pendingTimers, 0);
  });

  it("changes intervals measured from the previous reading and hand-over", () => {
    const { clock, source, batches, sampler, t0 } = setup(1000, 10_000);
    sampler.start();
    clock.advance(3000);
    sampler.setIntervals(250, 1000);
    clock.advance(1000);
    assert.deepEqual(
      source.reads.map((t) => t - t0),
      [0, 1000, 2000, 3000, 3250, 3500, 3750, 4000],
    );
    // The new send interval is already over since the start: hand over at once, then every second.
    assert.deepEqual(
      batches.map((b) => b.map((s) => s.ts - t0)),
      [
        [0, 1000, 2000, 3000],
        [3250, 3500, 3750, 4000],
      ],
    );
    sampler.stop();
  });

  it("runs virtual time faster than real time", async () => {
    const clock = new ScaledClock({ speed: 100, origin: Date.UTC(2025, 0, 1) });
    const source = recordingSource();
    const batches: Sample[][] = [];
    const sampler = new Sampler(clock, source, { sampleMs: 1000, sendMs: 5000 }, (b) => batches.push(b));
    sampler.start();
    await new Promise((r) => setTimeout(r, 120));
    sampler.stop();
    assert.ok(source.reads.length >= 10, `${source.reads.length} readings of 1 s in 120 ms at ×100`);
    assert.ok(source.reads[0]! < Date.UTC(2025, 0, 2), "virtual time starts at its origin");
  });

  it("runs virtual time no further than the wall clock when it catches up", () => {
    const origin = Date.now() - 1000;
    const clock = new ScaledClock({ speed: 1_000_000, origin, catchUp: true });
    const now = clock.now();
    assert.ok(now >= origin && now <= Date.now(), "never ahead of the wall clock");
    const free = new ScaledClock({ speed: 1_000_000, origin });
    const later = () => free.now() > Date.now() + 60_000;
    const deadline = Date.now() + 1000;
    while (!later() && Date.now() < deadline) {
      // spin for a millisecond or two of real time
    }
    assert.ok(later(), "without catchUp it runs ahead");
  });
});
