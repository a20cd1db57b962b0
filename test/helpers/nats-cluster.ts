import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { connect } from "nats";

/**
 * A local NATS cluster of `nats-server` processes (Debian's package) with JetStream, each on free
 * loopback ports with its own store folder: what the scale-out runs on in production, small. Nodes
 * can be SIGKILLed and started again on the same ports and store.
 */
export const NATS_SERVER = process.env.PUMPWATCH_NATS_SERVER || "/usr/sbin/nats-server";

/** Why a cluster cannot be started here, or undefined. */
export function natsServerUnavailable(): string | undefined {
  if (!existsSync(NATS_SERVER)) return `no nats-server at ${NATS_SERVER} (apt-get install nats-server)`;
  try {
    execFileSync(NATS_SERVER, ["--version"], { stdio: "pipe" });
    return undefined;
  } catch (err) {
    return `${NATS_SERVER} does not run (${(err as Error).message})`;
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface NatsNode {
  name: string;
  port: number;
  url: string;
  running(): boolean;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface NatsCluster {
  nodes: NatsNode[];
  urls: string[];
  /** Resolves once JetStream answers through every running node (a meta leader exists). */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startNatsCluster(dir: string, size = 3): Promise<NatsCluster> {
  const specs: { name: string; port: number; route: number }[] = [];
  for (let i = 0; i < size; i++)
    specs.push({ name: `n${i + 1}`, port: await freePort(), route: await freePort() });
  // Every process ever started, so that `stop` leaves none behind (a live one keeps the test alive).
  const all = new Set<ChildProcess>();
  let stopped = false;
  const nodes: NatsNode[] = specs.map((spec) => {
    let child: ChildProcess | undefined;
    let exited: Promise<void> = Promise.resolve();
    const conf = join(dir, `${spec.name}.conf`);
    return {
      name: spec.name,
      port: spec.port,
      url: `nats://127.0.0.1:${spec.port}`,
      running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
      async start() {
        if (stopped || (child && child.exitCode === null && child.signalCode === null)) return;
        await mkdir(join(dir, spec.name), { recursive: true });
        await writeFile(
          conf,
          [
            `server_name: ${spec.name}`,
            `listen: 127.0.0.1:${spec.port}`,
            `jetstream { store_dir: "${join(dir, spec.name)}", max_memory_store: 128MB, max_file_store: 1GB }`,
            "cluster {",
            "  name: pumpwatch-test",
            `  listen: 127.0.0.1:${spec.route}`,
            `  routes: [${specs
              .filter((s) => s !== spec)
              .map((s) => `nats-route://127.0.0.1:${s.route}`)
              .join(", ")}]`,
            "}",
          ].join("\n"),
        );
        if (stopped) return;
        child = spawn(NATS_SERVER, ["-c", conf], { stdio: ["ignore", "ignore", "ignore"] });
        const c = child;
        all.add(c);
        exited = new Promise((r) => c.once("exit", () => r()));
        c.once("exit", () => all.delete(c));
      },
      async kill() {
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGKILL");
        await exited;
      },
    };
  });
  for (const n of nodes) await n.start();
  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (const n of nodes.filter((x) => x.running())) {
        for (;;) {
          try {
            const nc = await connect({ servers: n.url, reconnect: false, timeout: 2000 });
            try {
              await (await nc.jetstreamManager({ timeout: 2000 })).getAccountInfo();
              break;
            } finally {
              await nc.close();
            }
          } catch (err) {
            if (Date.now() > deadline)
              throw new Error(`NATS node ${n.name} not ready: ${(err as Error).message}`);
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      }
    },
    async stop() {
      stopped = true;
      for (const n of nodes) await n.kill();
      for (const c of all) c.kill("SIGKILL");
    },
  };
  await cluster.ready();
  return cluster;
}
