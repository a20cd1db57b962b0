import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConfigInput, loadConfig } from "../../src/core/config.js";
import { createLogger, type Logger } from "../../src/core/log.js";
import { type Running, startPumpwatch } from "../../src/main.js";
import { RegistryAdmin } from "../../src/provisioning/admin.js";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests
type Json = any;

export interface TestServer extends Running {
  dataDir: string;
  admin: RegistryAdmin;
  /** Fetches the operator API over real HTTPS. */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: Json }>;
  stop(): Promise<void>;
}

/** Starts a whole pumpwatch on free ports over real TLS, in a fresh temporary data folder. */
export async function startTestServer(
  overrides: ConfigInput = {},
  opts: { now?: () => number; log?: Logger } = {},
): Promise<TestServer> {
  const dataDir = overrides.data ?? (await mkdtemp(join(tmpdir(), "pumpwatch-test-")));
  const config = loadConfig({
    flags: {
      data: dataDir,
      bind: "127.0.0.1",
      mqttPort: 0,
      httpsPort: 0,
      logLevel: "silent",
      sqliteSync: "NORMAL",
      ...overrides,
    },
  });
  const { log, ...startOpts } = opts;
  const running = await startPumpwatch(config, log ?? createLogger({ level: config.logLevel }), startOpts);
  const admin = new RegistryAdmin(running.stores.registry, running.idScope);
  return {
    ...running,
    dataDir,
    admin,
    async api(path, init = {}) {
      const { request } = await import("node:https");
      return new Promise((resolve, reject) => {
        const body = init.body === undefined ? undefined : JSON.stringify(init.body);
        const req = request(
          {
            host: "127.0.0.1",
            port: running.httpsPort,
            path,
            method: init.method ?? "GET",
            ca: running.ca,
            servername: "localhost",
            headers: {
              authorization: `Bearer ${running.operatorToken}`,
              ...(body === undefined ? {} : { "content-type": "application/json" }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
            });
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    },
    async stop() {
      await running.close();
      if (overrides.data === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
