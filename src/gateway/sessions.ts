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
      /** When the CONNECT was accepted (ms), to tell an older connection from a newer one. */
      connectedAt: number;
      /** Closed because the device connected again elsewhere: its disconnect is not announced. */
      replaced?: boolean;
    }
  | { kind: "dps"; registrationId: string; idScope: string; password: string | undefined };

/**
 * Where the subscriptions of every gateway live when there are several (scale-out: a NATS key-value
 * bucket, src/scale/device-control.ts), so a device reconnecting to another gateway keeps them.
 */
export interface SessionBacking {
  load(deviceId: string): Promise<SubscriptionKind[] | undefined>;
  /** An empty list ends the session. Written in the background; failures are the backing's to report. */
  save(deviceId: string, kinds: SubscriptionKind[]): void;
}

/**
 * Subscriptions per device id, kept across connections: the Azure SDK renews its token with a new
 * CONNECT (clean=false) and does not subscribe again, so the hub must remember them
 * (azure-protocol.md §1.3, §9.9). In memory, written through to a {@link SessionBacking} when there
 * is one; without one, after a restart the SDK re-subscribes on reconnect.
 */
export class DeviceSessions {
  readonly #subs = new Map<string, Set<SubscriptionKind>>();
  readonly #backing: SessionBacking | undefined;

  constructor(backing?: SessionBacking) {
    this.#backing = backing;
  }

  add(deviceId: string, kind: SubscriptionKind): void {
    let set = this.#subs.get(deviceId);
    if (!set) {
      set = new Set();
      this.#subs.set(deviceId, set);
    }
    if (set.has(kind)) return;
    set.add(kind);
    this.#backing?.save(deviceId, [...set]);
  }

  remove(deviceId: string, kind: SubscriptionKind): void {
    if (this.#subs.get(deviceId)?.delete(kind)) this.#backing?.save(deviceId, [...this.#subs.get(deviceId)!]);
  }

  has(deviceId: string, kind: SubscriptionKind): boolean {
    return this.#subs.get(deviceId)?.has(kind) ?? false;
  }

  /** A clean session (clean=true) starts without subscriptions [MQTT-3.1.2-6]. */
  clear(deviceId: string): void {
    this.#subs.delete(deviceId);
    // Another gateway may hold the session's subscriptions.
    this.#backing?.save(deviceId, []);
  }

  /** Resuming a session (clean=false): the backing's subscriptions, which another gateway may have written. */
  async resume(deviceId: string): Promise<void> {
    if (!this.#backing) return;
    const kinds = await this.#backing.load(deviceId);
    if (kinds === undefined) return;
    if (kinds.length === 0) this.#subs.delete(deviceId);
    else this.#subs.set(deviceId, new Set(kinds));
  }
}
