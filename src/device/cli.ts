import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type pino from "pino";
import { createLogger } from "../core/log.js";
import type { SensorSource } from "../sim/source.js";
import { type AgentOptions, DeviceAgent } from "./agent.js";
import { parseHostPort } from "./endpoint.js";
import { ConstantSource, type SimulateFactory } from "./sources.js";
import { settingProblem } from "./twin.js";

export const DEVICE_RUN_USAGE = `Usage: pumpwatch device run [options]

Runs the device agent of one box: provisions through DPS, connects to the assigned hub and sends
sensor samples through an on-disk store-and-forward queue. Stops cleanly on SIGINT/SIGTERM.

Required:
  --provisioning-host HOST[:PORT]   DPS endpoint (port 8883 when omitted)
  --id-scope SCOPE                  DPS id scope (pumpwatch enroll prints it)
  --registration-id ID              this box's registration id (lower-case letters, digits, - . _ :)
  --key KEY | --group-key KEY       individual enrollment key, or group key to derive this box's key
                                    from; "@FILE" reads the key from FILE (keeps it out of ps)
Options:
  --ca FILE                         CA certificate (PEM) to trust, e.g. <data>/tls/ca.pem of a local pumpwatch
  --state-dir DIR                   queue and cached assignment (default ./agent-state)
  --sample-interval S               seconds between readings until the twin sets sampleIntervalSec (default 10)
  --send-interval S                 seconds between packets until the twin sets sendIntervalSec (default 60)
  --source constant                 built-in source with constant plausible values (default)
  --simulate MODEL                  simulated pump of MODEL (when this build wires the simulator in)
  --token-lifetime S                lifetime of each hub SAS token; renewed at 75 % (default 3600)
  --max-queue-mb N                  on-disk queue bound; the oldest packets go when full (default 256)
  --log-level LEVEL                 fatal|error|warn|info|debug|trace|silent (default info)
  -h, --help                        this text
`;

const OPTIONS = {
  "provisioning-host": { type: "string" },
  "id-scope": { type: "string" },
  "registration-id": { type: "string" },
  key: { type: "string" },
  "group-key": { type: "string" },
  ca: { type: "string" },
  "state-dir": { type: "string" },
  "sample-interval": { type: "string" },
  "send-interval": { type: "string" },
  source: { type: "string" },
  simulate: { type: "string" },
  "token-lifetime": { type: "string" },
  "max-queue-mb": { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export interface DeviceCommandDeps {
  /**
   * Hook for `--simulate MODEL`: builds a simulated pump from src/sim. src/device must not import
   * the simulator, so src/cli.ts passes it in; without it `--simulate` is refused with a hint.
   */
  simulate?: SimulateFactory;
  /** Stops the agent (tests); otherwise SIGINT/SIGTERM do. */
  signal?: AbortSignal;
  /** Where log lines go (default stdout). */
  logDestination?: pino.DestinationStream;
  /** Where usage errors go (default stderr). */
  stderr?: { write(s: string): unknown };
}

class UsageError extends Error {}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function required(v: string | undefined, flag: string): string {
  if (v === undefined || v === "") throw new UsageError(`--${flag} is required`);
  return v;
}

function seconds(
  v: string | undefined,
  flag: string,
  key?: "sampleIntervalSec" | "sendIntervalSec",
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const problem = key
    ? settingProblem(key, n)
    : Number.isFinite(n) && n > 0
      ? undefined
      : "must be a positive number";
  if (v.trim() === "" || problem)
    throw new UsageError(`--${flag} ${problem ?? "must be a number"}, got '${v}'`);
  return n;
}

/** A key given inline, or `@FILE` to keep it out of the process list. */
function keyValue(v: string | undefined, flag: string): string | undefined {
  if (v === undefined || !v.startsWith("@")) return v;
  try {
    return readFileSync(v.slice(1), "utf8").trim();
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read ${v.slice(1)}: ${(err as Error).message}`);
  }
}

function chooseSource(
  v: { source?: string | undefined; simulate?: string | undefined },
  deps: DeviceCommandDeps,
  registrationId: string,
): SensorSource {
  if (v.simulate !== undefined) {
    if (v.source !== undefined) throw new UsageError("give --source or --simulate, not both");
    if (!deps.simulate) {
      throw new UsageError("--simulate is not wired into this build yet; use --source constant");
    }
    try {
      return deps.simulate(v.simulate, { registrationId });
    } catch (err) {
      throw new UsageError(`--simulate ${v.simulate}: ${(err as Error).message}`);
    }
  }
  const source = v.source ?? "constant";
  if (source !== "constant")
    throw new UsageError(`unknown --source '${source}': use 'constant' or --simulate MODEL`);
  return new ConstantSource();
}

/** Turns the command line into agent options; throws UsageError saying what to fix. */
export function parseDeviceRunArgs(
  argv: string[],
  deps: DeviceCommandDeps = {},
): { options: AgentOptions; logLevel: string } | "help" {
  const { values: v, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (v.help) return "help";
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const provisioningHost = required(v["provisioning-host"], "provisioning-host");
  try {
    parseHostPort(provisioningHost);
  } catch (err) {
    throw new UsageError(`--provisioning-host: ${(err as Error).message}`);
  }
  const registrationId = required(v["registration-id"], "registration-id");
  const key = keyValue(v.key, "key");
  const groupKey = keyValue(v["group-key"], "group-key");
  if ((key === undefined) === (groupKey === undefined))
    throw new UsageError("give exactly one of --key or --group-key");
  let ca: string | undefined;
  if (v.ca !== undefined) {
    try {
      ca = readFileSync(v.ca, "utf8");
    } catch (err) {
      throw new UsageError(`--ca: cannot read ${v.ca}: ${(err as Error).message}`);
    }
  }
  const sampleIntervalSec = seconds(v["sample-interval"], "sample-interval", "sampleIntervalSec");
  const sendIntervalSec = seconds(v["send-interval"], "send-interval", "sendIntervalSec");
  const tokenLifetimeSec = seconds(v["token-lifetime"], "token-lifetime");
  if (tokenLifetimeSec !== undefined && tokenLifetimeSec < 4)
    throw new UsageError("--token-lifetime must be ≥ 4 s");
  const maxQueueMb = seconds(v["max-queue-mb"], "max-queue-mb");
  const options: AgentOptions = {
    provisioningHost,
    idScope: required(v["id-scope"], "id-scope"),
    registrationId,
    key,
    groupKey,
    ca,
    stateDir: resolve(v["state-dir"] ?? "./agent-state"),
    source: chooseSource(v, deps, registrationId),
    settings: {
      ...(sampleIntervalSec !== undefined && { sampleIntervalSec }),
      ...(sendIntervalSec !== undefined && { sendIntervalSec }),
    },
    ...(tokenLifetimeSec !== undefined && { tokenLifetimeSec: Math.round(tokenLifetimeSec) }),
    ...(maxQueueMb !== undefined && { queue: { maxBytes: Math.round(maxQueueMb * 1024 * 1024) } }),
  };
  const logLevel = v["log-level"] ?? "info";
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join("|")}`);
  return { options, logLevel };
}

/**
 * `pumpwatch device run`: `argv` are the arguments after `device run`. Resolves with the exit code:
 * 0 after a clean stop (SIGINT, SIGTERM or `deps.signal`), 2 for a usage error, 1 if the agent
 * cannot start (e.g. the state folder is not writable).
 */
export async function runDeviceCommand(argv: string[], deps: DeviceCommandDeps = {}): Promise<number> {
  const stderr = deps.stderr ?? process.stderr;
  let parsed: ReturnType<typeof parseDeviceRunArgs>;
  try {
    parsed = parseDeviceRunArgs(argv, deps);
  } catch (err) {
    stderr.write(`pumpwatch device run: ${(err as Error).message}\n\n${DEVICE_RUN_USAGE}`);
    return 2;
  }
  if (parsed === "help") {
    (deps.logDestination ?? process.stdout).write(DEVICE_RUN_USAGE);
    return 0;
  }
  let agent: DeviceAgent;
  try {
    agent = new DeviceAgent(parsed.options);
  } catch (err) {
    stderr.write(`pumpwatch device run: ${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ level: parsed.logLevel, destination: deps.logDestination }).child({
    part: "agent",
    registrationId: parsed.options.registrationId,
  });
  agent.on("provisioned", (a) => log.info(a, "provisioned"));
  agent.on("connected", (c) => log.info(c, "connected to hub"));
  agent.on("disconnected", (d) => log.warn(d, "not connected; retrying"));
  agent.on("settings", (s, rejected) => log.info({ settings: s, rejected }, "settings applied"));
  agent.on("dropped", (samples) => log.warn({ samples }, "queue full: oldest samples dropped"));
  agent.on("warning", (err) => log.warn({ err }, err.message));
  agent.on("delivered", (samples) => log.debug({ samples }, "packet delivered"));
  try {
    agent.start();
  } catch (err) {
    log.error({ err }, `cannot start the agent: ${(err as Error).message}`);
    return 1;
  }
  log.info({ stateDir: parsed.options.stateDir, signals: parsed.options.source?.signals }, "agent started");
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      deps.signal?.removeEventListener("abort", stop);
      done();
    };
    if (deps.signal) {
      if (deps.signal.aborted) return stop();
      deps.signal.addEventListener("abort", stop, { once: true });
    } else {
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    }
  });
  await agent.close();
  log.info(agent.stats(), "agent stopped");
  return 0;
}
