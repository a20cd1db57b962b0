import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { deviceRoutes } from "../api/device-routes.js";
import type { Config } from "../core/config.js";
import type { Logger } from "../core/log.js";
import { createMetrics, type Metrics } from "../core/metrics.js";
import { ensureTls } from "../core/tls.js";
import { startDeviceSide } from "../gateway/device-side.js";
import { DeviceDirectory } from "../ingest/directory.js";
import type { CommitFn } from "../ingest/ingest.js";
import { openStores, type ScaleHooks, startPumpwatch } from "../main.js";
import { ensureIdScope } from "../provisioning/admin.js";
import type { CommitUnit, Stores } from "../store/ports.js";
import { IngestWorker } from "./ingest-worker.js";
import { DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX, JetStreamLog } from "./jetstream.js";

/**
 * The processes of a scaled-out pumpwatch (`pumpwatch start --role … --bus nats://…`,
 * docs/scale-out.md): gateways commit checked packets to the JetStream ingest log and acknowledge
 * them on its PubAck; ingest workers store the log's units in PostgreSQL; the api process serves
 * people and runs the schedulers; "all" is the three in one process, still through the bus.
 */

/** A running bus-mode process, as `pumpwatch start` holds it. */
export interface RoleRunning {
  role: Config["role"];
  /** 0 when this role does not serve MQTT. */
  mqttPort: number;
  httpsPort: number;
  idScope: string;
  assignedHub: string;
  caPath: string;
  /** Set for the roles serving the operator API (all, api). */
  operatorToken: string | undefined;
  operatorTokenCreated: boolean;
  stores: Stores;
  close(): Promise<void>;
}

/** Subjects of the stream: the default stream keeps the default prefix, others get their own. */
export function subjectPrefixOf(stream: string): string {
  return stream === DEFAULT_STREAM ? DEFAULT_SUBJECT_PREFIX : `pumpwatch.stream.${stream}`;
}

/** Connects to the bus and ensures the ingest stream. */
function openLog(config: Config, name: string): Promise<JetStreamLog> {
  return JetStreamLog.open({
    servers: [...config.bus],
    stream: config.busStream,
    subjectPrefix: subjectPrefixOf(config.busStream),
    replicas: config.busReplicas,
    name,
  });
}

/**
 * The gateway's commit point: every unit of the group appended in parallel; resolves when JetStream
 * acknowledged all of them, and rejects (no PUBACK; the device sends again) when one failed. The
 * outcome says what the log now holds; the store de-duplicates later.
 */
export function busCommit(log: JetStreamLog): CommitFn {
  return async (units) => {
    await Promise.all(units.map((u) => log.append(u)));
    return units.map((u) => (u.kind === "accept" ? "stored" : "quarantined"));
  };
}

/** An ingest worker on the log's connection, reporting into the metrics and the log. */
function startWorker(config: Config, jlog: JetStreamLog, stores: Stores, metrics: Metrics, log: Logger) {
  const wlog = log.child({ part: "ingest-worker" });
  return IngestWorker.start({
    nc: jlog.nc,
    store: stores.telemetry,
    stream: config.busStream,
    ackWaitMs: config.busAckWaitMs,
    onError: (err) => wlog.error({ err }, "ingest worker failure"),
  }).then((worker) => {
    worker.onCommitted((units) => {
      let samples = 0;
      for (const u of units) if (u.kind === "accept") samples += u.samples.length;
      metrics.samples.inc(samples);
    });
    return worker;
  });
}

/** A small HTTPS server: /healthz and /metrics, plus whatever `extra` registers. */
async function listenHttps(
  config: Config,
  material: { key: string; cert: string },
  log: Logger,
  metrics: Metrics,
  ready: () => boolean,
  extra?: (app: FastifyInstance) => void,
): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    https: { key: material.key, cert: material.cert, minVersion: "TLSv1.2" },
    loggerInstance: log.child({ part: "https" }, { level: "warn" }) as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 256 },
  });
  app.get("/healthz", async (_req, reply) =>
    ready() ? { status: "ok" } : reply.status(503).send({ status: "starting" }),
  );
  app.get("/metrics", async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  extra?.(app);
  await app.listen({ port: config.httpsPort, host: config.bind });
  return app;
}

function tlsFor(config: Config) {
  return ensureTls({
    dir: join(resolve(config.data), "tls"),
    hostNames: [config.host, ...config.hostNames],
    certFile: config.tls.cert,
    keyFile: config.tls.key,
    caFile: config.tls.ca,
  });
}

/** Starts the process `config.role` names; `config.bus` must be set. */
export async function startRole(config: Config, log: Logger): Promise<RoleRunning> {
  if (config.bus.length === 0) throw new Error("startRole needs config.bus");
  switch (config.role) {
    case "gateway":
      return startGateway(config, log);
    case "ingest":
      return startIngest(config, log);
    case "all":
    case "api":
      return startApiOrAll(config, log);
    default:
      throw new Error(`role '${config.role}' is not available yet`);
  }
}

/** MQTT, the device HTTPS endpoints and DPS; packets commit to the bus. */
async function startGateway(config: Config, log: Logger): Promise<RoleRunning> {
  const material = await tlsFor(config);
  const stores = openStores(config);
  const idScope = await ensureIdScope(stores.registry, config.idScope);
  const metrics = createMetrics();
  const directory = new DeviceDirectory(stores.registry);
  const jlog = await openLog(config, `pumpwatch-gateway-${process.pid}`);
  const device = await startDeviceSide({
    config,
    material,
    stores,
    directory,
    metrics,
    log,
    idScope,
    commit: busCommit(jlog),
    listen: true,
  });
  const { ingest, mqttServer, mqttPort, assignedHub, provisioning, gateway, names } = device;
  let ready = false;
  const app = await listenHttps(
    config,
    material,
    log,
    metrics,
    () => ready,
    (a) => {
      a.register(
        deviceRoutes({
          ingest,
          directory,
          provisioning,
          get hubNames() {
            return names();
          },
          sasSkewSec: config.limits.sasSkewSec,
          maxPacketBytes: config.limits.maxPacketBytes,
        }),
      );
    },
  );
  const httpsPort = (app.server.address() as AddressInfo).port;
  device.setHttpsPort(httpsPort);
  const stopWatching = device.watchRegistry();
  ready = true;
  return {
    role: "gateway",
    mqttPort,
    httpsPort,
    idScope,
    assignedHub,
    caPath: material.caPath,
    operatorToken: undefined,
    operatorTokenCreated: false,
    stores,
    async close() {
      ready = false;
      stopWatching();
      const closed = new Promise<void>((res) => mqttServer.close(() => res()));
      await gateway.close();
      await closed;
      // Packets in flight are appended (and acknowledged) before the bus connection drains.
      await ingest.drain();
      await app.close();
      await jlog.close();
      await stores.close();
    },
  };
}

/** An ingest worker storing the log's units, with /healthz and /metrics only. */
async function startIngest(config: Config, log: Logger): Promise<RoleRunning> {
  const material = await tlsFor(config);
  const stores = openStores(config);
  const idScope = await ensureIdScope(stores.registry, config.idScope);
  const metrics = createMetrics();
  const jlog = await openLog(config, `pumpwatch-ingest-${process.pid}`);
  const worker = await startWorker(config, jlog, stores, metrics, log);
  let ready = true;
  const app = await listenHttps(config, material, log, metrics, () => ready);
  return {
    role: "ingest",
    mqttPort: 0,
    httpsPort: (app.server.address() as AddressInfo).port,
    idScope,
    assignedHub: config.host,
    caPath: material.caPath,
    operatorToken: undefined,
    operatorTokenCreated: false,
    stores,
    async close() {
      ready = false;
      // Commits and acks what was delivered, then drains the connection.
      await worker.stop();
      await jlog.close();
      await app.close();
      await stores.close();
    },
  };
}

/**
 * The api role (the HTTPS API and dashboard, termination scheduler, housekeeping, notifications; no
 * MQTT, no analytics) and "all" (the same plus MQTT and an ingest worker feeding analytics): the
 * one-process wiring of src/main.ts with the bus as its commit point.
 */
async function startApiOrAll(config: Config, log: Logger): Promise<RoleRunning> {
  const all = config.role === "all";
  const jlog = await openLog(config, `pumpwatch-${config.role}-${process.pid}`);
  const listeners: ((units: CommitUnit[]) => void)[] = [];
  let worker: IngestWorker | undefined;
  const scale: ScaleHooks = {
    commit: busCommit(jlog),
    mqtt: all,
    ...(all ? { onStored: (l: (units: CommitUnit[]) => void) => void listeners.push(l) } : {}),
    async close() {
      await worker?.stop();
      await jlog.close();
    },
  };
  let running: Awaited<ReturnType<typeof startPumpwatch>>;
  try {
    running = await startPumpwatch(config, log, { scale });
  } catch (err) {
    await jlog.close();
    throw err;
  }
  if (all) {
    const metrics = createMetrics();
    worker = await startWorker(config, jlog, running.stores, metrics, log);
    worker.onCommitted((units) => {
      for (const l of listeners) l(units);
    });
  }
  return {
    role: config.role,
    mqttPort: running.mqttPort,
    httpsPort: running.httpsPort,
    idScope: running.idScope,
    assignedHub: running.assignedHub,
    caPath: running.caPath,
    operatorToken: running.operatorToken,
    operatorTokenCreated: running.operatorTokenCreated,
    stores: running.stores,
    close: () => running.close(),
  };
}
