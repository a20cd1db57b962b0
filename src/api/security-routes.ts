import type { FastifyInstance } from "fastify";
import { isValidId } from "../core/keys.js";
import { SECURITY_KINDS } from "../security/detectors.js";
import type { SecurityStore } from "../store/ports.js";
import { MAX_SECURITY_LIMIT } from "../store/security-rows.js";
import { principalOf } from "./auth.js";
import { bad } from "./body.js";
import { parseTime } from "./time.js";

/**
 * Security events for operator staff (docs/api.md § Security events): what the detectors of
 * src/security/ saw, and their acknowledgement. Company callers never get here (access.ts: STAFF).
 */
export interface SecurityRoutesDeps {
  store: SecurityStore;
  now?: () => number;
}

function bool(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "true" || value === "false") return value === "true";
  throw bad(`"${name}" must be true or false`);
}

export function securityRoutes(app: FastifyInstance, deps: SecurityRoutesDeps): void {
  const now = deps.now ?? Date.now;

  app.get("/security/events", async (req) => {
    const q = req.query as Record<string, string | undefined>;
    if (q["kind"] !== undefined && !(SECURITY_KINDS as readonly string[]).includes(q["kind"])) {
      throw bad(`"kind" must be one of ${SECURITY_KINDS.join(", ")}`);
    }
    if (q["device"] !== undefined && !isValidId(q["device"])) throw bad('"device" must be a device id');
    const limit = q["limit"] === undefined ? 100 : Number(q["limit"]);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SECURITY_LIMIT) {
      throw bad(`"limit" must be 1–${MAX_SECURITY_LIMIT}`);
    }
    const events = await deps.store.listSecurityEvents({
      kind: q["kind"],
      deviceId: q["device"],
      since: q["since"] === undefined ? undefined : parseTime(q["since"], 0, "since"),
      acknowledged: bool(q["acknowledged"], "acknowledged"),
      limit,
    });
    return { events };
  });

  app.post<{ Params: { eventId: string } }>("/security/events/:eventId/acknowledge", async (req) => {
    const id = Number(req.params.eventId);
    if (!Number.isSafeInteger(id) || id < 1) throw bad("the event id must be a positive integer");
    return deps.store.acknowledgeSecurityEvent(id, principalOf(req).actor, now());
  });
}
