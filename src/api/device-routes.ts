import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import { asciiJson, parseJsonObject } from "../core/json.js";
import { parseSas, verifySas } from "../core/sas.js";
import type { DeviceDirectory } from "../ingest/directory.js";
import type { IncomingPacket, Ingest } from "../ingest/ingest.js";
import type { DpsResponse, ProvisioningService } from "../provisioning/service.js";
import type { CommitOutcome } from "../store/ports.js";

export interface DeviceRoutesDeps {
  ingest: Ingest;
  directory: DeviceDirectory;
  provisioning: ProvisioningService;
  hubNames: readonly string[];
  sasSkewSec: number;
  maxPacketBytes: number;
}

/** Azure's HTTP error body, which the SDK's RestApiClient parses: `ErrorCode:<Code>;<text>` (§6). */
function hubError(reply: FastifyReply, status: number, code: string, text: string) {
  return reply.status(status).send({ Message: `ErrorCode:${code};${text}`, ExceptionMessage: text });
}

/**
 * The device-facing HTTPS endpoints: IoT Hub telemetry (azure-protocol.md §6), for boxes that cannot
 * hold an MQTT connection, feeding the same ingest path; and DPS registration (§4).
 */
export function deviceRoutes(deps: DeviceRoutesDeps) {
  return async (app: FastifyInstance) => {
    // Telemetry bodies are opaque bytes, whatever Content-Type (often none) the device sends.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: deps.maxPacketBytes }, (_req, body, done) =>
      done(null, body),
    );

    app.post<{ Params: { id: string } }>("/devices/:id/messages/events", async (req, reply) => {
      const deviceId = req.params.id;
      const auth = await authenticateDevice(deps, deviceId, req.headers.authorization);
      if (auth) return hubError(reply, 401, "IotHubUnauthorizedAccess", auth);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const base = {
        transport: "https" as const,
        authDeviceId: deviceId,
        topicDeviceId: deviceId,
        topic: req.url,
        receivedAt: Date.now(),
      };
      const isBatch = String(req.headers["content-type"] ?? "").startsWith(
        "application/vnd.microsoft.iothub.json",
      );
      const packets = isBatch
        ? batchPackets(base, body)
        : [{ ...base, messageId: header(req.headers["iothub-messageid"]), payload: body }];
      if (!packets)
        return hubError(
          reply,
          400,
          "ArgumentInvalid",
          "batch body must be a JSON array of {body: base64, properties}",
        );
      const results = await Promise.all(packets.map((p) => submit(deps.ingest, p)));
      const rejected = results.find((r) => r.outcome === "quarantined");
      // Kept in the quarantine; the device is told why and does not retry (400 is not retried, §6).
      if (rejected) return hubError(reply, 400, "ArgumentInvalid", `packet quarantined: ${rejected.reason}`);
      return reply.status(204).send();
    });

    // No cloud-to-device messages yet: "no message" is any 2xx but 200 (§6).
    app.get<{ Params: { id: string } }>("/devices/:id/messages/devicebound", async (req, reply) => {
      const auth = await authenticateDevice(deps, req.params.id, req.headers.authorization);
      if (auth) return hubError(reply, 401, "IotHubUnauthorizedAccess", auth);
      return reply.status(204).send();
    });

    app.put<{ Params: { idScope: string; registrationId: string } }>(
      "/:idScope/registrations/:registrationId/register",
      async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? parseJsonObject(req.body.toString("utf8")) : undefined;
        const res = await deps.provisioning.handle({
          transport: "https",
          idScope: req.params.idScope,
          registrationId: req.params.registrationId,
          sas: req.headers.authorization,
          kind: "register",
          body,
          remote: req.ip,
        });
        return sendDps(reply, res);
      },
    );

    app.get<{ Params: { idScope: string; registrationId: string; operationId: string } }>(
      "/:idScope/registrations/:registrationId/operations/:operationId",
      async (req, reply) => {
        const res = await deps.provisioning.handle({
          transport: "https",
          idScope: req.params.idScope,
          registrationId: req.params.registrationId,
          sas: req.headers.authorization,
          kind: "poll",
          operationId: req.params.operationId,
          remote: req.ip,
        });
        return sendDps(reply, res);
      },
    );
  };
}

/** The SDK parses the body only with a JSON Content-Type and needs ASCII (§4, §9.1, §9.5). */
function sendDps(reply: FastifyReply, res: DpsResponse) {
  if (res.retryAfterSec !== undefined) reply.header("retry-after", String(res.retryAfterSec));
  return reply.status(res.status).type("application/json; charset=utf-8").send(asciiJson(res.body));
}

/** Returns why the request is not authorised as `deviceId`, or undefined when it is. */
async function authenticateDevice(
  deps: DeviceRoutesDeps,
  deviceId: string,
  authorization: string | undefined,
): Promise<string | undefined> {
  const token = authorization === undefined ? undefined : parseSas(authorization);
  if (!token) return "missing or malformed SharedAccessSignature in Authorization";
  const device = await deps.directory.get(deviceId);
  if (!device) return "unknown device or bad key";
  const check = verifySas(token, {
    expectedResources: deps.hubNames.map((h) => `${h}/devices/${deviceId}`),
    keys: [device.primaryKey, device.secondaryKey],
    nowSec: Math.floor(Date.now() / 1000),
    skewSec: deps.sasSkewSec,
    noKeyName: true,
  });
  if (!check.ok) return `token rejected: ${check.reason}`;
  if (!device.enabled) return "device is disabled";
  return undefined;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

type Base = Omit<IncomingPacket, "messageId" | "payload">;

/**
 * `[{"body":"<base64>","properties":{"iothub-messageid":..,"iothub-app-x":..}}]` (§6 batch). The
 * Azure SDK's sendEventBatch writes only application properties, so its items carry no message id:
 * such an item gets one derived from its body, which makes a resent batch a duplicate, not new data.
 */
function batchPackets(base: Base, body: Buffer): IncomingPacket[] | undefined {
  let items: unknown;
  try {
    items = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(items) || items.length === 0) return undefined;
  const packets: IncomingPacket[] = [];
  for (const item of items) {
    const entry = item as { body?: unknown; properties?: Record<string, unknown> };
    if (typeof entry?.body !== "string") return undefined;
    const props = entry.properties ?? {};
    const mid = props["iothub-messageid"] ?? props["$.mid"];
    const payload = Buffer.from(entry.body, "base64");
    packets.push({
      ...base,
      messageId:
        typeof mid === "string" ? mid : `sha256:${createHash("sha256").update(payload).digest("base64url")}`,
      payload,
    });
  }
  return packets;
}

function submit(
  ingest: Ingest,
  p: IncomingPacket,
): Promise<{ outcome: CommitOutcome; reason: string | undefined }> {
  return new Promise((resolve, reject) => {
    ingest.submit(p, (err, outcome, reason) => (err ? reject(err) : resolve({ outcome: outcome!, reason })));
  });
}
