import { randomUUID } from "node:crypto";
import type { KV, NatsConnection, Subscription } from "nats";
import type { Gateway } from "../gateway/gateway.js";
import type { SessionBacking } from "../gateway/sessions.js";
import type { SubscriptionKind } from "../gateway/topics.js";
import type { DeviceDirectory } from "../ingest/directory.js";
import type { RegistryStore } from "../store/ports.js";
import { decodeJson, encodeJson, kvKey, openBucket } from "./nats-util.js";

/**
 * Device state across gateways (docs/scale-out.md): a device holds one connection on one gateway,
 * while the API that changes it runs elsewhere. Changes travel on core NATS subjects every gateway
 * subscribes to; each acts on the devices it holds:
 *
 * Subjects are under the installation's namespace `ns` ("pumpwatch" for the default stream):
 * - `<ns>.device.changed`: the device record changed (disabled, deleted, key rotated): re-read
 *   it and drop the connection when its credentials no longer hold.
 * - `<ns>.device.desired`: a twin desired-properties patch to push to the device.
 * - `<ns>.device.connected`: the device connected on a gateway: any other gateway closes its
 *   older connection of the same device (a new connection replaces the old one, as in IoT Hub).
 *
 * Subscriptions of a session live in a key-value bucket, so a device that reconnects to another
 * gateway with clean=false keeps them. Core NATS is at-most-once: a gateway that misses a "changed"
 * still catches it with its one-second registry poll (DeviceSide.watchRegistry).
 */
export function subjects(ns: string) {
  return {
    changed: `${ns}.device.changed`,
    desired: `${ns}.device.desired`,
    connected: `${ns}.device.connected`,
  };
}

type Changed = { deviceId: string };
type Desired = { deviceId: string; patch: Record<string, unknown>; version: number };
type Connected = { deviceId: string; gateway: string; at: number };

/** The publishing side, used by whatever changes devices (the API, the CLI through the API, termination). */
export class DeviceControlPublisher {
  readonly #nc: NatsConnection;
  readonly #s: ReturnType<typeof subjects>;

  constructor(nc: NatsConnection, ns: string) {
    this.#nc = nc;
    this.#s = subjects(ns);
  }

  changed(deviceId: string): void {
    this.#nc.publish(this.#s.changed, encodeJson({ deviceId } satisfies Changed));
  }

  desired(deviceId: string, patch: Record<string, unknown>, version: number): void {
    this.#nc.publish(this.#s.desired, encodeJson({ deviceId, patch, version } satisfies Desired));
  }
}

/** Session subscriptions in a NATS key-value bucket (`bucket`), keyed by device id. */
export async function sessionBacking(
  nc: NatsConnection,
  bucket: string,
  replicas: number,
  onError: (err: unknown) => void,
): Promise<SessionBacking> {
  const kv: KV = await openBucket(nc, bucket, { replicas, history: 1 });
  return {
    async load(deviceId) {
      try {
        const e = await kv.get(kvKey(deviceId));
        if (e?.operation !== "PUT") return undefined;
        return decodeJson<SubscriptionKind[]>(e.value);
      } catch (err) {
        // Without the bucket the device re-subscribes or misses pushes until it does; it connects.
        onError(err);
        return undefined;
      }
    },
    save(deviceId, kinds) {
      const key = kvKey(deviceId);
      const write = kinds.length === 0 ? kv.delete(key) : kv.put(key, encodeJson(kinds));
      write.catch(onError);
    },
  };
}

/**
 * The gateway side: applies changes to the connections this gateway holds, and announces the
 * devices that connect here. Returns the function that stops it.
 */
export function attachGateway(o: {
  nc: NatsConnection;
  ns: string;
  gateway: Gateway;
  directory: DeviceDirectory;
  registry: RegistryStore;
  onError: (err: unknown) => void;
}): () => void {
  const id = randomUUID();
  const s = subjects(o.ns);
  const subs: Subscription[] = [];
  const on = <T>(subject: string, handle: (m: T) => void | Promise<void>) => {
    subs.push(
      o.nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err) return o.onError(err);
          try {
            Promise.resolve(handle(decodeJson<T>(msg.data))).catch(o.onError);
          } catch (e) {
            o.onError(e);
          }
        },
      }),
    );
  };
  on<Changed>(s.changed, async ({ deviceId }) => {
    const device = await o.registry.getDevice(deviceId);
    if (device) o.directory.put(device);
    else o.directory.forget(deviceId);
    o.gateway.revalidate(deviceId, device);
  });
  on<Desired>(s.desired, ({ deviceId, patch, version }) => o.gateway.pushDesired(deviceId, patch, version));
  on<Connected>(s.connected, ({ deviceId, gateway, at }) => {
    if (gateway !== id) o.gateway.replacedElsewhere(deviceId, at);
  });
  const announce = (deviceId: string, at: number) =>
    o.nc.publish(s.connected, encodeJson({ deviceId, gateway: id, at } satisfies Connected));
  o.gateway.on("deviceConnected", announce);
  return () => {
    o.gateway.off("deviceConnected", announce);
    for (const sub of subs) sub.unsubscribe();
  };
}
