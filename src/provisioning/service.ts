import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { deriveDeviceKey, isValidId } from "../core/keys.js";
import type { Metrics } from "../core/metrics.js";
import { parseSas, verifySas } from "../core/sas.js";
import type { DeviceDirectory } from "../ingest/directory.js";
import type { Device, Enrollment, RegistryStore } from "../store/ports.js";
import type { DpsAbuseGuard } from "./dps-limits.js";

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
  /** Source address, for the abuse limits (dps-limits.ts). */
  remote?: string | undefined;
}

/** An Azure `RegistrationOperationStatus` or `ProvisioningServiceErrorDetails` with its status. */
export interface DpsResponse {
  status: number;
  body: Record<string, unknown>;
  retryAfterSec?: number;
}

const OPERATION_TTL_MS = 10 * 60_000;
/** Seconds the device waits before polling; Azure sends 3, one is enough for a local service. */
const RETRY_AFTER_SEC = 1;

/**
 * Device provisioning, wire-compatible with Azure DPS (azure-protocol.md §2–4): a register request
 * is verified (SAS over `sr` as received, key of the individual enrollment or derived from a group
 * key), the device is created or found, and the answer is 202 "assigning" with an operation id; the
 * poll for that operation answers 200 "assigned" with the full registration state.
 *
 * Operations hold no state: the id carries its expiry and a MAC over registration id and expiry made
 * with the device's primary key, so any gateway of a scale-out answers the poll (the load balancer may
 * send it elsewhere) and a flood of registrations takes no memory. A key rotated between register and
 * poll invalidates the operation: the device registers again, as Azure asks after a 404.
 */
export class ProvisioningService {
  readonly #registry: RegistryStore;
  readonly #directory: DeviceDirectory;
  readonly #metrics: Metrics;
  readonly #guard: DpsAbuseGuard | undefined;
  readonly #answered: ((req: DpsRequest, status: number) => void)[] = [];
  readonly #o: { idScope: string; assignedHub: string; skewSec: number };

  constructor(deps: {
    registry: RegistryStore;
    directory: DeviceDirectory;
    metrics: Metrics;
    idScope: string;
    assignedHub: string;
    skewSec: number;
    /** Rate limits against flooding and enumeration; absent: none. */
    guard?: DpsAbuseGuard | undefined;
  }) {
    this.#guard = deps.guard;
    this.#registry = deps.registry;
    this.#directory = deps.directory;
    this.#metrics = deps.metrics;
    this.#o = { idScope: deps.idScope, assignedHub: deps.assignedHub, skewSec: deps.skewSec };
  }

  get idScope(): string {
    return this.#o.idScope;
  }

  async handle(req: DpsRequest): Promise<DpsResponse> {
    const wait = this.#guard?.check(req);
    const res =
      wait === undefined
        ? await this.#handle(req)
        : { ...error(429, 429001, "too many requests; retry later"), retryAfterSec: wait };
    this.#guard?.record(req, res.status);
    this.#metrics.registrations.inc({ transport: req.transport, status: String(res.status) });
    for (const listener of this.#answered) listener(req, res.status);
    return res;
  }

  /** Subscribes to every answered request with its status (security monitoring); must not throw. */
  onAnswered(listener: (req: DpsRequest, status: number) => void): void {
    this.#answered.push(listener);
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
    const operationId = operationIdFor(device.id, device.primaryKey, Date.now() + OPERATION_TTL_MS);
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
    const expiresAt = operationExpiry(req.operationId);
    const device = expiresAt > Date.now() ? await this.#registry.getDevice(req.registrationId) : undefined;
    if (!device || !sameId(operationIdFor(device.id, device.primaryKey, expiresAt), req.operationId!)) {
      return error(404, 404006, "operation not found; register again");
    }
    return {
      status: 200,
      body: { operationId: req.operationId, status: "assigned", registrationState: this.#state(device) },
    };
  }

  #state(device: Device): Record<string, unknown> {
    return {
      registrationId: device.id,
      createdDateTimeUtc: device.createdAt,
      assignedHub: this.#o.assignedHub,
      deviceId: device.id,
      status: "assigned",
      substatus: "initialAssignment",
      lastUpdatedDateTimeUtc: device.updatedAt,
      etag: Buffer.from(`"${device.generation}"`).toString("base64"),
      payload: {},
      ...(device.enrollmentKind === "group" && device.enrollmentName !== null
        ? { symmetricKey: { enrollmentGroupId: device.enrollmentName } }
        : {}),
    };
  }
}

/** `4.<expiry, hex ms>.<MAC>`: the operation id of a registration (see ProvisioningService). */
export function operationIdFor(registrationId: string, primaryKey: string, expiresAt: number): string {
  const exp = expiresAt.toString(16);
  const mac = createHmac("sha256", Buffer.from(primaryKey, "base64"))
    .update(`operation\n${registrationId}\n${exp}`)
    .digest("hex")
    .slice(0, 40);
  return `4.${exp}.${mac}`;
}

function sameId(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The expiry an operation id claims (0 for anything that is not one); its MAC is checked separately. */
function operationExpiry(operationId: string | undefined): number {
  const m = /^4\.([0-9a-f]{1,13})\.[0-9a-f]{40}$/.exec(operationId ?? "");
  return m ? Number.parseInt(m[1]!, 16) : 0;
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
