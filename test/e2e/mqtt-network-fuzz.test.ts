/**
 * Network fuzzing of the device-facing MQTT port over real TLS (reliability plan test 4): at least
 * 10,000 malformed packets over at least 500 connections against pumpwatch running as its own
 * process, while a canary device publishes QoS 1 telemetry. The process must not exit, the canary
 * must get every PUBACK, and the server's memory must not grow by more than 20 MB. Seeded:
 * PUMPWATCH_NETFUZZ_SEED=<seed> replays a run.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { fuzzSeed } from "../helpers/mqtt-fuzz.js";
import { runNetworkFuzz } from "../helpers/net-fuzz.js";

const SEED = fuzzSeed("PUMPWATCH_NETFUZZ_SEED");

it(`10,000 malformed packets over 500 TLS connections leave the gateway serving (PUMPWATCH_NETFUZZ_SEED=${SEED})`, async () => {
  const f = await runNetworkFuzz({
    seed: SEED,
    minConnections: 500,
    minMalformed: 10_000,
    maxSeconds: 75,
    concurrency: 16,
    maxSteps: 40,
    frameShare: 0.06,
    warmupConnections: 400,
  });
  console.log(JSON.stringify({ mqttNetworkFuzz: f }));
  assert.equal(f.processExits, 0, "the server process exited");
  assert.equal(f.canaryFailures, 0, `${f.canaryFailures} of ${f.canaryPublishes} canary publishes failed`);
  assert.ok(f.canaryPublishes > 0);
  assert.equal(f.connectRefused, 0, "a fuzz session's valid CONNECT was refused");
  assert.equal(f.validPubacksMissing, 0, "a valid publish inside a fuzz session was not acknowledged");
  assert.ok(f.connections >= 500, `only ${f.connections} connections within the time limit`);
  assert.ok(
    f.malformedPackets >= 10_000,
    `only ${f.malformedPackets} malformed packets within the time limit`,
  );
  assert.ok(f.rssGrowthMb <= 20, `server RSS grew by ${f.rssGrowthMb} MB`);
});
