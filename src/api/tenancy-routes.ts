import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { PumpwatchError } from "../core/errors.js";
import type { Company, TenancyStore } from "../store/ports.js";
import type { NoticeParty } from "../tenancy/contract.js";
import type { NoticeInput, TerminationService } from "../tenancy/termination.js";
import { companyScope, type Principal, principalOf } from "./auth.js";
import { bad, obj } from "./body.js";
import { parseTime } from "./time.js";

/**
 * Customers, contracts and the audit log. Who may call which route is in access.ts; here only what
 * the table cannot say: a company administrator gives and withdraws notice as the customer.
 */
export interface TenancyRoutesDeps {
  tenancy: TenancyStore;
  termination: TerminationService;
  /** The clock of audit entries (the termination service has its own). */
  now?: () => number;
}

const COMPANY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_NAME = 200;
const MAX_ADDRESS = 1000;
const MAX_AUDIT = 5000;

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
  const b = obj(raw, NOTICE_HINT, ["by", "receivedAt", "extraordinary", "reason"]);
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

/** A company administrator speaks for the customer; `by` defaults to the caller's side. */
function asParty(p: Principal, input: NoticeInput): NoticeInput {
  const side = p.companyId === null ? "operator" : "customer";
  if (input.by === undefined) return { ...input, by: side };
  if (p.companyId !== null && input.by !== "customer") {
    throw new PumpwatchError(
      "FORBIDDEN",
      'a company administrator gives notice as the customer: send "by": "customer"',
    );
  }
  return input;
}

async function audit(deps: TenancyRoutesDeps, p: Principal, event: string, companyId: string): Promise<void> {
  await deps.tenancy.appendAudit({
    ts: (deps.now ?? Date.now)(),
    actor: p.actor,
    event,
    targetType: "company",
    targetId: companyId,
    companyId,
  });
}

/** Registers the routes on the /api scope. */
export function tenancyRoutes(app: FastifyInstance, deps: TenancyRoutesDeps): void {
  const now = deps.now ?? Date.now;

  app.get("/companies", async (req) => {
    const own = companyScope(req);
    const companies = await deps.tenancy.listCompanies();
    return { companies: companies.filter((c) => own === undefined || c.id === own).map(companyView) };
  });

  app.post("/companies", async (req, reply) => {
    const b = obj(req.body, COMPANY_HINT, ["id", "name", "postalAddress"]);
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
    await audit(deps, principalOf(req), "company.created", company.id);
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
    const b = obj(req.body, COMPANY_HINT, ["name", "postalAddress"]);
    const patch: { name?: string; postalAddress?: string } = {};
    if (b["name"] !== undefined) patch.name = text(b["name"], "name", MAX_NAME);
    if (b["postalAddress"] !== undefined)
      patch.postalAddress = text(b["postalAddress"], "postalAddress", MAX_ADDRESS);
    if (Object.keys(patch).length === 0) throw bad(`nothing to change: send ${COMPANY_HINT}`);
    const company = await deps.tenancy.updateCompany(req.params.id, patch, now());
    await audit(deps, principalOf(req), "company.changed", req.params.id);
    return companyView(company);
  });

  app.get<{ Params: { id: string } }>("/companies/:id/contract", async (req) =>
    deps.termination.getContract(req.params.id),
  );

  app.put<{ Params: { id: string } }>("/companies/:id/contract", async (req) => {
    const hint =
      '{"start": "YYYY-MM-DD", "timeZone"?: "Europe/Berlin", "terms"?: {"period": {"months": 1}, "to": "monthEnd", "minimumTermMonths"?: 0}}';
    const b = obj(req.body, hint, ["start", "timeZone", "terms"]);
    if (typeof b["start"] !== "string") throw bad(`"start" is required; send ${hint}`);
    if (b["timeZone"] !== undefined && typeof b["timeZone"] !== "string") {
      throw bad('"timeZone" must be an IANA name such as "Europe/Berlin"');
    }
    return deps.termination.createContract(
      req.params.id,
      { start: b["start"], timeZone: b["timeZone"] as string | undefined, terms: b["terms"] },
      principalOf(req).actor,
    );
  });

  app.post<{ Params: { id: string } }>("/companies/:id/contract/notice", async (req) => {
    const p = principalOf(req);
    return deps.termination.giveNotice(req.params.id, asParty(p, noticeInput(req.body)), p.actor);
  });

  app.post<{ Params: { id: string } }>("/companies/:id/contract/notice/preview", async (req) =>
    deps.termination.previewNotice(req.params.id, asParty(principalOf(req), noticeInput(req.body))),
  );

  app.delete<{ Params: { id: string } }>("/companies/:id/contract/notice", async (req) => {
    const p = principalOf(req);
    if (p.companyId !== null) {
      const contract = await deps.termination.getContract(req.params.id);
      if (contract.notice && contract.notice.by !== "customer") {
        throw new PumpwatchError(
          "FORBIDDEN",
          "the operator gave this notice: only the operator can withdraw it; contact your provider",
        );
      }
    }
    return deps.termination.withdrawNotice(req.params.id, p.actor);
  });

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
