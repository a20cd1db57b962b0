import type { QueueStats } from "./queue.js";
import { type AgentSettings, mergePatch, reportedProperties, settingsFromDesired } from "./twin.js";
import { AGENT_VERSION } from "./version.js";

export interface TwinSyncDeps {
  /** The agent's own configuration, which desired properties override. */
  base: AgentSettings;
  signals: readonly string[];
  queueStats(): QueueStats | undefined;
  /** Sends a reported patch; false when not connected (it is sent again on the next connect). */
  report(patch: Record<string, unknown>): boolean;
  /** Keeps the desired document for the next start (an offline restart keeps the operator's intervals). */
  persist(desired: Record<string, unknown>): void;
  /** The settings changed (or were confirmed by the hub): apply them. */
  apply(settings: AgentSettings, rejected: Record<string, string>): void;
  /** Queue statistics are re-reported at most this often while they change. */
  statsReportMs: number;
}

/**
 * The agent's side of the device twin (azure-protocol.md §5.5): the desired document (from the GET
 * on connect and from pushed patches, version-checked) turned into settings, and the reported
 * properties, sent on every connect and settings change and, throttled, when the queue changed.
 */
export class TwinSync {
  readonly #d: TwinSyncDeps;
  #desired: Record<string, unknown> = {};
  #settings: AgentSettings;
  #rejected: Record<string, string> = {};
  /** `$version` of the newest patch received on the current connection. */
  #patchedVersion = 0;
  #lastReport = { at: 0, queue: "" };

  constructor(deps: TwinSyncDeps) {
    this.#d = deps;
    this.#settings = { ...deps.base };
  }

  get settings(): AgentSettings {
    return { ...this.#settings };
  }

  /** Adopts the desired document kept from the last run, before any connection. */
  restore(desired: Record<string, unknown>): void {
    this.#adopt(desired, false);
  }

  connected(): void {
    this.#patchedVersion = 0;
  }

  /**
   * The twin GET answer is the whole truth (the device may have been re-created with its versions
   * starting over), unless a newer patch already arrived on this connection and the answer raced it.
   */
  twin(desired: Record<string, unknown>): void {
    const version = desired["$version"];
    if (typeof version === "number" && version < this.#patchedVersion) return;
    this.#adopt(desired, true);
  }

  patch(patch: Record<string, unknown>): void {
    const version = patch["$version"];
    const current = this.#desired["$version"];
    // Not newer than what we have (the GET answer already contained it): nothing changes.
    if (typeof version === "number" && typeof current === "number" && version <= current) return;
    if (typeof version === "number") this.#patchedVersion = version;
    this.#adopt(mergePatch(this.#desired, patch), true);
  }

  /** After a delivery: re-report the queue when it changed and the last report is old enough. */
  delivered(): void {
    if (Date.now() - this.#lastReport.at >= this.#d.statsReportMs) this.report(false);
  }

  /** Nothing in flight: if an outage's backlog is gone, tell the operator the box caught up. */
  idle(): void {
    if (this.#lastReport.queue !== "" && this.#d.queueStats()?.packets === 0) this.report(false);
  }

  /** Sends the reported properties; unless `force`, only when the queue changed since the last report. */
  report(force: boolean): void {
    const queue = this.#d.queueStats();
    if (!queue) return;
    const key = `${queue.packets}/${queue.droppedSamples}`;
    if (!force && key === this.#lastReport.queue) return;
    const sent = this.#d.report(
      reportedProperties({
        agentVersion: AGENT_VERSION,
        signals: this.#d.signals,
        settings: this.#settings,
        queue,
        rejected: this.#rejected,
      }),
    );
    if (sent) this.#lastReport = { at: Date.now(), queue: key };
  }

  #adopt(desired: Record<string, unknown>, fromHub: boolean): void {
    const { settings, rejected } = settingsFromDesired(this.#d.base, desired);
    const changed = JSON.stringify(settings) !== JSON.stringify(this.#settings);
    this.#desired = desired;
    this.#settings = settings;
    this.#rejected = rejected;
    if (fromHub) this.#d.persist(desired);
    if (changed || fromHub) this.#d.apply(this.settings, { ...rejected });
    if (fromHub) this.report(true);
  }
}
