import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkPasswordPolicy,
  DEFAULT_SCRYPT,
  hashPassword,
  needsRehash,
  verifyPassword,
} from "../../src/auth/password.js";

/** Cheap parameters so the suite stays fast; one test below uses the defaults. */
const FAST = { N: 2 ** 10, r: 8, p: 1 };
const FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

describe("hashPassword / verifyPassword", () => {
  it("hashes with the default parameters (N=2^15) into the self-describing format", async () => {
    const stored = await hashPassword("correct horse battery staple");
    const m = FORMAT.exec(stored);
    assert.ok(m, stored);
    assert.deepEqual([Number(m[1]), Number(m[2]), Number(m[3])], [32768, 8, 1]);
    assert.equal(Buffer.from(m[4]!, "base64").length, 16);
    assert.equal(Buffer.from(m[5]!, "base64").length, 32);
    assert.equal(await verifyPassword("correct horse battery staple", stored), true);
    assert.equal(await verifyPassword("correct horse battery stapl3", stored), false);
    assert.equal(needsRehash(stored), false);
  });

  it("salts: the same password hashes differently each time, and both verify", async () => {
    const a = await hashPassword("same password!", FAST);
    const b = await hashPassword("same password!", FAST);
    assert.notEqual(a, b);
    assert.ok(await verifyPassword("same password!", a));
    assert.ok(await verifyPassword("same password!", b));
  });

  it("normalises to NFC: composed and decomposed umlauts are the same password", async () => {
    const composed = "Grüße aus Köln 2024";
    const decomposed = composed.normalize("NFD");
    assert.notEqual(composed, decomposed);
    const stored = await hashPassword(decomposed, FAST);
    assert.ok(await verifyPassword(composed, stored));
  });

  it("returns false, never throws, for malformed stored values", async () => {
    const good = await hashPassword("a fine password", FAST);
    const [, n, r, p, salt, hash] = good.split("$");
    const bad = [
      "",
      "plain",
      "bcrypt$10$abc",
      `scrypt$${n}$${r}$${p}$${salt}`,
      `scrypt$1000$${r}$${p}$${salt}$${hash}`, // N not a power of two
      `scrypt$${2 ** 24}$${r}$${p}$${salt}$${hash}`, // absurd memory
      `scrypt$0$${r}$${p}$${salt}$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$!!notbase64`,
      `scrypt$${n}$${r}$${p}$$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$${hash}$extra`,
      `argon2$${n}$${r}$${p}$${salt}$${hash}`,
    ];
    for (const stored of bad) {
      assert.equal(await verifyPassword("a fine password", stored), false, stored);
      assert.equal(needsRehash(stored), true, stored);
    }
    assert.equal(await verifyPassword("a fine password", undefined as unknown as string), false);
    assert.equal(await verifyPassword("x".repeat(5000), good), false);
  });

  it("detects a tampered hash or salt", async () => {
    const good = await hashPassword("a fine password", FAST);
    const parts = good.split("$");
    const flip = (b64: string) => {
      const buf = Buffer.from(b64, "base64");
      buf[0] = buf[0]! ^ 1;
      return buf.toString("base64");
    };
    const badHash = [...parts.slice(0, 5), flip(parts[5]!)].join("$");
    const badSalt = [...parts.slice(0, 4), flip(parts[4]!), parts[5]].join("$");
    assert.equal(await verifyPassword("a fine password", badHash), false);
    assert.equal(await verifyPassword("a fine password", badSalt), false);
  });

  it("refuses parameters out of range", async () => {
    await assert.rejects(hashPassword("a fine password", { N: 1000, r: 8, p: 1 }), RangeError);
    await assert.rejects(hashPassword("a fine password", { N: 2 ** 22, r: 8, p: 1 }), RangeError);
  });
});

describe("needsRehash", () => {
  it("asks for a rehash when the stored parameters are below the current ones", async () => {
    const weak = await hashPassword("a fine password", FAST);
    assert.equal(needsRehash(weak), true);
    assert.equal(needsRehash(weak, FAST), false);
    assert.equal(needsRehash(weak, { ...FAST, r: 16 }), true);
    assert.equal(needsRehash(weak, { ...FAST, p: 2 }), true);
    assert.deepEqual({ ...DEFAULT_SCRYPT }, { N: 32768, r: 8, p: 1 });
  });
});

describe("checkPasswordPolicy", () => {
  it("accepts 12 to 256 code points, spaces and emoji included", () => {
    assert.deepEqual(checkPasswordPolicy("twelve chars"), { ok: true });
    assert.deepEqual(checkPasswordPolicy("Pumpe läuft heiß 🔥"), { ok: true });
    assert.deepEqual(checkPasswordPolicy("ab".repeat(128)), { ok: true });
  });

  it("counts code points after NFC, not UTF-16 units", () => {
    // 11 emoji are 22 UTF-16 units but 11 characters: too short.
    const r = checkPasswordPolicy("🔥💧🔥💧🔥💧🔥💧🔥💧🔥");
    assert.equal(r.ok, false);
    // 12 decomposed "ä" are 24 units but 12 characters after NFC.
    assert.equal(checkPasswordPolicy("äöäöäöäöäöäö".normalize("NFD")).ok, true);
    // 256 emoji = 512 units: allowed; 257: too long.
    assert.equal(checkPasswordPolicy("🔥💧".repeat(128)).ok, true);
    assert.equal(checkPasswordPolicy("🔥💧".repeat(128) + "x").ok, false);
  });

  it("rejects short, long, repeated and broken passwords with a clear message", () => {
    const short = checkPasswordPolicy("short");
    assert.equal(short.ok, false);
    assert.match(!short.ok ? short.message : "", /at least 12 characters/);
    const long = checkPasswordPolicy("x1".repeat(129));
    assert.match(!long.ok ? long.message : "", /at most 256 characters/);
    const same = checkPasswordPolicy("aaaaaaaaaaaaaaaa");
    assert.match(!same.ok ? same.message : "", /single repeated character/);
    const surrogate = checkPasswordPolicy("abcdefghijkl\uD800");
    assert.match(!surrogate.ok ? surrogate.message : "", /invalid characters/);
  });
});
