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
import type { PgClient, PgDb } from "./pool.js";

const UNIQUE_VIOLATION = "23505";
const FOREIGN_KEY_VIOLATION = "23503";

const INSERT_USER = `INSERT INTO users (${USER_COLUMNS.join(", ")})
  VALUES (${USER_COLUMNS.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING *`;
const UPDATE_USER = `UPDATE users SET ${USER_PATCH_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(", ")}
  WHERE id = $${USER_PATCH_COLUMNS.length + 1} RETURNING *`;

/**
 * Companies, users, sessions, tokens, contracts, audit log and scheduled jobs on PostgreSQL. Unique
 * keys decide races (an id, an e-mail key, a token hash); a read-then-write locks the row `FOR UPDATE`.
 * One-time tokens are consumed by a single conditional UPDATE, which PostgreSQL re-checks on the locked
 * row, so of concurrent consumers exactly one gets it. Jobs are claimed with `FOR UPDATE SKIP LOCKED`.
 * Erasure deletes the rows; the bytes stay in the table files until VACUUM reuses them (docs/storage.md).
 */
export class PostgresTenancyStore implements TenancyStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async listCompanies(): Promise<Company[]> {
    const { rows } = await this.#db.query<CompanyRow>('SELECT * FROM companies ORDER BY id COLLATE "C"');
    return rows.map(companyFromRow);
  }

  async getCompany(id: string): Promise<Company | undefined> {
    const { rows } = await this.#db.query<CompanyRow>("SELECT * FROM companies WHERE id = $1", [id]);
    return rows[0] && companyFromRow(rows[0]);
  }

  async createCompany(c: Pick<Company, "id" | "name" | "postalAddress">, now: number): Promise<Company> {
    checkName("a company", c.name);
    const { rows } = await this.#db.query<CompanyRow>(
      `INSERT INTO companies (id, name, postal_address, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [c.id, c.name, c.postalAddress, now],
    );
    if (!rows[0]) throw exists("company", c.id);
    return companyFromRow(rows[0]);
  }

  async updateCompany(
    id: string,
    patch: Partial<Pick<Company, "name" | "postalAddress">>,
    now: number,
  ): Promise<Company> {
    if (patch.name !== undefined) checkName("a company", patch.name);
    const { rows } = await this.#db.query<CompanyRow>(
      `UPDATE companies SET name = coalesce($1, name), postal_address = coalesce($2, postal_address),
       updated_at = $3 WHERE id = $4 RETURNING *`,
      [patch.name ?? null, patch.postalAddress ?? null, now, id],
    );
    if (!rows[0]) throw companyNotFound(id);
    return companyFromRow(rows[0]);
  }

  async createUser(u: NewUser, now: number): Promise<User> {
    const row = newUserRow(u, now);
    try {
      const { rows } = await this.#db.query<UserRow>(INSERT_USER, userValues(row));
      return userFromRow(rows[0]!);
    } catch (err) {
      const e = err as { code?: string; constraint?: string };
      if (e.code === FOREIGN_KEY_VIOLATION && u.companyId !== null) throw companyNotFound(u.companyId);
      if (e.code === UNIQUE_VIOLATION) {
        throw e.constraint === "users_pkey" ? exists("user", u.id) : emailTaken();
      }
      throw err;
    }
  }

  async getUser(id: string): Promise<User | undefined> {
    const { rows } = await this.#db.query<UserRow>("SELECT * FROM users WHERE id = $1", [id]);
    return rows[0] && userFromRow(rows[0]);
  }

  async getUserByEmail(email: string): Promise<User | undefined> {
    const { rows } = await this.#db.query<UserRow>("SELECT * FROM users WHERE email_key = $1", [
      emailKey(email),
    ]);
    return rows[0] && userFromRow(rows[0]);
  }

  async listUsers(companyId: string | null): Promise<User[]> {
    const { rows } = await this.#db.query<UserRow>(
      `SELECT * FROM users WHERE company_id IS NOT DISTINCT FROM $1 ORDER BY id COLLATE "C"`,
      [companyId],
    );
    return rows.map(userFromRow);
  }

  async updateUser(id: string, patch: UserPatch, now: number): Promise<User> {
    return this.#db.tx(async (c) => {
      const { rows } = await c.query<UserRow>("SELECT * FROM users WHERE id = $1 FOR UPDATE", [id]);
      if (!rows[0]) throw userNotFound(id);
      const next = patchUser(userFromRow(rows[0]), patch, now);
      const updated = await c.query<UserRow>(UPDATE_USER, [...userPatchValues(next), id]);
      return userFromRow(updated.rows[0]!);
    });
  }

  async deleteUser(id: string): Promise<boolean> {
    return (await this.#db.tx((c) => deleteUsers(c, "id = $1", id))) > 0;
  }

  async deleteCompanyUsers(companyId: string): Promise<number> {
    return this.#db.tx((c) => deleteUsers(c, "company_id = $1", companyId));
  }

  async createSession(s: Session): Promise<Session> {
    try {
      const { rows } = await this.#db.query<SessionRow>(
        `INSERT INTO sessions (hash, user_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING *`,
        [s.hash, s.userId, s.createdAt, s.expiresAt, s.lastSeenAt],
      );
      return sessionFromRow(rows[0]!);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === FOREIGN_KEY_VIOLATION) throw userNotFound(s.userId);
      if (code === UNIQUE_VIOLATION) {
        throw new PumpwatchError("CONFLICT", "a session with this token hash exists: make a new token");
      }
      throw err;
    }
  }

  async getSessionByHash(hash: string, now: number): Promise<Session | undefined> {
    const { rows } = await this.#db.query<SessionRow>(
      "SELECT * FROM sessions WHERE hash = $1 AND expires_at > $2",
      [hash, now],
    );
    return rows[0] && sessionFromRow(rows[0]);
  }

  async touchSession(hash: string, now: number, expiresAt?: number): Promise<boolean> {
    const r = await this.#db.query(
      `UPDATE sessions SET last_seen_at = $1, expires_at = coalesce($2, expires_at)
       WHERE hash = $3 AND expires_at > $1`,
      [now, expiresAt ?? null, hash],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async revokeSession(hash: string): Promise<boolean> {
    const r = await this.#db.query("DELETE FROM sessions WHERE hash = $1", [hash]);
    return (r.rowCount ?? 0) > 0;
  }

  async listSessions(userId: string, now: number): Promise<Session[]> {
    const { rows } = await this.#db.query<SessionRow>(
      'SELECT * FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, hash COLLATE "C"',
      [userId, now],
    );
    return rows.map(sessionFromRow);
  }

  async revokeUserSessions(userId: string): Promise<number> {
    const r = await this.#db.query("DELETE FROM sessions WHERE user_id = $1", [userId]);
    return r.rowCount ?? 0;
  }

  async createApiToken(t: Omit<ApiToken, "revokedAt">): Promise<ApiToken> {
    checkName("an API token", t.name);
    try {
      const { rows } = await this.#db.query<ApiTokenRow>(
        `INSERT INTO api_tokens (id, hash, user_id, name, scopes, created_at, expires_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) RETURNING *`,
        [t.id, t.hash, t.userId, t.name, JSON.stringify(t.scopes), t.createdAt, t.expiresAt],
      );
      return apiTokenFromRow(rows[0]!);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === FOREIGN_KEY_VIOLATION) throw userNotFound(t.userId);
      if (code === UNIQUE_VIOLATION) throw exists("API token", t.id);
      throw err;
    }
  }

  async getApiTokenByHash(hash: string, now: number): Promise<ApiToken | undefined> {
    const { rows } = await this.#db.query<ApiTokenRow>(
      `SELECT * FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`,
      [hash, now],
    );
    return rows[0] && apiTokenFromRow(rows[0]);
  }

  async listApiTokens(userId: string): Promise<ApiToken[]> {
    const { rows } = await this.#db.query<ApiTokenRow>(
      'SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id COLLATE "C"',
      [userId],
    );
    return rows.map(apiTokenFromRow);
  }

  async revokeApiToken(id: string, now: number): Promise<ApiToken> {
    const { rows } = await this.#db.query<ApiTokenRow>(
      "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING *",
      [now, id],
    );
    if (!rows[0])
      throw new PumpwatchError("NOT_FOUND", `API token ${id} does not exist: list the user's tokens`);
    return apiTokenFromRow(rows[0]);
  }

  async createOneTimeToken(t: Omit<OneTimeToken, "usedAt">): Promise<OneTimeToken> {
    checkKind(t.kind);
    try {
      const { rows } = await this.#db.query<OneTimeTokenRow>(
        `INSERT INTO one_time_tokens (hash, kind, user_id, created_at, expires_at, used_at)
         VALUES ($1, $2, $3, $4, $5, NULL) RETURNING *`,
        [t.hash, t.kind, t.userId, t.createdAt, t.expiresAt],
      );
      return oneTimeTokenFromRow(rows[0]!);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === FOREIGN_KEY_VIOLATION) throw userNotFound(t.userId);
      if (code === UNIQUE_VIOLATION) {
        throw new PumpwatchError("CONFLICT", "a one-time token with this hash exists: make a new token");
      }
      throw err;
    }
  }

  async consumeOneTimeToken(
    hash: string,
    kind: OneTimeTokenKind,
    now: number,
  ): Promise<OneTimeToken | undefined> {
    // A concurrent consumer waits for the row lock, then re-evaluates `used_at IS NULL` on the new
    // row version (READ COMMITTED) and updates nothing.
    const { rows } = await this.#db.query<OneTimeTokenRow>(
      `UPDATE one_time_tokens SET used_at = $1
       WHERE hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1 RETURNING *`,
      [now, hash, kind],
    );
    return rows[0] && oneTimeTokenFromRow(rows[0]);
  }

  async deleteOneTimeTokens(userId: string, kind?: OneTimeTokenKind): Promise<number> {
    const r = await this.#db.query(
      "DELETE FROM one_time_tokens WHERE user_id = $1 AND ($2::text IS NULL OR kind = $2)",
      [userId, kind ?? null],
    );
    return r.rowCount ?? 0;
  }

  async purgeExpired(now: number): Promise<number> {
    return this.#db.tx(async (c) => {
      const s = await c.query("DELETE FROM sessions WHERE expires_at <= $1", [now]);
      const o = await c.query("DELETE FROM one_time_tokens WHERE expires_at <= $1", [now]);
      return (s.rowCount ?? 0) + (o.rowCount ?? 0);
    });
  }

  async getContract(companyId: string): Promise<Contract | undefined> {
    const { rows } = await this.#db.query<ContractRow>("SELECT * FROM contracts WHERE company_id = $1", [
      companyId,
    ]);
    return rows[0] && contractFromRow(rows[0]);
  }

  async putContract(contract: Contract, endsAt: number | null): Promise<void> {
    try {
      await this.#db.query(
        `INSERT INTO contracts (company_id, id, contract, ends_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (company_id) DO UPDATE SET id = excluded.id, contract = excluded.contract,
         ends_at = excluded.ends_at`,
        [contract.companyId, contract.id, JSON.stringify(contract), endsAt],
      );
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === FOREIGN_KEY_VIOLATION) throw companyNotFound(contract.companyId);
      if (code === UNIQUE_VIOLATION) throw exists("contract", contract.id);
      throw err;
    }
  }

  async listContractsEnding(until: number): Promise<{ contract: Contract; endsAt: number }[]> {
    const { rows } = await this.#db.query<ContractRow>(
      'SELECT * FROM contracts WHERE ends_at <= $1 ORDER BY ends_at, company_id COLLATE "C"',
      [until],
    );
    return rows.map((r) => ({ contract: contractFromRow(r), endsAt: r.ends_at! }));
  }

  async appendAudit(e: Omit<AuditEntry, "id">): Promise<AuditEntry> {
    checkAudit(e);
    const { rows } = await this.#db.query<AuditRow>(
      `INSERT INTO audit_log (ts, actor, event, target_type, target_id, company_id)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [e.ts, e.actor, e.event, e.targetType, e.targetId, e.companyId],
    );
    return auditFromRow(rows[0]!);
  }

  async listAudit(f: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (f.companyId !== undefined) where.push(`company_id = ${arg(f.companyId)}`);
    if (f.since !== undefined) where.push(`ts >= ${arg(f.since)}`);
    const { rows } = await this.#db.query<AuditRow>(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY ts DESC, id DESC LIMIT ${arg(f.limit ?? DEFAULT_AUDIT_LIMIT)}`,
      args,
    );
    return rows.map(auditFromRow);
  }

  async scheduleJob(j: Pick<Job, "key" | "runAt" | "kind" | "payload">): Promise<Job> {
    const { rows } = await this.#db.query<JobRow>(
      `INSERT INTO jobs (key, kind, run_at, payload, attempts, lease_until) VALUES ($1, $2, $3, $4, 0, NULL)
       ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, run_at = excluded.run_at, payload = excluded.payload
       RETURNING *`,
      [j.key, j.kind, j.runAt, JSON.stringify(j.payload ?? null)],
    );
    return jobFromRow(rows[0]!);
  }

  async claimDueJobs(now: number, limit: number, leaseMs: number): Promise<Job[]> {
    checkClaim(limit, leaseMs);
    // SKIP LOCKED: a job another transaction is claiming right now is passed over, not waited for;
    // once that one commits its lease makes the job not due.
    const { rows } = await this.#db.query<JobRow>(
      `UPDATE jobs SET lease_until = $1, attempts = attempts + 1
       WHERE key IN (SELECT key FROM jobs WHERE run_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
                     ORDER BY run_at, key COLLATE "C" LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [now + leaseMs, now, limit],
    );
    return rows.map(jobFromRow).sort(byRunAt);
  }

  async completeJob(key: string): Promise<boolean> {
    const r = await this.#db.query("DELETE FROM jobs WHERE key = $1", [key]);
    return (r.rowCount ?? 0) > 0;
  }

  async listJobs(): Promise<Job[]> {
    const { rows } = await this.#db.query<JobRow>('SELECT * FROM jobs ORDER BY run_at, key COLLATE "C"');
    return rows.map(jobFromRow);
  }
}

/** Deletes the users matching `where` and everything that references them; returns how many users. */
async function deleteUsers(c: PgClient, where: string, arg: string): Promise<number> {
  // Lock the users first, so a session created concurrently (its FK check locks the user row
  // FOR KEY SHARE) either commits before and is deleted here, or fails afterwards.
  const { rows } = await c.query<{ id: string }>(`SELECT id FROM users WHERE ${where} FOR UPDATE`, [arg]);
  if (rows.length === 0) return 0;
  const ids = rows.map((r) => r.id);
  for (const table of ["sessions", "api_tokens", "one_time_tokens"]) {
    await c.query(`DELETE FROM ${table} WHERE user_id = ANY($1::text[])`, [ids]);
  }
  const r = await c.query("DELETE FROM users WHERE id = ANY($1::text[])", [ids]);
  return r.rowCount ?? 0;
}
