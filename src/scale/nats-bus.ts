import type { NatsConnection, Subscription } from "nats";
import { type BusEvents, type BusTopic, createLocalBus, type EventBus } from "../core/bus.js";
import { decodeJson, encodeJson } from "./nats-util.js";

/**
 * The event bus across processes (core/bus.ts's scale-out seam) on `<ns>.events.<topic>`: `publish`
 * sends the event on core NATS and every process, this one included, hands it to its local subscribers once it comes back.
 * So an alarm raised by an analytics worker reaches the notifier and the live stream of every api
 * process. Like the local bus it is at-most-once: durable facts live in the stores.
 */
export function createNatsBus(
  nc: NatsConnection,
  ns: string,
  onError: (err: unknown, topic: BusTopic) => void,
): EventBus & { close(): void } {
  const prefix = `${ns}.events`;
  const local = createLocalBus(onError);
  const sub: Subscription = nc.subscribe(`${prefix}.*`, {
    callback: (err, msg) => {
      const topic = msg?.subject.slice(prefix.length + 1) as BusTopic;
      if (err) return onError(err, topic);
      let event: BusEvents[BusTopic];
      try {
        event = decodeJson(msg.data);
      } catch (e) {
        return onError(e, topic);
      }
      local.publish(topic, event);
    },
  });
  return {
    publish(topic, event) {
      try {
        nc.publish(`${prefix}.${topic}`, encodeJson(event));
      } catch (err) {
        // A closed or reconnecting connection: the event is lost, as a local handler's throw would be.
        onError(err, topic);
      }
    },
    subscribe: local.subscribe,
    close: () => sub.unsubscribe(),
  };
}
