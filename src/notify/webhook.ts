import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { PumpwatchError } from "../core/errors.js";

/**
 * Signed webhooks: the signature scheme (`x-pumpwatch-signature: t=<unix s>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>">`, the scheme Stripe made common), a verifier for receivers, and one POST with a
 * timeout. The timestamp is signed with the body so a captured request cannot be replayed later than
 * the receiver's tolerance.
 */

export const SIGNATURE_HEADER = "x-pumpwatch-signature";
export const EVENT_HEADER = "x-pumpwatch-event";
export const DELIVERY_HEADER = "x-pumpwatch-delivery";

/** A new webhook secret: "whsec_" and 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

/** A new webhook id: "wh_" and 12 random bytes, base64url. */
export function newWebhookId(): string {
  return `wh_${randomBytes(12).toString("base64url")}`;
}

/** The signature header value for `body` sent at `nowMs`. */
export function signatureHeader(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
  return `t=${t},v1=${v1}`;
}

/**
 * Whether `header` is a valid signature of the raw `body` under `secret`, made at most `toleranceSec`
 * from `nowMs`. Compares in constant time; any `v1` entry may match (for secret rotation).
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string | Buffer,
  toleranceSec = 300,
  nowMs = Date.now(),
): boolean {
  if (typeof header !== "string") return false;
  let t: number | undefined;
  const sigs: string[] = [];
  for (const part of header.split(",")) {
    const [k, v] = part.trim().split("=", 2);
    if (k === "t" && v && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === "v1" && v && /^[0-9a-f]{64}$/.test(v)) sigs.push(v);
  }
  if (t === undefined || sigs.length === 0) return false;
  if (Math.abs(nowMs / 1000 - t) > toleranceSec) return false;
  const expected = createHmac("sha256", secret)
    .update(`${t}.`)
    .update(typeof body === "string" ? Buffer.from(body, "utf8") : body)
    .digest();
  return sigs.some((s) => timingSafeEqual(Buffer.from(s, "hex"), expected));
}

const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);

/**
 * BAD_REQUEST unless `raw` is an https URL, or http to the loopback interface (local receivers and
 * tests), without credentials. Returns the normalised URL.
 */
export function checkWebhookUrl(raw: unknown): string {
  if (typeof raw !== "string" || raw.length > 2000) {
    throw new PumpwatchError("BAD_REQUEST", '"url" must be a URL of at most 2000 characters');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PumpwatchError("BAD_REQUEST", '"url" is not a URL');
  }
  const loopback = LOOPBACK.has(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new PumpwatchError("BAD_REQUEST", '"url" must be https (http only to 127.0.0.1 or localhost)');
  }
  if (url.username || url.password) {
    throw new PumpwatchError("BAD_REQUEST", '"url" must not carry a user name or password');
  }
  return url.href;
}

export interface WebhookPost {
  url: string;
  secret: string;
  event: string;
  deliveryId: string;
  body: string;
  nowMs: number;
  timeoutMs: number;
}

/**
 * POSTs one signed message. Resolves with undefined when the receiver answered 2xx, else with a
 * short reason that holds no response text (it is stored and shown): "HTTP 500", "timed out", …
 * Redirects are not followed (a 3xx is a failure), so a receiver cannot bounce the message elsewhere.
 */
export async function postWebhook(p: WebhookPost): Promise<string | undefined> {
  try {
    const res = await fetch(p.url, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/json",
        "user-agent": "pumpwatch-webhook/1",
        [EVENT_HEADER]: p.event,
        [DELIVERY_HEADER]: p.deliveryId,
        [SIGNATURE_HEADER]: signatureHeader(p.secret, p.body, p.nowMs),
      },
      body: p.body,
      signal: AbortSignal.timeout(p.timeoutMs),
    });
    await res.body?.cancel();
    return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: unknown } };
    if (e.name === "TimeoutError" || e.name === "AbortError") return "timed out";
    const code = typeof e.cause?.code === "string" && /^[A-Z_]{2,32}$/.test(e.cause.code) ? e.cause.code : "";
    return `connection failed${code ? ` (${code})` : ""}`;
  }
}
