import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Sample } from "../../src/core/sample.js";
import {
  blockFromSamples,
  blockToSamples,
  decimalScale,
  decodeBlock,
  decodeBlockTimestamps,
  decodeColumn,
  decodeXor,
  encodeBlock,
  encodeColumn,
  encodeXor,
  mergeBlocks,
  sliceBlock,
} from "../../src/store/timeseries/index.js";
import { COLUMN_KINDS, column, int, pick, rng, sameValues, timestamps } from "../helpers/random.js";

const SEEDS = 60;

describe("time-series column codec", () => {
  it("decodes every column it encoded exactly, for random data of every kind and any share of missing values", () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = rng(seed);
      for (const kind of COLUMN_KINDS) {
        const n = pick(r, [0, 1, 2, 3, 7, 8, 9, 100, 1000]);
        const missing = pick(r, [0, 0, 0.01, 0.5, 1]);
        const values = column(r, n, kind, missing);
        for (const deflate of [true, false]) {
          const back = decodeColumn(encodeColumn(values, { deflate }), n);
          const diff = sameValues(back, values);
          assert.equal(diff, undefined, `seed ${seed} kind ${kind} n ${n} missing ${missing}: ${diff}`);
        }
      }
    }
  });

  it("round-trips timestamps that are irregular, duplicated or out of order", () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = rng(seed);
      const ts = timestamps(r, int(r, 1, 2000), Date.UTC(2026, 0, 1), seed % 3 === 0);
      assert.equal(sameValues(decodeColumn(encodeColumn(ts), ts.length), ts), undefined, `seed ${seed}`);
    }
  });

  it("stores a regular 10-second timestamp column in a few bytes", () => {
    const ts = Float64Array.from({ length: 8640 }, (_, i) => Date.UTC(2026, 0, 1) + i * 10_000);
    assert.ok(encodeColumn(ts).length < 64, `${encodeColumn(ts).length} bytes`);
  });

  it("keeps noisy 0.1-quantised readings near one byte per value", () => {
    const r = rng(7);
    let v = 70;
    const values = Float64Array.from({ length: 8640 }, () => {
      v += (r() - 0.5) * 0.4;
      return Math.round((v + (r() - 0.5) * 0.3) * 10) / 10;
    });
    const bytes = encodeColumn(values).length;
    assert.ok(bytes < 8640, `${bytes} bytes for 8640 values`);
    assert.equal(decimalScale(values), 1);
  });

  it("finds the decimal scale, and none for −0, infinities and binary fractions", () => {
    assert.equal(decimalScale([1, 2, 3]), 0);
    assert.equal(decimalScale([71.2, 71.25, Number.NaN]), 2);
    assert.equal(decimalScale([0.1 + 0.2]), -1);
    assert.equal(decimalScale([-0]), -1);
    assert.equal(decimalScale([Number.POSITIVE_INFINITY]), -1);
    assert.equal(decimalScale([2 ** 60]), -1);
    assert.equal(decimalScale([]), 0);
  });

  it("rejects truncated columns instead of returning garbage", () => {
    const bytes = encodeColumn(
      Float64Array.from({ length: 100 }, (_, i) => i * 1.5),
      { deflate: false },
    );
    assert.throws(() => decodeColumn(bytes.subarray(0, bytes.length - 5), 100), RangeError);
    assert.throws(() => decodeColumn(new Uint8Array(0), 1), RangeError);
  });
});

describe("Gorilla XOR encoding", () => {
  it("round-trips arbitrary bit patterns, including −0, infinities and subnormals", () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = rng(seed);
      const values = column(
        r,
        int(r, 1, 500),
        pick(r, ["bits", "edge", "mixed", "huge", "tiny"] as const),
        0,
      );
      const back = decodeXor(encodeXor(values), values.length);
      assert.equal(sameValues(back, values), undefined, `seed ${seed}`);
    }
  });
});

describe("time-series blocks", () => {
  const randomBlock = (seed: number) => {
    const r = rng(seed);
    const n = int(r, 0, 600);
    const ts = timestamps(r, n, Date.UTC(2026, 2, 1));
    const columns = new Map<string, Float64Array>();
    for (let c = 0; c < int(r, 0, 6); c++)
      columns.set(`s${c}`, column(r, n, pick(r, COLUMN_KINDS), pick(r, [0, 0.1, 0.9])));
    return { ts, columns };
  };

  it("decodes every block it encoded, and only the signals asked for", () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const b = randomBlock(seed);
      const bytes = encodeBlock(b);
      const back = decodeBlock(bytes);
      assert.equal(sameValues(back.ts, b.ts), undefined);
      assert.deepEqual([...back.columns.keys()], [...b.columns.keys()]);
      for (const [name, col] of b.columns) assert.equal(sameValues(back.columns.get(name)!, col), undefined);
      const some = decodeBlock(bytes, ["s1", "nope"]);
      assert.deepEqual([...some.columns.keys()], b.columns.has("s1") ? ["s1"] : []);
      assert.equal(sameValues(decodeBlockTimestamps(bytes), b.ts), undefined);
    }
  });

  it("converts samples to columns and back, keeping samples without values", () => {
    const samples: Sample[] = [
      { ts: 1000, values: { a: 1.5, b: 2 } },
      { ts: 1000, values: { b: 3 } },
      { ts: 2000, values: {} },
      { ts: 3000, values: { a: -0.25 } },
    ];
    const block = blockFromSamples(samples);
    assert.deepEqual(blockToSamples(decodeBlock(encodeBlock(block))), samples);
    assert.deepEqual(blockToSamples(block, ["a"]), [
      { ts: 1000, values: { a: 1.5 } },
      { ts: 3000, values: { a: -0.25 } },
    ]);
  });

  it("merges two blocks in time order with the first block's rows first on equal timestamps", () => {
    const a = blockFromSamples([
      { ts: 10, values: { x: 1 } },
      { ts: 20, values: { x: 2 } },
    ]);
    const b = blockFromSamples([
      { ts: 5, values: { y: 9 } },
      { ts: 20, values: { x: 3 } },
      { ts: 30, values: { x: 4 } },
    ]);
    assert.deepEqual(blockToSamples(mergeBlocks(a, b)), [
      { ts: 5, values: { y: 9 } },
      { ts: 10, values: { x: 1 } },
      { ts: 20, values: { x: 2 } },
      { ts: 20, values: { x: 3 } },
      { ts: 30, values: { x: 4 } },
    ]);
  });

  it("slices a block to [from, to)", () => {
    const b = blockFromSamples([10, 20, 20, 30].map((ts) => ({ ts, values: { x: ts } })));
    assert.deepEqual([...sliceBlock(b, 20, 30).ts], [20, 20]);
    assert.deepEqual([...sliceBlock(b, 0, 100).ts], [10, 20, 20, 30]);
    assert.deepEqual([...sliceBlock(b, 31, 100).ts], []);
  });
});
