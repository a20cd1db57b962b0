import type { AddressInfo } from "node:net";
import tls from "node:tls";
import type { Config } from "../core/config.js";
import type { Logger } from "../core/log.js";
import type { Metrics } from "../core/metrics.js";
import { SERVER_TLS_POLICY } from "../core/tls.js";
import type { DeviceDirectory } from "../ingest/directory.js";
import { type CommitFn, Ingest } from "../ingest/ingest.js";
import { DpsAbuseGuard } from "../provisioning/dps-limits.js";
import { ProvisioningService } from "../provisioning/service.js";
import type { SecurityMonitor } from "../security/service.js";
import type { Stores } from "../store/ports.js";
import { Gateway } from "./gateway.js";
import { DeviceThrottle, limitConnectionRate } from "./limits.js";
import type { SessionBacking } from "./sessions.js";

/**
 * What faces the boxes, built the same way by the one-process start (src/main.ts) and the gateway
 * roles of a scale-out (src/scale/roles.ts): the ingest pipeline (committing to the store, or through
 * `commit` to the bus), the MQTT/TLS server, DPS and the IoT Hub gateway.
 */
export interface DeviceSide {
  ingest: Ingest;
  mqttServer: tls.Server;
  /** 0 when MQTT does not listen (`listen: false`). */
  mqttPort: number;
  assignedHub: string;
  provisioning: ProvisioningService;
  gateway: Gateway;
  /** Hub names a device may use: the HTTPS port counts once the HTTPS server listens. */
  names(): string[];
  setHttpsPort(port: number): void;
  /** Feeds security monitoring: packets, refused CONNECTs, connections and DPS answers. */
  watchSecurity(security: SecurityMonitor): void;
  /**
   * Polls the registry every 250 ms for changes made elsewhere (the CLI, another process) and drops
   * the connections they revoked; returns the function that stops it.
   */
  watchRegistry(): () => void;
}

/**
 * How often the registry is checked for changes made elsewhere: a device disabled or re-keyed on the
 * command line loses its connection within this plus one query (the promise is 1 s; the check is one
 * indexed read of the change mark).
 */
const REGISTRY_POLL_MS = 250;

/** Names a device may use for this hub in its user name and SAS `sr`, with and without port. */
export function hubNames(config: Config, mqttPort: number, httpsPort: number): string[] {
  const names = new Set<string>();
  for (const n of [config.host, ...config.hostNames, "localhost", "127.0.0.1"]) {
    names.add(n);
    names.add(`${n}:${mqttPort}`);
    names.add(`${n}:${httpsPort}`);
  }
  return [...names];
}

/**
 * The MQTT/TLS server; the TLS handshake gets the CONNECT timeout too (Node's default is 120 s), and
 * a failed handshake is counted and its socket destroyed.
 */
export function createMqttServer(config: Config, material: { key: string; cert: string }): tls.Server {
  return tls.createServer({
    key: material.key,
    cert: material.cert,
    ...SERVER_TLS_POLICY,
    handshakeTimeout: config.limits.connectTimeoutMs,
  });
}

/** Listens and resolves once bound (rejects when the port is taken). */
export function listenOn(server: tls.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(port, host, () => res());
  });
}

export async function startDeviceSide(o: {
  config: Config;
  material: { key: string; cert: string };
  stores: Stores;
  directory: DeviceDirectory;
  metrics: Metrics;
  log: Logger;
  idScope: string;
  /** Replaces the store commit (scale-out: the JetStream append is the commit point). */
  commit?: CommitFn | undefined;
  /** Shares session subscriptions with the other gateways (scale-out). */
  sessions?: SessionBacking | undefined;
  /** Whether MQTT listens (an api-only process builds the parts but serves no boxes). */
  listen: boolean;
}): Promise<DeviceSide> {
  const { config, stores, directory, metrics } = o;
  const ingest = new Ingest({
    store: stores.telemetry,
    ...(o.commit ? { commit: o.commit } : {}),
    directory,
    metrics,
    commitDelayMs: config.commitDelayMs,
    maxFutureMs: config.limits.maxFutureSec * 1000,
    maxSamplesPerPacket: config.limits.maxSamplesPerPacket,
  });
  // Listen first (port 0 picks free ports), then name the hub with the real port.
  const mqttServer = createMqttServer(config, o.material);
  if (o.listen) await listenOn(mqttServer, config.mqttPort, config.bind);
  const mqttPort = mqttServer.listening ? (mqttServer.address() as AddressInfo).port : 0;
  const assignedHub = config.assignedHub ?? (mqttPort === 8883 ? config.host : `${config.host}:${mqttPort}`);
  const provisioning = new ProvisioningService({
    registry: stores.registry,
    directory,
    metrics,
    idScope: o.idScope,
    assignedHub,
    skewSec: config.limits.sasSkewSec,
    // Abuse is logged once per key and minute; registration ids and addresses only, never tokens.
    guard: new DpsAbuseGuard(config.limits, (e) => {
      metrics.rateLimited.inc({ limit: `dps_${e.reason}` }, e.refused);
      o.log.child({ part: "provisioning" }).warn(e, "provisioning requests refused: rate limit");
    }),
  });
  let httpsPort = config.httpsPort;
  const names = () => [...hubNames(config, mqttPort, httpsPort), assignedHub];
  const gateway = new Gateway(
    {
      hubNames: names(),
      idScope: o.idScope,
      maxPacketBytes: config.limits.maxPacketBytes,
      connectTimeoutMs: config.limits.connectTimeoutMs,
      keepAliveMaxSec: config.limits.keepAliveMaxSec,
      sasSkewSec: config.limits.sasSkewSec,
      maxConnections: config.limits.maxConnections,
      maxPendingPackets: config.limits.maxPendingPackets,
      maxConnectBytes: config.limits.maxConnectBytes,
      drainTimeoutMs: config.limits.drainTimeoutMs,
      maxTopicBytes: config.limits.maxTopicBytes,
    },
    {
      directory,
      registry: stores.registry,
      ingest,
      metrics,
      provisioning,
      throttle: new DeviceThrottle(config.limits),
      sessions: o.sessions,
    },
  );
  await gateway.listen();
  const glog = o.log.child({ part: "gateway" });
  gateway.on("authFailed", (info) => glog.info(info, "connection refused"));
  gateway.on("violation", (info) => glog.info(info, "connection closed for a violation"));
  gateway.on("error", (err) => glog.error({ err }, "gateway error"));
  mqttServer.on("secureConnection", (socket) => gateway.handle(socket));
  limitConnectionRate(
    mqttServer,
    { ratePerSec: config.limits.connectionsPerIpPerSec, burst: config.limits.connectionBurstPerIp },
    () => metrics.rateLimited.inc({ limit: "connection_per_ip" }),
    (info) => glog.warn(info, "connections refused: too many from one address"),
  );
  mqttServer.on("tlsClientError", (_err, socket) => {
    metrics.protocolViolations.inc({ reason: "tls_handshake" });
    // Node reports a failed or timed-out handshake here but leaves the socket open.
    socket.destroy();
  });
  return {
    ingest,
    mqttServer,
    mqttPort,
    assignedHub,
    provisioning,
    gateway,
    names,
    setHttpsPort(port) {
      httpsPort = port;
    },
    watchSecurity(security) {
      ingest.onPacket((deviceId, bytes, quarantined) => security.packet(deviceId, bytes, quarantined));
      gateway.on("authFailed", (info) => {
        // Overload refusals (CONNACK 3) are no authentication failures.
        if (info.reason !== "too_many_connections" && info.reason !== "ingest_overloaded")
          security.authFailed("mqtt", info.remote, info.clientId);
      });
      gateway.on("deviceConnected", (deviceId) => security.deviceConnected(deviceId));
      provisioning.onAnswered((req, status) => security.dpsRequest(req.remote, req.registrationId, status));
    },
    watchRegistry() {
      const timer = setInterval(() => {
        directory.refresh().then(
          (changed) => {
            for (const d of changed) gateway.revalidate(d.id, d.enabled ? d : undefined);
          },
          (err: Error) => o.log.error({ err }, "registry refresh failed"),
        );
      }, REGISTRY_POLL_MS);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
