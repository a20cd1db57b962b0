/**
 * Termination takes effect by itself (issue 6, item 6): a durable scheduler on the TenancyStore's jobs.
 *
 * - Giving notice stores the contract with its end and schedules `terminate:<companyId>` at that end
 *   (an upsert: a replacing notice moves the job). Withdrawing the notice cancels the job.
 * - `terminate` (at the end): erases every user of the company (rows deleted with their sessions,
 *   API tokens and one-time tokens), disables the company's devices and DPS enrollments (so no box
 *   registers into an ended contract) and tells `onDevicesDisabled` so
 *   live connections are closed at once, schedules `purge:<companyId>` after the export grace period
 *   and appends `contract.terminated` to the audit log.
 * - `purge` (after the grace period): drops the company's telemetry (with rollups and quarantine),
 *   analytics and device records, and appends `company.purged`.
 *
 * All state is in the store, so a restart loses nothing: the next poll claims what is due. Every job
 * re-reads the contract and is idempotent — a job run twice (a crash before `completeJob`, a lease
 * that ran out) does the same thing again, which changes nothing, and the audit entry is only written
 * once. A failed job stays leased and is handed out again when its lease ends; the timer never throws.
 * The audit log holds ids, event types and times only; the counts of a run go to the log.
 */
import { randomBytes } from "node:crypto";
import { PumpwatchError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { AnalyticsStore, Job, RegistryStore, TelemetryStore, TenancyStore } from "../store/ports.js";
import {
  assertCalendarDate,
  assertTimeZone,
  type Contract,
  type ContractStatus,
  DEFAULT_TIME_ZONE,
  type EffectiveEnd,
  effectiveEnd,
  type GiveNoticeInput,
  giveNotice,
  type NoticeParty,
  statusAt,
  validateTerms,
  withdrawNotice,
} from "./contract.js";

export interface TerminationServiceOptions {
  tenancy: TenancyStore;
  registry: RegistryStore;
  telemetry: TelemetryStore;
  analytics: AnalyticsStore;
  /** Called with the ids of the devices a termination disabled: drop their caches and connections. */
  onDevicesDisabled(deviceIds: readonly string[]): Promise<void> | void;
  /** How long the company's data are kept for export after the contract ended. */
  exportGraceMs: number;
  log: Logger;
  /** How often due jobs are looked for (default 60 s). */
  pollMs?: number;
  /** How long a claimed job is reserved for this process before it is handed out again (default 10 min). */
  leaseMs?: number;
  /** Jobs claimed at once (default 20). */
  batchSize?: number;
  now?: () => number;
}

export interface NewContractInput {
  /** First day, local `YYYY-MM-DD`. */
  start: string;
  /** IANA zone; default Europe/Berlin. */
  timeZone?: string | undefined;
  /** Notice terms; default one month to the end of a calendar month. */
  terms?: unknown;
}

export interface NoticeInput {
  /** When the notice was received, epoch ms; default now. */
  receivedAt?: number | undefined;
  by: NoticeParty;
  extraordinary?: boolean | undefined;
  reason?: string | undefined;
}

/** A contract as the API shows it: with its status at `now` and when it ends (null: no notice). */
export interface ContractView extends Contract {
  status: ContractStatus;
  lastDay: string | null;
  endsAt: number | null;
}

export type JobResult =
  | "terminated"
  | "purged"
  /** The notice was withdrawn or the company has a new contract: nothing to do. */
  | "cancelled"
  /** The notice now ends later than the job was due (it was replaced): moved to the new end. */
  | "rescheduled"
  | "failed";

export interface JobOutcome {
  key: string;
  kind: string;
  result: JobResult;
  /** What a run changed (users erased, devices disabled, rows purged); never personal data. */
  counts?: Record<string, number>;
}

const ACTOR_SYSTEM = "system";
const ACTOR_OPERATOR = "operator";
const TERMINATE = "terminate";
const PURGE = "purge";

export const terminateKey = (companyId: string) => `${TERMINATE}:${companyId}`;
export const purgeKey = (companyId: string) => `${PURGE}:${companyId}`;

interface JobPayload {
  companyId: string;
  contractId: string;
}

function payloadOf(job: Job): JobPayload {
  const p = job.payload as Partial<JobPayload> | null;
  if (typeof p?.companyId !== "string" || typeof p.contractId !== "string") {
    throw new Error(`job ${job.key} has no companyId/contractId in its payload`);
  }
  return { companyId: p.companyId, contractId: p.contractId };
}

/** Only the numeric fields of a store's count object. */
function numbers(prefix: string, value: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "number") out[`${prefix}.${k}`] = v;
  return out;
}

function bad(message: string): PumpwatchError {
  return new PumpwatchError("BAD_REQUEST", message);
}

export class TerminationService {
  readonly #o: TerminationServiceOptions;
  readonly #now: () => number;
  readonly #leaseMs: number;
  readonly #batch: number;
  /** Serialises read-modify-write of one company's contract within this process. */
  readonly #locks = new Map<string, Promise<unknown>>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<JobOutcome[]> | null = null;
  #closed = false;

  constructor(o: TerminationServiceOptions) {
    if (!Number.isFinite(o.exportGraceMs) || o.exportGraceMs < 0) {
      throw new Error(`exportGraceMs must be ≥ 0, got ${o.exportGraceMs}`);
    }
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#leaseMs = o.leaseMs ?? 10 * 60_000;
    this.#batch = o.batchSize ?? 20;
  }

  /** Polls for due jobs every `pollMs` (and once right away). */
  start(): void {
    if (this.#timer) return;
    this.#closed = false;
    this.#timer = setInterval(() => this.#tick(), this.#o.pollMs ?? 60_000);
    this.#timer.unref();
    this.#tick();
  }

  /** Stops the timer and waits for a run in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
  }

  #tick(): void {
    if (this.#closed) return;
    this.runDue().catch((err: unknown) => this.#o.log.error({ err }, "termination: polling jobs failed"));
  }

  // -------------------------------------------------------------------------------------------
  // Contracts

  async getContract(companyId: string): Promise<ContractView> {
    await this.#company(companyId);
    return this.#view(await this.#contract(companyId));
  }

  /**
   * Concludes the company's contract. An existing contract without notice is replaced (corrections of
   * start, zone or terms keep its id); one with a pending notice is a CONFLICT (withdraw it first); after
   * a termination a new contract (new id) is concluded and the pending purge is cancelled — the data
   * kept for export stay with the returning customer (users and devices stay erased/disabled).
   */
  async createContract(
    companyId: string,
    input: NewContractInput,
    actor = ACTOR_OPERATOR,
  ): Promise<ContractView> {
    return this.#locked(companyId, async () => {
      await this.#company(companyId);
      if (typeof input !== "object" || input === null) {
        throw bad('send {"start": "YYYY-MM-DD", "timeZone"?: "Europe/Berlin", "terms"?: {…}}');
      }
      const start = input.start;
      assertCalendarDate(start, `"start" (the contract's first day)`);
      const timeZone = input.timeZone ?? DEFAULT_TIME_ZONE;
      assertTimeZone(timeZone);
      const terms = validateTerms(input.terms);
      const now = this.#now();
      // Proves that the terms work with this start (e.g. contractYearEnd, minimum term).
      effectiveEnd(terms, now, timeZone, { contractStart: start });

      const existing = await this.#o.tenancy.getContract(companyId);
      const status = existing && statusAt(existing, now);
      if (existing && status === "noticeGiven") {
        throw new PumpwatchError(
          "CONFLICT",
          `the contract of ${companyId} is under notice (ends ${existing.notice?.lastDay}); withdraw the ` +
            `notice first (DELETE /api/companies/${companyId}/contract/notice)`,
        );
      }
      const id = existing && status === "active" ? existing.id : `ctr_${randomBytes(8).toString("hex")}`;
      const contract: Contract = { id, companyId, start, timeZone, terms, notice: null };
      await this.#o.tenancy.putContract(contract, null);
      if (status === "terminated") await this.#o.tenancy.completeJob(purgeKey(companyId));
      await this.#audit(now, actor, "contract.created", contract);
      return this.#view(contract, now);
    });
  }

  /** What a notice would do, without storing it: the dashboard shows the effective end before confirming. */
  async previewNotice(companyId: string, input: NoticeInput): Promise<EffectiveEnd & { lastDay: string }> {
    const now = this.#now();
    const noticed = giveNotice(await this.#contract(companyId), this.#noticeInput(input, now), now);
    const notice = noticed.notice!;
    return { lastDay: notice.lastDay, endsAt: notice.endsAt };
  }

  /** Records a notice, stores the contract with its end and schedules the termination at that end. */
  async giveNotice(companyId: string, input: NoticeInput, actor = ACTOR_OPERATOR): Promise<ContractView> {
    return this.#locked(companyId, async () => {
      const now = this.#now();
      const noticed = giveNotice(await this.#contract(companyId), this.#noticeInput(input, now), now);
      const notice = noticed.notice!;
      await this.#o.tenancy.putContract(noticed, notice.endsAt);
      await this.#o.tenancy.scheduleJob({
        key: terminateKey(companyId),
        kind: TERMINATE,
        runAt: notice.endsAt,
        payload: { companyId, contractId: noticed.id } satisfies JobPayload,
      });
      await this.#audit(now, actor, "contract.notice", noticed);
      // Extraordinary notice: effective now, so do not wait for the next poll.
      if (notice.endsAt <= now && this.#timer) setImmediate(() => this.#tick());
      return this.#view(noticed, now);
    });
  }

  /** Withdraws a pending notice (the parties agreed to continue) and cancels the termination. */
  async withdrawNotice(companyId: string, actor = ACTOR_OPERATOR): Promise<ContractView> {
    return this.#locked(companyId, async () => {
      const now = this.#now();
      const active = withdrawNotice(await this.#contract(companyId), now);
      await this.#o.tenancy.putContract(active, null);
      // A run that already claimed the job re-reads the contract and finds no notice.
      await this.#o.tenancy.completeJob(terminateKey(companyId));
      await this.#audit(now, actor, "contract.notice.withdrawn", active);
      return this.#view(active, now);
    });
  }

  // -------------------------------------------------------------------------------------------
  // The scheduler

  /** Claims the due jobs and runs them; a run already in progress is joined, not doubled. */
  runDue(): Promise<JobOutcome[]> {
    if (this.#running) return this.#running;
    const run = this.#runDue().finally(() => {
      this.#running = null;
    });
    this.#running = run;
    return run;
  }

  async #runDue(): Promise<JobOutcome[]> {
    const outcomes: JobOutcome[] = [];
    for (;;) {
      const jobs = await this.#o.tenancy.claimDueJobs(this.#now(), this.#batch, this.#leaseMs);
      for (const job of jobs) outcomes.push(await this.#runJob(job));
      // Failed jobs stay leased, so the next claim only sees jobs not yet tried in this run.
      if (jobs.length < this.#batch || this.#closed) return outcomes;
    }
  }

  async #runJob(job: Job): Promise<JobOutcome> {
    try {
      const { result, counts } =
        job.kind === TERMINATE
          ? await this.#terminate(job)
          : job.kind === PURGE
            ? await this.#purge(job)
            : { result: "cancelled" as const, counts: undefined };
      if (job.kind !== TERMINATE && job.kind !== PURGE) {
        this.#o.log.warn({ job: job.key, kind: job.kind }, "termination: unknown job kind dropped");
      }
      if (result !== "rescheduled") await this.#o.tenancy.completeJob(job.key);
      this.#o.log.info({ job: job.key, result, counts, attempts: job.attempts }, "termination job done");
      return counts
        ? { key: job.key, kind: job.kind, result, counts }
        : { key: job.key, kind: job.kind, result };
    } catch (err) {
      this.#o.log.error(
        { err, job: job.key, attempts: job.attempts, retryInMs: this.#leaseMs },
        "termination job failed; retried when its lease ends",
      );
      return { key: job.key, kind: job.kind, result: "failed" };
    }
  }

  async #terminate(job: Job): Promise<{ result: JobResult; counts?: Record<string, number> }> {
    const { companyId } = payloadOf(job);
    const now = this.#now();
    const contract = await this.#o.tenancy.getContract(companyId);
    const notice = contract?.notice;
    if (!contract || !notice) return { result: "cancelled" };
    if (statusAt(contract, now) !== "terminated") {
      // The notice was replaced by one ending at another time: run then (the lease is kept meanwhile).
      await this.#o.tenancy.scheduleJob({
        key: job.key,
        kind: TERMINATE,
        runAt: notice.endsAt,
        payload: { companyId, contractId: contract.id } satisfies JobPayload,
      });
      return { result: "rescheduled" };
    }

    const users = await this.#o.tenancy.deleteCompanyUsers(companyId);
    const devices = (await this.#o.registry.listDevices()).filter((d) => d.companyId === companyId);
    let disabled = 0;
    for (const d of devices) {
      if (!d.enabled) continue;
      await this.#o.registry.updateDevice(d.id, { enabled: false });
      disabled++;
    }
    // The company's enrollments too: DPS would otherwise keep registering its boxes, and a group
    // enrollment would create new, enabled devices for a company whose contract has ended.
    for (const e of await this.#o.registry.listEnrollments()) {
      if (e.companyId === companyId && e.enabled)
        await this.#o.registry.updateEnrollment(e.kind, e.id, { enabled: false });
    }
    // Also on a repeated run: revalidating a disabled device again is harmless.
    if (devices.length > 0) await this.#o.onDevicesDisabled(devices.map((d) => d.id));
    // Before the audit and completion, so that a crash in between never loses the purge.
    await this.#o.tenancy.scheduleJob({
      key: purgeKey(companyId),
      kind: PURGE,
      runAt: notice.endsAt + this.#o.exportGraceMs,
      payload: { companyId, contractId: contract.id } satisfies JobPayload,
    });
    await this.#auditOnce(now, "contract.terminated", contract, notice.recordedAt);
    return { result: "terminated", counts: { usersErased: users, devicesDisabled: disabled } };
  }

  async #purge(job: Job): Promise<{ result: JobResult; counts?: Record<string, number> }> {
    const { companyId, contractId } = payloadOf(job);
    const now = this.#now();
    const contract = await this.#o.tenancy.getContract(companyId);
    if (!contract || contract.id !== contractId || statusAt(contract, now) !== "terminated") {
      return { result: "cancelled" }; // a new contract was concluded in the grace period
    }
    // Only devices still assigned to the company: one moved to another company in the meantime stays.
    // The registry rows go last, so an interrupted run finds the same devices again.
    const ids = (await this.#o.registry.listDevices())
      .filter((d) => d.companyId === companyId)
      .map((d) => d.id);
    let counts: Record<string, number> = { devices: ids.length };
    if (ids.length > 0) {
      counts = {
        ...counts,
        ...numbers("telemetry", await this.#o.telemetry.purgeDevices(ids)),
        ...numbers("analytics", await this.#o.analytics.purgeDevices(ids)),
        "registry.devices": await this.#o.registry.deleteDevices(ids),
      };
    }
    await this.#auditOnce(now, "company.purged", contract, contract.notice?.recordedAt ?? 0, "company");
    return { result: "purged", counts };
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  async #locked<T>(companyId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(companyId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.#locks.set(companyId, next);
    try {
      return await next;
    } finally {
      if (this.#locks.get(companyId) === next) this.#locks.delete(companyId);
    }
  }

  async #company(companyId: string): Promise<void> {
    if (!(await this.#o.tenancy.getCompany(companyId))) {
      throw new PumpwatchError(
        "NOT_FOUND",
        `no company '${companyId}'; create it first with POST /api/companies`,
      );
    }
  }

  async #contract(companyId: string): Promise<Contract> {
    const contract = await this.#o.tenancy.getContract(companyId);
    if (!contract) {
      await this.#company(companyId);
      throw new PumpwatchError(
        "NOT_FOUND",
        `company '${companyId}' has no contract; conclude one with PUT /api/companies/${companyId}/contract`,
      );
    }
    return contract;
  }

  #noticeInput(input: NoticeInput, now: number): GiveNoticeInput {
    if (typeof input !== "object" || input === null) {
      throw bad('send {"by": "customer"|"operator", "receivedAt"?, "extraordinary"?, "reason"?}');
    }
    const out: GiveNoticeInput = { receivedAt: input.receivedAt ?? now, by: input.by };
    if (input.extraordinary !== undefined) out.extraordinary = input.extraordinary;
    if (input.reason !== undefined) out.reason = input.reason;
    return out;
  }

  #view(contract: Contract, now = this.#now()): ContractView {
    return {
      ...contract,
      status: statusAt(contract, now),
      lastDay: contract.notice?.lastDay ?? null,
      endsAt: contract.notice?.endsAt ?? null,
    };
  }

  async #audit(ts: number, actor: string, event: string, contract: Contract): Promise<void> {
    await this.#o.tenancy.appendAudit({
      ts,
      actor,
      event,
      targetType: "contract",
      targetId: contract.id,
      companyId: contract.companyId,
    });
  }

  /** Appends the event unless an earlier run of the same job already did (idempotence). */
  async #auditOnce(
    ts: number,
    event: string,
    contract: Contract,
    since: number,
    targetType: "contract" | "company" = "contract",
  ): Promise<void> {
    const targetId = targetType === "contract" ? contract.id : contract.companyId;
    const earlier = await this.#o.tenancy.listAudit({ companyId: contract.companyId, since, limit: 10_000 });
    if (earlier.some((e) => e.event === event && e.targetType === targetType && e.targetId === targetId))
      return;
    await this.#o.tenancy.appendAudit({
      ts,
      actor: ACTOR_SYSTEM,
      event,
      targetType,
      targetId,
      companyId: contract.companyId,
    });
  }
}
