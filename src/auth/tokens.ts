import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { PumpwatchError } from "../core/errors.js";

/**
 * Bearer secrets of the user side: sessions, API tokens, invitation and password-reset links.
 * Each is `<prefix>_<43 base64url characters>` (32 random bytes). Only the SHA-256 of a token is
 * stored (256 random bits need no slow hash); the first characters serve as a display id, like
 * "pwt_Ab3dEf9h…" in the token list. The prefix lets secret scanners find leaked tokens and keeps
 * a token of one kind from being accepted as another.
 */
export type TokenPrefix = "pws" | "pwt" | "pwi" | "pwr";

export const TOKEN_PREFIXES: readonly TokenPrefix[] = ["pws", "pwt", "pwi", "pwr"];

export interface NewToken {
  /** The secret, shown or sent once and never stored. */
  token: string;
  /** Display id: the prefix and the first 8 random characters, e.g. "pwt_Ab3dEf9h". Not secret. */
  id: string;
  /** SHA-256 of `token`, lowercase hex: what the database keeps and looks up. */
  hash: string;
}

const TOKEN_PATTERN = /^(pws|pwt|pwi|pwr)_[A-Za-z0-9_-]{43}$/;

export function newToken(prefix: TokenPrefix): NewToken {
  if (!TOKEN_PREFIXES.includes(prefix)) throw new TypeError(`unknown token prefix ${String(prefix)}`);
  const token = `${prefix}_${randomBytes(32).toString("base64url")}`;
  return { token, id: token.slice(0, prefix.length + 1 + 8), hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The kind of a well-formed token, or undefined: check this before a database look-up. */
export function tokenPrefix(token: unknown): TokenPrefix | undefined {
  if (typeof token !== "string" || !TOKEN_PATTERN.test(token)) return undefined;
  return token.slice(0, 3) as TokenPrefix;
}

// ---------------------------------------------------------------------------------------------
// Scopes of API tokens

/**
 * The closed catalogue of scopes. Within one resource a higher level implies the lower ones
 * (admin ⊃ write ⊃ read); "*" grants everything, present and future.
 */
export const SCOPES = [
  "telemetry:read",
  "telemetry:write",
  "alarms:read",
  "alarms:write",
  "devices:read",
  "devices:write",
  "devices:admin",
  "analytics:read",
  "maintenance:read",
  "maintenance:write",
] as const;

export type Scope = (typeof SCOPES)[number] | "*";

const LEVEL: Record<string, number> = { read: 1, write: 2, admin: 3 };
const KNOWN = new Set<string>(SCOPES);

/**
 * Parses scopes given as a space- or comma-separated string or as a list; returns them sorted and
 * without duplicates ("*" alone when present). Unknown scopes are a BAD_REQUEST naming them.
 */
export function parseScopes(raw: string | readonly string[]): Scope[] {
  const items = (typeof raw === "string" ? raw.split(/[\s,]+/) : raw).map((s) => s.trim()).filter(Boolean);
  const unknown = items.filter((s) => s !== "*" && !KNOWN.has(s));
  if (unknown.length > 0) {
    throw new PumpwatchError("BAD_REQUEST", `unknown scope(s): ${unknown.slice(0, 5).join(", ")}`, {
      allowed: ["*", ...SCOPES],
    });
  }
  if (items.length === 0) throw new PumpwatchError("BAD_REQUEST", "at least one scope is required");
  if (items.includes("*")) return ["*"];
  return [...new Set(items)].sort() as Scope[];
}

/** True when the granted scopes allow `needed` (e.g. "devices:admin" allows "devices:read"). */
export function hasScope(granted: readonly string[], needed: Scope): boolean {
  if (granted.includes("*")) return true;
  if (needed === "*") return false;
  const [resource, level] = needed.split(":") as [string, string];
  const want = LEVEL[level] ?? Number.POSITIVE_INFINITY;
  return granted.some((g) => {
    if (!KNOWN.has(g)) return false;
    const [res, lvl] = g.split(":") as [string, string];
    return res === resource && (LEVEL[lvl] ?? 0) >= want;
  });
}

// ---------------------------------------------------------------------------------------------
// CSRF

const CSRF_CONTEXT = "pumpwatch-csrf-v1\0";

function csrfMac(sessionSecret: string, nonce: string): Buffer {
  return createHmac("sha256", sessionSecret)
    .update(CSRF_CONTEXT + nonce)
    .digest();
}

/**
 * A CSRF token for cookie-authenticated writes (signed double submit, OWASP): `nonce.mac` with
 * mac = HMAC-SHA256(sessionSecret, context ‖ nonce). The page or a readable cookie hands it to the
 * client, which sends it back in a header; since it is bound to the session secret (which sits in
 * an HttpOnly cookie), a token from another session or an attacker's own session does not pass.
 */
export function csrfToken(sessionSecret: string): string {
  if (!sessionSecret) throw new TypeError("csrfToken needs the session secret");
  const nonce = randomBytes(16).toString("base64url");
  return `${nonce}.${csrfMac(sessionSecret, nonce).toString("base64url")}`;
}

const CSRF_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** True when `token` was made by `csrfToken` for this session secret. Constant-time. */
export function checkCsrf(sessionSecret: string, token: unknown): boolean {
  if (!sessionSecret || typeof token !== "string") return false;
  const m = CSRF_PATTERN.exec(token);
  if (!m) return false;
  // Compare the text, not decoded bytes: base64 ignores the low bits of the last character.
  const given = Buffer.from(m[2]!, "ascii");
  const expected = Buffer.from(csrfMac(sessionSecret, m[1]!).toString("base64url"), "ascii");
  return timingSafeEqual(given, expected);
}
