import { useEffect, useRef } from "preact/hooks";
import type { Alarm } from "./types.ts";

/**
 * Live events over server-sent events (GET /api/events, docs/api.md): one EventSource for the
 * whole app, reopened with backoff when the browser gives up on it (it retries by itself after
 * network drops, not after an error answer such as a 401).
 */

export interface LiveEvents {
  alarm: { alarm: Alarm; event: string };
  values: { deviceId: string; ts: number; values: Record<string, number>; state: string | null };
  connectivity: { deviceId: string; connected: boolean; at: number };
  maintenance: { deviceId: string; id: number; action: string; ts: number };
}
export type Topic = keyof LiveEvents;
const TOPICS: readonly Topic[] = ["alarm", "values", "connectivity", "maintenance"];

type Handler<T extends Topic> = (e: LiveEvents[T]) => void;

const handlers: { [T in Topic]: Set<Handler<T>> } = {
  alarm: new Set(),
  values: new Set(),
  connectivity: new Set(),
  maintenance: new Set(),
};
const statusListeners = new Set<(connected: boolean) => void>();

let source: EventSource | null = null;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let backoffMs = 1000;

function open(): void {
  const es = new EventSource("/api/events", { withCredentials: true });
  source = es;
  es.onopen = () => {
    backoffMs = 1000;
    for (const l of statusListeners) l(true);
  };
  es.onerror = () => {
    for (const l of statusListeners) l(false);
    if (es.readyState === EventSource.CLOSED && source === es) {
      source = null;
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        open();
      }, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 60_000);
    }
  };
  for (const topic of TOPICS) {
    es.addEventListener(topic, (msg) => {
      let data: unknown;
      try {
        data = JSON.parse((msg as MessageEvent<string>).data);
      } catch {
        return;
      }
      for (const h of handlers[topic]) (h as (e: unknown) => void)(data);
    });
  }
}

/** Starts the stream (after login); idempotent. */
export function startLive(): void {
  if (source === null && retryTimer === undefined) open();
}

/** Ends the stream (at logout). */
export function stopLive(): void {
  clearTimeout(retryTimer);
  retryTimer = undefined;
  source?.close();
  source = null;
}

export function subscribe<T extends Topic>(topic: T, fn: Handler<T>): () => void {
  handlers[topic].add(fn);
  return () => handlers[topic].delete(fn);
}

export function onLiveStatus(fn: (connected: boolean) => void): () => void {
  statusListeners.add(fn);
  return () => statusListeners.delete(fn);
}

/** Subscribes a component to a topic; the latest handler is used without resubscribing. */
export function useLive<T extends Topic>(topic: T, fn: Handler<T>): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => subscribe(topic, (e) => ref.current(e)), [topic]);
}
