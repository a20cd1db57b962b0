import { createHmac, timingSafeEqual } from "node:crypto";
import { isBase64Key } from "./keys.js";

/** A parsed SAS token. `sr`, `sig` and `se` are kept exactly as received (azure-protocol.md §1.1). */
export interface SasToken {
  sr: string;
  sig: string;
  se: string;
  skn?: string;
  fields: Record<string, string>;
}

const PREFIX = "SharedAccessSignature";

/**
 * Parses `SharedAccessSignature k=v&k=v…` like the SDK (azure-protocol.md §1.1): one whitespace
 * separator, `&`-separated fields split at their first `=`, any order. Requires `sr`, `sig`, `se`;
 * a repeated or empty key, or an item without `=`, makes the token malformed (undefined).
 */
export function parseSas(password: string): SasToken | undefined {
  const parts = password.split(/\s/);
  const [prefix, body] = parts;
  if (parts.length !== 2 || prefix !== PREFIX || body === undefined) return undefined;
  const fields = new Map<string, string>();
  for (const item of body.split("&")) {
    const eq = item.indexOf("=");
    const key = item.slice(0, eq);
    if (eq <= 0 || fields.has(key)) return undefined;
    fields.set(key, item.slice(eq + 1));
  }
  const sr = fields.get("sr");
  const sig = fields.get("sig");
  const se = fields.get("se");
  if (!sr || !sig || !se) return undefined;
  const skn = fields.get("skn");
  return { sr, sig, se, ...(skn !== undefined && { skn }), fields: Object.fromEntries(fields) };
}

/** base64(HMAC-SHA256(base64decode(key), sr + "\n" + se)) (azure-protocol.md §1.1). Throws on a non-base64 key. */
export function signSas(key: string, sr: string, se: string): string {
  if (!isBase64Key(key)) throw new TypeError("SAS key is not valid base64");
  return createHmac("sha256", Buffer.from(key, "base64")).update(`${sr}\n${se}`, "utf8").digest("base64");
}

/** The Node SDK's `encodeUriComponentStrict`: `! ' ( ) *` become lower-case `%xx` (azure-protocol.md §1.1). */
export function encodeUriComponentStrict(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16));
}

/**
 * Builds a token as the Node SDK does: fields `sr`, `sig`, `skn`?, `se` (azure-protocol.md §1.1).
 * `encodeResource: false` keeps `sr` raw, like the SDK's DPS tokens (§1.4).
 */
export function createSas(opts: {
  resourceUri: string;
  key: string;
  expiresAt: number;
  keyName?: string;
  encodeResource?: boolean;
}): string {
  if (!Number.isSafeInteger(opts.expiresAt) || opts.expiresAt < 0)
    throw new RangeError("expiresAt must be unix seconds");
  const sr = opts.encodeResource === false ? opts.resourceUri : encodeUriComponentStrict(opts.resourceUri);
  const se = String(opts.expiresAt);
  const fields = [`sr=${sr}`, `sig=${encodeUriComponentStrict(signSas(opts.key, sr, se))}`];
  if (opts.keyName) fields.push(`skn=${encodeUriComponentStrict(opts.keyName)}`);
  fields.push(`se=${se}`);
  return `${PREFIX} ${fields.join("&")}`;
}

export type SasCheck =
  | { ok: true; keyIndex: 0 | 1 }
  | { ok: false; reason: "malformed" | "expired" | "resource" | "signature" | "keyName" | "lifetime" };

export interface SasVerifyOptions {
  /** e.g. `host/devices/id`; compared case-insensitively with the URL-decoded `sr`. */
  expectedResources: string[];
  /** Primary then secondary key, base64. At most two. */
  keys: string[];
  nowSec: number;
  skewSec: number;
  maxLifetimeSec?: number;
  requiredKeyName?: string;
  /**
   * Device tokens carry no key name: a non-empty `skn` names a shared access policy, which this hub
   * does not have, so such a token is refused (`keyName`) however it is signed.
   */
  noKeyName?: boolean;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Index of the key whose HMAC over the raw `sr` and `se` equals the decoded `sig` (azure-protocol.md §1.1). */
function matchKey(token: SasToken, sig: string, keys: string[]): 0 | 1 | undefined {
  const given = Buffer.from(sig, "utf8");
  for (const [i, key] of keys.entries()) {
    if (!isBase64Key(key)) continue;
    const want = Buffer.from(signSas(key, token.sr, token.se), "utf8");
    if (want.length === given.length && timingSafeEqual(want, given)) return i as 0 | 1;
  }
  return undefined;
}

/**
 * Server-side SAS check (azure-protocol.md §1.1, §10.3). Order: malformed, resource, keyName,
 * signature, then expiry and lifetime, so "expired" is only reported for genuine tokens.
 */
export function verifySas(token: SasToken, opts: SasVerifyOptions): SasCheck {
  if (opts.keys.length > 2) throw new RangeError("at most two keys (primary, secondary)");
  const sig = decode(token.sig);
  if (!/^[0-9]+$/.test(token.se) || sig === undefined) return { ok: false, reason: "malformed" };
  const resource = decode(token.sr)?.toLowerCase();
  if (resource === undefined || !opts.expectedResources.some((r) => r.toLowerCase() === resource)) {
    return { ok: false, reason: "resource" };
  }
  const skn = token.skn === undefined ? undefined : decode(token.skn);
  if (opts.requiredKeyName !== undefined && skn !== opts.requiredKeyName)
    return { ok: false, reason: "keyName" };
  if (opts.noKeyName && skn) return { ok: false, reason: "keyName" };
  const keyIndex = matchKey(token, sig, opts.keys);
  if (keyIndex === undefined) return { ok: false, reason: "signature" };
  const se = Number(token.se);
  if (se < opts.nowSec - opts.skewSec) return { ok: false, reason: "expired" };
  if (opts.maxLifetimeSec !== undefined && se > opts.nowSec + opts.maxLifetimeSec + opts.skewSec) {
    return { ok: false, reason: "lifetime" };
  }
  return { ok: true, keyIndex };
}
