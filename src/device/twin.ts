import type { QueueStats } from "./queue.js";

/** What the twin can change on a running agent. Intervals are in the agent clock's seconds. */
export interface AgentSettings {
  sampleIntervalSec: number;
  sendIntervalSec: number;
}

/** Accepted ranges of the desired properties; a value outside is rejected and reported back. */
export const SETTING_RANGES: Readonly<Record<keyof AgentSettings, readonly [number, number]>> = {
  // 50 ms is the fastest the simulator needs; a day is the slowest that still shows a box is alive.
  sampleIntervalSec: [0.05, 86_400],
  sendIntervalSec: [0.05, 86_400],
};

export const DEFAULT_SETTINGS: AgentSettings = { sampleIntervalSec: 10, sendIntervalSec: 60 };

/** Checks one value against `SETTING_RANGES`; returns the reason when it is not acceptable. */
export function settingProblem(key: keyof AgentSettings, value: unknown): string | undefined {
  const [min, max] = SETTING_RANGES[key];
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    return `must be a number of seconds from ${min} to ${max}`;
  }
  return undefined;
}

/**
 * The settings a desired-properties document asks for, on top of `base` (the agent's own
 * configuration). Keys the agent does not know are ignored, as Azure devices do; a known key with a
 * bad value keeps the base value and is listed in `rejected` so the operator sees why.
 */
export function settingsFromDesired(
  base: AgentSettings,
  desired: Record<string, unknown>,
): { settings: AgentSettings; rejected: Record<string, string> } {
  const settings = { ...base };
  const rejected: Record<string, string> = {};
  for (const key of Object.keys(SETTING_RANGES) as (keyof AgentSettings)[]) {
    if (!(key in desired)) continue;
    const problem = settingProblem(key, desired[key]);
    if (problem) rejected[key] = problem;
    else settings[key] = desired[key] as number;
  }
  return { settings, rejected };
}

/**
 * JSON merge patch (RFC 7396) as the twin applies it (azure-protocol.md §5.5): null deletes, objects
 * merge, anything else replaces. Returns a new object.
 */
export function mergePatch(
  doc: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...doc };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === "object" && !Array.isArray(v)) {
      const cur = out[k];
      const base =
        typeof cur === "object" && cur !== null && !Array.isArray(cur)
          ? (cur as Record<string, unknown>)
          : {};
      out[k] = mergePatch(base, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

/** The reported properties of an agent (docs/device-agent.md lists them). */
export function reportedProperties(r: {
  agentVersion: string;
  signals: readonly string[];
  settings: AgentSettings;
  queue: QueueStats;
  rejected: Record<string, string>;
}): Record<string, unknown> {
  return {
    agentVersion: r.agentVersion,
    signals: [...r.signals],
    sampleIntervalSec: r.settings.sampleIntervalSec,
    sendIntervalSec: r.settings.sendIntervalSec,
    queue: {
      packets: r.queue.packets,
      bytes: r.queue.bytes,
      droppedPackets: r.queue.droppedPackets,
      droppedSamples: r.queue.droppedSamples,
    },
    // The twin merges objects, so accepted keys are sent as null to clear an earlier rejection, and
    // the whole property is null (removed) once every desired value is accepted.
    desiredRejected:
      Object.keys(r.rejected).length === 0
        ? null
        : Object.fromEntries(Object.keys(SETTING_RANGES).map((k) => [k, r.rejected[k] ?? null])),
  };
}
