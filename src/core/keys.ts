import { createHmac, randomBytes } from "node:crypto";

/** Canonical, padded standard base64 (what Azure and Node emit for keys). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True for a non-empty, canonical base64 string. Anything else must never act as a key (azure-protocol.md §1.1). */
export function isBase64Key(key: string): boolean {
  return key.length > 0 && BASE64.test(key);
}

/**
 * Group-enrollment derived device key (azure-protocol.md §2):
 * base64(HMAC-SHA256(base64decode(groupKey), registrationId as UTF-8)).
 * Throws on an invalid group key: an empty HMAC key would make every derived key public.
 */
export function deriveDeviceKey(groupKey: string, registrationId: string): string {
  if (!isBase64Key(groupKey)) throw new TypeError("group key is not valid base64");
  return createHmac("sha256", Buffer.from(groupKey, "base64"))
    .update(registrationId, "utf8")
    .digest("base64");
}

/** A random symmetric key, base64 (azure-protocol.md §2: Azure uses 16–64 bytes). */
export function generateKey(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 1) throw new RangeError("key length must be a positive integer");
  return randomBytes(bytes).toString("base64");
}

/**
 * Device and registration ids (azure-protocol.md §2, §9.19): lower-case alphanumeric plus `- . _ :`,
 * at most 128 chars, first char alphanumeric, last alphanumeric or `-`. We require lower case.
 */
export const ID_PATTERN: RegExp = /^[a-z0-9][a-z0-9._:-]{0,126}[a-z0-9-]$|^[a-z0-9]$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
