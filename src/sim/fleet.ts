/**
 * Fleet-level API: build every asset of a scenario, read them live, or backfill months of
 * history into columnar batches with ground truth.
 *
 * Backfill throughput is counted in *samples*: one signal value (data point) of telemetry, as
 * in bench/sim.ts and docs/simulator.md — ground-truth values are produced too but not counted.
 */
import type { Sample } from "../core/sample.js";
import { type AssetParts, type MaintenanceSpec, SimAsset } from "./asset.js";
import { ContinuousDuty, type Duty, type Schedule } from "./duty.js";
import { PackagingDuty } from "./duty-packaging.js";
import { ReceiverDuty } from "./duty-receiver.js";
import { DEFAULT_ENVIRONMENT, Environment, type EnvironmentParams } from "./environment.js";
import { Fault, type FaultSpec } from "./faults.js";
import { DEFAULT_INITIAL } from "./health.js";
import { deriveModel, MODEL_NAMES, type ModelName } from "./models.js";
import { deriveSeed, Rng } from "./rng.js";
import {
  type AssetConfig,
  type DutyConfig,
  type FaultConfig,
  parseScenario,
  resolveTime,
  type Scenario,
  ScenarioError,
} from "./scenario.js";
import { DEFAULT_SENSORS, Sensors } from "./sensors.js";
import { N_SIGNALS, N_TRUTH, SIGNALS, type SignalName } from "./signals.js";
import type { TruthEvent, TruthSink } from "./truth.js";

/** Options of {@link createFleet}. */
export interface FleetOptions {
  /** Time zero (epoch ms), overriding `fleet.start`; fault and maintenance offsets count from it. */
  start?: number;
  /** Begin simulating this long before time zero, ms, to backfill history first (default 0). */
  historyMs?: number;
  /** Grid step of live reads, ms (default 10 000: the box's 10 s means, §6.6). */
  stepMs?: number;
  /** Overrides `fleet.seed`. */
  seed?: number;
  /** Receives ground truth and events of live reads. */
  sink?: TruthSink;
}

/** Options of {@link Fleet.backfill}. */
export interface BackfillOptions {
  /** Generate up to this time, epoch ms (whole steps only). */
  to: number;
  /** Step and sample interval, ms (default 60 000: 1-minute means). */
  stepMs?: number;
  /** Steps per batch and asset (default 1440 = one day at 1 min). */
  batchSteps?: number;
}

/**
 * One asset's slice of backfilled history, columnar: row k is the mean over the step ending at
 * `ts[k]`. Arrays are freshly allocated per batch and owned by the consumer.
 */
export interface SimBatch {
  assetId: string;
  companyId: string;
  /** Signal names of the telemetry columns. */
  signals: readonly SignalName[];
  length: number;
  stepMs: number;
  ts: Float64Array;
  /** One column per entry of `signals`; NaN where the reading dropped out. */
  telemetry: Float64Array[];
  /** One column per TRUTH_FIELDS entry (noise-free signals, then hidden states). */
  truth: Float64Array[];
  /** Ground-truth events within the batch's time span. */
  events: TruthEvent[];
  /** Number of telemetry values present (non-NaN) = samples in the benchmark's sense. */
  samples: number;
}

export class Fleet {
  readonly name: string;
  /** Time zero, epoch ms. */
  readonly start: number;
  /** First simulated instant, epoch ms (start − history). */
  readonly begin: number;
  /** Default live acceleration of the scenario (simulated s per real s). */
  readonly acceleration: number;
  readonly assets: readonly SimAsset[];
  private readonly byId: ReadonlyMap<string, SimAsset>;

  constructor(name: string, start: number, begin: number, acceleration: number, assets: SimAsset[]) {
    this.name = name;
    this.start = start;
    this.begin = begin;
    this.acceleration = acceleration;
    this.assets = assets;
    this.byId = new Map(assets.map((a) => [a.id, a]));
  }

  /** The asset with this id. @throws RangeError naming the known ids. */
  asset(id: string): SimAsset {
    const a = this.byId.get(id);
    if (!a)
      throw new RangeError(
        `no asset "${id}" in fleet ${this.name}; known: ${[...this.byId.keys()].join(", ")}`,
      );
    return a;
  }

  /** Advances every asset's grid up to ts without reading (the steps count towards the next read). */
  advanceTo(ts: number): void {
    for (const a of this.assets) a.advanceTo(ts);
  }

  /** Reads every asset at ts (live). Assets whose reading dropped out entirely are left out. */
  readAll(ts: number): { assetId: string; sample: Sample }[] {
    const out: { assetId: string; sample: Sample }[] = [];
    for (const a of this.assets) {
      const sample = a.read(ts);
      if (sample) out.push({ assetId: a.id, sample });
    }
    return out;
  }

  /**
   * Generates history from each asset's current time up to `to`, in time-ordered chunks of
   * `batchSteps` steps: all assets' batches of one chunk, then the next chunk. Live reads may
   * continue afterwards from where the backfill stopped.
   */
  *backfill(opts: BackfillOptions): Generator<SimBatch, void, undefined> {
    const stepMs = opts.stepMs ?? 60_000;
    const batchSteps = opts.batchSteps ?? 1440;
    if (!(stepMs > 0) || !(batchSteps >= 1))
      throw new RangeError("backfill: stepMs and batchSteps must be positive");
    let chunkStart = Math.min(...this.assets.map((a) => a.time));
    while (chunkStart + stepMs <= opts.to) {
      const chunkEnd = Math.min(opts.to, chunkStart + batchSteps * stepMs);
      for (const a of this.assets) {
        const n = Math.floor((chunkEnd - a.time) / stepMs);
        if (n > 0) yield backfillAsset(a, n, stepMs);
      }
      chunkStart = chunkEnd;
    }
  }
}

/** Runs n steps of one asset into a fresh batch. The hot loop: no allocation per step. */
function backfillAsset(a: SimAsset, n: number, stepMs: number): SimBatch {
  const present = a.signals.map((s) => SIGNALS.indexOf(s as SignalName));
  const ts = new Float64Array(n);
  const telemetry = present.map(() => new Float64Array(n));
  const truth: Float64Array[] = [];
  for (let i = 0; i < N_TRUTH; i++) truth.push(new Float64Array(n));
  const meas = new Float64Array(N_SIGNALS);
  const dtS = stepMs / 1000;
  let samples = 0;
  for (let k = 0; k < n; k++) {
    samples += a.stepAndMeasure(dtS, meas);
    ts[k] = a.time;
    for (let c = 0; c < present.length; c++) telemetry[c]![k] = meas[present[c]!]!;
    const last = a.last;
    for (let i = 0; i < N_TRUTH; i++) truth[i]![k] = last[i]!;
  }
  const events = a.events.splice(0, a.events.length);
  return {
    assetId: a.id,
    companyId: a.companyId,
    signals: a.signals as SignalName[],
    length: n,
    stepMs,
    ts,
    telemetry,
    truth,
    events,
    samples,
  };
}

/** Converts a batch's telemetry to Samples (docs/telemetry.md shape), skipping lost readings. */
export function batchSamples(batch: SimBatch): Sample[] {
  const out: Sample[] = [];
  for (let k = 0; k < batch.length; k++) {
    const sample = batchSampleAt(batch, k);
    if (sample) out.push(sample);
  }
  return out;
}

/** Row k of a batch as a Sample, without the readings that were lost; null when all were. */
export function batchSampleAt(batch: SimBatch, k: number): Sample | null {
  const values: Record<string, number> = {};
  let any = false;
  for (let c = 0; c < batch.signals.length; c++) {
    const v = batch.telemetry[c]![k]!;
    if (Number.isNaN(v)) continue;
    values[batch.signals[c]!] = v;
    any = true;
  }
  return any ? { ts: batch.ts[k]!, values } : null;
}

function toSchedule(s: DutyConfig["schedule"]): Schedule | undefined {
  return s === "always" ? undefined : { days: s.days, fromHour: s.from, toHour: s.to, offMode: s.offMode };
}

function buildDuty(d: DutyConfig, sNom: number, pUlt: number, utc: number, rng: Rng): Duty {
  const schedule = toSchedule(d.schedule);
  switch (d.type) {
    case "continuous":
      return new ContinuousDuty(
        { pressureHpa: d.pressure, variability: d.variability, correlationS: d.correlationSeconds, schedule },
        sNom,
        pUlt,
        utc,
        rng,
      );
    case "packaging":
      return new PackagingDuty(
        {
          chamberL: d.chamberLiters,
          manifoldL: d.manifoldLiters,
          setpointHpa: d.setpoint,
          holdS: d.holdSeconds,
          periodS: d.periodSeconds,
          timeoutS: d.timeoutSeconds,
          schedule,
        },
        utc,
      );
    case "receiver":
      return new ReceiverDuty(
        {
          receiverL: d.receiverLiters,
          lowHpa: d.low,
          highHpa: d.high,
          users: d.users,
          demand: d.demand,
          userOnS: d.userOnSeconds,
          userOffS: d.userOffSeconds,
          minOffS: d.minOffSeconds,
          schedule,
        },
        sNom,
        pUlt,
        utc,
        rng,
      );
  }
}

function faultSpec(f: FaultConfig, index: number, startMs: number): FaultSpec {
  return {
    id: f.id ?? `${f.type}-${index}`,
    type: f.type,
    atMs: resolveTime(f.at, startMs),
    kappa: "kappa" in f ? f.kappa : 1,
    ratePerDay: "ratePerDay" in f ? f.ratePerDay : 0,
    severity: "severity" in f ? f.severity : 0,
    rampHours: "rampHours" in f ? f.rampHours : 0,
    fraction: "fraction" in f ? f.fraction : 0,
    pfHours: "pfHours" in f ? f.pfHours : undefined,
    progress: "progress" in f ? f.progress : 0,
    hoursToFailure: "hoursToFailure" in f ? f.hoursToFailure : 1500,
    signal: "signal" in f ? f.signal : undefined,
    amount: "ratePerHour" in f ? f.ratePerHour : "magnitude" in f ? (f.magnitude ?? 0) : 0,
    probability: "probability" in f ? f.probability : 0,
  };
}

interface BuildContext {
  scenario: Scenario;
  env: Partial<EnvironmentParams>;
  startMs: number;
  beginMs: number;
  stepMs: number;
  seed: number;
}

function buildAsset(a: AssetConfig, companyId: string, b: BuildContext): SimAsset {
  const seed = a.seed ?? deriveSeed(b.seed, a.id);
  const derived = deriveModel(a.model, a.params);
  const envParams: EnvironmentParams = { ...DEFAULT_ENVIRONMENT, ...b.env, ...a.environment };
  const signals = a.signals ? SIGNALS.filter((s) => a.signals!.includes(s)) : [...SIGNALS];
  const faultRng = new Rng(deriveSeed(seed, "faults"));
  const parts: AssetParts = {
    id: a.id,
    companyId,
    model: a.model,
    derived,
    signals,
    env: new Environment(envParams, b.beginMs, new Rng(deriveSeed(seed, "environment"))),
    duty: buildDuty(
      a.duty,
      derived.sNom,
      derived.pUlt,
      envParams.utcOffsetHours,
      new Rng(deriveSeed(seed, "process")),
    ),
    sensors: new Sensors(
      signals,
      { ...DEFAULT_SENSORS, ...b.scenario.fleet.sensors, ...a.sensors },
      new Rng(deriveSeed(seed, "sensors")),
    ),
    initial: { ...DEFAULT_INITIAL, ...a.initial },
    faults: a.faults.map((f, i) => new Fault(faultSpec(f, i, b.startMs), faultRng)),
    maintenance: a.maintenance.map(
      (m): MaintenanceSpec => ({ atMs: resolveTime(m.at, b.startMs), action: m.action, signal: m.signal }),
    ),
    processKappa: a.processKappa,
    rng: new Rng(deriveSeed(seed, "maintenance")),
  };
  return new SimAsset(parts, b.beginMs, b.stepMs);
}

/**
 * Creates every asset of a validated scenario (see scenario.ts `loadScenario`/`parseScenario`).
 * Construction warms each pump up on its duty so temperatures start in equilibrium.
 */
export function createFleet(scenario: Scenario, options: FleetOptions = {}): Fleet {
  const startMs = options.start ?? Date.parse(scenario.fleet.start);
  const stepMs = options.stepMs ?? 10_000;
  if (!(stepMs >= 100)) throw new RangeError("stepMs must be at least 100 ms");
  const beginMs = startMs - (options.historyMs ?? 0);
  const assets: SimAsset[] = [];
  for (const c of scenario.companies) {
    const b: BuildContext = {
      scenario,
      env: { ...scenario.fleet.environment, ...c.environment },
      startMs,
      beginMs,
      stepMs,
      seed: options.seed ?? scenario.fleet.seed,
    };
    for (const a of c.assets) {
      const asset = buildAsset(a, c.id, b);
      asset.sink = options.sink;
      assets.push(asset);
    }
  }
  return new Fleet(scenario.fleet.name, startMs, beginMs, scenario.fleet.acceleration, assets);
}

/** Default duty per model for a stand-alone simulated pump: always running, so live data flows. */
const DEFAULT_DUTY: Record<ModelName, unknown> = {
  RV100: { type: "continuous", pressure: 100 },
  SCREW100: { type: "continuous", pressure: 20 },
  CLAW100: { type: "receiver" },
};

/**
 * One healthy pump of `model` as a SensorSource, e.g. for the device agent's `--simulate MODEL`.
 * `start` is the first simulated instant (pass the wall clock for real-time use).
 * @throws ScenarioError for an unknown model, listing the known ones.
 */
export function simulatePump(
  model: string,
  opts: { id: string; start: number; seed?: number; stepMs?: number },
): SimAsset {
  if (!(MODEL_NAMES as readonly string[]).includes(model)) {
    throw new ScenarioError(`unknown pump model "${model}"; known models: ${MODEL_NAMES.join(", ")}`);
  }
  const scenario = parseScenario({
    fleet: {
      name: opts.id,
      start: new Date(opts.start).toISOString(),
      seed: opts.seed ?? deriveSeed(opts.id),
    },
    companies: [
      {
        id: "default",
        name: "default",
        assets: [{ id: opts.id, model, duty: DEFAULT_DUTY[model as ModelName] }],
      },
    ],
  });
  const fleet = createFleet(scenario, { start: opts.start, ...(opts.stepMs ? { stepMs: opts.stepMs } : {}) });
  return fleet.assets[0]!;
}
