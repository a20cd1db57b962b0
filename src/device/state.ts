import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Assignment } from "./dps.js";

/**
 * What the agent remembers between runs besides its queue (`<state dir>/agent-state.json`): the DPS
 * assignment, so a restart connects without provisioning, and the last desired properties, so a box
 * that restarts offline keeps the intervals the operator set. Never a key.
 */
export interface AgentState {
  /** The identity the assignment belongs to; a box reconfigured to another identity re-provisions. */
  identity?: { idScope: string; registrationId: string; provisioningHost: string } | undefined;
  assignment?: (Assignment & { at: string }) | undefined;
  /** The desired-properties document as last received, with its `$version`. */
  desired?: Record<string, unknown> | undefined;
}

export const STATE_FILE = "agent-state.json";
export const QUEUE_FILE = "queue.db";

export function loadState(dir: string): AgentState {
  try {
    const v: unknown = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8"));
    return typeof v === "object" && v !== null ? (v as AgentState) : {};
  } catch {
    // Missing or damaged: start over (provision again); the queue is in its own file and survives.
    return {};
  }
}

/** Writes the state atomically (temporary file, then rename), so a crash never leaves half a file. */
export function saveState(dir: string, state: AgentState): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, STATE_FILE);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}
