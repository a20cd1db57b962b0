import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from "aedes";
import { asciiJson, parseJsonObject } from "../core/json.js";
import { isValidId } from "../core/keys.js";
import type { Metrics } from "../core/metrics.js";
import { parseSas, verifySas } from "../core/sas.js";
import type { DeviceDirectory } from "../ingest/directory.js";
import type { Ingest } from "../ingest/ingest.js";
import type { DpsRequest, DpsResponse } from "../provisioning/service.js";
import type { Device, RegistryStore } from "../store/ports.js";
import { GuardedConnection } from "./guard.js";
import { type DeviceThrottle, limitConnectSize } from "./limits.js";
import { type ClientContext, DeviceSessions, type SessionBacking } from "./sessions.js";
import {
  classifySubscription,
  desiredPatchTopic,
  dpsResponseTopic,
  type HubTopic,
  parsePublishTopic,
  parseUsername,
} from "./topics.js";
import { twinRequest } from "./twin.js";

export interface GatewayOptions {
  /** Host names (with or without :port) a device may name in its user name and SAS `sr`. */
  hubNames: readonly string[];
  idScope: string;
  maxPacketBytes: number;
  connectTimeoutMs: number;
  keepAliveMaxSec: number;
  sasSkewSec: number;
  maxConnections: number;
  maxPendingPackets: number;
  /** Largest CONNECT, from its header (limits.ts); default: `maxPacketBytes`. */
  maxConnectBytes?: number | undefined;
  /** Longest PUBLISH topic in bytes; longer closes the connection (topic_too_long). */
  maxTopicBytes?: number | undefined;
  /** A client that does not read what it is sent for this long is disconnected; default aedes' 60 s. */
  drainTimeoutMs?: number | undefined;
}

export interface GatewayDeps {
  directory: DeviceDirectory;
  registry: RegistryStore;
  ingest: Ingest;
  metrics: Metrics;
  /** Answers provisioning requests arriving over MQTT. */
  provisioning: { handle(req: DpsRequest): Promise<DpsResponse> };
  /** Shares device subscriptions with other gateways (scale-out); absent: this process alone. */
  sessions?: SessionBacking | undefined;
  /** Per-device message and byte budgets (limits.ts); absent: none. */
  throttle?: DeviceThrottle | undefined;
}

/** Events the gateway emits for the application to log; the gateway itself logs nothing. */
export interface GatewayEvents {
  /** `at`: when the CONNECT was accepted (ms since the epoch). */
  deviceConnected: [deviceId: string, at: number];
  deviceDisconnected: [deviceId: string];
  authFailed: [info: { clientId: string; reason: string; remote: string | undefined }];
  violation: [info: { clientId: string | undefined; reason: string; remote: string | undefined }];
  error: [err: Error];
}

type Done = (error?: Error | null) => void;

class Violation extends Error {}

const NOT_AUTHORIZED = 5;
const SERVER_UNAVAILABLE = 3;

/**
 * The device-facing MQTT endpoint, wire-compatible with Azure IoT Hub and DPS (azure-protocol.md §3,
 * §5) on aedes: SAS authentication at CONNECT, the Azure topic grammar, the device twin, and limits
 * the parser lacks. Telemetry goes to ingest; the PUBACK is written only after ingest committed it,
 * because aedes calls `authorizePublish` before it writes the PUBACK.
 */
export class Gateway extends EventEmitter<GatewayEvents> {
  readonly broker: Aedes;
  readonly #o: GatewayOptions;
  readonly #d: GatewayDeps;
  readonly #contexts = new WeakMap<Client, ClientContext>();
  readonly #sessions: DeviceSessions;
  readonly #hubNames: Set<string>;

  constructor(options: GatewayOptions, deps: GatewayDeps) {
    super();
    this.#o = options;
    this.#d = deps;
    this.#sessions = new DeviceSessions(deps.sessions);
    this.#hubNames = new Set(options.hubNames.map((h) => h.toLowerCase()));
    this.broker = new Aedes({
      connectTimeout: options.connectTimeoutMs,
      maxClientsIdLength: 128,
      // Devices never receive routed messages from each other: keep aedes' queues small.
      queueLimit: 42,
      ...(options.drainTimeoutMs === undefined ? {} : { drainTimeout: options.drainTimeoutMs }),
      preConnect: (client, packet, cb) => this.#preConnect(client, packet, cb),
      authenticate: (client, username, password, cb) => {
        this.#authenticate(client, username, password).then(
          (ok) => cb(null, ok),
          (err: AuthenticateError) => cb(err, false),
        );
      },
      authorizePublish: (client, packet, cb) => this.#authorizePublish(client, packet, cb),
      authorizeSubscribe: (client, sub, cb) => this.#authorizeSubscribe(client, sub, cb),
    });
    this.broker.on("clientReady", (client) => this.#onReady(client));
    this.broker.on("clientDisconnect", (client) => this.#onDisconnect(client));
    this.broker.on("unsubscribe", (filters, client) => this.#onUnsubscribe(filters, client));
  }

  /** Sets up the broker's session store; call once before `handle`. */
  async listen(): Promise<void> {
    await this.broker.listen();
  }

  /** Serves one accepted TLS connection. */
  handle(socket: Duplex & { remoteAddress?: string | undefined }): void {
    const guarded = new GuardedConnection(socket, this.#o.maxPacketBytes, (reason) => {
      this.#d.metrics.protocolViolations.inc({ reason });
      this.emit("violation", { clientId: undefined, reason, remote: socket.remoteAddress });
    });
    if (this.#o.maxConnectBytes !== undefined)
      limitConnectSize(socket, this.#o.maxConnectBytes, (reason) => {
        this.#d.metrics.protocolViolations.inc({ reason });
        this.emit("violation", { clientId: undefined, reason, remote: socket.remoteAddress });
      });
    grantAtMostQos1(this.broker.handle(guarded));
  }

  /**
   * Re-checks a connected device against its current record: closes the connection when the device
   * was disabled or deleted (`device` undefined), or the key its token was signed with is gone.
   */
  revalidate(deviceId: string, device: Device | undefined): void {
    const client = this.#client(deviceId);
    const ctx = client && this.#contexts.get(client);
    if (!client || ctx?.kind !== "hub") return;
    if (!device?.enabled || (ctx.key !== device.primaryKey && ctx.key !== device.secondaryKey)) {
      this.emit("violation", { clientId: deviceId, reason: "credentials_revoked", remote: remoteOf(client) });
      client.close();
    }
  }

  /**
   * The device connected again on another gateway at `at`: a connection here accepted before then is
   * closed (IoT Hub keeps one connection per device), without announcing the device as disconnected.
   */
  replacedElsewhere(deviceId: string, at: number): void {
    const client = this.#client(deviceId);
    const ctx = client && this.#contexts.get(client);
    if (!client || ctx?.kind !== "hub" || ctx.connectedAt > at) return;
    ctx.replaced = true;
    client.close();
  }

  #client(deviceId: string): Client | undefined {
    return (this.broker as unknown as { clients: Record<string, Client | undefined> }).clients[deviceId];
  }

  /** Pushes a desired-properties patch to the device if it is connected and listening (§5.5). */
  pushDesired(deviceId: string, patch: Record<string, unknown>, version: number): void {
    const client = this.#client(deviceId);
    if (!client || !this.#sessions.has(deviceId, "twinDesired")) return;
    deliver(client, desiredPatchTopic(version), JSON.stringify({ ...patch, $version: version }));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
  }

  #preConnect(
    client: Client,
    packet: {
      keepalive?: number | undefined;
      protocolVersion?: number | undefined;
      clientId?: string | undefined;
      username?: string | undefined;
      protocolId?: string | undefined;
      bridgeMode?: boolean | undefined;
      password?: Buffer | undefined;
      will?: { topic: string; qos?: number | undefined } | undefined;
    },
    cb: (e: Error | null, ok: boolean) => void,
  ): void {
    // Azure IoT Hub speaks MQTT 3.1.1 only (§5.1): name "MQTT", level 4 [MQTT-3.1.2-1], [MQTT-3.1.2-2].
    // mqtt-packet also takes "MQIsdp" with level 4, and level 0x84 as 4 with a bridge flag.
    if (packet.protocolVersion !== 4 || packet.protocolId !== "MQTT" || packet.bridgeMode) {
      cb(this.#violation(client, "protocol_version"), false);
      return;
    }
    // A password without a user name is malformed [MQTT-3.1.2-22].
    if (packet.password !== undefined && packet.username === undefined) {
      cb(this.#violation(client, "malformed_connect"), false);
      return;
    }
    // A Will is a PUBLISH in waiting: only to the device's own telemetry topic, at QoS 0 or 1, as IoT
    // Hub allows; this also refuses QoS 3 [MQTT-3.1.2-14] and a malformed topic [MQTT-1.5.3-1].
    if (packet.will && !((packet.will.qos ?? 0) <= 1 && isOwnTelemetry(packet.will.topic, packet.clientId))) {
      cb(this.#violation(client, "will_not_allowed"), false);
      return;
    }
    // Ill-formed UTF-8 (decoded as U+FFFD by the parser) or U+0000 closes the connection
    // [MQTT-1.5.3-1], [MQTT-1.5.3-2].
    if (badUtf8(packet.clientId) || badUtf8(packet.username)) {
      cb(this.#violation(client, "invalid_utf8"), false);
      return;
    }
    // Keep-alive cap: 0 (no keep-alive) and anything above the cap become the cap, so a silent
    // connection is always noticed (Azure: 1.5 × keep-alive, at most 1767 s).
    if (!packet.keepalive || packet.keepalive > this.#o.keepAliveMaxSec)
      packet.keepalive = this.#o.keepAliveMaxSec;
    cb(null, true);
  }

  async #authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<boolean> {
    const refuse = (reason: string, code: number = NOT_AUTHORIZED): never => {
      this.#d.metrics.connects.inc({ kind: "unknown", result: reason });
      this.emit("authFailed", { clientId: client.id, reason, remote: remoteOf(client) });
      const err = new Error(reason) as AuthenticateError;
      (err as { returnCode: number }).returnCode = code;
      throw err;
    };
    if (this.broker.connectedClients >= this.#o.maxConnections)
      refuse("too_many_connections", SERVER_UNAVAILABLE);
    if (this.#d.ingest.pending >= this.#o.maxPendingPackets) refuse("ingest_overloaded", SERVER_UNAVAILABLE);
    const parsed = username === undefined ? undefined : parseUsername(username);
    if (!parsed) return refuse("bad_username");
    const pass = password?.toString("utf8");
    if (parsed.kind === "dps") {
      // Azure DPS accepts the CONNECT and answers 401 on the register request (§3.4).
      if (parsed.idScope !== this.#o.idScope) return refuse("unknown_id_scope");
      if (client.id !== parsed.registrationId || !isValidId(parsed.registrationId))
        return refuse("client_id_mismatch");
      // A DPS CONNECT carries no checked credential, so it gets its own client-id namespace
      // ('$' and '/' never occur in device ids): it must not take over a connected device's session.
      (client as { id: string }).id = `$dps/${parsed.registrationId}`;
      this.#contexts.set(client, {
        kind: "dps",
        registrationId: parsed.registrationId,
        idScope: parsed.idScope,
        password: pass,
      });
      this.#d.metrics.connects.inc({ kind: "dps", result: "ok" });
      return true;
    }
    if (parsed.moduleId !== undefined) return refuse("modules_not_supported");
    if (client.id !== parsed.deviceId) return refuse("client_id_mismatch");
    if (!this.#hubNames.has(parsed.host.toLowerCase())) return refuse("unknown_hub_name");
    const token = pass === undefined ? undefined : parseSas(pass);
    if (!token) return refuse("bad_sas");
    const device = await this.#d.directory.get(parsed.deviceId);
    if (!device) return refuse("unknown_device");
    const nowSec = Math.floor(Date.now() / 1000);
    const check = verifySas(token, {
      expectedResources: [`${parsed.host}/devices/${parsed.deviceId}`],
      keys: [device.primaryKey, device.secondaryKey],
      nowSec,
      skewSec: this.#o.sasSkewSec,
      noKeyName: true,
    });
    if (!check.ok) return refuse(`sas_${check.reason}`);
    if (!device.enabled) return refuse("device_disabled");
    const key = check.keyIndex === 0 ? device.primaryKey : device.secondaryKey;
    const ctx: ClientContext = {
      kind: "hub",
      deviceId: device.id,
      key,
      expiresAtSec: Number(token.se),
      connectedAt: Date.now(),
    };
    this.#contexts.set(client, ctx);
    if (client.clean) this.#sessions.clear(device.id);
    else await this.#sessions.resume(device.id);
    this.#d.metrics.connects.inc({ kind: "hub", result: "ok" });
    return true;
  }

  #onReady(client: Client): void {
    const ctx = this.#contexts.get(client);
    if (!ctx) return;
    this.#d.metrics.connections.inc({ kind: ctx.kind });
    if (ctx.kind !== "hub") return;
    // Azure severs the connection when the token expires (§1.1); the SDK renews before that.
    const ms = (ctx.expiresAtSec + this.#o.sasSkewSec) * 1000 - Date.now();
    ctx.expiryTimer = setTimeout(() => client.close(), Math.min(Math.max(ms, 0), 2 ** 31 - 1));
    ctx.expiryTimer.unref();
    this.emit("deviceConnected", ctx.deviceId, ctx.connectedAt);
  }

  #onDisconnect(client: Client): void {
    const ctx = this.#contexts.get(client);
    if (!ctx) return;
    this.#d.metrics.connections.dec({ kind: ctx.kind });
    if (ctx.kind === "hub") {
      clearTimeout(ctx.expiryTimer);
      if (!ctx.replaced) this.emit("deviceDisconnected", ctx.deviceId);
    }
  }

  #onUnsubscribe(filters: string[], client: Client): void {
    const ctx = this.#contexts.get(client);
    if (ctx?.kind !== "hub") return;
    for (const f of filters) {
      const kind = classifySubscription(f, ctx.deviceId);
      if (kind) this.#sessions.remove(ctx.deviceId, kind);
    }
  }

  #authorizeSubscribe(
    client: Client,
    sub: Subscription,
    cb: (e: Error | null, s?: Subscription | null) => void,
  ): void {
    const ctx = this.#contexts.get(client);
    const owner = ctx?.kind === "hub" ? ctx.deviceId : ctx?.registrationId;
    const kind = owner === undefined ? undefined : classifySubscription(sub.topic, owner);
    const allowed =
      ctx?.kind === "dps" ? kind === "dpsResponses" : kind !== undefined && kind !== "dpsResponses";
    // Azure closes the connection for a filter it does not serve; the SDK ignores SUBACK 0x80 (§5.7).
    if (!allowed || !kind || !owner) {
      cb(this.#violation(client, "subscription_not_allowed"));
      return;
    }
    if (ctx?.kind === "hub") this.#sessions.add(owner, kind);
    // No QoS 2 on IoT Hub: granted 1 instead (§5.1).
    cb(null, sub.qos > 1 ? { ...sub, qos: 1 } : sub);
  }

  #authorizePublish(client: Client | null, packet: PublishPacket, cb: Done): void {
    const ctx = client && this.#contexts.get(client);
    if (!client || !ctx) {
      cb(new Violation("not authenticated"));
      return;
    }
    // Azure closes the connection on QoS 2 (§5.1).
    if (packet.qos > 1) {
      cb(this.#violation(client, "qos2"));
      return;
    }
    if (this.#o.maxTopicBytes !== undefined && Buffer.byteLength(packet.topic) > this.#o.maxTopicBytes) {
      cb(this.#violation(client, "topic_too_long"));
      return;
    }
    const topic = parsePublishTopic(packet.topic);
    if (!topic) {
      cb(this.#violation(client, "unknown_topic"));
      return;
    }
    if (ctx.kind === "dps") this.#dpsPublish(client, ctx, topic, packet, cb);
    else
      this.#throttled(client, ctx.deviceId, packet, cb, () =>
        this.#hubPublish(client, ctx.deviceId, topic, packet, cb),
      );
  }

  /** The device's budget (limits.ts): on at once, delayed (and with it the PUBACK), or closed. */
  #throttled(client: Client, deviceId: string, packet: PublishPacket, cb: Done, run: () => void): void {
    const a = this.#d.throttle?.admit(deviceId, (packet.payload as Buffer).length) ?? { delayMs: 0 };
    if ("refused" in a) {
      cb(this.#violation(client, a.refused));
      return;
    }
    if (a.delayMs === 0) {
      run();
      return;
    }
    this.#d.metrics.throttled.inc();
    setTimeout(
      () => ((client as { closed?: boolean }).closed ? cb(new Violation("closed")) : run()),
      a.delayMs,
    );
  }

  #hubPublish(client: Client, deviceId: string, topic: HubTopic, packet: PublishPacket, cb: Done): void {
    switch (topic.kind) {
      case "telemetry":
        if (topic.deviceId !== deviceId) {
          cb(this.#violation(client, "foreign_topic"));
          return;
        }
        this.#d.ingest.submit(
          {
            transport: "mqtt",
            authDeviceId: deviceId,
            topicDeviceId: topic.deviceId,
            topic: packet.topic,
            messageId: topic.properties.get("$.mid"),
            payload: packet.payload as Buffer,
            receivedAt: Date.now(),
          },
          // Not committed (e.g. disk full): close without PUBACK so the device sends it again.
          (err) => cb(err),
        );
        return;
      case "twinGet":
      case "twinPatchReported":
        cb(null);
        void twinRequest(
          { registry: this.#d.registry, metrics: this.#d.metrics },
          deviceId,
          topic,
          packet.payload as Buffer,
        ).then((res) => {
          if (res.error) this.emit("error", res.error);
          deliver(client, res.topic, res.payload);
        });
        return;
      case "methodResponse":
        // Direct methods are not invoked yet; a response is accepted and dropped.
        cb(null);
        return;
      default:
        cb(this.#violation(client, "dps_topic_on_hub"));
    }
  }

  #dpsPublish(
    client: Client,
    ctx: Extract<ClientContext, { kind: "dps" }>,
    topic: HubTopic,
    packet: PublishPacket,
    cb: Done,
  ): void {
    if (topic.kind !== "dpsRegister" && topic.kind !== "dpsPoll") {
      cb(this.#violation(client, "hub_topic_on_dps"));
      return;
    }
    cb(null);
    const body =
      topic.kind === "dpsRegister" ? parseJsonObject((packet.payload as Buffer).toString("utf8")) : undefined;
    const req: DpsRequest = {
      transport: "mqtt",
      idScope: ctx.idScope,
      registrationId: ctx.registrationId,
      sas: ctx.password,
      kind: topic.kind === "dpsRegister" ? "register" : "poll",
      operationId: topic.kind === "dpsPoll" ? topic.operationId : undefined,
      body,
      remote: remoteOf(client),
    };
    this.#d.provisioning.handle(req).then(
      (res) =>
        deliver(client, dpsResponseTopic(res.status, topic.rid, res.retryAfterSec), asciiJson(res.body)),
      (err: Error) => {
        this.emit("error", err);
        // Status ≥ 429 makes the SDK retry later (§3.2).
        deliver(
          client,
          dpsResponseTopic(500, topic.rid, 5),
          asciiJson({ errorCode: 500000, message: "internal error" }),
        );
      },
    );
  }

  #violation(client: Client, reason: string): Violation {
    this.#d.metrics.protocolViolations.inc({ reason });
    this.emit("violation", { clientId: client.id, reason, remote: remoteOf(client) });
    return new Violation(reason);
  }
}

/**
 * IoT Hub grants a QoS 2 subscription as QoS 1 (§5.1). aedes writes the SUBACK with the requested
 * QoS whatever `authorizeSubscribe` returns, so the request is lowered as it leaves the parser.
 */
function grantAtMostQos1(client: Client): void {
  const parser = (client as unknown as { _parser: EventEmitter })._parser;
  parser.prependListener("packet", (packet: { cmd: string; subscriptions?: Array<{ qos: number }> }) => {
    if (packet.cmd !== "subscribe") return;
    for (const sub of packet.subscriptions ?? []) if (sub.qos > 1) sub.qos = 1;
  });
}

function isOwnTelemetry(topic: string, clientId: string | undefined): boolean {
  const t = parsePublishTopic(topic);
  return t?.kind === "telemetry" && t.deviceId === clientId;
}

function badUtf8(s: string | undefined): boolean {
  return s !== undefined && (s.includes("\uFFFD") || s.includes("\u0000"));
}

/**
 * Writes a QoS 0 PUBLISH straight to one client. Device-bound topics are per device, so nothing is
 * routed; twin responses reach the device even when a reconnect lost its subscription (§9.9).
 */
function deliver(client: Client, topic: string, payload: string): void {
  const c = client as unknown as { deliver0(p: unknown, cb: () => void): void; closed: boolean };
  if (c.closed) return;
  c.deliver0(
    { cmd: "publish", topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false },
    () => {},
  );
}

function remoteOf(client: Client): string | undefined {
  return (client.conn as { remoteAddress?: string }).remoteAddress;
}
