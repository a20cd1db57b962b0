import { randomUUID } from "node:crypto";
import mqtt from "mqtt";
import { type ErrorCode, PumpwatchError } from "../core/errors.js";
import { createSas } from "../core/sas.js";
import { parsePropertyBag } from "../gateway/topics.js";
import { isAuthRefusal, tlsTrust } from "./endpoint.js";
import { AGENT_PRODUCT } from "./version.js";

/** Where provisioning sent the device: the hub (`host[:port]`) and the device id to use there. */
export interface Assignment {
  assignedHub: string;
  deviceId: string;
}

export interface DpsOptions {
  host: string;
  port: number;
  idScope: string;
  registrationId: string;
  /** The device's key: its individual enrollment key or the key derived from the group key (§2). */
  deviceKey: string;
  ca?: string | Buffer | undefined;
  /** Custom data sent with the register request (`payload`, azure-protocol.md §3.2). */
  payload?: unknown;
  /** Longest wait for one answer, like the SDK's 30 s (§3.2). */
  requestTimeoutMs?: number;
  /** Longest the whole registration may take. */
  totalTimeoutMs?: number;
  /** Aborts the registration (the agent is closing). */
  signal?: AbortSignal | undefined;
}

const RES_TOPIC = /^\$dps\/registrations\/res\/(\d{3})\/\?(.*)$/;
const RES_FILTER = "$dps/registrations/res/#";
/** retry-after when the server sends none, as the SDK (§3.2). */
const DEFAULT_RETRY_AFTER_SEC = 2;
const MAX_RETRY_AFTER_SEC = 300;

function fail(code: ErrorCode, message: string): PumpwatchError {
  return new PumpwatchError(code, message);
}

/** Maps a DPS error status (300–428) to our code; the agent retries UNAVAILABLE fast, the rest slowly. */
function statusError(status: number, body: unknown): PumpwatchError {
  const msg = (body as { message?: unknown } | undefined)?.message;
  const detail = `provisioning answered ${status}${typeof msg === "string" ? `: ${msg}` : ""}`;
  if (status === 401 || status === 403)
    return fail("UNAUTHORIZED", `${detail}; check --key/--group-key and --id-scope`);
  if (status === 404) return fail("NOT_FOUND", `${detail}; check --id-scope and --registration-id`);
  return fail("BAD_REQUEST", detail);
}

/**
 * Registers with DPS over MQTT as the Azure SDK does (azure-protocol.md §3): CONNECT with the DPS
 * user name and a registration SAS, SUBSCRIBE to the responses, PUT register, poll the operation
 * after `retry-after` until `assigned`, then UNSUBSCRIBE and DISCONNECT. Status ≥ 429 means "later"
 * and is retried within `totalTimeoutMs` (§3.2).
 *
 * Rejects with a PumpwatchError: UNAUTHORIZED (bad key, disabled enrollment), NOT_FOUND (unknown id
 * scope), BAD_REQUEST (anything else the server refused), UNAVAILABLE (network, TLS, timeouts).
 */
export function provision(o: DpsOptions): Promise<Assignment> {
  const requestTimeoutMs = o.requestTimeoutMs ?? 30_000;
  return new Promise<Assignment>((resolve, reject) => {
    const client = mqtt.connect({
      protocol: "mqtts",
      host: o.host,
      port: o.port,
      ...tlsTrust(o.ca),
      protocolVersion: 4,
      clientId: o.registrationId,
      // No `?` before api-version in the DPS user name (§3.1).
      username: `${o.idScope}/registrations/${o.registrationId}/api-version=2019-03-31&ClientVersion=${encodeURIComponent(AGENT_PRODUCT)}`,
      // The SDK signs the raw, unencoded resource with key name "registration" (§1.4).
      password: createSas({
        resourceUri: `${o.idScope}/registrations/${o.registrationId}`,
        key: o.deviceKey,
        expiresAt: Math.ceil(Date.now() / 1000 + 3600),
        keyName: "registration",
        encodeResource: false,
      }),
      clean: true,
      keepalive: 180,
      reconnectPeriod: 0,
      connectTimeout: requestTimeoutMs,
    });
    let rid = "";
    let settled = false;
    let requestTimer: NodeJS.Timeout | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    const totalTimer = setTimeout(
      () => finish(fail("UNAVAILABLE", "provisioning did not finish in time")),
      o.totalTimeoutMs ?? 120_000,
    );

    const finish = (err: Error | undefined, result?: Assignment) => {
      if (settled) return;
      settled = true;
      clearTimeout(totalTimer);
      clearTimeout(requestTimer);
      clearTimeout(retryTimer);
      o.signal?.removeEventListener("abort", onAbort);
      if (err || !result) {
        client.end(true);
        reject(err ?? fail("INTERNAL", "provisioning ended without a result"));
        return;
      }
      // Polite close as the SDK does (§3.2 step 6); forced if the server does not answer.
      const force = setTimeout(() => client.end(true), 2000);
      client.unsubscribe(RES_FILTER, () => client.end(false, () => clearTimeout(force)));
      resolve(result);
    };

    const send = (operationId?: string) => {
      rid = randomUUID();
      const topic =
        operationId === undefined
          ? `$dps/registrations/PUT/iotdps-register/?$rid=${rid}`
          : `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${rid}&operationId=${encodeURIComponent(operationId)}`;
      const body =
        operationId === undefined
          ? JSON.stringify({
              registrationId: o.registrationId,
              ...(o.payload !== undefined && { payload: o.payload }),
            })
          : " ";
      client.publish(topic, body, { qos: 1 }, (err) => {
        if (err) finish(fail("UNAVAILABLE", `provisioning request not sent: ${err.message}`));
      });
      clearTimeout(requestTimer);
      requestTimer = setTimeout(
        () => finish(fail("UNAVAILABLE", "provisioning did not answer in time")),
        requestTimeoutMs,
      );
    };

    const later = (retryAfterSec: number, operationId?: string) => {
      clearTimeout(requestTimer);
      retryTimer = setTimeout(() => send(operationId), retryAfterSec * 1000);
    };

    const onResponse = (topic: string, payload: Buffer) => {
      const m = RES_TOPIC.exec(topic);
      const query = m && parsePropertyBag(m[2] ?? "");
      if (!m || !query || query.get("$rid") !== rid) return;
      const status = Number(m[1]);
      const retryRaw = Number(query.get("retry-after") ?? DEFAULT_RETRY_AFTER_SEC);
      const retryAfter = Number.isFinite(retryRaw)
        ? Math.min(Math.max(retryRaw, 0), MAX_RETRY_AFTER_SEC)
        : DEFAULT_RETRY_AFTER_SEC;
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      if (status >= 429) {
        // "Not yet": the SDK repeats the same request after retry-after (§3.2).
        later(retryAfter, pendingOperation);
        return;
      }
      if (status >= 300) {
        finish(statusError(status, body));
        return;
      }
      const state = typeof body?.["status"] === "string" ? body["status"].toLowerCase() : "";
      if (state === "assigning" && typeof body?.["operationId"] === "string") {
        pendingOperation = body["operationId"];
        later(retryAfter, pendingOperation);
      } else if (state === "registering") {
        pendingOperation = undefined;
        later(retryAfter);
      } else if (state === "assigned") {
        const reg = body?.["registrationState"] as Record<string, unknown> | undefined;
        const assignedHub = reg?.["assignedHub"];
        const deviceId = reg?.["deviceId"];
        if (typeof assignedHub === "string" && typeof deviceId === "string" && assignedHub && deviceId) {
          finish(undefined, { assignedHub, deviceId });
        } else finish(fail("BAD_REQUEST", "provisioning assigned no hub or device id"));
      } else {
        finish(fail("FORBIDDEN", `registration status is '${state || "missing"}'`));
      }
    };
    let pendingOperation: string | undefined;
    const onAbort = () => finish(fail("UNAVAILABLE", "provisioning aborted"));
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.signal?.aborted) onAbort();

    client.on("connect", () => {
      client.subscribe(RES_FILTER, { qos: 1 }, (err) => {
        if (err) finish(fail("UNAVAILABLE", `provisioning subscription failed: ${err.message}`));
        else send();
      });
    });
    client.on("message", onResponse);
    client.on("error", (err) => {
      if (isAuthRefusal(err))
        finish(fail("UNAUTHORIZED", `provisioning refused the connection: ${err.message}`));
      else finish(fail("UNAVAILABLE", `provisioning unreachable: ${err.message}`));
    });
    client.on("close", () => finish(fail("UNAVAILABLE", "provisioning connection closed")));
  });
}
