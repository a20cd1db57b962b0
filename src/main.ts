import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { type AnalyticsDelegate, AnalyticsService } from "./analytics/service.js";
import { buildApp } from "./api/app.js";
import { createLocalBus, type EventBus } from "./core/bus.js";
import type { Config } from "./core/config.js";
import type { Logger } from "./core/log.js";
import { createMetrics, type Metrics } from "./core/metrics.js";
import { createSecretBox, loadMasterKey } from "./core/secrets.js";
import { ensureTls } from "./core/tls.js";
import { startDeviceSide } from "./gateway/device-side.js";
import type { Gateway } from "./gateway/gateway.js";
import type { SessionBacking } from "./gateway/sessions.js";
import { DeviceDirectory } from "./ingest/directory.js";
import type { CommitFn, Ingest } from "./ingest/ingest.js";
import { createMailer } from "./notify/mailer.js";
import { Notifier } from "./notify/notifier.js";
import { ensureIdScope, RegistryAdmin } from "./provisioning/admin.js";
import { SecurityMonitor } from "./security/service.js";
import { startHousekeeping } from "./store/housekeeping.js";
import type { SecurityEvent, Stores } from "./store/ports.js";
import { openPostgresStores } from "./store/postgres/index.js";
import { openSqliteStores } from "./store/sqlite/index.js";
import { PERSONAL_FIELDS } from "./tenancy/privacy.js";
import { TerminationService } from "./tenancy/termination.js";

/** A running pumpwatch, as `pumpwatch start` and the end-to-end tests hold it. */
export interface Running {
  mqttPort: number;
  httpsPort: number;
  idScope: string;
  /** The hub name devices are told to connect to (`assignedHub`). */
  assignedHub: string;
  caPath: string;
  ca: string;
  operatorToken: string;
  /** True when the operator token was created by this start (print it once). */
  operatorTokenCreated: boolean;
  stores: Stores;
  gateway: Gateway;
  ingest: Ingest;
  analytics: AnalyticsService;
  termination: TerminationService;
  /** Alarm notifications (e-mail, webhooks); `runOnce`/`idle` let tests drive it with their clock. */
  notifier: Notifier;
  /** Security monitoring (src/security/); `idle` settles once what it saw is stored. */
  security: SecurityMonitor;
  bus: EventBus;
  close(): Promise<void>;
}

/**
 * How a bus-mode process (src/scale/roles.ts, roles "all" and "api") changes the one-process wiring:
 * packets commit to the JetStream ingest log; events, device changes and session subscriptions go
 * through NATS to the other processes; analytics runs on the partitions this process's analytics
 * worker holds (none in the api role), and other pumps are shown as their owner saved them.
 */
export interface ScaleHooks {
  /** The commit point of the ingest group commit (append to the bus). */
  commit: CommitFn;
  /** Listen for MQTT devices (false: the api role). */
  mqtt: boolean;
  /** The event bus across processes. */
  bus: EventBus;
  /** Whether this process analyses the pump now. */
  owns(deviceId: string): boolean;
  /** Maintenance and rule changes of pumps analysed elsewhere. */
  delegate: AnalyticsDelegate;
  /** Subscriptions of device sessions, shared by the gateways. */
  sessions?: SessionBacking;
  /** Tells every gateway that a device record changed (disable, delete, key rotation). */
  deviceChanged(deviceId: string): void;
  /** Sends a twin desired-properties patch to whichever gateway holds the device. */
  desired(deviceId: string, patch: Record<string, unknown>, version: number): void;
  /** False while the bus is unreachable: /healthz answers 503 then. */
  healthy(): boolean;
  /** Starts the bus consumers of this process (ingest and analytics workers), once the parts exist. */
  start(parts: {
    analytics: AnalyticsService;
    stores: Stores;
    metrics: Metrics;
    gateway: Gateway;
  }): Promise<void>;
  /** Stops the bus parts (after the listeners closed and ingest drained, before the stores close). */
  close(): Promise<void>;
}

/**
 * Security monitoring of a process (src/security/): `onOpened` hears each new episode (the
 * notifier, or the bus in a gateway process). Source addresses are named by a hash keyed from the
 * master key, the same in every process of an installation.
 */
export function createSecurityMonitor(
  config: Config,
  stores: Stores,
  metrics: Metrics,
  log: Logger,
  onOpened: (event: SecurityEvent) => Promise<void> | void,
): SecurityMonitor {
  const slog = log.child({ part: "security" });
  return new SecurityMonitor({
    store: stores.security,
    thresholds: config.security,
    hashKey: createHmac("sha256", loadMasterKey(config.masterKey, join(resolve(config.data), "master.key")))
      .update("pumpwatch security source names")
      .digest(),
    registry: metrics.registry,
    onOpened: (event) => {
      slog.warn({ kind: event.kind, subject: event.subject, severity: event.severity }, "security event");
      return onOpened(event);
    },
    onError: (err, what) => slog.error({ err }, `${what} failed`),
  });
}

/** The analytics settings of the config, as AnalyticsService takes them. */
export function analyticsOptions(config: Config) {
  return {
    offlineAfterMs: config.analytics.offlineAfterSec * 1000,
    flushMs: config.analytics.flushSec * 1000,
    maxBacklogSamples: config.analytics.maxBacklogSamples,
    replayMaxMs: config.analytics.replayMaxHours * 3_600_000,
  };
}

/** Opens the stores named by the config: the embedded SQLite file by default, or PostgreSQL by URL. */
export function openStores(config: Config): Stores {
  const dataDir = resolve(config.data);
  const box = createSecretBox(loadMasterKey(config.masterKey, join(dataDir, "master.key")));
  if (/^postgres(ql)?:\/\//.test(config.db)) return openPostgresStores(config.db, box);
  const file = config.db === "sqlite" ? join(dataDir, "pumpwatch.db") : config.db;
  if (!file.endsWith(".db") && file !== ":memory:") {
    throw new Error(`unsupported --db '${config.db}': use 'sqlite', a path ending in .db or postgres://…`);
  }
  return openSqliteStores(file, box, { synchronous: config.sqliteSync });
}

/** Reads `<data>/operator-token`, creating it (mode 0600) on first start. */
export function ensureOperatorToken(dataDir: string): { token: string; created: boolean } {
  const file = join(dataDir, "operator-token");
  if (existsSync(file)) return { token: readFileSync(file, "utf8").trim(), created: false };
  const token = randomBytes(32).toString("base64url");
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  return { token, created: true };
}
/**
 * The composition root: builds every part from the config, wires them and starts the listeners.
 * Starts every part in one process. `opts.now` replaces the wall clock for contracts, sessions and
 * one-time links (tests of notice periods and expiries); the data path always uses the real clock.
 */
export async function startPumpwatch(
  config: Config,
  log: Logger,
  opts: { now?: () => number; scale?: ScaleHooks } = {},
): Promise<Running> {
  const now = opts.now ?? Date.now;
  const scale = opts.scale;
  const dataDir = resolve(config.data);
  const material = await ensureTls({
    dir: join(dataDir, "tls"),
    hostNames: [config.host, ...config.hostNames],
    certFile: config.tls.cert,
    keyFile: config.tls.key,
    caFile: config.tls.ca,
  });
  const stores = openStores(config);
  const { token: operatorToken, created: operatorTokenCreated } = ensureOperatorToken(dataDir);
  const idScope = await ensureIdScope(stores.registry, config.idScope);
  const metrics = createMetrics();
  const directory = new DeviceDirectory(stores.registry);
  const bus = scale?.bus ?? createLocalBus((err, topic) => log.error({ err, topic }, "event handler failed"));
  const device = await startDeviceSide({
    config,
    material,
    stores,
    directory,
    metrics,
    log,
    idScope,
    commit: scale?.commit,
    sessions: scale?.sessions,
    listen: !scale || scale.mqtt,
  });
  const { ingest, mqttServer, mqttPort, assignedHub, provisioning, gateway, names } = device;
  let ready = false;
  const analytics = new AnalyticsService({
    store: stores.analytics,
    telemetry: stores.telemetry,
    directory,
    bus,
    log: log.child({ part: "analytics" }),
    metrics,
    ...analyticsOptions(config),
    ...(scale ? { owns: (id: string) => scale.owns(id), delegate: scale.delegate, logFed: true } : {}),
  });
  // In bus mode the analytics worker feeds analytics from the log's partitions it holds.
  if (!scale) ingest.onCommitted((units) => analytics.enqueue(units));
  const glog = log.child({ part: "gateway" });
  gateway.on("deviceConnected", (deviceId) => {
    glog.debug({ deviceId }, "device connected");
    analytics.connectivity(deviceId, true);
  });
  gateway.on("deviceDisconnected", (deviceId) => {
    glog.debug({ deviceId }, "device disconnected");
    analytics.connectivity(deviceId, false);
  });

  const admin = new RegistryAdmin(stores.registry, idScope);
  // After a change through the API: refresh the cache and drop connections the change revoked.
  const revalidate = async (deviceId: string) => {
    const device = await stores.registry.getDevice(deviceId);
    if (device) directory.put(device);
    else directory.forget(deviceId);
    gateway.revalidate(deviceId, device);
    scale?.deviceChanged(deviceId);
  };
  // Contracts end by themselves: erase the company's users, disable its devices, purge after the grace.
  const termination = new TerminationService({
    tenancy: stores.tenancy,
    registry: stores.registry,
    telemetry: stores.telemetry,
    analytics: stores.analytics,
    onDevicesDisabled: async (ids) => {
      for (const id of ids) await revalidate(id);
      // Their analysis ends: no offline alarms for boxes that were switched off, and no state
      // written back for data that is about to be purged.
      analytics.forget(ids);
    },
    exportGraceMs: config.exportGraceDays * 86_400_000,
    log: log.child({ part: "termination" }),
    now,
  });
  const session = {
    idleMs: config.auth.sessionIdleMinutes * 60_000,
    maxMs: config.auth.sessionMaxHours * 3_600_000,
  };
  const mailer = config.smtp
    ? createMailer(
        {
          host: config.smtp.host,
          port: config.smtp.port,
          secure: config.smtp.secure,
          requireTls: config.smtp.requireTls,
          user: config.smtp.user,
          pass: config.smtp.pass,
          from: config.smtp.from,
          ...(config.smtp.ca ? { tls: { ca: readFileSync(config.smtp.ca) } } : {}),
        },
        log.child({ part: "mail" }),
      )
    : undefined;
  const publicUrl = () => config.publicUrl ?? `https://${config.host}:${httpsPort}`;
  const companyOf = async (id: string) => {
    const device = await directory.get(id);
    return device ? device.companyId : undefined;
  };
  const nlog = log.child({ part: "notify" });
  const notifier = new Notifier({
    store: stores.notifications,
    tenancy: stores.tenancy,
    alarms: stores.analytics,
    security: stores.security,
    bus,
    companyOf,
    mailer,
    publicUrl,
    reminderMs: config.notifications.reminderMinutes * 60_000,
    maxAttempts: config.notifications.maxAttempts,
    webhookTimeoutMs: config.notifications.webhookTimeoutMs,
    now,
    onError: (err, what) => nlog.error({ err }, `${what} failed`),
  });
  // The watched cloud: failed authentications, DPS abuse, quarantine spikes and devices unlike
  // themselves become security events (src/security/). Source addresses are named by a keyed hash.
  const security = createSecurityMonitor(config, stores, metrics, log, (event) =>
    notifier.onSecurityEvent(event),
  );
  device.watchSecurity(security);
  // Gateway processes of a scale-out announce theirs on the bus; their deliveries are unique per
  // event, so every api process may enqueue them.
  const unwatchRemote = scale
    ? bus.subscribe("security", (event) =>
        notifier.onSecurityEvent(event).catch((err) => log.error({ err }, "security notification failed")),
      )
    : () => {};
  const app = buildApp({
    tls: material,
    privacy: {
      operator: config.operator,
      retention: config.retention,
      exportGraceDays: config.exportGraceDays,
      personalFields: PERSONAL_FIELDS,
      securityEventDays: config.security.retentionDays,
    },
    log,
    metrics,
    ready: () => ready && (scale?.healthy() ?? true),
    device: {
      ingest,
      directory,
      provisioning,
      // Read per request: with port 0 the HTTPS port is known only after listening.
      get hubNames() {
        return names();
      },
      sasSkewSec: config.limits.sasSkewSec,
      maxPacketBytes: config.limits.maxPacketBytes,
    },
    auth: {
      operatorToken,
      tenancy: stores.tenancy,
      device: (id) => directory.get(id),
      alarmDevice: async (id) => (await stores.analytics.getAlarm(id))?.deviceId,
      session,
      now,
    },
    accounts: {
      tenancy: stores.tenancy,
      exportStores: stores,
      mailer,
      publicUrl,
      session,
      invitationMs: config.auth.invitationDays * 86_400_000,
      resetMs: config.auth.resetMinutes * 60_000,
      log: log.child({ part: "accounts" }),
      now,
      onLoginFailed: (source) => security.authFailed("login", source),
    },
    notifications: {
      store: stores.notifications,
      tenancy: stores.tenancy,
      companyOf,
      testWebhook: (hook) => notifier.testWebhook(hook),
      now,
    },
    security: { store: stores.security, now },
    operator: {
      now,
      companyOf: (id) => directory.peek(id)?.companyId,
      admin,
      registry: stores.registry,
      telemetry: stores.telemetry,
      onDeviceChanged: revalidate,
      onDesiredChanged: (id, patch, version) => {
        gateway.pushDesired(id, patch, version);
        scale?.desired(id, patch, version);
      },
      info: { idScope, assignedHub, caPath: material.caPath, mqttPort },
      defaultRetention: config.retention,
      analytics,
      analyticsStore: stores.analytics,
      bus,
      tenancy: stores.tenancy,
      termination,
    },
  });
  await app.listen({ port: config.httpsPort, host: config.bind });
  const httpsPort = (app.server.address() as AddressInfo).port;
  device.setHttpsPort(httpsPort);

  const stopWatching = device.watchRegistry();
  const prune = setInterval(
    () => {
      stores.telemetry
        .pruneMessageIds(Date.now() - config.limits.dedupDays * 86_400_000)
        .catch((err: Error) => log.error({ err }, "message id pruning failed"));
    },
    60 * 60 * 1000,
  );
  const housekeeping = startHousekeeping(stores, config, log);
  termination.start();
  notifier.start();
  security.start();
  if (scale) await scale.start({ analytics, stores, metrics, gateway });
  else {
    analytics.start();
    await analytics.warmUp((await stores.registry.listDevices()).map((d) => d.id));
  }
  prune.unref();
  ready = true;

  return {
    mqttPort,
    httpsPort,
    idScope,
    assignedHub,
    caPath: material.caPath,
    ca: material.ca,
    operatorToken,
    operatorTokenCreated,
    stores,
    gateway,
    ingest,
    analytics,
    termination,
    notifier,
    security,
    bus,
    async close() {
      ready = false;
      await termination.close();
      stopWatching();
      clearInterval(prune);
      await housekeeping.stop();
      // The TLS server's close waits for open connections; the broker ends them.
      const closed = mqttServer.listening
        ? new Promise<void>((res) => mqttServer.close(() => res()))
        : Promise.resolve();
      await gateway.close();
      await closed;
      await ingest.drain();
      await scale?.close();
      await analytics.close();
      unwatchRemote();
      await security.close();
      await notifier.close();
      await app.close();
      mailer?.close();
      await stores.close();
    },
  };
}
