import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Password hashing with scrypt (RFC 7914) from node:crypto. A stored hash describes itself:
 *
 *   scrypt$N$r$p$saltB64$hashB64      e.g. scrypt$32768$8$1$<16 bytes base64>$<32 bytes base64>
 *
 * so the cost can be raised later: `needsRehash` tells after a successful login that the stored hash
 * is weaker than the current parameters, and the caller stores `hashPassword(pw)` anew.
 * Passwords are NFC-normalised before hashing, so "é" typed as one or as two code points matches.
 */

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/** Current parameters: about 32 MiB and ~50–100 ms per hash on a server core (OWASP minimum). */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Limits for parameters read back from storage, so a corrupt row cannot allocate gigabytes. */
const MIN_N = 2 ** 10;
const MAX_MEMORY = 256 * 1024 * 1024;
/** Longest input `verifyPassword` hashes at all (the policy allows 256 code points, ≤ 1024 UTF-16 units). */
const MAX_INPUT_UNITS = 1024;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

function scryptAsync(pw: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    // scrypt needs 128·N·r bytes; Node's default maxmem (32 MiB) is exactly that for N=2^15, r=8 and
    // refuses it, so allow twice the need.
    maxmem: 256 * params.N * params.r,
  };
  return new Promise((resolve, reject) => {
    scrypt(pw.normalize("NFC"), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function validParams(params: ScryptParams): boolean {
  const { N, r, p } = params;
  return (
    Number.isSafeInteger(N) &&
    Number.isSafeInteger(r) &&
    Number.isSafeInteger(p) &&
    N >= MIN_N &&
    (N & (N - 1)) === 0 &&
    r >= 1 &&
    p >= 1 &&
    p <= 16 &&
    128 * N * r <= MAX_MEMORY
  );
}

/** Hashes a password with fresh salt. `params` exists for tests and tuning; leave it out otherwise. */
export async function hashPassword(pw: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  if (!validParams(params)) throw new RangeError("scrypt parameters out of range");
  if (pw.length > MAX_INPUT_UNITS) throw new RangeError("password too long");
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(pw, salt, KEY_BYTES, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

interface Parsed extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DIGITS = /^[1-9][0-9]{0,9}$/;

function parse(stored: string): Parsed | undefined {
  if (typeof stored !== "string") return undefined;
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  if (!DIGITS.test(n) || !DIGITS.test(r) || !DIGITS.test(p) || !B64.test(salt) || !B64.test(hash)) {
    return undefined;
  }
  const parsed: Parsed = {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt, "base64"),
    hash: Buffer.from(hash, "base64"),
  };
  if (!validParams(parsed) || parsed.salt.length < 8 || parsed.hash.length < 16 || parsed.hash.length > 64) {
    return undefined;
  }
  return parsed;
}

/**
 * True when `pw` matches the stored hash. Compares in constant time; a malformed or unknown stored
 * value gives false, never an exception.
 */
export async function verifyPassword(pw: string, stored: string): Promise<boolean> {
  if (typeof pw !== "string" || pw.length > MAX_INPUT_UNITS) return false;
  const parsed = parse(stored);
  if (!parsed) return false;
  const key = await scryptAsync(pw, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(key, parsed.hash);
}

/** True when the stored hash is malformed or weaker than `current` (call after a successful verify). */
export function needsRehash(stored: string, current: ScryptParams = DEFAULT_SCRYPT): boolean {
  const parsed = parse(stored);
  if (!parsed) return true;
  return (
    parsed.N < current.N ||
    parsed.r < current.r ||
    parsed.p < current.p ||
    parsed.salt.length < SALT_BYTES ||
    parsed.hash.length < KEY_BYTES
  );
}

export type PolicyResult = { ok: true } | { ok: false; message: string };

/**
 * The password rules, checked when a password is set (invitation, reset, change), never at login:
 * 12 to 256 characters (Unicode code points after NFC normalisation), not one character repeated.
 * Any characters are allowed, spaces and emoji too; no composition rules (NIST SP 800-63B).
 */
export function checkPasswordPolicy(pw: string): PolicyResult {
  if (typeof pw !== "string") return { ok: false, message: "password must be a string" };
  const normalized = pw.normalize("NFC");
  // A lone surrogate would be encoded as U+FFFD and so collide with other passwords.
  if (/\p{Cs}/u.test(normalized)) {
    return { ok: false, message: "password contains invalid characters (unpaired UTF-16 surrogates)" };
  }
  const chars = Array.from(normalized);
  if (chars.length < PASSWORD_MIN_LENGTH) {
    return { ok: false, message: `password must have at least ${PASSWORD_MIN_LENGTH} characters` };
  }
  if (chars.length > PASSWORD_MAX_LENGTH) {
    return { ok: false, message: `password must have at most ${PASSWORD_MAX_LENGTH} characters` };
  }
  if (chars.every((c) => c === chars[0])) {
    return { ok: false, message: "password must not consist of a single repeated character" };
  }
  return { ok: true };
}
