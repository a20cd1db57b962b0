/**
 * Child-process helpers for crash tests and benchmarks: a real pumpwatch (or another server script)
 * started as its own process from the TypeScript sources, devices seeded into its data folder, and
 * MQTT device connections with SAS authentication. Everything talks to 127.0.0.1 on ports the child
 * picked itself (port 0).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { fileURLToPath } from "node:url";
import mqtt, { type MqttClient } from "mqtt";
import { loadConfig } from "../../src/core/config.js";
import { generateKey } from "../../src/core/keys.js";
import { createSas } from "../../src/core/sas.js";
import { openStores } from "../../src/main.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Runs `main(argv)` of src/cli.ts. */
export const CLI_SCRIPT = fileURLToPath(new URL("./cli.ts", import.meta.url));

export interface ChildServer {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly mqttPort: number;
  /** 0 when the script serves no HTTPS. */
  readonly httpsPort: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 64 KiB of stdout and stderr, for failure messages. */
  output(): string;
  /** Sends `signal` to this child's pid, waits for it to exit, and SIGKILLs it after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Script run with `node --import tsx`. */
  script: string;
  args: string[];
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Longest wait for the ready line. */
  timeoutMs?: number;
  /** Prefix the command with `taskset -c <cpus>` (pins the child to those cores). */
  cpus?: string | undefined;
  /** Extra environment of the child. */
  env?: Record<string, string>;
  /** The ready line may lack `mqtt` (a process serving HTTPS only, e.g. `--role ingest`). */
  httpsOnly?: boolean;
}

/** Port of a `scheme://host:port` URL as printed in a start log line. */
function portOf(url: unknown): number | undefined {
  if (typeof url !== "string") return undefined;
  const port = Number(new URL(url).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * Starts a server script as a child process and waits for its first JSON stdout line naming an
 * `mqtt` URL (and `https`, if any): pumpwatch's start log line, or bench/bare-broker.ts's.
 */
export async function spawnServer(o: SpawnOptions): Promise<ChildServer> {
  const env = { ...process.env, ...o.env };
  // A child of `node --test` would otherwise believe it is a test file and report to the runner.
  delete env["NODE_TEST_CONTEXT"];
  const nodeArgv = [...(o.nodeArgs ?? []), "--import", "tsx", o.script, ...o.args];
  const [command, argv] = o.cpus
    ? ["taskset", ["-c", o.cpus, process.execPath, ...nodeArgv]]
    : [process.execPath, nodeArgv];
  const child = spawn(command as string, argv as string[], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`cannot start ${o.script}`);
  const pid = child.pid;
  let tail = "";
  const keep = (s: string) => {
    tail = (tail + s).slice(-65_536);
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  let exitedNow = false;
  void exited.then(() => {
    exitedNow = true;
  });
  const ports = await new Promise<{ mqtt: number; https: number }>((resolve, reject) => {
    let line = "";
    let found = false;
    const timeoutMs = o.timeoutMs ?? 20_000;
    const deadline = setTimeout(
      () => fail(new Error(`no ready line from ${o.script} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    function fail(err: Error) {
      if (found) return;
      found = true;
      clearTimeout(deadline);
      child.kill("SIGKILL");
      reject(new Error(`${err.message}\n--- child output ---\n${tail}`));
    }
    child.stderr!.setEncoding("utf8").on("data", keep);
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      // Keep reading after the ready line, so a full pipe never blocks the child's logging.
      keep(chunk);
      if (found) return;
      line += chunk;
      let nl = line.indexOf("\n");
      while (nl >= 0 && !found) {
        const text = line.slice(0, nl).trim();
        line = line.slice(nl + 1);
        nl = line.indexOf("\n");
        if (!text.startsWith("{")) continue;
        let doc: Record<string, unknown>;
        try {
          doc = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        const mqttPort = portOf(doc["mqtt"]) ?? (o.httpsOnly && portOf(doc["https"]) ? 0 : undefined);
        if (mqttPort === undefined) continue;
        found = true;
        clearTimeout(deadline);
        resolve({ mqtt: mqttPort, https: portOf(doc["https"]) ?? 0 });
      }
    });
    child.once("exit", (code, signal) => fail(new Error(`${o.script} exited (${code ?? signal})`)));
  });
  return {
    child,
    pid,
    mqttPort: ports.mqtt,
    httpsPort: ports.https,
    exited,
    output: () => tail,
    async stop(signal = "SIGTERM", timeoutMs = 10_000) {
      if (exitedNow) return;
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), timeoutMs);
      });
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome === "late") {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

/** Starts `pumpwatch start` on free ports of 127.0.0.1 with its data in `dataDir`. */
export function spawnPumpwatch(
  dataDir: string,
  opts: {
    nodeArgs?: string[];
    extraArgs?: string[];
    cpus?: string | undefined;
    env?: Record<string, string>;
    httpsOnly?: boolean;
  } = {},
): Promise<ChildServer> {
  return spawnServer({
    script: CLI_SCRIPT,
    args: [
      "start",
      "--data",
      dataDir,
      "--bind",
      "127.0.0.1",
      "--mqtt-port",
      "0",
      "--https-port",
      "0",
      "--log-level",
      "info",
      ...(opts.extraArgs ?? []),
    ],
    nodeArgs: opts.nodeArgs ?? [],
    cpus: opts.cpus,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.httpsOnly ? { httpsOnly: true } : {}),
  });
}

export interface SeededDevice {
  id: string;
  key: string;
}

/** Registers `count` devices with random keys directly in the store of `dataDir` (server stopped). */
export async function seedDevices(dataDir: string, count: number, prefix = "pump"): Promise<SeededDevice[]> {
  const stores = openStores(loadConfig({ flags: { data: dataDir } }));
  try {
    const devices: SeededDevice[] = [];
    for (let i = 0; i < count; i++) {
      const id = `${prefix}-${String(i).padStart(4, "0")}`;
      const key = generateKey();
      await stores.registry.createDevice({
        id,
        primaryKey: key,
        secondaryKey: generateKey(),
        enrollmentKind: "manual",
      });
      devices.push({ id, key });
    }
    return devices;
  } finally {
    await stores.close();
  }
}

/** Telemetry topic with a `$.mid` property, as the Azure SDK writes it. */
export function telemetryTopic(deviceId: string, mid: string): string {
  return `devices/${deviceId}/messages/events/%24.mid=${encodeURIComponent(mid)}`;
}

/**
 * Connects one device the way the Azure SDK does (MQTT 3.1.1 over TLS, SAS password) and resolves
 * after CONNACK. No automatic reconnect: callers decide what a device does after a lost connection.
 */
export function connectDevice(o: {
  port: number;
  ca: string;
  device: SeededDevice;
  connectTimeoutMs?: number;
}): Promise<MqttClient> {
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const hub = `localhost:${o.port}`;
  return mqtt.connectAsync({
    protocol: "mqtts",
    host: "127.0.0.1",
    port: o.port,
    ca: o.ca,
    protocolVersion: 4,
    clientId: o.device.id,
    username: `${hub}/${o.device.id}/?api-version=2021-04-12`,
    password: createSas({ resourceUri: `${hub}/devices/${o.device.id}`, key: o.device.key, expiresAt }),
    clean: true,
    keepalive: 60,
    reconnectPeriod: 0,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
  });
}

/** Reads `<data>/tls/ca.pem`. */
export function readCa(dataDir: string): string {
  return readFileSync(`${dataDir}/tls/ca.pem`, "utf8");
}

/** GET on the operator API of a child pumpwatch, with the token from `<data>/operator-token`. */
export function operatorGet<T>(server: { httpsPort: number }, dataDir: string, path: string): Promise<T> {
  return operatorRequest<T>(server, dataDir, "GET", path);
}

/**
 * A request to the operator API of a child pumpwatch, with the token from `<data>/operator-token`;
 * rejects unless the status is 2xx. `/metrics` answers text, everything else JSON.
 */
export function operatorRequest<T>(
  server: { httpsPort: number },
  dataDir: string,
  method: "GET" | "POST" | "PATCH",
  path: string,
  body?: unknown,
): Promise<T> {
  const token = readFileSync(`${dataDir}/operator-token`, "utf8").trim();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: server.httpsPort,
        path,
        method,
        ca: readCa(dataDir),
        servername: "localhost",
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) reject(new Error(`${method} ${path}: ${status} ${text}`));
          else resolve((path === "/metrics" ? text : JSON.parse(text)) as T);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** utime + stime of a process in seconds, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat(5); the slice starts at field 3.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
