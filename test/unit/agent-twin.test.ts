import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_SETTINGS,
  mergePatch,
  reportedProperties,
  settingsFromDesired,
} from "../../src/device/twin.js";

describe("agent twin settings", () => {
  it("takes valid desired intervals and ignores unknown properties", () => {
    const { settings, rejected } = settingsFromDesired(DEFAULT_SETTINGS, {
      sampleIntervalSec: 2,
      sendIntervalSec: 30,
      colour: "blue",
      $version: 4,
    });
    assert.deepEqual(settings, { sampleIntervalSec: 2, sendIntervalSec: 30 });
    assert.deepEqual(rejected, {});
  });

  it("keeps the configured value and says why when a desired value is out of range or not a number", () => {
    for (const bad of [0, -1, 0.001, 1e9, "10", null, Number.NaN]) {
      const { settings, rejected } = settingsFromDesired(DEFAULT_SETTINGS, { sampleIntervalSec: bad });
      assert.equal(settings.sampleIntervalSec, DEFAULT_SETTINGS.sampleIntervalSec, String(bad));
      assert.match(rejected["sampleIntervalSec"] ?? "", /must be a number of seconds from/);
    }
  });

  it("merges desired patches as the twin does: null deletes, objects merge", () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: 5 }, { a: null, b: { c: 9 }, f: [1] }), {
      b: { c: 9, d: 3 },
      e: 5,
      f: [1],
    });
  });

  it("reports version, signals, intervals and queue statistics", () => {
    const r = reportedProperties({
      agentVersion: "1.2.3",
      signals: ["running"],
      settings: { sampleIntervalSec: 1, sendIntervalSec: 5 },
      queue: { packets: 3, bytes: 300, droppedPackets: 1, droppedSamples: 10 },
      rejected: {},
    });
    assert.deepEqual(r, {
      agentVersion: "1.2.3",
      signals: ["running"],
      sampleIntervalSec: 1,
      sendIntervalSec: 5,
      queue: { packets: 3, bytes: 300, droppedPackets: 1, droppedSamples: 10 },
      desiredRejected: null,
    });
  });

  it("clears an earlier rejection of one property while reporting another", () => {
    const r = reportedProperties({
      agentVersion: "1",
      signals: [],
      settings: DEFAULT_SETTINGS,
      queue: { packets: 0, bytes: 0, droppedPackets: 0, droppedSamples: 0 },
      rejected: { sendIntervalSec: "bad" },
    });
    assert.deepEqual(r["desiredRejected"], { sampleIntervalSec: null, sendIntervalSec: "bad" });
  });
});
