/**
 * The event bus: how parts tell each other (and live clients) what happened — alarm changes,
 * fresh pump values, box connectivity. The embedded default is in-process; a distributed setup puts
 * a message system behind the same interface (docs/architecture.md, scale-out seam).
 *
 * Delivery is at-most-once and best effort: a subscriber that throws is isolated from the others and
 * from the publisher. Durable facts live in the stores; the bus only announces them.
 */
import type { AlarmEventKind, AlarmRecord, SecurityEvent } from "../store/ports.js";

export interface BusEvents {
  /** An alarm was raised, escalated, cleared, acknowledged, shelved or commented. */
  alarm: { alarm: AlarmRecord; event: AlarmEventKind };
  /** Latest values of a pump after analytics processed them (one per processed batch). */
  values: { deviceId: string; ts: number; values: Record<string, number>; state: string | null };
  /** A box connected or disconnected. */
  connectivity: { deviceId: string; connected: boolean; at: number };
  /** A maintenance action was logged. */
  maintenance: { deviceId: string; id: number; action: string; ts: number };
  /** A security event opened an episode in a process without a notifier (a scale-out gateway). */
  security: SecurityEvent;
}

export type BusTopic = keyof BusEvents;

export interface EventBus {
  publish<T extends BusTopic>(topic: T, event: BusEvents[T]): void;
  /** Returns the function that unsubscribes. */
  subscribe<T extends BusTopic>(topic: T, handler: (event: BusEvents[T]) => void): () => void;
}

/** In-process bus; `onError` hears about handlers that threw. */
export function createLocalBus(onError: (err: unknown, topic: BusTopic) => void = () => {}): EventBus {
  const handlers = new Map<BusTopic, Set<(event: never) => void>>();
  return {
    publish(topic, event) {
      for (const h of handlers.get(topic) ?? []) {
        try {
          (h as (e: typeof event) => void)(event);
        } catch (err) {
          onError(err, topic);
        }
      }
    },
    subscribe(topic, handler) {
      const set = handlers.get(topic) ?? new Set();
      handlers.set(topic, set);
      set.add(handler as (event: never) => void);
      return () => set.delete(handler as (event: never) => void);
    },
  };
}
