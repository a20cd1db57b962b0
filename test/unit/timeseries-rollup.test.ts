import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Aggregates,
  aggregate,
  aggregateSeries,
  type Block,
  bucketCount,
  chooseResolution,
  coarsen,
  concatAggregates,
  DAY_MS,
  decodeAggregates,
  encodeAggregates,
  HOUR_MS,
  MINUTE_MS,
  RollupAccumulator,
  rawSeries,
  rollupsOf,
  sliceBlock,
  WINDOW_MS,
} from "../../src/store/timeseries/index.js";
import { int, pick, rng, timestamps } from "../helpers/random.js";

const T0 = Date.UTC(2026, 3, 1);

/** A time-ordered block of decimal readings with missing values, several days long. */
function readings(seed: number, n = 3000): Block {
  const r = rng(seed);
  const ts = timestamps(r, n, T0 + int(r, 0, DAY_MS));
  const columns = new Map<string, Float64Array>();
  for (const name of ["a", "b", "c"]) {
    let v = (r() - 0.5) * 200;
    const d = int(r, 0, 3);
    columns.set(
      name,
      Float64Array.from(ts, () => {
        v += r() - 0.5;
        // + 0: no −0 (JSON has none, and the store never sees one).
        return r() < 0.1 ? Number.NaN : Math.round(v * 10 ** d) / 10 ** d + 0;
      }),
    );
  }
  return { ts, columns };
}

/** Brute force: per signal and bucket, from the rows directly (sums via scaled integers, exact). */
function expected(block: Block, bucketMs: number): Map<string, Map<number, number[]>> {
  const out = new Map<string, Map<number, number[]>>();
  for (const [name, col] of block.columns) {
    const m = new Map<number, number[]>();
    for (let i = 0; i < block.ts.length; i++) {
      const v = col[i]!;
      if (Number.isNaN(v)) continue;
      const b = Math.floor(block.ts[i]! / bucketMs) * bucketMs;
      const e = m.get(b) ?? [0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 0, 0];
      e[0]!++;
      e[1] = Math.min(e[1]!, v);
      e[2] = Math.max(e[2]!, v);
      e[3] = e[3]! + Math.round(v * 1000);
      e[4] = block.ts[i]!;
      e[5] = v;
      m.set(b, e);
    }
    out.set(name, m);
  }
  return out;
}

function flatten(agg: Aggregates): unknown {
  return [...agg.signals].map(([name, s]) => [
    name,
    [...s.t],
    [...s.count],
    [...s.min],
    [...s.max],
    [...s.sum],
    [...s.lastTs],
    [...s.last],
  ]);
}

describe("rollups", () => {
  it("computes count, min, max, exact sum and last per bucket as brute force does", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const block = readings(seed);
      for (const bucketMs of [MINUTE_MS, HOUR_MS, DAY_MS]) {
        const agg = aggregate(block, bucketMs);
        for (const [name, m] of expected(block, bucketMs)) {
          const s = agg.signals.get(name)!;
          assert.deepEqual([...s.t], [...m.keys()], `seed ${seed} ${name} buckets`);
          [...m.values()].forEach((e, i) => {
            assert.deepEqual(
              [s.count[i], s.min[i], s.max[i], Math.round(s.sum[i]! * 1000), s.lastTs[i], s.last[i]],
              e,
              `seed ${seed} ${name} bucket ${i}`,
            );
          });
        }
      }
    }
  });

  it("gives the same hours and days whether merged from minutes or computed from raw", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const block = readings(seed);
      const levels = rollupsOf(block);
      assert.deepEqual(flatten(levels["1h"]), flatten(aggregate(block, HOUR_MS)), `seed ${seed} hours`);
      assert.deepEqual(flatten(levels["1d"]), flatten(aggregate(block, DAY_MS)), `seed ${seed} days`);
      assert.deepEqual(flatten(coarsen(levels["1m"], 6 * HOUR_MS)), flatten(aggregate(block, 6 * HOUR_MS)));
    }
  });

  it("concatenates per-window rollups into those of the whole span", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const block = readings(seed);
      const parts: Aggregates[] = [];
      const first = Math.floor(block.ts[0]! / WINDOW_MS) * WINDOW_MS;
      for (let w = first; w <= block.ts[block.ts.length - 1]!; w += WINDOW_MS) {
        parts.push(aggregate(sliceBlock(block, w, w + WINDOW_MS), MINUTE_MS));
      }
      assert.deepEqual(flatten(concatAggregates(MINUTE_MS, parts)), flatten(aggregate(block, MINUTE_MS)));
    }
  });

  it("decodes the rollups it encoded, and only the signals asked for", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const agg = aggregate(readings(seed), pick(rng(seed), [MINUTE_MS, HOUR_MS]));
      const bytes = encodeAggregates(agg);
      assert.deepEqual(flatten(decodeAggregates(bytes)), flatten(agg));
      assert.deepEqual([...decodeAggregates(bytes, ["b"]).signals.keys()], ["b"]);
    }
  });

  it("accumulates parts into wider buckets, clipped to a range, as concatenation and coarsening do", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const block = readings(seed);
      // Clipping is by bucket start, so [from, to) is on the parts' bucket grid (as in the stores).
      const from = Math.floor(block.ts[0]! / HOUR_MS) * HOUR_MS + 5 * HOUR_MS;
      const to = from + DAY_MS;
      const acc = new RollupAccumulator(2 * HOUR_MS);
      const first = Math.floor(block.ts[0]! / WINDOW_MS) * WINDOW_MS;
      for (let w = first; w <= block.ts[block.ts.length - 1]!; w += WINDOW_MS) {
        acc.add(aggregate(sliceBlock(block, w, w + WINDOW_MS), MINUTE_MS), from, to);
      }
      assert.deepEqual(flatten(acc.result()), flatten(aggregate(sliceBlock(block, from, to), 2 * HOUR_MS)));
    }
    const acc = new RollupAccumulator(HOUR_MS).add(aggregate(readings(1), MINUTE_MS));
    assert.throws(() => acc.add(aggregate(readings(1), MINUTE_MS)), /out of time order/);
    assert.throws(() => acc.add(aggregate(readings(1), 7 * MINUTE_MS)), RangeError);
  });

  it("refuses blocks out of time order and widths that do not divide", () => {
    assert.throws(
      () => aggregate({ ts: Float64Array.from([2, 1]), columns: new Map() }, MINUTE_MS),
      RangeError,
    );
    assert.throws(() => coarsen({ bucketMs: HOUR_MS, signals: new Map() }, 90 * MINUTE_MS), RangeError);
  });
});

describe("resolution choice", () => {
  it("returns raw when the samples fit, else the finest round step with at most `points` buckets", () => {
    const from = T0;
    assert.deepEqual(chooseResolution({ fromMs: from, toMs: from + HOUR_MS, points: 2000, rawCount: 360 }), {
      resolution: "raw",
      bucketMs: null,
    });
    const day = chooseResolution({ fromMs: from, toMs: from + DAY_MS, points: 2000, rawCount: 8640 });
    assert.deepEqual(day, { resolution: "1m", bucketMs: MINUTE_MS });
    const week = chooseResolution({ fromMs: from, toMs: from + 7 * DAY_MS, points: 2000, rawCount: 60480 });
    assert.deepEqual(week, { resolution: "1m", bucketMs: 6 * MINUTE_MS });
    const year = chooseResolution({ fromMs: from, toMs: from + 365 * DAY_MS, points: 2000, rawCount: 3e6 });
    assert.deepEqual(year, { resolution: "1h", bucketMs: 6 * HOUR_MS });
    const decade = chooseResolution({
      fromMs: from,
      toMs: from + 3650 * DAY_MS,
      points: 2000,
      rawCount: 3e7,
    });
    assert.deepEqual(decade, { resolution: "1d", bucketMs: 2 * DAY_MS });
    const dropped = chooseResolution({
      fromMs: from,
      toMs: from + HOUR_MS,
      points: 2000,
      rawCount: 0,
      finest: "1h",
    });
    assert.deepEqual(dropped, { resolution: "1h", bucketMs: HOUR_MS });
  });

  it("never chooses more aligned buckets than points, for random ranges", () => {
    const r = rng(3);
    for (let i = 0; i < 2000; i++) {
      const fromMs = T0 + int(r, -1e11, 1e11);
      const toMs = fromMs + int(r, 1, 1e12);
      const points = pick(r, [1, 2, 7, 100, 2000, 5000]);
      const c = chooseResolution({ fromMs, toMs, points, rawCount: points + 1 });
      assert.ok(
        bucketCount(fromMs, toMs, c.bucketMs!) <= points,
        `${fromMs} ${toMs} ${points} ${c.bucketMs}`,
      );
    }
  });
});

describe("series", () => {
  it("builds raw columns with nulls where a signal has no value", () => {
    const block: Block = {
      ts: Float64Array.from([1, 2, 3]),
      columns: new Map([
        ["a", Float64Array.from([1, Number.NaN, Number.NaN])],
        ["b", Float64Array.from([Number.NaN, 5, Number.NaN])],
      ]),
    };
    assert.deepEqual(rawSeries(block, ["a", "b", "z"]), {
      resolution: "raw",
      bucketMs: null,
      t: [1, 2],
      values: { a: [1, null], b: [null, 5], z: [null, null] },
    });
  });

  it("builds means and bands on the union of the signals' buckets", () => {
    const block: Block = {
      ts: Float64Array.from([0, 30_000, 60_000, 180_000]),
      columns: new Map([
        ["a", Float64Array.from([1, 2, Number.NaN, 7])],
        ["b", Float64Array.from([Number.NaN, Number.NaN, 4, Number.NaN])],
      ]),
    };
    assert.deepEqual(aggregateSeries(aggregate(block, MINUTE_MS), ["a", "b"], "1m"), {
      resolution: "1m",
      bucketMs: MINUTE_MS,
      t: [0, 60_000, 180_000],
      values: { a: [1.5, null, 7], b: [null, 4, null] },
      min: { a: [1, null, 7], b: [null, 4, null] },
      max: { a: [2, null, 7], b: [null, 4, null] },
    });
  });
});
