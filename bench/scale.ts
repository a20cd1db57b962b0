/**
 * Scale-out benchmark (issue 8, item 7): committed QoS 1 telemetry per second through the bus path —
 * gateway → NATS JetStream → ingest worker → PostgreSQL — with 1 gateway + 1 ingest worker and with
 * 2 gateways + 2 ingest workers, the same load generator, in the same run.
 *
 *   npm run bench:scale [-- --devices 40 --window 10 --duration 15 --warmup 5]
 *
 * Environment overrides: BENCH_DEVICES, BENCH_WINDOW, BENCH_DURATION, BENCH_WARMUP; the servers are
 * PUMPWATCH_TEST_NATS (default nats://127.0.0.1:4222) and PUMPWATCH_TEST_PG (default
 * postgres://root@127.0.0.1:5432/test), as for the tests. When either is unreachable the benchmark
 * says so and prints `{"skipped":…}` as its last line.
 *
 * Each configuration gets a PostgreSQL schema and a JetStream stream of its own, dropped and deleted
 * afterwards. The processes are `pumpwatch start --role gateway|ingest --bus … --db …` children
 * (test/helpers/cli.ts) sharing one master key, id scope and data folder (TLS material), as in
 * test/e2e/scale-roles.test.ts; they bind free ports of 127.0.0.1. This process is the load
 * generator: N devices over MQTT/TLS with SAS, spread round-robin over the gateways, each keeping
 * `window` QoS 1 publishes of ~150-byte JSON in flight for warm-up + duration seconds.
 *
 * "Committed" is stored in PostgreSQL: rows of the schema's `message_ids` (one per stored message)
 * counted at the start and at the end of the measured window. A gateway PUBACKs after JetStream's
 * PubAck, so its acknowledged rate can run ahead of the committed rate (the stream buffers); both are
 * reported, with the backlog at the end of the window. After the load every device's stored sample
 * count (TelemetryStore.countSamples) must equal its PUBACK count, or the run fails.
 *
 * CPU per message: utime + stime from /proc/<pid>/stat over the measured window, for the gateway and
 * ingest children, for nats-server and for all postgres processes of the machine (both are local
 * here), and for this generator; divided by the messages acknowledged (gateways, generator) or
 * committed (workers, PostgreSQL, NATS) in the window, in µs.
 *
 * Progress goes to stderr; the last stdout line is the result as JSON.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { MqttClient } from "mqtt";
import { connect } from "nats";
import pg from "pg";
import { generateKey } from "../src/core/keys.js";
import { createSecretBox } from "../src/core/secrets.js";
import { openPostgresStores, type PostgresStores } from "../src/store/postgres/index.js";
import {
  type ChildServer,
  connectDevice,
  cpuSeconds,
  readCa,
  type SeededDevice,
  spawnPumpwatch,
  telemetryTopic,
} from "../test/helpers/child.js";
import { NATS_URL, natsUnavailable } from "../test/helpers/nats.js";
import { createSchema, dropSchema, PG_URL, pgUnavailable } from "../test/helpers/postgres.js";
import { body, intOption, percentile, round, withTimeout } from "./common.js";
import { sourceVersion } from "./source-version.js";

const { values: flags } = parseArgs({
  options: {
    devices: { type: "string" },
    window: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
  },
  strict: true,
});

const DEVICES = intOption(flags.devices, "BENCH_DEVICES", 40, 2, 1000);
const WINDOW = intOption(flags.window, "BENCH_WINDOW", 10, 1, 1000);
const DURATION_S = intOption(flags.duration, "BENCH_DURATION", 15, 1, 300);
const WARMUP_S = intOption(flags.warmup, "BENCH_WARMUP", 5, 0, 60);
/** Per-device cap on messages: the loop is bounded in count as well as in time. */
const MAX_MESSAGES_PER_DEVICE = 200_000;
/** Longest wait for connects, for in-flight publishes after the run, and for the store to catch up. */
const WAIT_MS = 30_000;

function progress(msg: string): void {
  process.stderr.write(`[bench:scale] ${msg}\n`);
}

/** CPU seconds of every process whose command name is `comm`, by pid (Linux /proc). */
function cpuByComm(comm: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (name !== comm) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

/** CPU seconds spent between two `cpuByComm` snapshots (processes started meanwhile count whole). */
function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, s] of after) sum += s - (before.get(pid) ?? 0);
  return sum;
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

interface Snapshot {
  at: number;
  stored: number;
  acked: number;
  gateways: number;
  workers: number;
  nats: Map<number, number>;
  postgres: Map<number, number>;
  generator: NodeJS.CpuUsage;
  machine: { busy: number; total: number };
}

interface ConfigResult {
  gateways: number;
  workers: number;
  ackedPerSec: number;
  committedPerSec: number;
  backlogAtWindowEnd: number;
  acked: number;
  stored: number;
  storedMatchesAcked: boolean;
  ackP50Ms: number;
  ackP99Ms: number;
  /** CPU µs per message in the window, by process group. */
  gatewayUsPerMsg: number;
  ingestUsPerMsg: number;
  natsUsPerMsg: number;
  postgresUsPerMsg: number;
  generatorUsPerMsg: number;
  /** Gateways + ingest workers: the pumpwatch processes. */
  pumpwatchUsPerMsg: number;
  /** Everything on the bus path except the generator: pumpwatch + NATS + PostgreSQL. */
  busPathUsPerMsg: number;
  machineBusyPct: number;
}

async function countStored(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM message_ids");
  return Number(rows[0]!.n);
}

/** One configuration: its own schema, stream and processes; everything is removed at the end. */
async function runConfig(
  label: string,
  nGateways: number,
  nWorkers: number,
  shared: { dataDir: string; masterKey: Buffer; idScope: string },
): Promise<ConfigResult> {
  const tag = randomBytes(4).toString("hex");
  const stream = `PW_BENCH_SCALE_${tag}`;
  const schema = await createSchema();
  const url = new URL(PG_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  const db = url.toString();
  const children: ChildServer[] = [];
  const clients: MqttClient[] = [];
  let stores: PostgresStores | undefined;
  const counter = new pg.Client({ connectionString: db });
  try {
    stores = openPostgresStores(PG_URL, createSecretBox(shared.masterKey), { schema });
    await stores.ready;
    await counter.connect();
    const devices: SeededDevice[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const d = { id: `scale-${tag}-${String(i).padStart(4, "0")}`, key: generateKey() };
      await stores.registry.createDevice({
        id: d.id,
        primaryKey: d.key,
        secondaryKey: generateKey(),
        enrollmentKind: "manual",
      });
      devices.push(d);
    }
    const spawn = async (role: "gateway" | "ingest") => {
      const child = await spawnPumpwatch(shared.dataDir, {
        extraArgs: ["--role", role, "--bus", NATS_URL, "--db", db],
        env: {
          PUMPWATCH_MASTER_KEY: shared.masterKey.toString("base64"),
          PUMPWATCH_ID_SCOPE: shared.idScope,
          PUMPWATCH_BUS_STREAM: stream,
        },
        httpsOnly: role === "ingest",
      });
      children.push(child);
      return child;
    };
    // The first start writes the TLS material of the shared folder (once per run); the rest reuse it.
    const first = await spawn("gateway");
    const rest = await Promise.all([
      ...Array.from({ length: nGateways - 1 }, () => spawn("gateway")),
      ...Array.from({ length: nWorkers }, () => spawn("ingest")),
    ]);
    const gateways = [first, ...rest.slice(0, nGateways - 1)];
    const workers = rest.slice(nGateways - 1);
    progress(
      `${label}: gateways pid ${gateways.map((g) => `${g.pid}:${g.mqttPort}`).join(", ")}; ` +
        `ingest pid ${workers.map((w) => w.pid).join(", ")}; stream ${stream}, schema ${schema}`,
    );
    const ca = readCa(shared.dataDir);
    clients.push(
      ...(await withTimeout(
        Promise.all(
          devices.map((device, i) => connectDevice({ port: gateways[i % nGateways]!.mqttPort, ca, device })),
        ),
        WAIT_MS,
        `connecting ${devices.length} devices`,
      )),
    );
    let failure: Error | undefined;
    for (const c of clients) {
      c.once("close", () => {
        failure ??= new Error("a device lost its connection during the run");
      });
    }

    const latencies = new Float64Array(2_000_000);
    let measured = 0;
    let acked = 0;
    let inFlight = 0;
    const ackedPerDevice = new Array<number>(devices.length).fill(0);
    const t0 = performance.now();
    const measureFrom = t0 + WARMUP_S * 1000;
    const stopAt = measureFrom + DURATION_S * 1000;
    let drained: () => void = () => {};
    const allDrained = new Promise<void>((resolve) => {
      drained = resolve;
    });
    const sum = (cs: ChildServer[]) => cs.reduce((a, c) => a + cpuSeconds(c.pid), 0);
    const snapshot = async (): Promise<Snapshot> => {
      const ackedNow = acked;
      const s: Omit<Snapshot, "stored"> = {
        at: performance.now(),
        acked: ackedNow,
        gateways: sum(gateways),
        workers: sum(workers),
        nats: cpuByComm("nats-server"),
        postgres: cpuByComm("postgres"),
        generator: process.cpuUsage(),
        machine: machineJiffies(),
      };
      return { ...s, stored: await countStored(counter) };
    };
    let snapStart: Promise<Snapshot> | undefined;
    const startTimer = setTimeout(() => {
      snapStart = snapshot();
    }, WARMUP_S * 1000);

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
        inFlight++;
        client.publish(telemetryTopic(id, `${tag}-${n}`), body(lastTs, n), { qos: 1 }, (err) => {
          inFlight--;
          if (err) failure ??= err;
          else {
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

    await new Promise((r) => setTimeout(r, Math.max(0, stopAt - performance.now())));
    clearTimeout(startTimer);
    const end = await snapshot();
    const start = await snapStart;
    if (!start) throw new Error("no snapshot at the start of the window");
    await withTimeout(allDrained, WAIT_MS, "in-flight publishes acknowledged after the run").catch(
      (err: Error) => {
        throw failure ?? err;
      },
    );
    if (failure) throw failure;

    // Everything acknowledged must be stored, exactly once.
    const deadline = Date.now() + WAIT_MS;
    let storedNow = await countStored(counter);
    while (storedNow < acked && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      storedNow = await countStored(counter);
    }
    const perDevice = await Promise.all(devices.map((d) => stores!.telemetry.countSamples(d.id)));
    const storedSamples = perDevice.reduce((a, b) => a + b, 0);
    const mismatched = devices.filter((_, i) => perDevice[i] !== ackedPerDevice[i]).length;

    const windowS = (end.at - start.at) / 1000;
    const ackedWin = end.acked - start.acked;
    const committedWin = end.stored - start.stored;
    const us = (cpuS: number, msgs: number) => round((cpuS * 1e6) / msgs, 1);
    const gwCpu = end.gateways - start.gateways;
    const wkCpu = end.workers - start.workers;
    const natsCpu = cpuDelta(start.nats, end.nats);
    const pgCpu = cpuDelta(start.postgres, end.postgres);
    const genCpu = process.cpuUsage(start.generator);
    const genS = (genCpu.user + genCpu.system) / 1e6;
    // Generator usage since the start snapshot includes the time to its end snapshot only roughly.
    const m = { busy: end.machine.busy - start.machine.busy, total: end.machine.total - start.machine.total };
    const sorted = latencies.slice(0, Math.min(measured, latencies.length)).sort();
    const result: ConfigResult = {
      gateways: nGateways,
      workers: nWorkers,
      ackedPerSec: round(ackedWin / windowS),
      committedPerSec: round(committedWin / windowS),
      backlogAtWindowEnd: end.acked - end.stored,
      acked,
      stored: storedSamples,
      storedMatchesAcked: mismatched === 0 && storedSamples === acked && storedNow === acked,
      ackP50Ms: round(percentile(sorted, 0.5), 2),
      ackP99Ms: round(percentile(sorted, 0.99), 2),
      gatewayUsPerMsg: us(gwCpu, ackedWin),
      ingestUsPerMsg: us(wkCpu, committedWin),
      natsUsPerMsg: us(natsCpu, committedWin),
      postgresUsPerMsg: us(pgCpu, committedWin),
      generatorUsPerMsg: us(genS, ackedWin),
      pumpwatchUsPerMsg: round(us(gwCpu, ackedWin) + us(wkCpu, committedWin), 1),
      busPathUsPerMsg: round(
        us(gwCpu, ackedWin) + us(wkCpu, committedWin) + us(natsCpu, committedWin) + us(pgCpu, committedWin),
        1,
      ),
      machineBusyPct: round((m.busy / m.total) * 100),
    };
    progress(
      `${label}: ${result.committedPerSec} committed/s, ${result.ackedPerSec} acked/s ` +
        `(backlog ${result.backlogAtWindowEnd} at window end), PUBACK p50 ${result.ackP50Ms} ms ` +
        `p99 ${result.ackP99Ms} ms; CPU µs/msg gateway ${result.gatewayUsPerMsg}, ingest ` +
        `${result.ingestUsPerMsg}, nats ${result.natsUsPerMsg}, postgres ${result.postgresUsPerMsg}, ` +
        `generator ${result.generatorUsPerMsg}; machine ${result.machineBusyPct} % busy; ` +
        `stored ${storedSamples} of ${acked} acked (${mismatched} devices differ)`,
    );
    return result;
  } finally {
    for (const c of clients) c.end(true);
    for (const c of children) await c.stop("SIGTERM", 10_000);
    await counter.end().catch(() => {});
    await stores?.close().catch(() => {});
    const nc = await connect({ servers: NATS_URL, timeout: 3000 }).catch(() => undefined);
    if (nc) {
      await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
      await nc.close();
    }
    await dropSchema(schema).catch((err: Error) => progress(`drop schema ${schema}: ${err.message}`));
  }
}

async function main(): Promise<void> {
  const unavailable = (await natsUnavailable()) ?? (await pgUnavailable());
  if (unavailable) {
    progress(`skipped: ${unavailable}`);
    process.stdout.write(`${JSON.stringify({ skipped: unavailable })}\n`);
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-bench-scale-"));
  const shared = {
    dataDir,
    masterKey: randomBytes(32),
    idScope: `0ne${randomBytes(4).toString("hex")}`,
  };
  try {
    progress(
      `${DEVICES} devices, ${WINDOW} in flight each, ${WARMUP_S} s warm-up + ${DURATION_S} s per ` +
        `configuration; NATS ${NATS_URL}, PostgreSQL ${PG_URL}`,
    );
    const one = await runConfig("1 gateway + 1 ingest", 1, 1, shared);
    const two = await runConfig("2 gateways + 2 ingest", 2, 2, shared);
    const result = {
      oneNodePerSec: one.committedPerSec,
      twoNodePerSec: two.committedPerSec,
      scaling: round(two.committedPerSec / one.committedPerSec, 3),
      oneNodeBusPathUsPerMsg: one.busPathUsPerMsg,
      twoNodeBusPathUsPerMsg: two.busPathUsPerMsg,
      devices: DEVICES,
      window: WINDOW,
      warmupSec: WARMUP_S,
      durationSec: DURATION_S,
      one,
      two,
      storedMatchesAcked: one.storedMatchesAcked && two.storedMatchesAcked,
      head: sourceVersion().head,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.storedMatchesAcked) {
      progress("stored samples differ from PUBACKs");
      process.exitCode = 1;
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
