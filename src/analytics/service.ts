/**
 * Analytics in the running server: committed samples go to each pump's {@link PumpAnalyzer}, its
 * alarm transitions into the alarm lifecycle (AnalyticsStore), and every change onto the event bus.
 *
 * Never on the ingest path: `enqueue` only appends to an in-memory queue (O(1)); a separate loop
 * processes it, yielding to the event loop between pumps. A pump whose analytics throw is logged and
 * counted, and its other samples continue. When the queue would exceed its bound, samples are not
 * queued but re-read from the telemetry store later (the pump is marked "behind"), so a slow
 * analytic can neither stall ingest nor grow memory without bound, and nothing is skipped.
 *
 * Durability: analyzer state and KPI integrals are written every `flushMs` and on close. After a
 * restart each pump resumes from its saved state and re-reads the samples stored since (at most
 * `replayMaxMs`), so alarms and KPIs continue where they stopped.
 */
import type { EventBus } from "../core/bus.js";
import { PumpwatchError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Metrics } from "../core/metrics.js";
import type { Sample } from "../core/sample.js";
import type { DeviceDirectory } from "../ingest/directory.js";
import { MAINTENANCE_ACTIONS } from "../sim/health.js";
import type {
  AlarmEventKind,
  AlarmRecord,
  AnalyticsStore,
  CommitUnit,
  MaintenanceRecord,
  TelemetryStore,
} from "../store/ports.js";
import { analysisModel, PumpAnalyzer } from "./analyzer.js";
import { fleetHealth } from "./health.js";
import { rulesFor } from "./rules.js";
import type { AlarmTransition, HealthReport, MaintenanceAction } from "./types.js";

export interface AnalyticsServiceOptions {
  store: AnalyticsStore;
  telemetry: TelemetryStore;
  directory: DeviceDirectory;
  bus: EventBus;
  log: Logger;
  metrics?: Metrics | undefined;
  offlineAfterMs: number;
  flushMs: number;
  maxBacklogSamples: number;
  replayMaxMs: number;
  /** Wall clock (tests inject one). */
  now?: () => number;
  /**
   * Scale-out (docs/scale-out.md): whether this process analyses the pump (default: every pump). A
   * pump analysed elsewhere is shown as its owner last saved it (re-read after `readerTtlMs`), and
   * its maintenance and rule changes go to the owner through `delegate`.
   */
  owns?: (deviceId: string) => boolean;
  readerTtlMs?: number;
  /**
   * Fed from a log that delivers every unit again until it is acked after the state was saved (the
   * scale-out's analytics worker): then the log, not the telemetry store, is the source of what was
   * missed, and re-reading the store — which may still lack units the log holds — is never done.
   * Nothing is dropped for a full backlog either: the feeder bounds it. Default false.
   */
  logFed?: boolean;
  delegate?: AnalyticsDelegate | undefined;
}

/** The analytics worker owning a pump, reached from a reader (src/scale/analytics-worker.ts). */
export interface AnalyticsDelegate {
  logMaintenance(
    deviceId: string,
    entry: { action: string; ts?: number | undefined; note?: string | undefined },
    actor: string,
  ): Promise<MaintenanceRecord>;
  setRuleOverrides(deviceId: string, overrides: unknown): Promise<ReturnType<typeof rulesFor>>;
}

interface Slot {
  analyzer: PumpAnalyzer;
  dirty: boolean;
  connected: boolean;
  /** Stored samples before the next batch still need to be re-read (new slot, dropped backlog). */
  replay: boolean;
  /** When the slot was loaded (a reader loads again after `readerTtlMs`). */
  loadedAt: number;
}

const REPLAY_PAGE = 20_000;
/** Pumps of other processes kept loaded at most (each a few kB). */
const MAX_VIEWS = 50_000;
/** Re-reads reach this far beyond the wall clock (ingest accepts timestamps slightly ahead). */
const REPLAY_AHEAD_MS = 86_400_000;

export class AnalyticsService {
  readonly #o: AnalyticsServiceOptions;
  readonly #now: () => number;
  readonly #slots = new Map<string, Slot>();
  /** Pumps analysed by another process, as last loaded from the store. */
  readonly #views = new Map<string, Slot>();
  /** Pending samples per device, in arrival order. */
  readonly #queue = new Map<string, Sample[]>();
  /** Devices whose samples were not queued (backlog full): re-read from the store. */
  readonly #behind = new Set<string>();
  /** When devices without a loaded analyzer were last heard from (wall clock). */
  readonly #heardAt = new Map<string, number>();
  #queued = 0;
  #running: Promise<void> | null = null;
  #timers: NodeJS.Timeout[] = [];
  #closed = false;
  /** Processed samples and errors since start (metrics, benchmarks). */
  processed = 0;
  errors = 0;
  dropped = 0;

  constructor(o: AnalyticsServiceOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** Starts the flush and offline timers. */
  start(): void {
    const flush = setInterval(
      () => void this.flush().catch((err) => this.#fail(err, "flush")),
      this.#o.flushMs,
    );
    const offline = setInterval(
      () => void this.checkOffline().catch((err) => this.#fail(err, "offline check")),
      Math.min(30_000, Math.max(1000, this.#o.offlineAfterMs / 4)),
    );
    flush.unref();
    offline.unref();
    this.#timers = [flush, offline];
  }

  /** Samples waiting for analytics. */
  get backlog(): number {
    return this.#queued;
  }

  /** Ingest listener: queue the committed samples. Cheap and synchronous; never throws. */
  enqueue(units: readonly CommitUnit[]): void {
    if (this.#closed) return;
    for (const u of units) {
      if (u.kind !== "accept") continue;
      const slot = this.#slots.get(u.deviceId);
      if (slot) slot.analyzer.heard(u.receivedAt);
      else this.#heardAt.set(u.deviceId, Math.max(this.#heardAt.get(u.deviceId) ?? 0, u.receivedAt));
      if (!this.#o.logFed && this.#queued + u.samples.length > this.#o.maxBacklogSamples) {
        this.#behind.add(u.deviceId);
        this.dropped += u.samples.length;
        this.#o.metrics?.analyticsBacklog.set(this.#queued);
        continue;
      }
      let q = this.#queue.get(u.deviceId);
      if (!q) {
        q = [];
        this.#queue.set(u.deviceId, q);
      }
      for (const s of u.samples) q.push(s);
      this.#queued += u.samples.length;
      this.#o.metrics?.analyticsBacklog.set(this.#queued);
    }
    this.#kick();
  }

  /** A box connected or disconnected (gateway): counts as a heartbeat, and is announced. */
  connectivity(deviceId: string, connected: boolean): void {
    const at = this.#now();
    this.noteConnectivity(deviceId, connected, at);
    this.#o.bus.publish("connectivity", { deviceId, connected, at });
  }

  /** Records connectivity announced elsewhere (a gateway process of a scale-out). */
  noteConnectivity(deviceId: string, connected: boolean, at: number): void {
    const slot = this.#slots.get(deviceId);
    if (slot) {
      slot.connected = connected;
      slot.analyzer.heard(at);
    }
  }

  /**
   * Writes back and drops the analysis of the pumps `which` selects (a partition handed to another
   * analytics worker): their next owner resumes from the saved state.
   */
  async evict(which: (deviceId: string) => boolean): Promise<void> {
    const ids = [...new Set([...this.#slots.keys(), ...this.#queue.keys(), ...this.#behind])].filter(which);
    for (const id of ids) await this.drainDevice(id);
    await this.flush();
    this.forget(ids);
  }

  /**
   * Drops the in-memory analysis of these devices (queued samples, analyzer, pending state writes),
   * e.g. when a terminated customer's devices are disabled before their data is purged. A device that
   * sends again later is analysed from its saved state, if any is left.
   */
  forget(deviceIds: readonly string[]): void {
    for (const id of deviceIds) {
      const q = this.#queue.get(id);
      if (q) this.#queued -= q.length;
      this.#queue.delete(id);
      this.#behind.delete(id);
      this.#heardAt.delete(id);
      this.#slots.delete(id);
    }
    this.#o.metrics?.analyticsBacklog.set(this.#queued);
  }

  /** Resolves when everything queued so far has been processed. */
  async drain(): Promise<void> {
    while (!this.#closed && (this.#running || this.#queue.size > 0 || this.#behind.size > 0)) {
      this.#kick();
      await this.#running;
    }
  }

  #kick(): void {
    if (this.#running || this.#closed) return;
    this.#running = this.#loop().finally(() => {
      this.#running = null;
      if (this.#queue.size > 0 || this.#behind.size > 0) setImmediate(() => this.#kick());
    });
  }

  async #loop(): Promise<void> {
    while (!this.#closed && (this.#queue.size > 0 || this.#behind.size > 0)) {
      const [deviceId] = this.#queue.size > 0 ? this.#queue.keys() : this.#behind.values();
      if (deviceId === undefined) break;
      const samples = this.#queue.get(deviceId) ?? [];
      this.#queue.delete(deviceId);
      this.#queued -= samples.length;
      this.#o.metrics?.analyticsBacklog.set(this.#queued);
      // Taken off both lists before the work: a pump whose analytics fail cannot spin the loop.
      const behind = this.#behind.delete(deviceId);
      try {
        await this.#processDevice(deviceId, samples, behind);
      } catch (err) {
        this.#fail(err, "analytics", deviceId);
      }
      // Let ingest and the API run between pumps.
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  async #processDevice(deviceId: string, samples: Sample[], behind: boolean): Promise<void> {
    const slot = await this.#slot(deviceId);
    if (behind) {
      // Some of its samples were not queued: everything since the last analysed one is in the
      // store (ingest announces only committed samples), so re-read it all, queued ones included.
      slot.replay = false;
      await this.#replay(slot, this.#now() + REPLAY_AHEAD_MS);
    } else {
      if (slot.replay) {
        slot.replay = false;
        await this.#replay(
          slot,
          samples.reduce((m, s) => Math.min(m, s.ts), this.#now() + 1),
        );
      }
      samples.sort((x, y) => x.ts - y.ts);
      await this.#run(slot, samples);
    }
    const status = slot.analyzer.status();
    if (status.lastTs !== null) {
      this.#o.bus.publish("values", {
        deviceId,
        ts: status.lastTs,
        values: status.values,
        state: status.state,
      });
    }
  }

  /** Feeds samples (time order) to the pump's analyzer and applies the resulting transitions. */
  async #run(slot: Slot, samples: readonly Sample[]): Promise<void> {
    const transitions: AlarmTransition[] = [];
    let analysed = 0;
    for (const s of samples) {
      try {
        // A sample not newer than the last one analysed (already seen, e.g. re-read) is skipped.
        if (s.ts > slot.analyzer.lastTs) analysed++;
        for (const t of slot.analyzer.process(s)) transitions.push(t);
      } catch (err) {
        this.errors++;
        this.#fail(err, "analyzer", slot.analyzer.deviceId);
      }
    }
    this.processed += analysed;
    this.#o.metrics?.analyticsSamples.inc(analysed);
    slot.dirty = true;
    await this.#apply(transitions);
  }

  /** Re-reads stored samples between the analyzer's last sample and `before` (restart, backlog). */
  async #replay(slot: Slot, before: number): Promise<void> {
    const a = slot.analyzer;
    const floor = Math.min(before, this.#now()) - this.#o.replayMaxMs;
    let from = Number.isFinite(a.lastTs) ? Math.max(a.lastTs + 1, floor) : floor;
    while (from < before) {
      const page = await this.#o.telemetry.querySamples(a.deviceId, from, before, REPLAY_PAGE);
      this.#o.metrics?.analyticsReread.inc(page.length);
      await this.#run(slot, page);
      if (page.length < REPLAY_PAGE) break;
      from = page.at(-1)!.ts + 1;
    }
  }

  /** The analyzer of a device: in memory, else restored from the store, else new. */
  async #slot(deviceId: string): Promise<Slot> {
    if (!this.#owns(deviceId)) return this.#readSlot(deviceId);
    const have = this.#slots.get(deviceId);
    const device = await this.#o.directory.get(deviceId);
    const model = device?.model ?? null;
    if (have && have.analyzer.model === model) return have;
    let analyzer: PumpAnalyzer | undefined;
    if (have) {
      // The pump's model was set or changed: analyse it as what it is from now on; what the old
      // analysis held active ends with it.
      analyzer = new PumpAnalyzer({ deviceId, model });
      const ts = this.#now();
      await this.#apply(
        have.analyzer.activeAlarms().map(({ type, severity }) => ({
          deviceId,
          type,
          kind: "clear" as const,
          severity,
          ts,
          message: `pump model changed to ${model ?? "unknown"}: analysis restarted`,
          signals: [],
          diagnosis: null,
        })),
      );
    } else {
      const saved = await this.#o.store.loadAnalyzerState(deviceId);
      if (saved) {
        try {
          analyzer = PumpAnalyzer.fromJSON(JSON.parse(saved.state));
          if (analyzer.model !== model) analyzer = undefined;
        } catch (err) {
          this.#fail(err, "restore analyzer state", deviceId);
        }
      }
      analyzer ??= new PumpAnalyzer({ deviceId, model });
    }
    analyzer.heard(this.#heardAt.get(deviceId) ?? this.#now());
    this.#heardAt.delete(deviceId);
    const slot: Slot = {
      analyzer,
      dirty: true,
      connected: have?.connected ?? true,
      replay: !this.#o.logFed,
      loadedAt: this.#now(),
    };
    this.#slots.set(deviceId, slot);
    return slot;
  }

  /** A reader's view of a pump: the state its owner saved, at most `readerTtlMs` old. */
  async #readSlot(deviceId: string): Promise<Slot> {
    const have = this.#views.get(deviceId);
    const now = this.#now();
    if (have && now - have.loadedAt < (this.#o.readerTtlMs ?? 2000)) return have;
    const model = (await this.#o.directory.get(deviceId))?.model ?? null;
    const saved = await this.#o.store.loadAnalyzerState(deviceId);
    let analyzer: PumpAnalyzer | undefined;
    try {
      if (saved) analyzer = PumpAnalyzer.fromJSON(JSON.parse(saved.state));
    } catch (err) {
      this.#fail(err, "restore analyzer state", deviceId);
    }
    if (analyzer?.model !== model) analyzer = new PumpAnalyzer({ deviceId, model });
    const slot: Slot = { analyzer, dirty: false, connected: true, replay: false, loadedAt: now };
    if (this.#views.size >= MAX_VIEWS) this.#views.clear();
    this.#views.set(deviceId, slot);
    return slot;
  }

  /** Writes transitions to the alarm lifecycle, in order, and announces each change. */
  async #apply(transitions: readonly AlarmTransition[]): Promise<void> {
    for (const t of transitions) {
      if (t.kind === "clear") {
        const alarm = await this.#o.store.clearAlarm(t.deviceId, t.type, t.ts, t.message);
        if (alarm) this.#announce(alarm, "cleared");
        continue;
      }
      const { alarm, event } = await this.#o.store.raiseAlarm({
        deviceId: t.deviceId,
        type: t.type,
        severity: t.severity,
        ts: t.ts,
        message: t.message,
        signals: t.signals,
        diagnosis: t.diagnosis,
      });
      if (event) this.#announce(alarm, event);
    }
  }

  /** Raises `offline` for every pump not heard from for the configured time. */
  async checkOffline(): Promise<void> {
    const now = this.#now();
    const transitions: AlarmTransition[] = [];
    for (const [id, slot] of this.#slots) {
      // A disabled box is expected to be silent.
      if (this.#o.directory.peek(id)?.enabled === false) continue;
      for (const t of slot.analyzer.checkOffline(now, this.#o.offlineAfterMs, slot.connected)) {
        transitions.push(t);
      }
    }
    await this.#apply(transitions);
  }

  /** Writes KPI integrals and analyzer state of every pump that changed since the last flush. */
  async flush(): Promise<void> {
    const states: { deviceId: string; state: string; ts: number }[] = [];
    const kpis = [];
    for (const [deviceId, slot] of this.#slots) {
      if (!slot.dirty) continue;
      slot.dirty = false;
      for (const h of slot.analyzer.drainKpis(Number.POSITIVE_INFINITY)) kpis.push(h);
      const ts = Number.isFinite(slot.analyzer.lastTs) ? slot.analyzer.lastTs : 0;
      states.push({ deviceId, state: JSON.stringify(slot.analyzer), ts });
    }
    // One transaction: a crash never leaves integrals counted that the saved state would count again.
    if (states.length > 0 || kpis.length > 0) await this.#o.store.saveAnalyzerStates(states, kpis);
  }

  // ---------------------------------------------------------------------------------------------
  // Queries and user actions (API)

  async #known(deviceId: string): Promise<Slot> {
    const device = await this.#o.directory.get(deviceId);
    if (!device) {
      throw new PumpwatchError("NOT_FOUND", `no device '${deviceId}'; list devices with GET /api/devices`);
    }
    const slot = await this.#slot(deviceId);
    if (slot.replay && this.#owns(deviceId)) {
      // First look after a restart: catch up from the stored samples in the background.
      this.#behind.add(deviceId);
      this.#kick();
    }
    return slot;
  }

  /**
   * Loads the analyzers of these devices that have saved state and catches each up from the store in
   * the background, so offline detection and the fleet view cover pumps that stay silent after a
   * restart.
   */
  async warmUp(deviceIds: readonly string[]): Promise<void> {
    for (const id of deviceIds) {
      if (!(await this.#o.store.loadAnalyzerState(id))) continue;
      await this.#slot(id);
      if (!this.#o.logFed) this.#behind.add(id);
    }
    this.#kick();
  }

  /** Live analytics of one pump: operating state, values, residuals, health, forecasts, active alarms. */
  async pump(deviceId: string) {
    const slot = await this.#known(deviceId);
    const a = slot.analyzer;
    return {
      deviceId,
      model: a.model,
      connected: slot.connected,
      ...a.status(),
      health: a.health(this.#now(), this.#o.offlineAfterMs),
      forecasts: a.forecasts(),
      activeAlarms: a.activeAlarms(),
    };
  }

  async health(deviceId: string): Promise<HealthReport> {
    return (await this.#known(deviceId)).analyzer.health(this.#now(), this.#o.offlineAfterMs);
  }

  async forecasts(deviceId: string) {
    return (await this.#known(deviceId)).analyzer.forecasts();
  }

  /**
   * Health of every pump that has sent data, plus the fleet summary. Per pump also the time of its
   * last sample and its next maintenance due (the forecast with the earliest P50), which a fleet
   * overview sorts and shows without asking per pump.
   */
  async fleet(deviceIds?: readonly string[]) {
    const ids = deviceIds ?? [...this.#slots.keys()];
    const reports: {
      deviceId: string;
      report: HealthReport;
      lastDataTs: number | null;
      nextMaintenance: { id: string; label: string; p50: number; status: string } | null;
    }[] = [];
    for (const id of ids) {
      const slot = this.#slots.get(id) ?? (await this.#slot(id));
      const a = slot.analyzer;
      let next: (typeof reports)[number]["nextMaintenance"] = null;
      for (const f of a.forecasts()) {
        if (f.p50 !== null && (next === null || f.p50 < next.p50)) {
          next = { id: f.id, label: f.label, p50: f.p50, status: f.status };
        }
      }
      reports.push({
        deviceId: id,
        report: a.health(this.#now(), this.#o.offlineAfterMs),
        lastDataTs: Number.isFinite(a.lastTs) ? a.lastTs : null,
        nextMaintenance: next,
      });
    }
    return { summary: fleetHealth(reports), pumps: reports };
  }

  /** Logs a maintenance action; the analyzer re-baselines and clears what it resolves. */
  async logMaintenance(
    deviceId: string,
    entry: { action: string; ts?: number | undefined; note?: string | undefined },
    actor: string,
  ): Promise<MaintenanceRecord> {
    if (!this.#owns(deviceId)) {
      const record = await this.#delegate().logMaintenance(deviceId, entry, actor);
      this.#views.delete(deviceId);
      return record;
    }
    if (!(MAINTENANCE_ACTIONS as readonly string[]).includes(entry.action)) {
      throw new PumpwatchError(
        "BAD_REQUEST",
        `unknown maintenance action '${entry.action}'; use one of ${MAINTENANCE_ACTIONS.join(", ")}`,
      );
    }
    const slot = await this.#known(deviceId);
    const now = this.#now();
    const ts = entry.ts ?? now;
    if (ts > now + 60_000)
      throw new PumpwatchError("BAD_REQUEST", "'ts' lies in the future; log work already done");
    const record = await this.#o.store.addMaintenance(
      { deviceId, ts, action: entry.action, note: entry.note ?? "", actor },
      now,
    );
    await this.drainDevice(deviceId);
    const at = Math.max(ts, Number.isFinite(slot.analyzer.lastTs) ? slot.analyzer.lastTs : ts);
    await this.#apply(slot.analyzer.maintenance(entry.action as MaintenanceAction, at));
    slot.dirty = true;
    this.#o.bus.publish("maintenance", { deviceId, id: record.id, action: record.action, ts });
    return record;
  }

  /** Waits until the device's queued samples are processed. */
  async drainDevice(deviceId: string): Promise<void> {
    while (!this.#closed && (this.#queue.has(deviceId) || this.#behind.has(deviceId))) {
      this.#kick();
      await this.#running;
    }
  }

  /** Per-pump rule overrides: validated against the model's defaults, kept with the analyzer state. */
  async setRuleOverrides(deviceId: string, overrides: unknown) {
    if (!this.#owns(deviceId)) {
      await this.#known(deviceId);
      const rules = await this.#delegate().setRuleOverrides(deviceId, overrides);
      this.#views.delete(deviceId);
      return rules;
    }
    const slot = await this.#known(deviceId);
    await this.drainDevice(deviceId);
    const rules = rulesFor(analysisModel(slot.analyzer.model), overrides);
    slot.analyzer = PumpAnalyzer.fromJSON(slot.analyzer.toJSON(), { ruleOverrides: overrides });
    slot.dirty = true;
    await this.flush();
    return rules;
  }

  async rules(deviceId: string) {
    const slot = await this.#known(deviceId);
    return rulesFor(analysisModel(slot.analyzer.model), slot.analyzer.ruleOverrides);
  }

  /** Acknowledge, shelve, unshelve or comment an alarm as `actor`; announces the change. */
  async alarmAction(
    id: number,
    action: "acknowledge" | "shelve" | "unshelve" | "comment",
    actor: string,
    opts: { text?: string | undefined; until?: number | undefined },
  ): Promise<AlarmRecord> {
    const now = this.#now();
    const text = opts.text ?? "";
    let alarm: AlarmRecord;
    let event: AlarmEventKind;
    if (action === "acknowledge") {
      alarm = await this.#o.store.acknowledgeAlarm(id, actor, now, text);
      event = "acknowledged";
    } else if (action === "shelve") {
      if (opts.until === undefined || !(opts.until > now)) {
        throw new PumpwatchError(
          "BAD_REQUEST",
          "shelving needs 'until' (ISO time) or 'minutes' in the future",
        );
      }
      alarm = await this.#o.store.shelveAlarm(id, opts.until, actor, now, text);
      event = "shelved";
    } else if (action === "unshelve") {
      alarm = await this.#o.store.shelveAlarm(id, null, actor, now, text);
      event = "unshelved";
    } else {
      await this.#o.store.commentAlarm(id, actor, now, text);
      const got = await this.#o.store.getAlarm(id);
      if (!got) throw new PumpwatchError("NOT_FOUND", `no alarm ${id}`);
      alarm = got;
      event = "commented";
    }
    this.#announce(alarm, event);
    return alarm;
  }

  #owns(deviceId: string): boolean {
    return this.#o.owns?.(deviceId) ?? true;
  }

  #delegate(): AnalyticsDelegate {
    if (!this.#o.delegate) throw new PumpwatchError("UNAVAILABLE", "no analytics runs in this process");
    return this.#o.delegate;
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    await this.drain();
    this.#closed = true;
    await this.flush();
  }

  #announce(alarm: AlarmRecord, event: AlarmEventKind): void {
    this.#o.metrics?.alarmEvents.inc({ kind: event });
    this.#o.bus.publish("alarm", { alarm, event });
  }

  #fail(err: unknown, what: string, deviceId?: string): void {
    this.#o.metrics?.analyticsErrors.inc();
    this.#o.log.error({ err, deviceId }, `analytics: ${what} failed`);
  }
}
