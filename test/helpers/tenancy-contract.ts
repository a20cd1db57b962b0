import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { PumpwatchError } from "../../src/core/errors.js";
import type { Stores, TenancyStore } from "../../src/store/ports.js";
import type { Contract } from "../../src/tenancy/contract.js";
import { notificationCases } from "./notification-contract.js";

/** Two separately opened stores on one fresh database (two connections or pools); `close` closes both. */
export interface TenancyPair {
  a: TenancyStore;
  b: TenancyStore;
  close(): Promise<void>;
}

const T = Date.parse("2026-03-01T00:00:00Z");
const H = 3_600_000;
const isCode = (code: string) => (e: unknown) => e instanceof PumpwatchError && e.code === code;
const hash = () => randomBytes(32).toString("hex");

/**
 * The tenancy store contract (TenancyStore in src/store/ports.ts): every backend must pass it.
 * `open` returns fresh, empty stores; `openPair` two stores on one fresh database.
 */
export function tenancyContract(
  name: string,
  open: () => Promise<Stores>,
  openPair: () => Promise<TenancyPair>,
): void {
  describe(`tenancy store contract: ${name}`, () => {
    let stores: Stores;
    let store: TenancyStore;
    before(async () => {
      stores = await open();
      store = stores.tenancy;
    });
    after(async () => {
      await stores.close();
    });

    it("creates, reads, lists and updates companies", async () => {
      const c = await store.createCompany(
        { id: "acme", name: "ACME GmbH", postalAddress: "Hauptstr. 1\n10115 Berlin" },
        T,
      );
      assert.deepEqual(c, {
        id: "acme",
        name: "ACME GmbH",
        postalAddress: "Hauptstr. 1\n10115 Berlin",
        createdAt: T,
        updatedAt: T,
      });
      await store.createCompany({ id: "beta", name: "Beta AG", postalAddress: "Ring 2" }, T);
      await assert.rejects(
        store.createCompany({ id: "acme", name: "x", postalAddress: "y" }, T),
        isCode("CONFLICT"),
      );
      await assert.rejects(
        store.createCompany({ id: "blank", name: " ", postalAddress: "y" }, T),
        isCode("BAD_REQUEST"),
      );
      assert.deepEqual(
        (await store.listCompanies()).map((x) => x.id),
        ["acme", "beta"],
      );
      const u = await store.updateCompany("acme", { postalAddress: "Neuer Weg 3" }, T + 1);
      assert.equal(u.name, "ACME GmbH");
      assert.equal(u.postalAddress, "Neuer Weg 3");
      assert.equal(u.updatedAt, T + 1);
      assert.deepEqual(await store.getCompany("acme"), u);
      assert.equal(await store.getCompany("nope"), undefined);
      await assert.rejects(store.updateCompany("nope", { name: "x" }, T), isCode("NOT_FOUND"));
    });

    it("creates, finds and updates users; e-mail unique ignoring case; roles fit the company", async () => {
      await store.createCompany({ id: "users-co", name: "Users Co", postalAddress: "Street 1" }, T);
      const u = await store.createUser(
        {
          id: "u1",
          companyId: "users-co",
          role: "companyAdmin",
          email: "Ada@Example.com",
          phone: "+49 30 1",
        },
        T,
      );
      assert.deepEqual(u, {
        id: "u1",
        companyId: "users-co",
        role: "companyAdmin",
        email: "Ada@Example.com",
        phone: "+49 30 1",
        postalAddress: null,
        passwordHash: null,
        failedLogins: 0,
        lockedUntil: null,
        createdAt: T,
        updatedAt: T,
      });
      assert.deepEqual(await store.getUser("u1"), u);
      assert.deepEqual(await store.getUserByEmail("ada@example.COM"), u);
      assert.equal(await store.getUserByEmail("bob@example.com"), undefined);
      await assert.rejects(
        store.createUser(
          { id: "u2", companyId: "users-co", role: "companyUser", email: "ADA@example.com" },
          T,
        ),
        isCode("CONFLICT"),
      );
      await assert.rejects(
        store.createUser(
          { id: "u1", companyId: "users-co", role: "companyUser", email: "other@example.com" },
          T,
        ),
        isCode("CONFLICT"),
      );
      await assert.rejects(
        store.createUser({ id: "u3", companyId: "ghost", role: "companyUser", email: "g@example.com" }, T),
        isCode("NOT_FOUND"),
      );
      await assert.rejects(
        store.createUser({ id: "u4", companyId: null, role: "companyUser", email: "o@example.com" }, T),
        isCode("BAD_REQUEST"),
      );
      await assert.rejects(
        store.createUser(
          { id: "u5", companyId: "users-co", role: "operatorAdmin", email: "p@example.com" },
          T,
        ),
        isCode("BAD_REQUEST"),
      );
      await assert.rejects(
        store.createUser(
          { id: "u6", companyId: "users-co", role: "companyUser", email: "not an address" },
          T,
        ),
        isCode("BAD_REQUEST"),
      );
      const staff = await store.createUser(
        { id: "op1", companyId: null, role: "serviceTechnician", email: "tech@operator.example" },
        T,
      );
      await store.createUser(
        { id: "u7", companyId: "users-co", role: "companyUser", email: "c@example.com" },
        T,
      );
      assert.deepEqual(
        (await store.listUsers("users-co")).map((x) => x.id),
        ["u1", "u7"],
      );
      assert.deepEqual(await store.listUsers(null), [staff]);

      const up = await store.updateUser(
        "u1",
        {
          phone: null,
          postalAddress: "Weg 1",
          passwordHash: "scrypt$32768$8$1$salt$hash",
          failedLogins: 3,
          lockedUntil: T + H,
          role: "companyUser",
        },
        T + 5,
      );
      assert.equal(up.phone, null);
      assert.equal(up.postalAddress, "Weg 1");
      assert.equal(up.passwordHash, "scrypt$32768$8$1$salt$hash");
      assert.equal(up.failedLogins, 3);
      assert.equal(up.lockedUntil, T + H);
      assert.equal(up.role, "companyUser");
      assert.equal(up.email, "Ada@Example.com");
      assert.equal(up.createdAt, T);
      assert.equal(up.updatedAt, T + 5);
      assert.deepEqual(await store.getUser("u1"), up);
      const same = await store.updateUser("u1", {}, T + 6);
      assert.equal(same.passwordHash, up.passwordHash);
      await assert.rejects(store.updateUser("u1", { role: "operatorAdmin" }, T), isCode("BAD_REQUEST"));
      await assert.rejects(store.updateUser("nobody", { phone: "1" }, T), isCode("NOT_FOUND"));
    });

    it("serves sessions until they expire or are revoked", async () => {
      await store.createCompany({ id: "sess-co", name: "S", postalAddress: "A" }, T);
      await store.createUser(
        { id: "s1", companyId: "sess-co", role: "companyUser", email: "s1@example.com" },
        T,
      );
      const h1 = hash();
      const h2 = hash();
      const s = await store.createSession({
        hash: h1,
        userId: "s1",
        createdAt: T,
        expiresAt: T + H,
        lastSeenAt: T,
      });
      assert.deepEqual(s, { hash: h1, userId: "s1", createdAt: T, expiresAt: T + H, lastSeenAt: T });
      await store.createSession({ hash: h2, userId: "s1", createdAt: T, expiresAt: T + H, lastSeenAt: T });
      await assert.rejects(
        store.createSession({ hash: h1, userId: "s1", createdAt: T, expiresAt: T + H, lastSeenAt: T }),
        isCode("CONFLICT"),
      );
      await assert.rejects(
        store.createSession({ hash: hash(), userId: "ghost", createdAt: T, expiresAt: T + H, lastSeenAt: T }),
        isCode("NOT_FOUND"),
      );
      assert.deepEqual(await store.getSessionByHash(h1, T + 1), s);
      assert.equal(await store.getSessionByHash(h1, T + H), undefined, "expired at expiresAt");
      assert.equal(await store.touchSession(h1, T + 10, T + 2 * H), true);
      const touched = await store.getSessionByHash(h1, T + H);
      assert.equal(touched?.lastSeenAt, T + 10);
      assert.equal(touched?.expiresAt, T + 2 * H);
      assert.equal(await store.touchSession(h1, T + 11), true);
      assert.equal((await store.getSessionByHash(h1, T + 12))?.expiresAt, T + 2 * H);
      assert.equal(await store.touchSession(h2, T + H), false, "an expired session is not revived");
      assert.equal(await store.revokeSession(h1), true);
      assert.equal(await store.revokeSession(h1), false);
      assert.equal(await store.getSessionByHash(h1, T + 1), undefined);
      await store.createSession({
        hash: hash(),
        userId: "s1",
        createdAt: T,
        expiresAt: T + H,
        lastSeenAt: T,
      });
      assert.deepEqual(
        (await store.listSessions("s1", T)).map((x) => x.userId),
        ["s1", "s1"],
      );
      assert.deepEqual(await store.listSessions("s1", T + H), [], "expired sessions are not listed");
      assert.equal(await store.revokeUserSessions("s1"), 2);
      assert.equal(await store.getSessionByHash(h2, T + 1), undefined);
      assert.equal(await store.revokeUserSessions("s1"), 0);
    });

    it("keeps API tokens hashed, scoped and revocable", async () => {
      await store.createCompany({ id: "tok-co", name: "T", postalAddress: "A" }, T);
      await store.createUser(
        { id: "t1", companyId: "tok-co", role: "companyAdmin", email: "t1@example.com" },
        T,
      );
      const h = hash();
      const tok = await store.createApiToken({
        id: "pwt_aaaaaaaa",
        hash: h,
        userId: "t1",
        name: "SCADA export",
        scopes: ["telemetry:read", "alarms:read"],
        createdAt: T,
        expiresAt: T + 24 * H,
      });
      assert.deepEqual(tok.scopes, ["telemetry:read", "alarms:read"]);
      assert.equal(tok.revokedAt, null);
      await store.createApiToken({
        id: "pwt_bbbbbbbb",
        hash: hash(),
        userId: "t1",
        name: "forever",
        scopes: ["*"],
        createdAt: T + 1,
        expiresAt: null,
      });
      await assert.rejects(
        store.createApiToken({ ...tok, hash: hash() }),
        isCode("CONFLICT"),
        "the id is taken",
      );
      await assert.rejects(
        store.createApiToken({ ...tok, id: "pwt_cccccccc" }),
        isCode("CONFLICT"),
        "the hash is taken",
      );
      await assert.rejects(
        store.createApiToken({ ...tok, id: "pwt_d", hash: hash(), userId: "ghost" }),
        isCode("NOT_FOUND"),
      );
      await assert.rejects(
        store.createApiToken({ ...tok, id: "pwt_e", hash: hash(), name: "" }),
        isCode("BAD_REQUEST"),
      );
      assert.deepEqual(await store.getApiTokenByHash(h, T + 1), tok);
      assert.equal(await store.getApiTokenByHash(h, T + 24 * H), undefined, "expired");
      assert.deepEqual(
        (await store.listApiTokens("t1")).map((t) => t.id),
        ["pwt_bbbbbbbb", "pwt_aaaaaaaa"],
      );
      const revoked = await store.revokeApiToken("pwt_aaaaaaaa", T + 5);
      assert.equal(revoked.revokedAt, T + 5);
      assert.equal((await store.revokeApiToken("pwt_aaaaaaaa", T + 9)).revokedAt, T + 5);
      assert.equal(await store.getApiTokenByHash(h, T + 6), undefined);
      await assert.rejects(store.revokeApiToken("pwt_nope", T), isCode("NOT_FOUND"));
    });

    it("consumes one-time tokens once, of their kind, before they expire", async () => {
      await store.createCompany({ id: "ott-co", name: "O", postalAddress: "A" }, T);
      await store.createUser(
        { id: "o1", companyId: "ott-co", role: "companyUser", email: "o1@example.com" },
        T,
      );
      const h = hash();
      const t = await store.createOneTimeToken({
        hash: h,
        kind: "invitation",
        userId: "o1",
        createdAt: T,
        expiresAt: T + H,
      });
      assert.equal(t.usedAt, null);
      await assert.rejects(
        store.createOneTimeToken({
          hash: h,
          kind: "invitation",
          userId: "o1",
          createdAt: T,
          expiresAt: T + H,
        }),
        isCode("CONFLICT"),
      );
      await assert.rejects(
        store.createOneTimeToken({
          hash: hash(),
          kind: "invitation",
          userId: "ghost",
          createdAt: T,
          expiresAt: T + H,
        }),
        isCode("NOT_FOUND"),
      );
      assert.equal(await store.consumeOneTimeToken(h, "passwordReset", T + 1), undefined, "another kind");
      assert.equal(await store.consumeOneTimeToken(hash(), "invitation", T + 1), undefined, "unknown");
      const used = await store.consumeOneTimeToken(h, "invitation", T + 2);
      assert.deepEqual(used, { ...t, usedAt: T + 2 });
      assert.equal(await store.consumeOneTimeToken(h, "invitation", T + 3), undefined, "used");
      const late = hash();
      await store.createOneTimeToken({
        hash: late,
        kind: "passwordReset",
        userId: "o1",
        createdAt: T,
        expiresAt: T + H,
      });
      assert.equal(await store.consumeOneTimeToken(late, "passwordReset", T + H), undefined, "expired");
      await store.createOneTimeToken({
        hash: hash(),
        kind: "passwordReset",
        userId: "o1",
        createdAt: T,
        expiresAt: T + 2 * H,
      });
      assert.equal(await store.deleteOneTimeTokens("o1", "passwordReset"), 2);
      assert.equal(await store.deleteOneTimeTokens("o1"), 1);
    });

    it("purges expired sessions and one-time tokens", async () => {
      await store.createCompany({ id: "purge-co", name: "P", postalAddress: "A" }, T);
      await store.createUser(
        { id: "p1", companyId: "purge-co", role: "companyUser", email: "p1@example.com" },
        T,
      );
      const live = hash();
      await store.createSession({
        hash: live,
        userId: "p1",
        createdAt: T,
        expiresAt: T + 10 * H,
        lastSeenAt: T,
      });
      await store.createSession({
        hash: hash(),
        userId: "p1",
        createdAt: T,
        expiresAt: T + 1,
        lastSeenAt: T,
      });
      await store.createOneTimeToken({
        hash: hash(),
        kind: "invitation",
        userId: "p1",
        createdAt: T,
        expiresAt: T + 1,
      });
      assert.ok((await store.purgeExpired(T + 2)) >= 2);
      assert.ok(await store.getSessionByHash(live, T + 2));
      assert.equal(await store.purgeExpired(T + 2), 0);
    });

    it("keeps one contract per company with its end for the scheduler", async () => {
      await store.createCompany({ id: "con-a", name: "A", postalAddress: "A" }, T);
      await store.createCompany({ id: "con-b", name: "B", postalAddress: "B" }, T);
      const contract: Contract = {
        id: "k-1",
        companyId: "con-a",
        start: "2026-01-01",
        timeZone: "Europe/Berlin",
        terms: { period: { months: 1 }, to: "monthEnd" },
        notice: null,
      };
      assert.equal(await store.getContract("con-a"), undefined);
      await store.putContract(contract, null);
      assert.deepEqual(await store.getContract("con-a"), contract);
      assert.deepEqual(await store.listContractsEnding(T + 1000 * H), []);
      const noticed: Contract = {
        ...contract,
        notice: {
          by: "customer",
          receivedAt: T,
          extraordinary: false,
          reason: null,
          lastDay: "2026-04-30",
          endsAt: Date.parse("2026-04-30T22:00:00Z"),
          recordedAt: T,
        },
      };
      await store.putContract(noticed, noticed.notice!.endsAt);
      assert.deepEqual(await store.getContract("con-a"), noticed);
      assert.deepEqual(await store.listContractsEnding(noticed.notice!.endsAt - 1), []);
      assert.deepEqual(await store.listContractsEnding(noticed.notice!.endsAt), [
        { contract: noticed, endsAt: noticed.notice!.endsAt },
      ]);
      await assert.rejects(store.putContract({ ...contract, companyId: "con-b" }, null), isCode("CONFLICT"));
      await assert.rejects(
        store.putContract({ ...contract, id: "k-9", companyId: "ghost" }, null),
        isCode("NOT_FOUND"),
      );
      await store.putContract({ ...contract, id: "k-2", companyId: "con-b" }, T);
      assert.deepEqual(
        (await store.listContractsEnding(noticed.notice!.endsAt)).map((c) => c.contract.id),
        ["k-2", "k-1"],
      );
    });

    it("appends and filters the audit log, refusing e-mail addresses", async () => {
      const a1 = await store.appendAudit({
        ts: T,
        actor: "u1",
        event: "login",
        targetType: "user",
        targetId: "u1",
        companyId: "audit-a",
      });
      assert.equal(typeof a1.id, "number");
      await store.appendAudit({
        ts: T + 1,
        actor: "system",
        event: "contract.terminated",
        targetType: "company",
        targetId: "audit-b",
        companyId: "audit-b",
      });
      await store.appendAudit({
        ts: T + 2,
        actor: "operator",
        event: "token.created",
        targetType: null,
        targetId: null,
        companyId: "audit-a",
      });
      assert.deepEqual(
        (await store.listAudit({ companyId: "audit-a" })).map((e) => e.event),
        ["token.created", "login"],
      );
      assert.deepEqual(
        (await store.listAudit({ since: T + 1, limit: 10 })).map((e) => e.ts),
        [T + 2, T + 1],
      );
      assert.equal((await store.listAudit({ limit: 1 })).length, 1);
      assert.deepEqual((await store.listAudit({ companyId: "audit-a", since: T + 2 }))[0]?.targetId, null);
      await assert.rejects(
        store.appendAudit({
          ts: T,
          actor: "a@b.example",
          event: "login",
          targetType: null,
          targetId: null,
          companyId: null,
        }),
        isCode("BAD_REQUEST"),
      );
    });

    it("schedules jobs idempotently, leases them and forgets them when completed", async () => {
      const j = await store.scheduleJob({
        key: "terminate:acme",
        kind: "terminate",
        runAt: T + H,
        payload: { companyId: "acme" },
      });
      assert.deepEqual(j, {
        key: "terminate:acme",
        kind: "terminate",
        runAt: T + H,
        payload: { companyId: "acme" },
        attempts: 0,
        leaseUntil: null,
      });
      await store.scheduleJob({
        key: "terminate:acme",
        kind: "terminate",
        runAt: T + 2 * H,
        payload: { companyId: "acme", v: 2 },
      });
      await store.scheduleJob({ key: "purge:acme", kind: "purge", runAt: T, payload: null });
      assert.deepEqual(
        (await store.listJobs()).map((x) => [x.key, x.runAt]),
        [
          ["purge:acme", T],
          ["terminate:acme", T + 2 * H],
        ],
      );
      assert.deepEqual(await store.claimDueJobs(T - 1, 10, 1000), []);
      const first = await store.claimDueJobs(T + 2 * H, 10, 1000);
      assert.deepEqual(
        first.map((x) => [x.key, x.attempts, x.leaseUntil]),
        [
          ["purge:acme", 1, T + 2 * H + 1000],
          ["terminate:acme", 1, T + 2 * H + 1000],
        ],
      );
      assert.deepEqual(first[1]?.payload, { companyId: "acme", v: 2 });
      assert.deepEqual(await store.claimDueJobs(T + 2 * H + 999, 10, 1000), [], "leased");
      assert.equal(await store.completeJob("purge:acme"), true);
      assert.equal(await store.completeJob("purge:acme"), false);
      const again = await store.claimDueJobs(T + 2 * H + 1000, 10, 1000);
      assert.deepEqual(
        again.map((x) => [x.key, x.attempts]),
        [["terminate:acme", 2]],
        "a lease that ran out is handed out again",
      );
      await assert.rejects(store.claimDueJobs(T, 0, 1000), isCode("BAD_REQUEST"));
      assert.equal(await store.completeJob("terminate:acme"), true);
      assert.deepEqual(await store.listJobs(), []);
    });

    it("erases a user with everything that references it, and all users of a company at once", async () => {
      await store.createCompany({ id: "del-a", name: "A", postalAddress: "A" }, T);
      await store.createCompany({ id: "del-b", name: "B", postalAddress: "B" }, T);
      const seed = async (id: string, companyId: string) => {
        await store.createUser(
          { id, companyId, role: "companyUser", email: `${id}@example.com`, phone: "+49 1" },
          T,
        );
        const s = hash();
        const t = hash();
        const o = hash();
        await store.createSession({ hash: s, userId: id, createdAt: T, expiresAt: T + H, lastSeenAt: T });
        await store.createApiToken({
          id: `pwt_${id}`,
          hash: t,
          userId: id,
          name: "x",
          scopes: [],
          createdAt: T,
          expiresAt: null,
        });
        await store.createOneTimeToken({
          hash: o,
          kind: "passwordReset",
          userId: id,
          createdAt: T,
          expiresAt: T + H,
        });
        return { s, t, o };
      };
      const gone = async (id: string, k: { s: string; t: string; o: string }) => {
        assert.equal(await store.getUser(id), undefined);
        assert.equal(await store.getUserByEmail(`${id}@example.com`), undefined);
        assert.equal(await store.getSessionByHash(k.s, T + 1), undefined);
        assert.equal(await store.getApiTokenByHash(k.t, T + 1), undefined);
        assert.deepEqual(await store.listApiTokens(id), []);
        assert.equal(await store.consumeOneTimeToken(k.o, "passwordReset", T + 1), undefined);
      };
      const a1 = await seed("del-a1", "del-a");
      const a2 = await seed("del-a2", "del-a");
      const a3 = await seed("del-a3", "del-a");
      const b1 = await seed("del-b1", "del-b");

      assert.equal(await store.deleteUser("del-a1"), true);
      assert.equal(await store.deleteUser("del-a1"), false);
      await gone("del-a1", a1);
      assert.ok(await store.getSessionByHash(a2.s, T + 1), "other users keep their sessions");

      assert.equal(await store.deleteCompanyUsers("del-a"), 2);
      await gone("del-a2", a2);
      await gone("del-a3", a3);
      assert.deepEqual(await store.listUsers("del-a"), []);
      assert.equal(await store.deleteCompanyUsers("del-a"), 0);
      assert.ok(await store.getCompany("del-a"), "the company itself stays");

      assert.ok(await store.getUser("del-b1"), "another company's users stay");
      assert.ok(await store.getSessionByHash(b1.s, T + 1));
      assert.ok(await store.getApiTokenByHash(b1.t, T + 1));
      // The e-mail is free again.
      await store.createUser(
        { id: "del-a4", companyId: "del-a", role: "companyUser", email: "DEL-A1@example.com" },
        T,
      );
    });

    it("hands a one-time token to exactly one of 20 concurrent consumers on two stores", async () => {
      const pair = await openPair();
      try {
        await pair.a.createCompany({ id: "race-co", name: "R", postalAddress: "A" }, T);
        await pair.a.createUser(
          { id: "r1", companyId: "race-co", role: "companyUser", email: "r1@example.com" },
          T,
        );
        for (let round = 0; round < 3; round++) {
          const h = hash();
          await pair.b.createOneTimeToken({
            hash: h,
            kind: "passwordReset",
            userId: "r1",
            createdAt: T,
            expiresAt: T + H,
          });
          const got = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              (i % 2 === 0 ? pair.a : pair.b).consumeOneTimeToken(h, "passwordReset", T + 1 + i),
            ),
          );
          const winners = got.filter((x) => x !== undefined);
          assert.equal(winners.length, 1, `round ${round}: exactly one consumer wins`);
          assert.equal(winners[0]!.hash, h);
          assert.equal(await pair.a.consumeOneTimeToken(h, "passwordReset", T + 100), undefined);
        }
      } finally {
        await pair.close();
      }
    });

    it("leases each due job to exactly one of many concurrent claimers on two stores", async () => {
      const pair = await openPair();
      try {
        const keys = Array.from({ length: 30 }, (_, i) => `job-${String(i).padStart(2, "0")}`);
        for (const [i, key] of keys.entries()) {
          await (i % 2 ? pair.a : pair.b).scheduleJob({ key, kind: "k", runAt: T + i, payload: { i } });
        }
        const lease = 60_000;
        const now = T + 100;
        const claims = await Promise.all(
          Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? pair.a : pair.b).claimDueJobs(now, 4, lease)),
        );
        const claimed = claims.flat().map((j) => j.key);
        assert.equal(claimed.length, new Set(claimed).size, "no job claimed twice");
        assert.deepEqual([...claimed].sort(), keys, "every job claimed");
        assert.ok(claims.flat().every((j) => j.attempts === 1 && j.leaseUntil === now + lease));
        assert.deepEqual(await pair.b.claimDueJobs(now + lease - 1, 100, lease), [], "all leased");

        // Leases run out: exactly one claimer per job again.
        const later = now + lease;
        const reclaims = await Promise.all(
          Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? pair.b : pair.a).claimDueJobs(later, 4, lease)),
        );
        const re = reclaims.flat();
        assert.deepEqual(re.map((j) => j.key).sort(), keys);
        assert.ok(re.every((j) => j.attempts === 2));
        for (const key of keys) assert.equal(await pair.a.completeJob(key), true);
        assert.deepEqual(await pair.b.listJobs(), []);
      } finally {
        await pair.close();
      }
    });

    // Last: they add companies and users the cases above do not expect.
    notificationCases(() => stores);
  });
}
