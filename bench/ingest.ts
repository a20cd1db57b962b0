/**
 * Ingest benchmark (reliability.md test 0): committed QoS 1 telemetry per second through pumpwatch,
 * against the ceiling of a bare aedes broker (bench/bare-broker.ts) serving the same load over the
 * same TLS certificate with no checks and no storage.
 *
 *   npm run bench:ingest [-- --devices 50 --window 10 --duration 15 --warmup 2 --cpu-prof DIR --pin]
 *
 * Environment overrides: BENCH_DEVICES, BENCH_WINDOW, BENCH_DURATION, BENCH_WARMUP.
 *
 * Both servers run as child processes on free ports of 127.0.0.1, pumpwatch with its default
 * configuration in a temporary data folder. This process is the load generator: N devices over TLS
 * with SAS authentication, each keeping `window` QoS 1 publishes of ~150-byte JSON in flight for
 * warm-up + duration seconds. Only PUBACKs received after the warm-up count. pumpwatch commits before
 * it acknowledges, so its acknowledged rate is its committed rate; at the end the stored sample
 * count of every device is checked against its PUBACK count through the operator API.
 *
 * Analytics runs inside pumpwatch behind ingest (src/analytics/service.ts), on the same event loop.
 * The result reports what it did: its backlog gauge sampled during the measured window, then, from
 * the end of the load, how long it took to drain (backlog 0 and every acknowledged sample
 * processed, at most DRAIN_MS), and its processed and re-read sample counters. The bench devices
 * have no pump model, so their analyzers run the generic rules.
 *
 * Progress goes to stderr; the last stdout line is the result as JSON.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { MqttClient } from "mqtt";
import {
  type ChildServer,
  connectDevice,
  cpuSeconds,
  operatorGet,
  readCa,
  type SeededDevice,
  seedDevices,
  spawnPumpwatch,
  spawnServer,
  telemetryTopic,
} from "../test/helpers/child.js";
import { body, intOption, percentile, round, withTimeout } from "./common.js";
import { sourceVersion } from "./source-version.js";

const { values: flags } = parseArgs({
  options: {
    devices: { type: "string" },
    window: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    "cpu-prof": { type: "string" },
    pin: { type: "boolean" },
  },
  strict: true,
});

const DEVICES = intOption(flags.devices, "BENCH_DEVICES", 50, 1, 2000);
const WINDOW = intOption(flags.window, "BENCH_WINDOW", 10, 1, 1000);
const DURATION_S = intOption(flags.duration, "BENCH_DURATION", 15, 1, 600);
const WARMUP_S = intOption(flags.warmup, "BENCH_WARMUP", 2, 0, 60);
/** Per-device cap on messages: keeps the loop bounded in count as well as in time. */
const MAX_MESSAGES_PER_DEVICE = 2_000_000;
/** Longest wait for connects and for in-flight publishes after the run. */
const WAIT_MS = 20_000;
/** Longest wait for the analytics to catch up after the load, and its polling interval. */
const DRAIN_MS = 10_000;
const DRAIN_POLL_MS = 100;
/** Interval of the analytics backlog samples taken during the measured window. */
const BACKLOG_POLL_MS = 2_500;
/** Pinning (--pin): servers on core 0, this load generator on core 1. */
const SERVER_CPUS = flags.pin ? "0" : undefined;

const BARE_BROKER = fileURLToPath(new URL("./bare-broker.ts", import.meta.url));

function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

interface LoadResult {
  /** PUBACKs received during the measured window. */
  measured: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  /** PUBACKs per device over the whole run (warm-up, window, drain). */
  ackedPerDevice: number[];
  sent: number;
  acked: number;
  serverCpuPct: number;
  generatorCpuPct: number;
  bodyBytes: number;
}

/** Runs the load against `server` and returns what the devices saw. */
async function runLoad(server: ChildServer, ca: string, devices: SeededDevice[]): Promise<LoadResult> {
  const clients: MqttClient[] = [];
  try {
    clients.push(
      ...(await withTimeout(
        Promise.all(devices.map((device) => connectDevice({ port: server.mqttPort, ca, device }))),
        WAIT_MS,
        `connecting ${devices.length} devices`,
      )),
    );
    let failure: Error | undefined;
    for (const c of clients) {
      c.once("close", () => {
        failure ??= new Error(`a device lost its connection during the run:\n${server.output()}`);
      });
    }
    const latencies = new Float64Array(4_000_000);
    let measured = 0;
    let sent = 0;
    let acked = 0;
    let inFlight = 0;
    const ackedPerDevice = new Array<number>(devices.length).fill(0);
    const t0 = performance.now();
    const measureFrom = t0 + WARMUP_S * 1000;
    const stopAt = measureFrom + DURATION_S * 1000;
    let cpu0 = { server: Number.NaN, generator: process.cpuUsage() };
    const cpuTimer = setTimeout(() => {
      cpu0 = { server: cpuSeconds(server.pid), generator: process.cpuUsage() };
    }, WARMUP_S * 1000);
    let cpu1 = cpu0;
    let drained: () => void = () => {};
    const allDrained = new Promise<void>((resolve) => {
      drained = resolve;
    });
    const runId = Date.now().toString(36);
    const bodyBytes = Buffer.byteLength(body(Date.now(), 0));

    clients.forEach((client, i) => {
      const id = devices[i]!.id;
      let seq = 0;
      let lastTs = 0;
      const sendNext = () => {
        const now = performance.now();
        if (now >= stopAt || seq >= MAX_MESSAGES_PER_DEVICE || failure) {
          if (inFlight === 0) drained();
          return;
        }
        lastTs = Math.max(Date.now(), lastTs + 1);
        const n = seq++;
        sent++;
        inFlight++;
        client.publish(telemetryTopic(id, `${runId}-${n}`), body(lastTs, n), { qos: 1 }, (err) => {
          inFlight--;
          if (err) {
            failure ??= err;
          } else {
            acked++;
            ackedPerDevice[i]!++;
            const at = performance.now();
            if (at >= measureFrom && at < stopAt) {
              if (measured < latencies.length) latencies[measured] = at - now;
              measured++;
            }
          }
          sendNext();
        });
      };
      for (let w = 0; w < WINDOW; w++) sendNext();
    });

    await new Promise((r) => setTimeout(r, stopAt - performance.now()));
    cpu1 = { server: cpuSeconds(server.pid), generator: process.cpuUsage(cpu0.generator) };
    clearTimeout(cpuTimer);
    await withTimeout(allDrained, WAIT_MS, "in-flight publishes acknowledged after the run").catch(
      (err: Error) => {
        throw failure ?? err;
      },
    );
    if (failure) throw failure;
    const sorted = latencies.slice(0, Math.min(measured, latencies.length)).sort();
    return {
      measured,
      perSec: measured / DURATION_S,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      ackedPerDevice,
      sent,
      acked,
      serverCpuPct: ((cpu1.server - cpu0.server) / DURATION_S) * 100,
      generatorCpuPct: ((cpu1.generator.user + cpu1.generator.system) / 1e6 / DURATION_S) * 100,
      bodyBytes,
    };
  } finally {
    for (const c of clients) c.end(true);
  }
}

/** Sum and count of a Prometheus histogram in the text exposition format. */
function histogram(text: string, name: string): { sum: number; count: number } {
  const value = (suffix: string) => {
    const m = text.match(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? (\\S+)$`, "m"));
    return m ? Number(m[1]) : Number.NaN;
  };
  return { sum: value("sum"), count: value("count") };
}

function counter(text: string, name: string): number {
  const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m"));
  return m ? Number(m[1]) : Number.NaN;
}

/** Stored samples per device, through the operator API. */
async function storedPerDevice(server: ChildServer, dataDir: string, devices: SeededDevice[]) {
  const counts: number[] = [];
  for (const d of devices) {
    const res = await operatorGet<{ samples: unknown[] }>(
      server,
      dataDir,
      `/api/devices/${d.id}/telemetry?limit=100000`,
    );
    if (res.samples.length === 100_000) throw new Error(`${d.id}: more than 100000 samples; page the query`);
    counts.push(res.samples.length);
  }
  return counts;
}

interface AnalyticsFigures {
  /** pumpwatch_analytics_samples_total: processed samples, re-read ones included. */
  total: number;
  reread: number;
  backlog: number;
  errors: number;
}

function analyticsFigures(text: string): AnalyticsFigures {
  return {
    total: counter(text, "pumpwatch_analytics_samples_total"),
    reread: counter(text, "pumpwatch_analytics_reread_samples_total"),
    backlog: counter(text, "pumpwatch_analytics_backlog_samples"),
    errors: counter(text, "pumpwatch_analytics_errors_total"),
  };
}

/**
 * Polls the analytics metrics until the backlog is 0 and at least `expected` samples were
 * processed (queued or re-read), for at most DRAIN_MS. Returns the figures at the first poll
 * (the end of the load) and at the last, and the time from the first poll to catching up.
 */
async function waitForAnalytics(server: ChildServer, dataDir: string, expected: number) {
  const t0 = performance.now();
  const read = async () => analyticsFigures(await operatorGet<string>(server, dataDir, "/metrics"));
  const first = await read();
  let last = first;
  for (let i = 0; i < Math.ceil(DRAIN_MS / DRAIN_POLL_MS); i++) {
    if (last.backlog === 0 && last.total >= expected) {
      return { first, last, drainMs: performance.now() - t0 };
    }
    if (performance.now() - t0 >= DRAIN_MS) break;
    await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    last = await read();
  }
  const caughtUp = last.backlog === 0 && last.total >= expected;
  return { first, last, drainMs: caughtUp ? performance.now() - t0 : null };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-bench-"));
  const children: ChildServer[] = [];
  try {
    if (flags.pin) {
      execFileSync("taskset", ["-cp", "1", String(process.pid)], { stdio: "ignore" });
    }
    progress(
      `${DEVICES} devices, ${WINDOW} in flight each, ${WARMUP_S} s warm-up + ${DURATION_S} s` +
        `${flags.pin ? ", servers pinned to core 0, generator to core 1" : ""}; data in ${dataDir}`,
    );
    const devices = await seedDevices(dataDir, DEVICES, "bench");

    // pumpwatch, default configuration.
    const nodeArgs = flags["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir", flags["cpu-prof"]] : [];
    const version = sourceVersion();
    const pw = await spawnPumpwatch(dataDir, { nodeArgs, cpus: SERVER_CPUS });
    children.push(pw);
    const ca = readCa(dataDir);
    progress(`pumpwatch pid ${pw.pid} on mqtts port ${pw.mqttPort}`);
    // The analytics backlog during the measured window (one small /metrics request per poll).
    const backlogSeries: number[] = [];
    let polling = false;
    let backlogTimer: NodeJS.Timeout | undefined;
    const backlogStart = setTimeout(() => {
      backlogTimer = setInterval(() => {
        if (polling || backlogSeries.length >= Math.ceil((DURATION_S * 1000) / BACKLOG_POLL_MS)) return;
        polling = true;
        operatorGet<string>(pw, dataDir, "/metrics")
          .then((text) => backlogSeries.push(analyticsFigures(text).backlog))
          .catch(() => {})
          .finally(() => {
            polling = false;
          });
      }, BACKLOG_POLL_MS);
    }, WARMUP_S * 1000);
    const p = await runLoad(pw, ca, devices).finally(() => {
      clearTimeout(backlogStart);
      clearInterval(backlogTimer);
    });
    const drain = await waitForAnalytics(pw, dataDir, p.acked);
    progress(
      `analytics: backlog during the run ${backlogSeries.join(", ")}; at the end of the load ` +
        `${drain.first.backlog} (${drain.first.total} processed); ` +
        (drain.drainMs === null
          ? `not caught up after ${DRAIN_MS} ms (backlog ${drain.last.backlog}, ${drain.last.total} processed)`
          : `caught up in ${Math.round(drain.drainMs)} ms`),
    );
    progress(
      `pumpwatch: ${round(p.perSec)} committed msg/s, PUBACK p50 ${round(p.p50Ms, 2)} ms p99 ` +
        `${round(p.p99Ms, 2)} ms; server CPU ${round(p.serverCpuPct)} %, generator CPU ${round(p.generatorCpuPct)} %`,
    );
    const stored = await storedPerDevice(pw, dataDir, devices);
    const mismatched = devices.filter((_, i) => stored[i] !== p.ackedPerDevice[i]).map((d) => d.id);
    const storedTotal = stored.reduce((a, b) => a + b, 0);
    const metrics = await operatorGet<string>(pw, dataDir, "/metrics");
    const commit = histogram(metrics, "pumpwatch_commit_duration_seconds");
    const batch = histogram(metrics, "pumpwatch_commit_batch_packets");
    const samplesStored = counter(metrics, "pumpwatch_samples_stored_total");
    const an = analyticsFigures(metrics);
    progress(
      `stored ${storedTotal} samples for ${p.acked} PUBACKs (${mismatched.length} devices differ); ` +
        `${commit.count} commits, mean ${round((commit.sum / commit.count) * 1000, 2)} ms, ` +
        `mean batch ${round(batch.sum / batch.count)} packets`,
    );
    await pw.stop("SIGTERM", 30_000);

    // The ceiling: bare aedes, same TLS certificate, same load.
    const bare = await spawnServer({
      script: BARE_BROKER,
      args: ["--cert", join(dataDir, "tls", "server.pem"), "--key", join(dataDir, "tls", "server-key.pem")],
      cpus: SERVER_CPUS,
    });
    children.push(bare);
    progress(`bare aedes pid ${bare.pid} on mqtts port ${bare.mqttPort}`);
    const b = await runLoad(bare, ca, devices);
    progress(
      `bare aedes: ${round(b.perSec)} msg/s, PUBACK p50 ${round(b.p50Ms, 2)} ms p99 ${round(b.p99Ms, 2)} ms; ` +
        `server CPU ${round(b.serverCpuPct)} %, generator CPU ${round(b.generatorCpuPct)} %`,
    );
    await bare.stop("SIGTERM");

    const result = {
      devices: DEVICES,
      committedPerSec: round(p.perSec),
      ceilingPerSec: round(b.perSec),
      ratio: round(p.perSec / b.perSec, 3),
      ackP50Ms: round(p.p50Ms, 2),
      ackP99Ms: round(p.p99Ms, 2),
      ceilingAckP50Ms: round(b.p50Ms, 2),
      ceilingAckP99Ms: round(b.p99Ms, 2),
      window: WINDOW,
      durationSec: DURATION_S,
      bodyBytes: p.bodyBytes,
      acked: p.acked,
      stored: storedTotal,
      samplesStoredMetric: samplesStored,
      storedMatchesAcked: mismatched.length === 0 && storedTotal === p.acked,
      commits: commit.count,
      commitMeanMs: round((commit.sum / commit.count) * 1000, 3),
      commitBatchMean: round(batch.sum / batch.count, 1),
      serverCpuPct: round(p.serverCpuPct),
      generatorCpuPct: round(p.generatorCpuPct),
      ceilingServerCpuPct: round(b.serverCpuPct),
      ceilingGeneratorCpuPct: round(b.generatorCpuPct),
      // Analytics (generic rules: the bench devices have no model). Counters at the end of the run.
      analyticsSamples: an.total - an.reread,
      analyticsReread: an.reread,
      analyticsErrors: an.errors,
      analyticsBacklogMax: backlogSeries.length > 0 ? Math.max(...backlogSeries) : null,
      analyticsBacklogSeries: backlogSeries,
      analyticsBacklogAtLoadEnd: drain.first.backlog,
      analyticsProcessedAtLoadEnd: drain.first.total,
      analyticsBacklogEnd: an.backlog,
      analyticsDrainMs: drain.drainMs === null ? null : Math.round(drain.drainMs),
      analyticsKeptUp: an.backlog === 0 && an.total >= storedTotal,
      pinned: flags.pin === true,
      ...version,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.storedMatchesAcked) {
      progress(`stored samples differ from PUBACKs for: ${mismatched.slice(0, 10).join(", ")}`);
      process.exitCode = 1;
    }
  } finally {
    for (const c of children) await c.stop("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
