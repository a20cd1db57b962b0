import { randomBytes } from "node:crypto";
import { newToken } from "../auth/tokens.js";
import { PumpwatchError } from "../core/errors.js";
import { isMailAddress } from "../notify/mailer.js";
import type {
  CompanyRole,
  OneTimeTokenKind,
  OperatorRole,
  TenancyStore,
  User,
  UserRole,
} from "../store/ports.js";
import { statusAt } from "./contract.js";

/**
 * Creating accounts, shared by the API, the command line and the demo: the rules of who may exist
 * (a company user has a company role in an existing company whose contract has not ended; operator
 * staff have an operator role), and the one-time links that let a person set their password.
 */

export const COMPANY_ROLES: readonly CompanyRole[] = ["companyAdmin", "companyUser"];
export const OPERATOR_ROLES: readonly OperatorRole[] = ["operatorAdmin", "serviceTechnician"];
const PHONE = /^\+?[0-9][0-9 ()/.-]{2,39}$/;
const MAX_ADDRESS = 1000;

function bad(message: string): PumpwatchError {
  return new PumpwatchError("BAD_REQUEST", message);
}

/** The role, if it fits the account: company roles for users of a company, operator roles for staff. */
export function checkRole(role: unknown, companyId: string | null): UserRole {
  const allowed: readonly UserRole[] = companyId === null ? OPERATOR_ROLES : COMPANY_ROLES;
  if (typeof role !== "string" || !allowed.includes(role as UserRole)) {
    throw bad(
      `"role" must be one of ${allowed.join(", ")} for ${companyId === null ? "operator staff" : "users of a company"}`,
    );
  }
  return role as UserRole;
}

/** Optional contact field: a string sets it (checked), null clears it, undefined leaves it. */
export function contactField(value: unknown, field: "phone" | "postalAddress"): string | null | undefined {
  if (value === undefined || value === null) return value;
  const max = field === "phone" ? 40 : MAX_ADDRESS;
  if (typeof value !== "string" || value.trim() === "")
    throw bad(`"${field}" must be a non-empty string or null`);
  if (value.length > max) throw bad(`"${field}" is too long (at most ${max} characters)`);
  const s = value.trim();
  if (field === "phone" && !PHONE.test(s)) {
    throw bad('"phone" must be a phone number of digits, spaces and + ( ) / . -, e.g. "+49 30 1234567"');
  }
  return s;
}

export interface NewAccount {
  email: string;
  role: unknown;
  companyId: string | null;
  phone?: unknown;
  postalAddress?: unknown;
}

/** Creates a user without a password (status "invited") after checking every rule; throws what to fix. */
export async function createAccount(store: TenancyStore, input: NewAccount, now: number): Promise<User> {
  const email = typeof input.email === "string" ? input.email.trim() : "";
  if (!isMailAddress(email)) throw bad(`"email" must be one plain e-mail address like name@example.com`);
  const role = checkRole(input.role, input.companyId);
  if (input.companyId !== null) {
    if (!(await store.getCompany(input.companyId))) {
      throw new PumpwatchError(
        "NOT_FOUND",
        `no company '${input.companyId}'; list them with GET /api/companies`,
      );
    }
    const contract = await store.getContract(input.companyId);
    if (contract && statusAt(contract, now) === "terminated") {
      throw new PumpwatchError(
        "CONFLICT",
        `the contract of ${input.companyId} has ended: no new users until a new contract is made`,
      );
    }
  }
  if (await store.getUserByEmail(email)) {
    throw new PumpwatchError("CONFLICT", "a user with this e-mail address exists already");
  }
  return store.createUser(
    {
      id: `u_${randomBytes(8).toString("hex")}`,
      companyId: input.companyId,
      role,
      email,
      phone: contactField(input.phone, "phone") ?? null,
      postalAddress: contactField(input.postalAddress, "postalAddress") ?? null,
    },
    now,
  );
}

/**
 * Issues a new invitation or password-reset token for `user` (earlier ones of that kind stop
 * working) and returns the link to the dashboard page that redeems it. The token is in the link
 * only; the store keeps its hash.
 */
export async function issueLink(
  store: TenancyStore,
  user: User,
  kind: OneTimeTokenKind,
  opts: { now: number; lifetimeMs: number; publicUrl: string },
): Promise<{ link: string; expiresAt: number }> {
  const tok = newToken(kind === "invitation" ? "pwi" : "pwr");
  const expiresAt = opts.now + opts.lifetimeMs;
  await store.deleteOneTimeTokens(user.id, kind);
  await store.createOneTimeToken({ hash: tok.hash, kind, userId: user.id, createdAt: opts.now, expiresAt });
  const page = kind === "invitation" ? "invitation" : "reset";
  const base = opts.publicUrl.replace(/\/+$/, "");
  return { link: `${base}/#/${page}?token=${encodeURIComponent(tok.token)}`, expiresAt };
}

/** What the API and the command line show of a user: the three personal fields and the account's state. */
export function userView(u: User) {
  return {
    id: u.id,
    companyId: u.companyId,
    role: u.role,
    email: u.email,
    phone: u.phone,
    postalAddress: u.postalAddress,
    status: u.passwordHash === null ? "invited" : "active",
    lockedUntil: u.lockedUntil,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}
