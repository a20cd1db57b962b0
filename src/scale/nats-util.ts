import type { KV, KvOptions, NatsConnection } from "nats";

/** Small pieces every bus-mode part uses: JSON on the wire and key-value buckets. */

export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

export function decodeJson<T>(data: Uint8Array): T {
  return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")) as T;
}

/**
 * A key-value key for any id: KV keys allow only `[-/_=.a-zA-Z0-9]`, device ids also ':' (and a key
 * must not start or end with '.'), so ids are base64url-encoded.
 */
export function kvKey(id: string): string {
  return Buffer.from(id, "utf8").toString("base64url");
}

/** Opens (creating when missing) a key-value bucket on JetStream. */
export function openBucket(nc: NatsConnection, name: string, opts: Partial<KvOptions>): Promise<KV> {
  return nc.jetstream().views.kv(name, opts);
}
