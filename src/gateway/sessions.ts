import type { SubscriptionKind } from "./topics.js";

/** What the gateway knows about an authenticated MQTT connection. */
export type ClientContext =
  | {
      kind: "hub";
      deviceId: string;
      /** The key the token was signed with, to notice when it is rotated away. */
      key: string;
      expiresAtSec: number;
      expiryTimer?: NodeJS.Timeout;
    }
  | { kind: "dps"; registrationId: string; idScope: string; password: string | undefined };

/**
 * Subscriptions per device id, kept across connections: the Azure SDK renews its token with a new
 * CONNECT (clean=false) and does not subscribe again, so the hub must remember them
 * (azure-protocol.md §1.3, §9.9). In memory: after a restart the SDK re-subscribes on reconnect.
 */
export class DeviceSessions {
  readonly #subs = new Map<string, Set<SubscriptionKind>>();

  add(deviceId: string, kind: SubscriptionKind): void {
    let set = this.#subs.get(deviceId);
    if (!set) {
      set = new Set();
      this.#subs.set(deviceId, set);
    }
    set.add(kind);
  }

  remove(deviceId: string, kind: SubscriptionKind): void {
    this.#subs.get(deviceId)?.delete(kind);
  }

  has(deviceId: string, kind: SubscriptionKind): boolean {
    return this.#subs.get(deviceId)?.has(kind) ?? false;
  }

  /** A clean session (clean=true) starts without subscriptions [MQTT-3.1.2-6]. */
  clear(deviceId: string): void {
    this.#subs.delete(deviceId);
  }
}
