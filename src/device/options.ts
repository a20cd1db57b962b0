/** The public surface of a DeviceAgent: its options, status, events and statistics. */
import type { SensorSource } from "../sim/source.js";
import type { BackoffPolicy } from "./backoff.js";
import type { PacketLimits } from "./batch.js";
import type { Clock } from "./clock.js";
import type { Assignment } from "./dps.js";
import type { PacketQueue, QueueLimits, QueueStats } from "./queue.js";
import type { AgentSettings } from "./twin.js";

export interface AgentOptions {
  /** DPS endpoint, `HOST[:PORT]` (port 8883 when omitted). */
  provisioningHost: string;
  idScope: string;
  registrationId: string;
  /** The individual enrollment key; or give `groupKey` and the device key is derived (§2). */
  key?: string | undefined;
  groupKey?: string | undefined;
  /** CA certificate (PEM) to trust; Node's default roots when omitted. */
  ca?: string | Buffer | undefined;
  /** Folder for the queue and the cached assignment; created if missing. */
  stateDir: string;
  /** Where samples come from; none for an agent that only sends `backfill` data. */
  source?: SensorSource | undefined;
  clock?: Clock;
  /** Intervals used until the twin says otherwise (defaults: sample 10 s, send 60 s). */
  settings?: Partial<AgentSettings>;
  /** Lifetime of each hub SAS token; the agent reconnects with a new one at 75 % (default 3600). */
  tokenLifetimeSec?: number;
  /** A ready queue, or the bounds of the on-disk one in the state folder. */
  queue?: PacketQueue | (Partial<QueueLimits> & { synchronous?: "FULL" | "NORMAL" });
  /** Packets in flight without PUBACK (default 8). */
  window?: number;
  packetLimits?: Partial<PacketLimits>;
  backoff?: BackoffPolicy;
  authBackoff?: BackoffPolicy;
  keepaliveSec?: number;
  connectTimeoutMs?: number;
  twinTimeoutMs?: number;
  /** Queue statistics are re-reported at most this often while they change (default 300). */
  statsReportSec?: number;
  /** Sent with the DPS register request (`payload`). */
  provisioningPayload?: unknown;
  random?: () => number;
}

export type AgentStatus = "stopped" | "provisioning" | "connecting" | "connected" | "waiting";

/** Events for the application to log or count; the agent itself logs nothing. */
export interface AgentEvents {
  provisioned: [info: Assignment & { cached: boolean }];
  connected: [info: { deviceId: string; assignedHub: string }];
  disconnected: [info: { reason: string; retryInMs: number }];
  settings: [settings: AgentSettings, rejected: Record<string, string>];
  delivered: [samples: number];
  dropped: [samples: number];
  warning: [err: Error];
}

export interface AgentStats {
  status: AgentStatus;
  deviceId: string | undefined;
  settings: AgentSettings;
  queue: QueueStats;
  inflight: number;
  /** Samples read but not yet queued (at most one send interval). */
  buffered: number;
  deliveredPackets: number;
  deliveredSamples: number;
  connects: number;
  provisions: number;
}
