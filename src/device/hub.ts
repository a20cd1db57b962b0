import { randomUUID } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { createSas } from "../core/sas.js";
import { formatPropertyBag, parsePropertyBag } from "../gateway/topics.js";
import { parseHostPort, tlsTrust } from "./endpoint.js";
import { AGENT_PRODUCT } from "./version.js";

export interface HubSessionOptions {
  /** `host[:port]` as provisioning assigned it; used verbatim in the user name and SAS (§1.2, §9.7). */
  assignedHub: string;
  deviceId: string;
  deviceKey: string;
  ca?: string | Buffer | undefined;
  /** Lifetime of the SAS token of this connection. */
  tokenLifetimeSec: number;
  keepaliveSec: number;
  connectTimeoutMs: number;
  /** Re-sends the twin GET when unanswered this long (the SDK would wait forever, §9.9). */
  twinTimeoutMs: number;
}

/** What the session reports to its owner; each handler is called from the MQTT client's events. */
export interface HubSessionHandlers {
  connected(): void;
  /** Called exactly once when the connection ends or never came up; `err` is mqtt.js's error if any. */
  closed(err: (Error & { code?: unknown }) | undefined): void;
  /** Full twin from the GET (§5.5): desired and reported, each with `$version`. */
  twin(desired: Record<string, unknown>): void;
  /** A desired-properties patch pushed by the hub, with its `$version` (§5.5). */
  desiredPatch(patch: Record<string, unknown>): void;
  /** A twin request failed with an Azure error body (status, errorCode, message). */
  twinError(status: number, body: string): void;
}

/** Twin response topics (§5.5): `$iothub/twin/res/{status}/?$rid=…[&$version=…]`. */
const TWIN_RES = /^\$iothub\/twin\/res\/(\d{3})\/\?(.*)$/;
const DESIRED = /^\$iothub\/twin\/PATCH\/properties\/desired\//;
const SUBSCRIPTIONS = {
  "$iothub/twin/res/#": { qos: 0 },
  "$iothub/twin/PATCH/properties/desired/#": { qos: 0 },
} as const;

/** `devices/{id}/messages/events/` with the message id and content type in the property bag (§5.3). */
export function telemetryTopic(deviceId: string, mid: string): string {
  return `devices/${deviceId}/messages/events/${formatPropertyBag({
    "$.mid": mid,
    "$.ct": "application/json",
    "$.ce": "utf-8",
  })}`;
}

function parseObject(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(payload.toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One MQTT connection to the hub, as the Azure SDK makes it (azure-protocol.md §5.1): clientId =
 * device id, clean=false, the Azure user name and a device SAS valid for `tokenLifetimeSec`. No
 * automatic reconnect: the agent decides when and with which token to connect again, as the SDK
 * renews a token by a new CONNECT (§1.3). On connect it subscribes to twin responses and desired
 * patches (harmless when the session kept them) and GETs the twin.
 */
export class HubSession {
  readonly #o: HubSessionOptions;
  readonly #h: HubSessionHandlers;
  readonly #client: MqttClient;
  #closed = false;
  /** When this connection's SAS token expires, epoch ms. */
  readonly expiresAtMs: number;
  #twinRid: string | undefined;
  #twinTimer: NodeJS.Timeout | undefined;

  constructor(o: HubSessionOptions, handlers: HubSessionHandlers) {
    this.#o = o;
    this.#h = handlers;
    const { host, port } = parseHostPort(o.assignedHub);
    const expiresAt = Math.floor(Date.now() / 1000) + o.tokenLifetimeSec;
    this.expiresAtMs = expiresAt * 1000;
    this.#client = mqtt.connect({
      protocol: "mqtts",
      host,
      port,
      ...tlsTrust(o.ca),
      protocolVersion: 4,
      clientId: o.deviceId,
      username: `${o.assignedHub}/${o.deviceId}/?api-version=2021-04-12&DeviceClientType=${encodeURIComponent(AGENT_PRODUCT)}`,
      password: createSas({
        resourceUri: `${o.assignedHub}/devices/${o.deviceId}`,
        key: o.deviceKey,
        expiresAt,
      }),
      clean: false,
      keepalive: o.keepaliveSec,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs,
      resubscribe: false,
    });
    let lastError: Error | undefined;
    this.#client.on("connect", () => {
      this.#client.subscribe({ ...SUBSCRIPTIONS }, () => {});
      this.#getTwin();
      this.#h.connected();
    });
    this.#client.on("message", (topic, payload) => this.#onMessage(topic, payload));
    this.#client.on("error", (err) => {
      lastError = err;
    });
    this.#client.on("close", () => this.#finish(lastError));
  }

  get connected(): boolean {
    return !this.#closed && this.#client.connected;
  }

  /** Publishes one telemetry packet at QoS 1; `done` runs on PUBACK, or with an error when the connection ends first. */
  publish(mid: string, body: string, done: (err?: Error) => void): void {
    // After end() the MQTT client has closed its packet store: a publish then would throw from inside
    // the library. The packet stays queued and goes out on the next session.
    if (this.#closed || this.#client.disconnecting || this.#client.disconnected) {
      done(new Error("the hub session is closing"));
      return;
    }
    this.#client.publish(telemetryTopic(this.#o.deviceId, mid), body, { qos: 1 }, (err) => done(err));
  }

  /**
   * Sends a reported-properties patch (JSON merge patch, §5.5), fire and forget: the agent reports
   * again on every connect. False when not connected.
   */
  report(patch: Record<string, unknown>): boolean {
    if (!this.connected) return false;
    this.#client.publish(
      `$iothub/twin/PATCH/properties/reported/?$rid=${randomUUID()}`,
      JSON.stringify(patch),
      { qos: 0 },
    );
    return true;
  }

  /** Sends DISCONNECT and closes (a token renewal or shutdown); `closed` follows. */
  end(): void {
    this.#client.end(false);
  }

  /** Closes the socket at once; `closed` follows. */
  destroy(): void {
    this.#client.end(true);
  }

  #getTwin(): void {
    if (!this.connected) return;
    this.#twinRid = randomUUID();
    this.#client.publish(`$iothub/twin/GET/?$rid=${this.#twinRid}`, " ", { qos: 0 });
    clearTimeout(this.#twinTimer);
    this.#twinTimer = setTimeout(() => {
      if (this.connected && this.#twinRid !== undefined) this.#getTwin();
    }, this.#o.twinTimeoutMs);
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (DESIRED.test(topic)) {
      const patch = parseObject(payload);
      if (patch) this.#h.desiredPatch(patch);
      return;
    }
    const m = TWIN_RES.exec(topic);
    const query = m && parsePropertyBag(m[2] ?? "");
    if (!m || !query) return;
    const status = Number(m[1]);
    const isGet = query.get("$rid") === this.#twinRid && this.#twinRid !== undefined;
    if (status >= 300) {
      this.#h.twinError(status, payload.toString("utf8"));
      return;
    }
    if (!isGet) return;
    const doc = parseObject(payload);
    const desired = doc?.["desired"];
    if (!doc || typeof desired !== "object" || desired === null) return;
    this.#twinRid = undefined;
    clearTimeout(this.#twinTimer);
    this.#h.twin(desired as Record<string, unknown>);
  }

  #finish(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#twinTimer);
    // mqtt.js has no reconnect here; make sure the socket is gone before the owner reconnects.
    this.#client.end(true);
    this.#h.closed(err);
  }
}
