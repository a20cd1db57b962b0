import { randomBytes, randomUUID } from "node:crypto";
import { deriveDeviceKey, isValidId } from "../core/keys.js";
import type { Metrics } from "../core/metrics.js";
import { parseSas, verifySas } from "../core/sas.js";
import type { DeviceDirectory } from "../ingest/directory.js";
import type { Device, Enrollment, RegistryStore } from "../store/ports.js";

/** One DPS request, from MQTT (`$dps/registrations/...`) or HTTPS (`/{idScope}/registrations/...`). */
export interface DpsRequest {
  transport: "mqtt" | "https";
  idScope: string;
  registrationId: string;
  /** The SAS token: MQTT password or HTTPS Authorization header. */
  sas: string | undefined;
  kind: "register" | "poll";
  operationId?: string | undefined;
  /** Parsed JSON body of a register request. */
  body?: Record<string, unknown> | undefined;
}

/** An Azure `RegistrationOperationStatus` or `ProvisioningServiceErrorDetails` with its status. */
export interface DpsResponse {
  status: number;
  body: Record<string, unknown>;
  retryAfterSec?: number;
}

interface Operation {
  registrationId: string;
  deviceId: string;
  groupName: string | null;
  expiresAt: number;
}

const OPERATION_TTL_MS = 10 * 60_000;
const MAX_OPERATIONS = 100_000;
/** Seconds the device waits before polling; Azure sends 3, one is enough for a local service. */
const RETRY_AFTER_SEC = 1;

/**
 * Device provisioning, wire-compatible with Azure DPS (azure-protocol.md §2–4): a register request
 * is verified (SAS over `sr` as received, key of the individual enrollment or derived from a group
 * key), the device is created or found, and the answer is 202 "assigning" with an operation id; the
 * poll for that operation answers 200 "assigned" with the full registration state.
 */
export class ProvisioningService {
  readonly #registry: RegistryStore;
  readonly #directory: DeviceDirectory;
  readonly #metrics: Metrics;
  readonly #o: { idScope: string; assignedHub: string; skewSec: number };
  readonly #operations = new Map<string, Operation>();

  constructor(deps: {
    registry: RegistryStore;
    directory: DeviceDirectory;
    metrics: Metrics;
    idScope: string;
    assignedHub: string;
    skewSec: number;
  }) {
    this.#registry = deps.registry;
    this.#directory = deps.directory;
    this.#metrics = deps.metrics;
    this.#o = { idScope: deps.idScope, assignedHub: deps.assignedHub, skewSec: deps.skewSec };
  }

  get idScope(): string {
    return this.#o.idScope;
  }

  async handle(req: DpsRequest): Promise<DpsResponse> {
    const res = await this.#handle(req);
    this.#metrics.registrations.inc({ transport: req.transport, status: String(res.status) });
    return res;
  }

  async #handle(req: DpsRequest): Promise<DpsResponse> {
    if (req.idScope !== this.#o.idScope)
      return error(404, 404001, `id scope ${req.idScope} is not served here`);
    if (!isValidId(req.registrationId)) {
      return error(400, 400004, "registration id must be lower-case letters, digits, - . _ : (at most 128)");
    }
    const auth = await this.#authenticate(req);
    if ("status" in auth) return auth;
    if (req.kind === "poll") return this.#poll(req);
    const bodyId = req.body?.["registrationId"];
    if (bodyId !== undefined && bodyId !== req.registrationId) {
      return error(400, 400004, "registrationId in the body differs from the one in the request");
    }
    const device = await this.#assign(req, auth.enrollment, auth.keys);
    const operationId = `4.${randomBytes(8).toString("hex")}.${randomUUID()}`;
    this.#remember(operationId, {
      registrationId: req.registrationId,
      deviceId: device.id,
      groupName: auth.enrollment.kind === "group" ? auth.enrollment.id : null,
      expiresAt: Date.now() + OPERATION_TTL_MS,
    });
    return { status: 202, body: { operationId, status: "assigning" }, retryAfterSec: RETRY_AFTER_SEC };
  }

  /** Finds the enrollment whose key signed the token: the individual one, else any group's derived key. */
  async #authenticate(
    req: DpsRequest,
  ): Promise<{ enrollment: Enrollment; keys: [string, string] } | DpsResponse> {
    const token = req.sas === undefined ? undefined : parseSas(req.sas);
    if (!token) return unauthorized("missing or malformed SharedAccessSignature");
    const verify = (keys: string[]) =>
      verifySas(token, {
        expectedResources: [`${req.idScope}/registrations/${req.registrationId}`],
        keys,
        nowSec: Math.floor(Date.now() / 1000),
        skewSec: this.#o.skewSec,
        requiredKeyName: "registration",
      });
    const individual = await this.#registry.getEnrollment("individual", req.registrationId);
    const candidates: { enrollment: Enrollment; keys: [string, string] }[] = individual
      ? [{ enrollment: individual, keys: [individual.primaryKey, individual.secondaryKey] }]
      : (await this.#registry.listEnrollments())
          .filter((e) => e.kind === "group")
          .map((g) => ({
            enrollment: g,
            keys: [
              deriveDeviceKey(g.primaryKey, req.registrationId),
              deriveDeviceKey(g.secondaryKey, req.registrationId),
            ],
          }));
    for (const c of candidates) {
      const check = verify(c.keys);
      if (check.ok) {
        // Azure answers a disabled enrollment like a bad key: the device learns nothing more.
        if (!c.enrollment.enabled) return unauthorized("enrollment is disabled");
        return c;
      }
      if (check.reason !== "signature") return unauthorized(`token rejected: ${check.reason}`);
    }
    return unauthorized("no enrollment matches this registration id and key");
  }

  async #assign(req: DpsRequest, enrollment: Enrollment, keys: [string, string]): Promise<Device> {
    const payload = req.body?.["payload"] ?? null;
    const existing = await this.#registry.getDevice(req.registrationId);
    // A new device lands in its enrollment's company. A device that registers again keeps the company
    // it has: an operator may have moved it (RegistryAdmin.updateDevice), and a box re-provisioning
    // after a reset or key rotation must not undo that. Only a device without a company takes the
    // enrollment's, e.g. one provisioned before its enrollment was given a company.
    const adopt = existing?.companyId === null && enrollment.companyId !== null;
    const device = existing
      ? await this.#registry.updateDevice(existing.id, {
          registrationPayload: payload,
          primaryKey: keys[0],
          secondaryKey: keys[1],
          ...(adopt ? { companyId: enrollment.companyId } : {}),
        })
      : await this.#registry.createDevice({
          id: req.registrationId,
          primaryKey: keys[0],
          secondaryKey: keys[1],
          enrollmentKind: enrollment.kind,
          enrollmentName: enrollment.id,
          companyId: enrollment.companyId,
          registrationPayload: payload,
        });
    this.#directory.put(device);
    return device;
  }

  async #poll(req: DpsRequest): Promise<DpsResponse> {
    const op = req.operationId === undefined ? undefined : this.#operations.get(req.operationId);
    if (!op || op.registrationId !== req.registrationId || op.expiresAt < Date.now()) {
      return error(404, 404006, "operation not found; register again");
    }
    const device = await this.#registry.getDevice(op.deviceId);
    if (!device) return error(404, 404002, "device no longer exists; register again");
    return {
      status: 200,
      body: { operationId: req.operationId, status: "assigned", registrationState: this.#state(op, device) },
    };
  }

  #state(op: Operation, device: Device): Record<string, unknown> {
    return {
      registrationId: op.registrationId,
      createdDateTimeUtc: device.createdAt,
      assignedHub: this.#o.assignedHub,
      deviceId: device.id,
      status: "assigned",
      substatus: "initialAssignment",
      lastUpdatedDateTimeUtc: device.updatedAt,
      etag: Buffer.from(`"${device.generation}"`).toString("base64"),
      payload: {},
      ...(op.groupName === null ? {} : { symmetricKey: { enrollmentGroupId: op.groupName } }),
    };
  }

  #remember(id: string, op: Operation): void {
    if (this.#operations.size >= MAX_OPERATIONS) {
      const now = Date.now();
      for (const [k, v] of this.#operations) if (v.expiresAt < now) this.#operations.delete(k);
      if (this.#operations.size >= MAX_OPERATIONS)
        this.#operations.delete(this.#operations.keys().next().value!);
    }
    this.#operations.set(id, op);
  }
}

/** Azure's `ProvisioningServiceErrorDetails`. */
function error(status: number, errorCode: number, message: string): DpsResponse {
  return {
    status,
    body: { errorCode, trackingId: randomUUID(), message, timestampUtc: new Date().toISOString() },
  };
}

function unauthorized(message: string): DpsResponse {
  return error(401, 401002, message);
}
