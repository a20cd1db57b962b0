import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { PumpwatchError } from "../core/errors.js";
import type { Sample } from "../core/sample.js";
import { signalCatalog } from "../ingest/telemetry.js";
import type { RegistryAdmin } from "../provisioning/admin.js";
import type { RegistryStore, RetentionPolicy, TelemetryStore } from "../store/ports.js";
import { parseRange } from "./time.js";

export interface HistoryRoutesDeps {
  admin: RegistryAdmin;
  registry: RegistryStore;
  telemetry: TelemetryStore;
  /** Retention for companies without their own. */
  defaultRetention: RetentionPolicy;
}

const DEFAULT_POINTS = 2000;
const MAX_POINTS = 20_000;

/** Signals asked for (comma list), checked against the catalogue; all known signals when empty. */
function parseSignals(value: string | undefined): string[] {
  const catalog = signalCatalog();
  if (!value) return [...catalog.keys()];
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !catalog.has(n));
  if (unknown.length > 0) {
    throw new PumpwatchError(
      "BAD_REQUEST",
      `unknown signal(s) ${unknown.join(", ")}; known: ${[...catalog.keys()].join(", ")}`,
    );
  }
  return names;
}

/** The range asked for; `to` defaults to now (inclusive). */
function range(
  q: { from?: string | undefined; to?: string | undefined },
  defaultSpanMs: number,
): { fromMs: number; toMs: number } {
  return parseRange(q, defaultSpanMs, Date.now() + 1);
}

const rangeQuery = {
  type: "object",
  properties: { from: { type: "string" }, to: { type: "string" }, signals: { type: "string" } },
} as const;

/**
 * History of a pump for the customer: downsampled series for charts, streamed exports, and the
 * retention and disk usage per company. Registered inside the operator scope (same authorisation).
 */
export function historyRoutes(app: FastifyInstance, deps: HistoryRoutesDeps): void {
  app.get<{
    Params: { id: string };
    Querystring: { from?: string; to?: string; signals?: string; points?: number };
  }>(
    "/devices/:id/series",
    {
      schema: {
        querystring: {
          ...rangeQuery,
          properties: {
            ...rangeQuery.properties,
            points: { type: "integer", minimum: 1, maximum: MAX_POINTS },
          },
        },
      },
    },
    async (req) => {
      await deps.admin.getDevice(req.params.id);
      const signals = parseSignals(req.query.signals);
      const series = await deps.telemetry.querySeries({
        deviceId: req.params.id,
        signals,
        ...range(req.query, 86_400_000),
        points: req.query.points ?? DEFAULT_POINTS,
      });
      // Columnar: {"t":[…], "<signal>":[…], "min":{…}, "max":{…}} (uPlot-ready, t in epoch ms).
      return {
        resolution: series.resolution,
        bucketMs: series.bucketMs,
        t: series.t,
        ...series.values,
        ...(series.min ? { min: series.min } : {}),
        ...(series.max ? { max: series.max } : {}),
      };
    },
  );

  app.get<{
    Params: { id: string };
    Querystring: { from?: string; to?: string; signals?: string; format?: "csv" | "jsonl" };
  }>(
    "/devices/:id/export",
    {
      schema: {
        querystring: {
          ...rangeQuery,
          properties: { ...rangeQuery.properties, format: { type: "string", enum: ["csv", "jsonl"] } },
        },
      },
    },
    async (req, reply) => {
      const device = await deps.admin.getDevice(req.params.id);
      const signals = parseSignals(req.query.signals);
      const { fromMs, toMs } = range(req.query, 30 * 86_400_000);
      const format = req.query.format ?? "csv";
      const pages = deps.telemetry.exportSamples(device.id, fromMs, toMs, signals);
      const name = `${device.id}_${new Date(fromMs).toISOString().slice(0, 10)}_${new Date(toMs).toISOString().slice(0, 10)}.${format}`;
      reply
        .header("content-disposition", `attachment; filename="${name}"`)
        .type(format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8");
      // Streamed page by page: constant memory for any range.
      return reply.send(Readable.from(exportLines(device.id, signals, pages, format)));
    },
  );

  app.get<{ Params: { companyId: string } }>("/companies/:companyId/retention", async (req) => {
    const own = await deps.registry.getRetention(companyKey(req.params.companyId));
    return { companyId: req.params.companyId, ...(own ?? deps.defaultRetention), default: own === undefined };
  });

  app.put<{ Params: { companyId: string }; Body: RetentionPolicy }>(
    "/companies/:companyId/retention",
    {
      schema: {
        body: {
          type: "object",
          required: ["rawDays", "rollupDays"],
          additionalProperties: false,
          properties: {
            rawDays: { type: "integer", minimum: 1 },
            rollupDays: { type: "integer", minimum: 1 },
          },
        },
      },
    },
    async (req) => {
      if (req.body.rollupDays < req.body.rawDays) {
        throw new PumpwatchError(
          "BAD_REQUEST",
          "rollupDays must be at least rawDays: rollups outlive the raw samples",
        );
      }
      await deps.registry.setRetention(companyKey(req.params.companyId), req.body);
      return { companyId: req.params.companyId, ...req.body, default: false };
    },
  );

  app.get("/usage", async () => {
    const [usage, devices] = await Promise.all([deps.telemetry.usage(), deps.admin.listDevices()]);
    const companyOf = new Map(devices.map((d) => [d.id, d.companyId ?? "-"]));
    const perCompany = new Map<
      string,
      { companyId: string; bytes: number; samples: number; devices: number }
    >();
    for (const u of usage) {
      const companyId = companyOf.get(u.deviceId) ?? "-";
      const entry = perCompany.get(companyId) ?? { companyId, bytes: 0, samples: 0, devices: 0 };
      entry.bytes += u.bytes;
      entry.samples += u.samples;
      entry.devices += 1;
      perCompany.set(companyId, entry);
    }
    return { companies: [...perCompany.values()].sort((a, b) => b.bytes - a.bytes), devices: usage };
  });
}

/** "-" in the path names the devices without a company. */
function companyKey(id: string): string | null {
  return id === "-" ? null : id;
}

async function* exportLines(
  deviceId: string,
  signals: string[],
  pages: AsyncIterable<Sample[]>,
  format: "csv" | "jsonl",
): AsyncGenerator<string> {
  const catalog = signalCatalog();
  const units = Object.fromEntries(signals.map((s) => [s, catalog.get(s)?.unit ?? ""]));
  yield format === "csv"
    ? `ts,${signals.map((s) => `${s} [${units[s]}]`).join(",")}\n`
    : `${JSON.stringify({ device: deviceId, signals, units })}\n`;
  for await (const page of pages) {
    let chunk = "";
    for (const s of page) {
      const ts = new Date(s.ts).toISOString();
      if (format === "csv") chunk += `${ts},${signals.map((n) => s.values[n] ?? "").join(",")}\n`;
      else chunk += `${JSON.stringify({ ts, values: pick(s.values, signals) })}\n`;
    }
    if (chunk) yield chunk;
  }
}

function pick(values: Record<string, number>, signals: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of signals) if (values[n] !== undefined) out[n] = values[n];
  return out;
}
