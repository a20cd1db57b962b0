import { PumpwatchError } from "../core/errors.js";
import type { Contract } from "../tenancy/contract.js";
import type {
  ApiToken,
  AuditEntry,
  Company,
  Job,
  NewUser,
  OneTimeToken,
  OneTimeTokenKind,
  Session,
  User,
  UserPatch,
  UserRole,
} from "./ports.js";

/**
 * Tenancy rows as both SQL backends store them (src/store/migrations.ts, migration 5), their mapping
 * to the port's types, and the checks both backends make before writing. Error messages never quote
 * an e-mail, phone or address: they may end up in logs.
 */
export interface CompanyRow {
  id: string;
  name: string;
  postal_address: string;
  created_at: number;
  updated_at: number;
}

export interface UserRow {
  id: string;
  company_id: string | null;
  role: UserRole;
  email: string;
  email_key: string;
  phone: string | null;
  postal_address: string | null;
  password_hash: string | null;
  failed_logins: number;
  locked_until: number | null;
  created_at: number;
  updated_at: number;
}

export interface SessionRow {
  hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
}

export interface ApiTokenRow {
  id: string;
  hash: string;
  user_id: string;
  name: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface OneTimeTokenRow {
  hash: string;
  kind: OneTimeTokenKind;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface ContractRow {
  company_id: string;
  id: string;
  contract: string;
  ends_at: number | null;
}

export interface AuditRow {
  id: number;
  ts: number;
  actor: string;
  event: string;
  target_type: string | null;
  target_id: string | null;
  company_id: string | null;
}

export interface JobRow {
  key: string;
  kind: string;
  run_at: number;
  payload: string;
  attempts: number;
  lease_until: number | null;
}

/** Audit listings are capped at this many rows unless the filter says otherwise. */
export const DEFAULT_AUDIT_LIMIT = 500;

const OPERATOR_ROLES: readonly UserRole[] = ["operatorAdmin", "serviceTechnician"];
const COMPANY_ROLES: readonly UserRole[] = ["companyAdmin", "companyUser"];
const ONE_TIME_KINDS: readonly OneTimeTokenKind[] = ["invitation", "passwordReset"];
const MAX_EMAIL = 254;

export function companyFromRow(r: CompanyRow): Company {
  return {
    id: r.id,
    name: r.name,
    postalAddress: r.postal_address,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function userFromRow(r: UserRow): User {
  return {
    id: r.id,
    companyId: r.company_id,
    role: r.role,
    email: r.email,
    phone: r.phone,
    postalAddress: r.postal_address,
    passwordHash: r.password_hash,
    failedLogins: r.failed_logins,
    lockedUntil: r.locked_until,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function sessionFromRow(r: SessionRow): Session {
  return {
    hash: r.hash,
    userId: r.user_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastSeenAt: r.last_seen_at,
  };
}

export function apiTokenFromRow(r: ApiTokenRow): ApiToken {
  return {
    id: r.id,
    hash: r.hash,
    userId: r.user_id,
    name: r.name,
    scopes: JSON.parse(r.scopes) as string[],
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

export function oneTimeTokenFromRow(r: OneTimeTokenRow): OneTimeToken {
  return {
    hash: r.hash,
    kind: r.kind,
    userId: r.user_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
  };
}

export function contractFromRow(r: ContractRow): Contract {
  return JSON.parse(r.contract) as Contract;
}

export function auditFromRow(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    ts: r.ts,
    actor: r.actor,
    event: r.event,
    targetType: r.target_type,
    targetId: r.target_id,
    companyId: r.company_id,
  };
}

export function jobFromRow(r: JobRow): Job {
  return {
    key: r.key,
    kind: r.kind,
    runAt: r.run_at,
    payload: JSON.parse(r.payload) as unknown,
    attempts: r.attempts,
    leaseUntil: r.lease_until,
  };
}

/** Jobs by runAt, then key (RETURNING gives no order). */
export function byRunAt(a: Job, b: Job): number {
  return a.runAt - b.runAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** What e-mail uniqueness compares: the address in lower case (NFC), the same on every backend. */
export function emailKey(email: string): string {
  return email.normalize("NFC").toLowerCase();
}

/** A plausible address: one "@" with something on both sides, no whitespace, at most 254 characters. */
function checkEmail(email: string): void {
  if (
    typeof email !== "string" ||
    email.length > MAX_EMAIL ||
    /\s/.test(email) ||
    !/^[^@]+@[^@]+$/.test(email)
  ) {
    throw new PumpwatchError(
      "BAD_REQUEST",
      `the e-mail address is malformed: give one address like name@example.com (at most ${MAX_EMAIL} characters)`,
    );
  }
}

/** Operator staff (no company) have an operator role, users of a company a company role. */
function checkRole(companyId: string | null, role: UserRole): void {
  const allowed = companyId === null ? OPERATOR_ROLES : COMPANY_ROLES;
  if (!allowed.includes(role)) {
    throw new PumpwatchError(
      "BAD_REQUEST",
      `role ${String(role)} does not fit a user ${companyId === null ? "of the operator" : "of a company"}: ` +
        `use one of ${allowed.join(", ")}`,
    );
  }
}

export function checkName(what: string, name: string): void {
  if (typeof name !== "string" || name.trim() === "") {
    throw new PumpwatchError("BAD_REQUEST", `${what} needs a non-blank name`);
  }
}

export function checkKind(kind: OneTimeTokenKind): void {
  if (!ONE_TIME_KINDS.includes(kind)) {
    throw new PumpwatchError(
      "BAD_REQUEST",
      `one-time token kind must be one of ${ONE_TIME_KINDS.join(", ")}`,
    );
  }
}

/** Audit records hold ids and event types; an "@" means someone passed an e-mail address. */
export function checkAudit(e: Omit<AuditEntry, "id">): void {
  for (const v of [e.actor, e.event, e.targetType, e.targetId, e.companyId]) {
    if (typeof v === "string" && v.includes("@")) {
      throw new PumpwatchError(
        "BAD_REQUEST",
        "audit records hold ids and event types only: pass the user id, never an e-mail address",
      );
    }
  }
}

export function checkClaim(limit: number, leaseMs: number): void {
  if (!Number.isInteger(limit) || limit < 1 || !(leaseMs > 0)) {
    throw new PumpwatchError("BAD_REQUEST", "claim at least one job (limit ≥ 1) for a positive lease time");
  }
}

/** A new user row, checked. */
export function newUserRow(u: NewUser, now: number): UserRow {
  checkEmail(u.email);
  checkRole(u.companyId, u.role);
  return {
    id: u.id,
    company_id: u.companyId,
    role: u.role,
    email: u.email,
    email_key: emailKey(u.email),
    phone: u.phone ?? null,
    postal_address: u.postalAddress ?? null,
    password_hash: u.passwordHash ?? null,
    failed_logins: 0,
    locked_until: null,
    created_at: now,
    updated_at: now,
  };
}

/** The columns of a user row, in the order of `userValues`. */
export const USER_COLUMNS = [
  "id",
  "company_id",
  "role",
  "email",
  "email_key",
  "phone",
  "postal_address",
  "password_hash",
  "failed_logins",
  "locked_until",
  "created_at",
  "updated_at",
] as const;

export function userValues(r: UserRow): unknown[] {
  return USER_COLUMNS.map((c) => r[c]);
}

/** The current user with a patch applied (read in the same transaction), checked. */
export function patchUser(cur: User, patch: UserPatch, now: number): User {
  const next: User = { ...cur, updatedAt: now };
  if (patch.role !== undefined) next.role = patch.role;
  if (patch.phone !== undefined) next.phone = patch.phone;
  if (patch.postalAddress !== undefined) next.postalAddress = patch.postalAddress;
  if (patch.passwordHash !== undefined) next.passwordHash = patch.passwordHash;
  if (patch.failedLogins !== undefined) next.failedLogins = patch.failedLogins;
  if (patch.lockedUntil !== undefined) next.lockedUntil = patch.lockedUntil;
  checkRole(next.companyId, next.role);
  return next;
}

/** The columns `updateUser` writes, in the order of `userPatchValues`. */
export const USER_PATCH_COLUMNS = [
  "role",
  "phone",
  "postal_address",
  "password_hash",
  "failed_logins",
  "locked_until",
  "updated_at",
] as const;

export function userPatchValues(u: User): unknown[] {
  return [u.role, u.phone, u.postalAddress, u.passwordHash, u.failedLogins, u.lockedUntil, u.updatedAt];
}

export function userNotFound(id: string): PumpwatchError {
  return new PumpwatchError("NOT_FOUND", `user ${id} does not exist: check the id or list the users`);
}

export function companyNotFound(id: string): PumpwatchError {
  return new PumpwatchError("NOT_FOUND", `company ${id} does not exist: create it first`);
}

export function emailTaken(): PumpwatchError {
  return new PumpwatchError(
    "CONFLICT",
    "a user with this e-mail address already exists (compared ignoring case): use another address or reset the password",
  );
}

export function exists(what: string, id: string): PumpwatchError {
  return new PumpwatchError("CONFLICT", `${what} ${id} already exists: choose another id`);
}
