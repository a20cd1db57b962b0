import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  checkCsrf,
  csrfToken,
  hashToken,
  hasScope,
  newToken,
  parseScopes,
  SCOPES,
  TOKEN_PREFIXES,
  tokenPrefix,
} from "../../src/auth/tokens.js";
import { PumpwatchError } from "../../src/core/errors.js";

describe("newToken", () => {
  it("makes <prefix>_<32 random bytes base64url> with a display id and a SHA-256 hash", () => {
    for (const prefix of TOKEN_PREFIXES) {
      const t = newToken(prefix);
      assert.match(t.token, new RegExp(`^${prefix}_[A-Za-z0-9_-]{43}$`));
      assert.equal(Buffer.from(t.token.slice(4), "base64url").length, 32);
      assert.equal(t.id, t.token.slice(0, 12));
      assert.ok(t.token.startsWith(t.id));
      assert.equal(t.hash, createHash("sha256").update(t.token).digest("hex"));
      assert.match(t.hash, /^[0-9a-f]{64}$/);
      assert.equal(hashToken(t.token), t.hash);
      assert.equal(tokenPrefix(t.token), prefix);
    }
  });

  it("never repeats and refuses unknown prefixes", () => {
    const seen = new Set(Array.from({ length: 1000 }, () => newToken("pwt").token));
    assert.equal(seen.size, 1000);
    assert.throws(() => newToken("xyz" as "pwt"), TypeError);
  });

  it("tokenPrefix rejects malformed tokens", () => {
    const { token } = newToken("pws");
    for (const bad of [
      token.slice(0, -1),
      `${token}A`,
      token.replace("pws_", "pwx_"),
      `pws-${token.slice(4)}`,
      42,
    ]) {
      assert.equal(tokenPrefix(bad), undefined, String(bad));
    }
  });
});

describe("scopes", () => {
  it("parses space- or comma-separated lists, sorted and deduplicated", () => {
    assert.deepEqual(parseScopes("telemetry:read alarms:write, telemetry:read"), [
      "alarms:write",
      "telemetry:read",
    ]);
    assert.deepEqual(parseScopes(["devices:admin"]), ["devices:admin"]);
    assert.deepEqual(parseScopes("telemetry:read *"), ["*"]);
  });

  it("rejects unknown and empty scopes as BAD_REQUEST naming them", () => {
    assert.throws(
      () => parseScopes("telemetry:read telemetry:delete"),
      (e: unknown) =>
        e instanceof PumpwatchError && e.code === "BAD_REQUEST" && /telemetry:delete/.test(e.message),
    );
    assert.throws(
      () => parseScopes("  "),
      (e: unknown) => e instanceof PumpwatchError && e.code === "BAD_REQUEST",
    );
    assert.throws(() => parseScopes("Telemetry:Read"), PumpwatchError);
  });

  it("checks grants: '*' allows all, a higher level implies a lower one of the same resource", () => {
    assert.ok(hasScope(["*"], "devices:admin"));
    assert.ok(hasScope(["telemetry:read"], "telemetry:read"));
    assert.ok(!hasScope(["telemetry:read"], "telemetry:write"));
    assert.ok(hasScope(["devices:admin"], "devices:read"));
    assert.ok(hasScope(["devices:write"], "devices:read"));
    assert.ok(!hasScope(["devices:write"], "devices:admin"));
    assert.ok(!hasScope(["alarms:write"], "telemetry:read"));
    assert.ok(!hasScope([], "telemetry:read"));
    assert.ok(!hasScope(["telemetry:read"], "*"));
    assert.ok(
      !hasScope(["telemetry:admin"], "telemetry:read"),
      "grants outside the catalogue count for nothing",
    );
    for (const s of SCOPES) assert.ok(hasScope(parseScopes(s), s));
  });
});

describe("CSRF", () => {
  const session = newToken("pws").token;

  it("accepts its own token for the same session, fresh each time", () => {
    const a = csrfToken(session);
    const b = csrfToken(session);
    assert.notEqual(a, b);
    assert.ok(checkCsrf(session, a));
    assert.ok(checkCsrf(session, b));
  });

  it("rejects a token of another session", () => {
    const other = newToken("pws").token;
    assert.equal(checkCsrf(other, csrfToken(session)), false);
  });

  it("rejects tampered, truncated and malformed tokens", () => {
    const t = csrfToken(session);
    const [nonce, mac] = t.split(".") as [string, string];
    const swap = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const bad: unknown[] = [
      `${swap(nonce, 0)}.${mac}`,
      `${nonce}.${swap(mac, 0)}`,
      `${nonce}.${swap(mac, mac.length - 1)}`, // last char: base64 padding bits must not be ignored
      `${nonce}.${mac.slice(0, -1)}`,
      `${nonce}${mac}`,
      `${nonce}.${mac}.`,
      "",
      undefined,
      null,
      123,
    ];
    for (const b of bad) assert.equal(checkCsrf(session, b), false, String(b));
    assert.equal(checkCsrf("", t), false);
    assert.throws(() => csrfToken(""), TypeError);
  });
});
