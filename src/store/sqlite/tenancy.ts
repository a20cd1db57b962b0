import { PumpwatchError } from "../../core/errors.js";
import type { Contract } from "../../tenancy/contract.js";
import type {
  ApiToken,
  AuditEntry,
  AuditFilter,
  Company,
  Job,
  NewUser,
  OneTimeToken,
  OneTimeTokenKind,
  Session,
  TenancyStore,
  User,
  UserPatch,
} from "../ports.js";
import {
  type ApiTokenRow,
  type AuditRow,
  apiTokenFromRow,
  auditFromRow,
  byRunAt,
  type CompanyRow,
  type ContractRow,
  checkAudit,
  checkClaim,
  checkKind,
  checkName,
  companyFromRow,
  companyNotFound,
  contractFromRow,
  DEFAULT_AUDIT_LIMIT,
  emailKey,
  emailTaken,
  exists,
  type JobRow,
  jobFromRow,
  newUserRow,
  type OneTimeTokenRow,
  oneTimeTokenFromRow,
  patchUser,
  type SessionRow,
  sessionFromRow,
  USER_COLUMNS,
  USER_PATCH_COLUMNS,
  type UserRow,
  userFromRow,
  userNotFound,
  userPatchValues,
  userValues,
} from "../tenancy-rows.js";
import { type Db, truncateWal } from "./db.js";

/**
 * Companies, users, sessions, tokens, contracts, audit log and scheduled jobs on SQLite. Each change
 * that reads before it writes is one IMMEDIATE transaction (one writer at a time, across processes);
 * one-time tokens are consumed by a single conditional UPDATE. Erasure relies on `secure_delete`
 * (src/store/sqlite/db.ts), which zeroes the freed bytes in the database file, and ends with a WAL
 * checkpoint that truncates the WAL, whose frames would otherwise still hold the deleted rows.
 */
export class SqliteTenancyStore implements TenancyStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async listCompanies(): Promise<Company[]> {
    const rows = this.#db.prepare("SELECT * FROM companies ORDER BY id").all() as CompanyRow[];
    return rows.map(companyFromRow);
  }

  async getCompany(id: string): Promise<Company | undefined> {
    const row = this.#db.prepare("SELECT * FROM companies WHERE id = ?").get(id) as CompanyRow | undefined;
    return row && companyFromRow(row);
  }

  async createCompany(c: Pick<Company, "id" | "name" | "postalAddress">, now: number): Promise<Company> {
    checkName("a company", c.name);
    const row = this.#db
      .prepare(
        `INSERT INTO companies (id, name, postal_address, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING RETURNING *`,
      )
      .get(c.id, c.name, c.postalAddress, now, now) as CompanyRow | undefined;
    if (!row) throw exists("company", c.id);
    return companyFromRow(row);
  }

  async updateCompany(
    id: string,
    patch: Partial<Pick<Company, "name" | "postalAddress">>,
    now: number,
  ): Promise<Company> {
    if (patch.name !== undefined) checkName("a company", patch.name);
    const row = this.#db
      .prepare(
        `UPDATE companies SET name = coalesce(?, name), postal_address = coalesce(?, postal_address),
         updated_at = ? WHERE id = ? RETURNING *`,
      )
      .get(patch.name ?? null, patch.postalAddress ?? null, now, id) as CompanyRow | undefined;
    if (!row) throw companyNotFound(id);
    return companyFromRow(row);
  }

  async createUser(u: NewUser, now: number): Promise<User> {
    const row = newUserRow(u, now);
    return this.#db
      .transaction(() => {
        if (
          u.companyId !== null &&
          !this.#db.prepare("SELECT 1 FROM companies WHERE id = ?").get(u.companyId)
        ) {
          throw companyNotFound(u.companyId);
        }
        if (this.#db.prepare("SELECT 1 FROM users WHERE id = ?").get(u.id)) throw exists("user", u.id);
        const created = this.#db
          .prepare(
            `INSERT INTO users (${USER_COLUMNS.join(", ")}) VALUES (${USER_COLUMNS.map(() => "?").join(", ")})
             ON CONFLICT DO NOTHING RETURNING *`,
          )
          .get(...userValues(row)) as UserRow | undefined;
        if (!created) throw emailTaken();
        return userFromRow(created);
      })
      .immediate();
  }

  async getUser(id: string): Promise<User | undefined> {
    const row = this.#db.prepare("SELECT * FROM users WHERE id = ?").get(id) as UserRow | undefined;
    return row && userFromRow(row);
  }

  async getUserByEmail(email: string): Promise<User | undefined> {
    const row = this.#db.prepare("SELECT * FROM users WHERE email_key = ?").get(emailKey(email)) as
      | UserRow
      | undefined;
    return row && userFromRow(row);
  }

  async listUsers(companyId: string | null): Promise<User[]> {
    const rows = (
      companyId === null
        ? this.#db.prepare("SELECT * FROM users WHERE company_id IS NULL ORDER BY id").all()
        : this.#db.prepare("SELECT * FROM users WHERE company_id = ? ORDER BY id").all(companyId)
    ) as UserRow[];
    return rows.map(userFromRow);
  }

  async updateUser(id: string, patch: UserPatch, now: number): Promise<User> {
    return this.#db
      .transaction(() => {
        const cur = this.#db.prepare("SELECT * FROM users WHERE id = ?").get(id) as UserRow | undefined;
        if (!cur) throw userNotFound(id);
        const next = patchUser(userFromRow(cur), patch, now);
        const row = this.#db
          .prepare(
            `UPDATE users SET ${USER_PATCH_COLUMNS.map((c) => `${c} = ?`).join(", ")} WHERE id = ? RETURNING *`,
          )
          .get(...userPatchValues(next), id) as UserRow;
        return userFromRow(row);
      })
      .immediate();
  }

  async deleteUser(id: string): Promise<boolean> {
    const n = this.#db.transaction(() => this.#deleteUsers("id = ?", id)).immediate();
    truncateWal(this.#db);
    return n > 0;
  }

  async deleteCompanyUsers(companyId: string): Promise<number> {
    const n = this.#db.transaction(() => this.#deleteUsers("company_id = ?", companyId)).immediate();
    truncateWal(this.#db);
    return n;
  }

  async createSession(s: Session): Promise<Session> {
    return this.#db
      .transaction(() => {
        this.#userExists(s.userId);
        const row = this.#db
          .prepare(
            `INSERT INTO sessions (hash, user_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING RETURNING *`,
          )
          .get(s.hash, s.userId, s.createdAt, s.expiresAt, s.lastSeenAt) as SessionRow | undefined;
        if (!row)
          throw new PumpwatchError("CONFLICT", "a session with this token hash exists: make a new token");
        return sessionFromRow(row);
      })
      .immediate();
  }

  async getSessionByHash(hash: string, now: number): Promise<Session | undefined> {
    const row = this.#db.prepare("SELECT * FROM sessions WHERE hash = ? AND expires_at > ?").get(hash, now) as
      | SessionRow
      | undefined;
    return row && sessionFromRow(row);
  }

  async touchSession(hash: string, now: number, expiresAt?: number): Promise<boolean> {
    const r = this.#db
      .prepare(
        `UPDATE sessions SET last_seen_at = ?, expires_at = coalesce(?, expires_at)
         WHERE hash = ? AND expires_at > ?`,
      )
      .run(now, expiresAt ?? null, hash, now);
    return r.changes > 0;
  }

  async revokeSession(hash: string): Promise<boolean> {
    return this.#db.prepare("DELETE FROM sessions WHERE hash = ?").run(hash).changes > 0;
  }

  async listSessions(userId: string, now: number): Promise<Session[]> {
    const rows = this.#db
      .prepare("SELECT * FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, hash")
      .all(userId, now) as SessionRow[];
    return rows.map(sessionFromRow);
  }

  async revokeUserSessions(userId: string): Promise<number> {
    return this.#db.prepare("DELETE FROM sessions WHERE user_id = ?").run(userId).changes;
  }

  async createApiToken(t: Omit<ApiToken, "revokedAt">): Promise<ApiToken> {
    checkName("an API token", t.name);
    return this.#db
      .transaction(() => {
        this.#userExists(t.userId);
        const row = this.#db
          .prepare(
            `INSERT INTO api_tokens (id, hash, user_id, name, scopes, created_at, expires_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING RETURNING *`,
          )
          .get(t.id, t.hash, t.userId, t.name, JSON.stringify(t.scopes), t.createdAt, t.expiresAt) as
          | ApiTokenRow
          | undefined;
        if (!row) throw exists("API token", t.id);
        return apiTokenFromRow(row);
      })
      .immediate();
  }

  async getApiTokenByHash(hash: string, now: number): Promise<ApiToken | undefined> {
    const row = this.#db
      .prepare(
        `SELECT * FROM api_tokens WHERE hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`,
      )
      .get(hash, now) as ApiTokenRow | undefined;
    return row && apiTokenFromRow(row);
  }

  async listApiTokens(userId: string): Promise<ApiToken[]> {
    const rows = this.#db
      .prepare("SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id")
      .all(userId) as ApiTokenRow[];
    return rows.map(apiTokenFromRow);
  }

  async revokeApiToken(id: string, now: number): Promise<ApiToken> {
    const row = this.#db
      .prepare("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING *")
      .get(now, id) as ApiTokenRow | undefined;
    if (!row) throw new PumpwatchError("NOT_FOUND", `API token ${id} does not exist: list the user's tokens`);
    return apiTokenFromRow(row);
  }

  async createOneTimeToken(t: Omit<OneTimeToken, "usedAt">): Promise<OneTimeToken> {
    checkKind(t.kind);
    return this.#db
      .transaction(() => {
        this.#userExists(t.userId);
        const row = this.#db
          .prepare(
            `INSERT INTO one_time_tokens (hash, kind, user_id, created_at, expires_at, used_at)
             VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING RETURNING *`,
          )
          .get(t.hash, t.kind, t.userId, t.createdAt, t.expiresAt) as OneTimeTokenRow | undefined;
        if (!row)
          throw new PumpwatchError("CONFLICT", "a one-time token with this hash exists: make a new token");
        return oneTimeTokenFromRow(row);
      })
      .immediate();
  }

  async consumeOneTimeToken(
    hash: string,
    kind: OneTimeTokenKind,
    now: number,
  ): Promise<OneTimeToken | undefined> {
    // One statement: the writer lock makes the check and the mark one step.
    const row = this.#db
      .prepare(
        `UPDATE one_time_tokens SET used_at = ?
         WHERE hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ? RETURNING *`,
      )
      .get(now, hash, kind, now) as OneTimeTokenRow | undefined;
    return row && oneTimeTokenFromRow(row);
  }

  async deleteOneTimeTokens(userId: string, kind?: OneTimeTokenKind): Promise<number> {
    return this.#db
      .prepare("DELETE FROM one_time_tokens WHERE user_id = ? AND (? IS NULL OR kind = ?)")
      .run(userId, kind ?? null, kind ?? null).changes;
  }

  async purgeExpired(now: number): Promise<number> {
    return this.#db
      .transaction(() => {
        const s = this.#db.prepare("DELETE FROM sessions WHERE expires_at <= ?").run(now).changes;
        const o = this.#db.prepare("DELETE FROM one_time_tokens WHERE expires_at <= ?").run(now).changes;
        return s + o;
      })
      .immediate();
  }

  async getContract(companyId: string): Promise<Contract | undefined> {
    const row = this.#db.prepare("SELECT * FROM contracts WHERE company_id = ?").get(companyId) as
      | ContractRow
      | undefined;
    return row && contractFromRow(row);
  }

  async putContract(contract: Contract, endsAt: number | null): Promise<void> {
    this.#db
      .transaction(() => {
        if (!this.#db.prepare("SELECT 1 FROM companies WHERE id = ?").get(contract.companyId)) {
          throw companyNotFound(contract.companyId);
        }
        const other = this.#db
          .prepare("SELECT company_id FROM contracts WHERE id = ? AND company_id <> ?")
          .get(contract.id, contract.companyId);
        if (other) throw exists("contract", contract.id);
        this.#db
          .prepare(
            `INSERT INTO contracts (company_id, id, contract, ends_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (company_id) DO UPDATE SET id = excluded.id, contract = excluded.contract,
             ends_at = excluded.ends_at`,
          )
          .run(contract.companyId, contract.id, JSON.stringify(contract), endsAt);
      })
      .immediate();
  }

  async listContractsEnding(until: number): Promise<{ contract: Contract; endsAt: number }[]> {
    const rows = this.#db
      .prepare("SELECT * FROM contracts WHERE ends_at <= ? ORDER BY ends_at, company_id")
      .all(until) as ContractRow[];
    return rows.map((r) => ({ contract: contractFromRow(r), endsAt: r.ends_at! }));
  }

  async appendAudit(e: Omit<AuditEntry, "id">): Promise<AuditEntry> {
    checkAudit(e);
    const row = this.#db
      .prepare(
        `INSERT INTO audit_log (ts, actor, event, target_type, target_id, company_id) VALUES (?, ?, ?, ?, ?, ?)
         RETURNING *`,
      )
      .get(e.ts, e.actor, e.event, e.targetType, e.targetId, e.companyId) as AuditRow;
    return auditFromRow(row);
  }

  async listAudit(f: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.companyId !== undefined) {
      where.push("company_id = ?");
      args.push(f.companyId);
    }
    if (f.since !== undefined) {
      where.push("ts >= ?");
      args.push(f.since);
    }
    args.push(f.limit ?? DEFAULT_AUDIT_LIMIT);
    const rows = this.#db
      .prepare(
        `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY ts DESC, id DESC LIMIT ?`,
      )
      .all(...args) as AuditRow[];
    return rows.map(auditFromRow);
  }

  async scheduleJob(j: Pick<Job, "key" | "runAt" | "kind" | "payload">): Promise<Job> {
    const row = this.#db
      .prepare(
        `INSERT INTO jobs (key, kind, run_at, payload, attempts, lease_until) VALUES (?, ?, ?, ?, 0, NULL)
         ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, run_at = excluded.run_at, payload = excluded.payload
         RETURNING *`,
      )
      .get(j.key, j.kind, j.runAt, JSON.stringify(j.payload ?? null)) as JobRow;
    return jobFromRow(row);
  }

  async claimDueJobs(now: number, limit: number, leaseMs: number): Promise<Job[]> {
    checkClaim(limit, leaseMs);
    const rows = this.#db
      .prepare(
        `UPDATE jobs SET lease_until = ?, attempts = attempts + 1
         WHERE key IN (SELECT key FROM jobs WHERE run_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
                       ORDER BY run_at, key LIMIT ?)
         RETURNING *`,
      )
      .all(now + leaseMs, now, now, limit) as JobRow[];
    return rows.map(jobFromRow).sort(byRunAt);
  }

  async completeJob(key: string): Promise<boolean> {
    return this.#db.prepare("DELETE FROM jobs WHERE key = ?").run(key).changes > 0;
  }

  async listJobs(): Promise<Job[]> {
    const rows = this.#db.prepare("SELECT * FROM jobs ORDER BY run_at, key").all() as JobRow[];
    return rows.map(jobFromRow);
  }

  /** Deletes the users matching `where` and everything that references them; returns how many users. */
  #deleteUsers(where: string, arg: string): number {
    const users = `SELECT id FROM users WHERE ${where}`;
    for (const table of ["sessions", "api_tokens", "one_time_tokens"]) {
      this.#db.prepare(`DELETE FROM ${table} WHERE user_id IN (${users})`).run(arg);
    }
    return this.#db.prepare(`DELETE FROM users WHERE ${where}`).run(arg).changes;
  }

  #userExists(id: string): void {
    if (!this.#db.prepare("SELECT 1 FROM users WHERE id = ?").get(id)) throw userNotFound(id);
  }
}
