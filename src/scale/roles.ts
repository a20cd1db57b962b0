import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { AnalyticsService } from "../analytics/service.js";
import { deviceRoutes } from "../api/device-routes.js";
import type { EventBus } from "../core/bus.js";
import type { Config } from "../core/config.js";
import type { Logger } from "../core/log.js";
import { createMetrics, type Metrics } from "../core/metrics.js";
import { ensureTls, SERVER_TLS_POLICY } from "../core/tls.js";
import { startDeviceSide } from "../gateway/device-side.js";
import { DeviceDirectory } from "../ingest/directory.js";
import type { CommitFn } from "../ingest/ingest.js";
import {
  analyticsOptions,
  createSecurityMonitor,
  openStores,
  type ScaleHooks,
  startPumpwatch,
} from "../main.js";
import { ensureIdScope } from "../provisioning/admin.js";
import type { Stores } from "../store/ports.js";
import { AnalyticsWorker, remoteAnalytics } from "./analytics-worker.js";
import { attachGateway, DeviceControlPublisher, sessionBacking } from "./device-control.js";
import { IngestWorker } from "./ingest-worker.js";
import { DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX, JetStreamLog, partitionOf } from "./jetstream.js";
import { createNatsBus } from "./nats-bus.js";

/**
 * The processes of a scaled-out pumpwatch (`pumpwatch start --role … --bus nats://…`,
 * docs/scale-out.md): gateways commit checked packets to the JetStream ingest log and acknowledge
 * them on its PubAck; ingest workers store the log's units in PostgreSQL; analytics workers share the
 * log's partitions out and analyse each pump in order; the api process serves people and runs the
 * schedulers; "all" is all four in one process, still through the bus.
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

/**
 * Names of an installation on NATS, derived from its stream so that installations sharing a NATS
 * cluster stay apart: the subject namespace of events, device control and analytics commands, and
 * the key-value buckets of analytics leases and device sessions.
 */
export function busNames(stream: string) {
  const ns = stream === DEFAULT_STREAM ? "pumpwatch" : `pumpwatch.ns.${stream}`;
  const bucket = stream === DEFAULT_STREAM ? "pumpwatch" : stream;
  return { ns, leases: `${bucket}-analytics`, sessions: `${bucket}-sessions` };
}

/** A process's connection to the bus: the ingest log, the event bus and device control. */
interface BusParts {
  jlog: JetStreamLog;
  names: ReturnType<typeof busNames>;
  bus: EventBus & { close(): void };
  control: DeviceControlPublisher;
  /** False while the NATS connection is down (the client reconnects by itself). */
  connected(): boolean;
  close(): Promise<void>;
}

/** Connects to the bus, ensures the ingest stream, and follows the connection's state. */
async function openBus(config: Config, name: string, log: Logger): Promise<BusParts> {
  const jlog = await JetStreamLog.open({
    servers: [...config.bus],
    stream: config.busStream,
    subjectPrefix: subjectPrefixOf(config.busStream),
    partitions: config.busPartitions,
    replicas: config.busReplicas,
    name,
  });
  const blog = log.child({ part: "bus" });
  let up = true;
  void (async () => {
    for await (const s of jlog.nc.status()) {
      if (s.type === "disconnect") up = false;
      else if (s.type === "reconnect") up = true;
      blog.info({ event: s.type, server: s.data }, "bus connection");
    }
  })();
  const names = busNames(config.busStream);
  const bus = createNatsBus(jlog.nc, names.ns, (err, topic) =>
    blog.error({ err, topic }, "event handler failed"),
  );
  return {
    jlog,
    names,
    bus,
    control: new DeviceControlPublisher(jlog.nc, names.ns),
    connected: () => up && !jlog.nc.isClosed(),
    async close() {
      bus.close();
      await jlog.close();
    },
  };
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

/** The analytics worker of a process: leases partitions and feeds their units to `analytics`. */
function startAnalyticsWorker(
  config: Config,
  bus: BusParts,
  analytics: AnalyticsService,
  stores: Stores,
  log: Logger,
): Promise<AnalyticsWorker> {
  const alog = log.child({ part: "analytics-worker" });
  // The device list, read once for all partitions taken in one go (re-read after 5 s).
  let listed: { at: number; ids: Promise<string[]> } | undefined;
  const devices = () => {
    if (!listed || Date.now() - listed.at > 5000) {
      const ids = stores.registry.listDevices().then((ds) => ds.map((d) => d.id));
      listed = { at: Date.now(), ids };
      ids.catch(() => {
        listed = undefined;
      });
    }
    return listed.ids;
  };
  return AnalyticsWorker.start({
    nc: bus.jlog.nc,
    ns: bus.names.ns,
    bucket: bus.names.leases,
    analytics,
    bus: bus.bus,
    stream: config.busStream,
    subjectPrefix: subjectPrefixOf(config.busStream),
    partitions: config.busPartitions,
    replicas: config.busReplicas,
    leaseMs: config.busLeaseMs,
    ackWaitMs: config.busAckWaitMs,
    devicesOf: async (p) => (await devices()).filter((id) => partitionOf(id, config.busPartitions) === p),
    onError: (err) => alog.error({ err }, "analytics worker failure"),
    onLease: (partition, held) =>
      alog.info({ partition, held }, held ? "partition taken" : "partition released"),
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
    https: { key: material.key, cert: material.cert, ...SERVER_TLS_POLICY },
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
    case "analytics":
      return startAnalytics(config, log);
    case "all":
    case "api":
      return startApiOrAll(config, log);
  }
}

/** MQTT, the device HTTPS endpoints and DPS; packets commit to the bus. */
async function startGateway(config: Config, log: Logger): Promise<RoleRunning> {
  const material = await tlsFor(config);
  const stores = openStores(config);
  const idScope = await ensureIdScope(stores.registry, config.idScope);
  const metrics = createMetrics();
  const directory = new DeviceDirectory(stores.registry);
  const bus = await openBus(config, `pumpwatch-gateway-${process.pid}`, log);
  const glog = log.child({ part: "gateway" });
  const device = await startDeviceSide({
    config,
    material,
    stores,
    directory,
    metrics,
    log,
    idScope,
    commit: busCommit(bus.jlog),
    sessions: await sessionBacking(bus.jlog.nc, bus.names.sessions, config.busReplicas, (err) =>
      glog.warn({ err }, "session store failure"),
    ),
    listen: true,
  });
  const { ingest, mqttServer, mqttPort, assignedHub, provisioning, gateway, names } = device;
  const detach = attachGateway({
    nc: bus.jlog.nc,
    ns: bus.names.ns,
    gateway,
    directory,
    registry: stores.registry,
    onError: (err) => glog.error({ err }, "device control failure"),
  });
  // Security events go to the api processes' notifiers through the bus.
  const security = createSecurityMonitor(config, stores, metrics, log, (event) =>
    bus.bus.publish("security", event),
  );
  device.watchSecurity(security);
  security.start();
  // The analytics owner of a pump learns of its connection through the event bus.
  gateway.on("deviceConnected", (deviceId, at) =>
    bus.bus.publish("connectivity", { deviceId, connected: true, at }),
  );
  gateway.on("deviceDisconnected", (deviceId) =>
    bus.bus.publish("connectivity", { deviceId, connected: false, at: Date.now() }),
  );
  let ready = false;
  const app = await listenHttps(
    config,
    material,
    log,
    metrics,
    () => ready && bus.connected(),
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
      detach();
      const closed = new Promise<void>((res) => mqttServer.close(() => res()));
      await gateway.close();
      await closed;
      // Packets in flight are appended (and acknowledged) before the bus connection drains.
      await ingest.drain();
      await security.close();
      await app.close();
      await bus.close();
      await stores.close();
    },
  };
}

/**
 * A worker process (ingest, analytics): the stores, the bus, `begin`'s worker, and an HTTPS server
 * with /healthz and /metrics only. `begin` returns the worker's stop, run first on close (it finishes
 * and acks what it holds) before the bus connection drains.
 */
async function startWorkerRole(
  config: Config,
  log: Logger,
  begin: (parts: { stores: Stores; metrics: Metrics; bus: BusParts }) => Promise<() => Promise<void>>,
): Promise<RoleRunning> {
  const material = await tlsFor(config);
  const stores = openStores(config);
  const idScope = await ensureIdScope(stores.registry, config.idScope);
  const metrics = createMetrics();
  const bus = await openBus(config, `pumpwatch-${config.role}-${process.pid}`, log);
  const stop = await begin({ stores, metrics, bus });
  let ready = true;
  const app = await listenHttps(config, material, log, metrics, () => ready && bus.connected());
  return {
    role: config.role,
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
      await stop();
      await bus.close();
      await app.close();
      await stores.close();
    },
  };
}

/** An ingest worker storing the log's units: commits and acks what was delivered on close. */
function startIngest(config: Config, log: Logger): Promise<RoleRunning> {
  return startWorkerRole(config, log, async ({ stores, metrics, bus }) => {
    const worker = await startWorker(config, bus.jlog, stores, metrics, log);
    return () => worker.stop();
  });
}

/**
 * An analytics worker: partitions of the log analysed in order. On close it analyses and acks the
 * batches in hand, writes back, and frees its leases for the others.
 */
function startAnalytics(config: Config, log: Logger): Promise<RoleRunning> {
  return startWorkerRole(config, log, async ({ stores, metrics, bus }) => {
    let worker: AnalyticsWorker | undefined;
    const analytics = new AnalyticsService({
      ...analyticsOptions(config),
      store: stores.analytics,
      telemetry: stores.telemetry,
      directory: new DeviceDirectory(stores.registry),
      bus: bus.bus,
      log: log.child({ part: "analytics" }),
      metrics,
      owns: (id) => worker?.holds(id) ?? false,
      logFed: true,
    });
    analytics.start();
    worker = await startAnalyticsWorker(config, bus, analytics, stores, log);
    return async () => {
      await worker?.stop();
      await analytics.close();
    };
  });
}

/**
 * The api role (the HTTPS API and dashboard, termination scheduler, housekeeping, notifications; no
 * MQTT, no analysis of its own: pumps are shown as their analytics worker saved them) and "all" (the
 * same plus MQTT, an ingest worker and an analytics worker): the one-process wiring of src/main.ts
 * with the bus as its commit point and its channel to the other processes.
 */
async function startApiOrAll(config: Config, log: Logger): Promise<RoleRunning> {
  const all = config.role === "all";
  const bus = await openBus(config, `pumpwatch-${config.role}-${process.pid}`, log);
  const slog = log.child({ part: "scale" });
  let ingestWorker: IngestWorker | undefined;
  let analyticsWorker: AnalyticsWorker | undefined;
  let detach: (() => void) | undefined;
  const scale: ScaleHooks = {
    commit: busCommit(bus.jlog),
    mqtt: all,
    bus: bus.bus,
    owns: (id) => analyticsWorker?.holds(id) ?? false,
    delegate: remoteAnalytics(bus.jlog.nc, bus.names.ns, config.busPartitions),
    sessions: await sessionBacking(bus.jlog.nc, bus.names.sessions, config.busReplicas, (err) =>
      slog.warn({ err }, "session store failure"),
    ),
    deviceChanged: (id) => bus.control.changed(id),
    desired: (id, patch, version) => bus.control.desired(id, patch, version),
    healthy: () => bus.connected(),
    async start({ analytics, stores, metrics, gateway }) {
      if (!all) return;
      detach = attachGateway({
        nc: bus.jlog.nc,
        ns: bus.names.ns,
        gateway,
        directory: new DeviceDirectory(stores.registry),
        registry: stores.registry,
        onError: (err) => slog.error({ err }, "device control failure"),
      });
      ingestWorker = await startWorker(config, bus.jlog, stores, metrics, log);
      analytics.start();
      analyticsWorker = await startAnalyticsWorker(config, bus, analytics, stores, log);
    },
    async close() {
      detach?.();
      await analyticsWorker?.stop();
      await ingestWorker?.stop();
      await bus.close();
    },
  };
  let running: Awaited<ReturnType<typeof startPumpwatch>>;
  try {
    running = await startPumpwatch(config, log, { scale });
  } catch (err) {
    await scale.close();
    throw err;
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
