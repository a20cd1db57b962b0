/**
 * Scenario files: the JSON schema of a simulated fleet (documented in docs/simulator.md),
 * validated once at the edge with zod (STYLE.md point 3). Errors name the JSON path, e.g.
 * `companies[0].assets[2].duty.pressure: Number must be greater than 0`.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { FAULT_CATALOGUE } from "./faults.js";
import { MAINTENANCE_ACTIONS } from "./health.js";
import { MODEL_NAMES, MODELS, PARAM_NAMES } from "./models.js";
import { SIGNALS } from "./signals.js";

/** Thrown for an unreadable or invalid scenario; `problems` lists `path: message` lines. */
export class ScenarioError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length > 0 ? `${message}:\n  - ${problems.join("\n  - ")}` : message);
    this.name = "ScenarioError";
  }
}

const OFFSET_RE = /^([+-])(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?Z$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Resolves an ISO time or an offset like "+3h" / "-2d" relative to `startMs` into epoch ms. */
export function resolveTime(ref: string, startMs: number): number {
  const m = OFFSET_RE.exec(ref);
  if (m) return startMs + (m[1] === "-" ? -1 : 1) * Number(m[2]) * UNIT_MS[m[3]!]!;
  return Date.parse(ref);
}

const isoTime = z
  .string()
  .refine(
    (s) => ISO_RE.test(s) && !Number.isNaN(Date.parse(s)),
    'expected an ISO-8601 UTC time like "2026-01-05T06:00:00Z"',
  );
const timeRef = z
  .string()
  .refine(
    (s) => OFFSET_RE.test(s) || (ISO_RE.test(s) && !Number.isNaN(Date.parse(s))),
    'expected an offset from fleet.start like "+3h", "-2d", "+90m", or an ISO-8601 UTC time',
  );
const fraction = z.number().min(0).max(1);
const positive = z.number().positive();
const signal = z.enum(SIGNALS);

const schedule = z
  .object({
    days: z.array(z.number().int().min(0).max(6)).min(1).default([1, 2, 3, 4, 5]),
    from: z.number().min(0).max(24),
    to: z.number().min(0).max(24),
    offMode: z.enum(["stop", "idle"]).default("stop"),
  })
  .strict()
  .refine((s) => s.from < s.to, { message: "`from` must be earlier than `to`", path: ["to"] });
const scheduleOrAlways = z.union([z.literal("always"), schedule]);
const SHIFTS = { days: [1, 2, 3, 4, 5], from: 6, to: 22, offMode: "stop" as const };

const continuous = z
  .object({
    type: z.literal("continuous"),
    pressure: positive.max(1100).describe("operating inlet pressure of the healthy pump, hPa"),
    variability: fraction.default(0.1),
    correlationSeconds: positive.default(300),
    schedule: scheduleOrAlways.default("always"),
  })
  .strict();
const packaging = z
  .object({
    type: z.literal("packaging"),
    chamberLiters: positive.default(50),
    manifoldLiters: positive.default(2),
    setpoint: positive.default(5),
    holdSeconds: z.number().min(0).default(5),
    periodSeconds: positive.default(30),
    timeoutSeconds: positive.default(20),
    schedule: scheduleOrAlways.default(SHIFTS),
  })
  .strict();
const receiver = z
  .object({
    type: z.literal("receiver"),
    receiverLiters: positive.default(2000),
    low: positive.default(100),
    high: positive.max(1000).default(200),
    users: z.number().int().min(1).max(64).default(8),
    demand: z.number().positive().max(1).default(0.35),
    userOnSeconds: positive.default(180),
    userOffSeconds: positive.default(180),
    minOffSeconds: z.number().min(0).default(30),
    schedule: scheduleOrAlways.default("always"),
  })
  .strict(); // low < high is checked in crossCheck: a discriminated union needs plain objects
const duty = z.discriminatedUnion("type", [continuous, packaging, receiver]);

const environment = z
  .object({
    meanC: z.number().min(-40).max(60),
    dailyAmplitudeK: z.number().min(0).max(30),
    seasonalAmplitudeK: z.number().min(0).max(30),
    seasonPeakDay: z.number().min(0).max(366),
    noiseK: z.number().min(0).max(10),
    utcOffsetHours: z.number().min(-12).max(14),
  })
  .partial()
  .strict();
const sensors = z
  .object({ ideal: z.boolean(), sampleLoss: fraction, signalLoss: fraction, burstsPerDay: z.number().min(0) })
  .partial()
  .strict();
const initial = z
  .object({
    filterSaturation: z.number().min(0).max(1.5),
    oilQuality: fraction,
    oilLevel: fraction,
    vaneWear: fraction,
    operatingHours: z.number().min(0),
  })
  .partial()
  .strict();
const params = z
  .object(Object.fromEntries(PARAM_NAMES.map((k) => [k, z.number().finite()])))
  .partial()
  .strict();

const faultBase = { id: z.string().min(1).max(64).optional(), at: timeRef };
const fault = z.discriminatedUnion("type", [
  z
    .object({ ...faultBase, type: z.literal("exhaustFilterSaturation"), kappa: positive.max(1e5).default(1) })
    .strict(),
  z.object({ ...faultBase, type: z.literal("filterBreakthrough") }).strict(),
  z.object({ ...faultBase, type: z.literal("oilAgeing"), kappa: positive.max(1e5).default(4) }).strict(),
  z.object({ ...faultBase, type: z.literal("oilLeak"), ratePerDay: positive.max(10).default(0.05) }).strict(),
  z
    .object({
      ...faultBase,
      type: z.literal("coolingFailure"),
      severity: fraction.default(0),
      rampHours: z.number().min(0).default(0),
    })
    .strict(),
  z
    .object({
      ...faultBase,
      type: z.literal("leak"),
      fraction: positive.max(5).default(0.2),
      rampHours: z.number().min(0).default(0),
    })
    .strict(),
  z
    .object({
      ...faultBase,
      type: z.literal("bearingDegradation"),
      pfHours: positive.optional(),
      progress: z.number().min(0).max(0.999).default(0),
    })
    .strict(),
  z
    .object({
      ...faultBase,
      type: z.literal("deposits"),
      hoursToFailure: positive.default(1500),
      progress: z.number().min(0).max(0.999).default(0),
    })
    .strict(),
  z.object({ ...faultBase, type: z.literal("vaneWear"), kappa: positive.max(1e5).default(10) }).strict(),
  z
    .object({
      ...faultBase,
      type: z.literal("motorOverload"),
      severity: positive.max(2).default(0.3),
      rampHours: z.number().min(0).default(1),
    })
    .strict(),
  z.object({ ...faultBase, type: z.literal("sensorStuck"), signal }).strict(),
  z
    .object({
      ...faultBase,
      type: z.literal("sensorSpike"),
      signal,
      probability: fraction.default(0.01),
      magnitude: z.number().optional(),
    })
    .strict(),
  z
    .object({ ...faultBase, type: z.literal("sensorDrift"), signal, ratePerHour: z.number().finite() })
    .strict(),
]);
const maintenance = z
  .object({ at: timeRef, action: z.enum(MAINTENANCE_ACTIONS), signal: signal.optional() })
  .strict();

const asset = z
  .object({
    id: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9._:-]{0,127}$/,
        "lower-case letters, digits and - . _ : (it becomes the device id)",
      ),
    name: z.string().optional(),
    /** Site (plant) the pump stands at: a label for people, as `name`. */
    site: z.string().optional(),
    model: z.enum(MODEL_NAMES),
    params: params.optional(),
    duty,
    environment: environment.optional(),
    sensors: sensors.optional(),
    seed: z.number().int().optional(),
    processKappa: z.number().min(0).max(100).default(1),
    initial: initial.optional(),
    signals: z.array(signal).min(1).optional(),
    faults: z.array(fault).default([]),
    maintenance: z.array(maintenance).default([]),
  })
  .strict();

const company = z
  .object({
    id: z.string().min(1).max(64),
    name: z.string().min(1),
    environment: environment.optional(),
    assets: z.array(asset),
  })
  .strict();

export const scenarioSchema = z
  .object({
    $schema: z.string().optional(),
    fleet: z
      .object({
        name: z.string().min(1),
        description: z.string().optional(),
        start: isoTime,
        seed: z.number().int(),
        acceleration: positive.default(60),
        environment: environment.optional(),
        sensors: sensors.optional(),
      })
      .strict(),
    companies: z.array(company).min(1),
  })
  .strict()
  .superRefine(crossCheck);

/** A validated scenario with defaults applied. */
export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type AssetConfig = Scenario["companies"][number]["assets"][number];
export type FaultConfig = AssetConfig["faults"][number];
export type DutyConfig = AssetConfig["duty"];

/** Checks that span several fields: unique ids, faults that fit the model, sensor signals present. */
function crossCheck(s: { companies: z.output<typeof company>[] }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  s.companies.forEach((c, ci) => {
    c.assets.forEach((a, ai) => {
      const at = ["companies", ci, "assets", ai];
      if (seen.has(a.id))
        ctx.addIssue({ code: "custom", path: [...at, "id"], message: `duplicate asset id "${a.id}"` });
      seen.add(a.id);
      if (a.duty.type === "receiver" && a.duty.low >= a.duty.high) {
        ctx.addIssue({
          code: "custom",
          path: [...at, "duty", "high"],
          message: "`low` must be below `high`",
        });
      }
      const signals = a.signals ?? SIGNALS;
      const faultIds = new Set<string>();
      a.faults.forEach((f, fi) => {
        const id = f.id ?? `${f.type}-${fi}`;
        if (faultIds.has(id))
          ctx.addIssue({
            code: "custom",
            path: [...at, "faults", fi, "id"],
            message: `duplicate fault id "${id}"`,
          });
        faultIds.add(id);
        if (FAULT_CATALOGUE[f.type].oilSealedOnly && MODELS[a.model].lubrication !== "oilSealed") {
          ctx.addIssue({
            code: "custom",
            path: [...at, "faults", fi, "type"],
            message: `${f.type} needs an oil-sealed pump; ${a.model} is ${MODELS[a.model].lubrication}`,
          });
        }
        if ("signal" in f && !signals.includes(f.signal)) {
          ctx.addIssue({
            code: "custom",
            path: [...at, "faults", fi, "signal"],
            message: `asset has no signal "${f.signal}"`,
          });
        }
      });
    });
  });
}

/** Formats a zod path as JSON-ish: companies[0].assets[2].duty.pressure */
function formatPath(path: ReadonlyArray<string | number>): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out === "" ? "(root)" : out;
}

/**
 * Validates a parsed JSON document as a scenario and applies defaults.
 * @throws ScenarioError listing every problem as `path: message`.
 */
export function parseScenario(doc: unknown, source = "scenario"): Scenario {
  const parsed = scenarioSchema.safeParse(doc);
  if (!parsed.success) {
    throw new ScenarioError(
      `invalid ${source}`,
      parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`),
    );
  }
  return parsed.data;
}

/**
 * Reads and validates a scenario file.
 * @throws ScenarioError when the file cannot be read, is not JSON, or is not a valid scenario.
 */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ScenarioError(`cannot read scenario ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`scenario ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseScenario(doc, `scenario ${file}`);
}
