/**
 * Long fuzz runs (reliability.md tests 3 and 4, nightly size): the guarded MQTT parser fed many
 * random and mutated inputs in random chunk splits, then the network fuzzer against pumpwatch as a
 * child process over TLS while a canary device publishes QoS 1. The CI-sized runs are
 * test/unit/guard-fuzz.test.ts and test/load/mqtt-network-fuzz.test.ts.
 *
 *   npm run fuzz:long [-- --inputs 1000000 --parser-seconds 600 --connections 20000
 *                        --malformed 200000 --seconds 1800 --concurrency 16 --seed N]
 *
 * Environment overrides: FUZZ_INPUTS, FUZZ_PARSER_SECONDS, FUZZ_CONNECTIONS, FUZZ_MALFORMED,
 * FUZZ_SECONDS, FUZZ_CONCURRENCY, FUZZ_SEED (both parts use it; without one a fresh seed is drawn
 * and printed). Every count and every duration is bounded; a part stops at whichever limit it
 * reaches first. `--inputs 0` or `--seconds 0` skips that part.
 *
 * Progress goes to stderr; the last stdout line is the result as JSON. Exit code 1 when a figure
 * misses its bound: an exception, a slow or over-buffering input, a process exit, a canary failure,
 * or more than 20 MB of server memory growth.
 */
import { parseArgs } from "node:util";
import { fuzzSeed, runParserFuzz } from "../test/helpers/mqtt-fuzz.js";
import { type NetFuzzFigures, runNetworkFuzz } from "../test/helpers/net-fuzz.js";
import { intOption } from "./common.js";

const { values: a } = parseArgs({
  options: {
    inputs: { type: "string" },
    "parser-seconds": { type: "string" },
    connections: { type: "string" },
    malformed: { type: "string" },
    seconds: { type: "string" },
    concurrency: { type: "string" },
    seed: { type: "string" },
  },
});

const seed = a.seed !== undefined ? Number(a.seed) >>> 0 : fuzzSeed("FUZZ_SEED");
const inputs = intOption(a.inputs, "FUZZ_INPUTS", 1_000_000, 0, 100_000_000);
const parserSeconds = intOption(a["parser-seconds"], "FUZZ_PARSER_SECONDS", 600, 1, 86_400);
const connections = intOption(a.connections, "FUZZ_CONNECTIONS", 20_000, 1, 10_000_000);
const malformed = intOption(a.malformed, "FUZZ_MALFORMED", 200_000, 1, 100_000_000);
const seconds = intOption(a.seconds, "FUZZ_SECONDS", 1800, 0, 86_400);
const concurrency = intOption(a.concurrency, "FUZZ_CONCURRENCY", 16, 1, 256);

const log = (line: string) => process.stderr.write(`${line}\n`);
log(`fuzz:long seed ${seed} (replay with FUZZ_SEED=${seed})`);

if (inputs > 0) log(`parser: up to ${inputs} inputs or ${parserSeconds} s`);
const parser = inputs > 0 ? runParserFuzz({ seed, inputs, maxSeconds: parserSeconds }) : undefined;
if (parser) log(`parser: ${JSON.stringify(parser)}`);

let network: NetFuzzFigures | undefined;
if (seconds > 0) {
  log(`network: until ${connections} connections and ${malformed} malformed packets, at most ${seconds} s`);
  network = await runNetworkFuzz({
    seed,
    minConnections: connections,
    minMalformed: malformed,
    maxSeconds: seconds,
    concurrency,
    maxSteps: 40,
    frameShare: 0.06,
    warmupConnections: 200,
    log,
  });
}

const problems: string[] = [];
if (parser) {
  if (parser.uncaughtExceptions > 0) problems.push(`${parser.uncaughtExceptions} parser exceptions`);
  if (parser.slowInputs > 0) problems.push(`${parser.slowInputs} slow parser inputs`);
  if (parser.overBuffered > 0) problems.push(`${parser.overBuffered} over-buffered parser inputs`);
}
if (network) {
  if (network.processExits > 0) problems.push("the server process exited");
  if (network.canaryFailures > 0) problems.push(`${network.canaryFailures} canary failures`);
  if (network.validPubacksMissing > 0) problems.push(`${network.validPubacksMissing} valid publishes lost`);
  if (network.rssGrowthMb > 20) problems.push(`server RSS grew by ${network.rssGrowthMb} MB`);
}
console.log(JSON.stringify({ fuzzLong: { seed, parser, network, problems } }));
process.exitCode = problems.length > 0 ? 1 : 0;
