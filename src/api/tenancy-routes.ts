import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { PumpwatchError } from "../core/errors.js";
import type { Company, TenancyStore } from "../store/ports.js";
import type { NoticeParty } from "../tenancy/contract.js";
import type { NoticeInput, TerminationService } from "../tenancy/termination.js";
import { parseTime } from "./time.js";

/**
 * Customers and contracts (issue 6). Operator scope for now: mounted inside the operator routes, so the
 * operator token guards them; tenant-scoped authorization comes with the user login.
 */
export interface TenancyRoutesDeps {
  tenancy: TenancyStore;
  termination: TerminationService;
}

const COMPANY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_NAME = 200;
const MAX_ADDRESS = 1000;
const MAX_AUDIT = 5000;

function bad(message: string): PumpwatchError {
  return new PumpwatchError("BAD_REQUEST", message);
}

function body(raw: unknown, hint: string): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(`send a JSON object: ${hint}`);
  return raw as Record<string, unknown>;
}

function onlyFields(b: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(b)) {
    if (!allowed.includes(key)) {
      throw bad(`unknown field "${key}"; allowed are ${allowed.map((a) => `"${a}"`).join(", ")}`);
    }
  }
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== "string" || value.trim() === "") throw bad(`"${field}" must be a non-empty string`);
  if (value.length > max) throw bad(`"${field}" is too long; keep it under ${max} characters`);
  return value.trim();
}

function companyView(c: Company) {
  return {
    id: c.id,
    name: c.name,
    postalAddress: c.postalAddress,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

const COMPANY_HINT = '{"name": "…", "postalAddress": "street\\npostcode town"} (optional "id")';
const NOTICE_HINT =
  '{"by": "customer"|"operator", "receivedAt"?: ISO-8601 or epoch ms (default now), "extraordinary"?: true|false, "reason"?: "…" (required when extraordinary)}';

/**
 * The notice as sent: only the shape and `receivedAt` (ISO-8601 or epoch ms) are handled here; `by`,
 * `extraordinary` and `reason` are checked by `giveNotice` in tenancy/contract.ts.
 */
function noticeInput(raw: unknown): NoticeInput {
  const b = body(raw, NOTICE_HINT);
  onlyFields(b, ["by", "receivedAt", "extraordinary", "reason"]);
  const receivedAt = b["receivedAt"] ?? undefined;
  return {
    by: b["by"] as NoticeParty,
    receivedAt:
      typeof receivedAt === "string"
        ? parseTime(receivedAt, 0, "receivedAt")
        : (receivedAt as number | undefined),
    extraordinary: b["extraordinary"] as boolean | undefined,
    reason: (b["reason"] ?? undefined) as string | undefined,
  };
}

/** Registers the routes on an app already guarded by the operator token (prefix /api). */
export function tenancyRoutes(app: FastifyInstance, deps: TenancyRoutesDeps): void {
  const now = () => Date.now();

  app.get("/companies", async () => ({
    companies: (await deps.tenancy.listCompanies()).map(companyView),
  }));

  app.post("/companies", async (req, reply) => {
    const b = body(req.body, COMPANY_HINT);
    onlyFields(b, ["id", "name", "postalAddress"]);
    let id: string;
    if (b["id"] === undefined) id = `co_${randomBytes(6).toString("hex")}`;
    else if (typeof b["id"] === "string" && COMPANY_ID.test(b["id"])) id = b["id"];
    else throw bad('"id" must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit');
    const company = await deps.tenancy.createCompany(
      {
        id,
        name: text(b["name"], "name", MAX_NAME),
        postalAddress: text(b["postalAddress"], "postalAddress", MAX_ADDRESS),
      },
      now(),
    );
    return reply.status(201).send(companyView(company));
  });

  app.get<{ Params: { id: string } }>("/companies/:id", async (req) => {
    const company = await deps.tenancy.getCompany(req.params.id);
    if (!company) {
      throw new PumpwatchError(
        "NOT_FOUND",
        `no company '${req.params.id}'; list them with GET /api/companies`,
      );
    }
    return companyView(company);
  });

  app.put<{ Params: { id: string } }>("/companies/:id", async (req) => {
    const b = body(req.body, COMPANY_HINT);
    onlyFields(b, ["name", "postalAddress"]);
    const patch: { name?: string; postalAddress?: string } = {};
    if (b["name"] !== undefined) patch.name = text(b["name"], "name", MAX_NAME);
    if (b["postalAddress"] !== undefined)
      patch.postalAddress = text(b["postalAddress"], "postalAddress", MAX_ADDRESS);
    if (Object.keys(patch).length === 0) throw bad(`nothing to change: send ${COMPANY_HINT}`);
    return companyView(await deps.tenancy.updateCompany(req.params.id, patch, now()));
  });

  app.get<{ Params: { id: string } }>("/companies/:id/contract", async (req) =>
    deps.termination.getContract(req.params.id),
  );

  app.put<{ Params: { id: string } }>("/companies/:id/contract", async (req) => {
    const hint =
      '{"start": "YYYY-MM-DD", "timeZone"?: "Europe/Berlin", "terms"?: {"period": {"months": 1}, "to": "monthEnd", "minimumTermMonths"?: 0}}';
    const b = body(req.body, hint);
    onlyFields(b, ["start", "timeZone", "terms"]);
    if (typeof b["start"] !== "string") throw bad(`"start" is required; send ${hint}`);
    if (b["timeZone"] !== undefined && typeof b["timeZone"] !== "string") {
      throw bad('"timeZone" must be an IANA name such as "Europe/Berlin"');
    }
    return deps.termination.createContract(req.params.id, {
      start: b["start"],
      timeZone: b["timeZone"] as string | undefined,
      terms: b["terms"],
    });
  });

  app.post<{ Params: { id: string } }>("/companies/:id/contract/notice", async (req) =>
    deps.termination.giveNotice(req.params.id, noticeInput(req.body)),
  );

  app.post<{ Params: { id: string } }>("/companies/:id/contract/notice/preview", async (req) =>
    deps.termination.previewNotice(req.params.id, noticeInput(req.body)),
  );

  app.delete<{ Params: { id: string } }>("/companies/:id/contract/notice", async (req) =>
    deps.termination.withdrawNotice(req.params.id),
  );

  app.get<{ Querystring: { company?: string; since?: string; limit?: string } }>("/audit", async (req) => {
    const limit = req.query.limit === undefined ? 500 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT) {
      throw bad(`'limit' must be a whole number from 1 to ${MAX_AUDIT}`);
    }
    const since = req.query.since === undefined ? undefined : parseTime(req.query.since, 0, "since");
    return {
      entries: await deps.tenancy.listAudit({ companyId: req.query.company || undefined, since, limit }),
    };
  });
}
