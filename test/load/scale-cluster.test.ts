/**
 * The scale-out under failure (issue 8): a three-node NATS cluster (three nats-server processes,
 * stream and buckets with 3 replicas), two gateways behind a TCP load balancer, two ingest workers,
 * one analytics worker and the API, on one PostgreSQL schema — every pumpwatch process a child
 * started from the CLI. Simulated devices and official-SDK devices (provisioned through the balancer)
 * send QoS 1 telemetry while a gateway, an ingest worker, the analytics worker and the NATS node
 * leading the stream are SIGKILLed. Afterwards every acknowledged message is stored exactly once and
 * the analytics (alarms, analyzer state, KPI hours) equal those of an analyzer fed the same samples
 * without any failure. Before that run, the same installation shows device state across gateways:
 * provisioning on one gateway and polling on the other, session takeover, subscriptions following the
 * device, desired pushes and disabling reaching the gateway that holds the connection.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:https";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { connect } from "nats";
import { PumpAnalyzer } from "../../src/analytics/analyzer.js";
import { generateKey } from "../../src/core/keys.js";
import type { Sample } from "../../src/core/sample.js";
import { createSas } from "../../src/core/sas.js";
import { createSecretBox } from "../../src/core/secrets.js";
import { openPostgresStores, type PostgresStores } from "../../src/store/postgres/index.js";
import { Message, mqttClient, provision } from "../helpers/azure.js";
import {
  type ChildServer,
  operatorRequest,
  readCa,
  type SeededDevice,
  spawnPumpwatch,
  telemetryTopic,
} from "../helpers/child.js";
import { type NatsCluster, natsServerUnavailable, startNatsCluster } from "../helpers/nats-cluster.js";
import { createSchema, dropSchema, PG_URL, pgUnavailable } from "../helpers/postgres.js";

const SIM_DEVICES = 8;
const SDK_DEVICES = 2;
const PER_DEVICE = 160;
const STEP_MS = 10_000;
/** Vibration above the alarm limit (7.1 mm/s for a pump of unknown model) for these samples. */
const HIGH = { from: 50, to: 90 };

const NAME = "scale-out under failure: 3 NATS nodes, 2 gateways, 2 ingest, 1 analytics, the API";

type Role = "gateway" | "ingest" | "analytics" | "api";

/** A round-robin TCP balancer in front of the gateways' MQTT ports (what a cloud LB does). */
class Balancer {
  readonly server: Server;
  targets: number[] = [];
  #next = 0;
  readonly #sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((client) => this.#route(client, 0));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return (this.server.address() as { port: number }).port;
  }

  #route(client: Socket, attempt: number): void {
    this.#sockets.add(client);
    client.once("close", () => this.#sockets.delete(client));
    if (this.targets.length === 0 || attempt >= this.targets.length) return void client.destroy();
    const port = this.targets[this.#next++ % this.targets.length]!;
    const upstream = netConnect(port, "127.0.0.1");
    this.#sockets.add(upstream);
    upstream.once("close", () => this.#sockets.delete(upstream));
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      client.pipe(upstream).pipe(client);
    });
    upstream.on("error", () => {
      if (!connected && !client.destroyed) return this.#route(client, attempt + 1);
      client.destroy();
    });
    client.on("error", () => upstream.destroy());
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => connected && client.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** The vibration of sample `n` of every device (deterministic, with a fault episode). */
function sampleOf(baseTs: number, n: number): Sample {
  const high = n >= HIGH.from && n < HIGH.to;
  return { ts: baseTs + n * STEP_MS, values: { vibration: high ? 8 + (n % 3) * 0.1 : 2 + (n % 5) * 0.05 } };
}

function payloadOf(s: Sample): string {
  return JSON.stringify({ ts: new Date(s.ts).toISOString(), values: s.values });
}

const until = async (
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  context: () => string = () => "",
) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${context()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** An MQTT device connection with the hub name `hub`, as the Azure SDK makes it. */
function connectRaw(
  port: number,
  hub: string,
  ca: string,
  d: SeededDevice,
  clean: boolean,
): Promise<MqttClient> {
  return mqtt.connectAsync({
    protocol: "mqtts",
    host: "127.0.0.1",
    port,
    ca,
    servername: "localhost",
    protocolVersion: 4,
    clientId: d.id,
    username: `${hub}/${d.id}/?api-version=2021-04-12`,
    password: createSas({
      resourceUri: `${hub}/devices/${d.id}`,
      key: d.key,
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    }),
    clean,
    keepalive: 30,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
}

/** A DPS request over HTTPS to one gateway, signed with the registration's key. */
function dpsHttps(
  port: number,
  ca: string,
  idScope: string,
  regId: string,
  key: string,
  path: string,
  method: "PUT" | "GET",
): Promise<{ status: number; body: Record<string, unknown> }> {
  const sas = createSas({
    resourceUri: `${idScope}/registrations/${regId}`,
    key,
    expiresAt: Math.floor(Date.now() / 1000) + 600,
    keyName: "registration",
  });
  const body = method === "PUT" ? JSON.stringify({ registrationId: regId }) : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        ca,
        servername: "localhost",
        method,
        path: `/${idScope}/registrations/${regId}${path}?api-version=2021-06-01`,
        headers: {
          authorization: sas,
          ...(body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString() || "{}"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const body = () => {
  const tag = randomBytes(4).toString("hex");
  const stream = `PW_CLUSTER_${tag}`;
  const masterKey = randomBytes(32);
  const idScope = `0ne${tag}`;
  const baseTs = Date.now() - 3 * 3_600_000;
  let dir: string;
  let dataDir: string;
  let cluster: NatsCluster;
  let schema: string;
  let db: string;
  let stores: PostgresStores;
  let ca: string;
  let lbPort: number;
  const lb = new Balancer();
  const procs = new Map<string, ChildServer>();
  const sim: SeededDevice[] = [];
  const sdk: SeededDevice[] = [];
  const extra: SeededDevice[] = [];
  const closers: (() => Promise<unknown> | unknown)[] = [];

  const spawn = async (name: string, role: Role) => {
    const child = await spawnPumpwatch(dataDir, {
      extraArgs: ["--role", role, "--bus", cluster.urls.join(","), "--db", db],
      env: {
        PUMPWATCH_MASTER_KEY: masterKey.toString("base64"),
        PUMPWATCH_ID_SCOPE: idScope,
        PUMPWATCH_BUS_STREAM: stream,
        PUMPWATCH_BUS_REPLICAS: "3",
        PUMPWATCH_BUS_ACK_WAIT_MS: "2000",
        PUMPWATCH_BUS_LEASE_MS: "4000",
        PUMPWATCH_ASSIGNED_HUB: `localhost:${lbPort}`,
      },
      httpsOnly: role !== "gateway",
    });
    procs.set(name, child);
    return child;
  };
  const gatewayPorts = () => ["gwA", "gwB"].flatMap((n) => (procs.has(n) ? [procs.get(n)!.mqttPort] : []));
  const api = () => procs.get("api")!;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pumpwatch-cluster-"));
    dataDir = join(dir, "data");
    cluster = await startNatsCluster(join(dir, "nats"), 3);
    schema = await createSchema();
    const url = new URL(PG_URL);
    url.searchParams.set("options", `-c search_path=${schema}`);
    db = url.toString();
    stores = openPostgresStores(PG_URL, createSecretBox(masterKey), { schema });
    await stores.ready;
    const device = async (list: SeededDevice[], id: string) => {
      const d = { id, key: generateKey() };
      await stores.registry.createDevice({
        id,
        primaryKey: d.key,
        secondaryKey: generateKey(),
        enrollmentKind: "manual",
      });
      list.push(d);
    };
    for (let i = 0; i < SIM_DEVICES; i++) await device(sim, `sim-${tag}-${i}`);
    for (let i = 0; i < 3; i++) await device(extra, `state-${tag}-${i}`);
    for (let i = 0; i < SDK_DEVICES + 1; i++) {
      const d = { id: `sdk-${tag}-${i}`, key: generateKey() };
      await stores.registry.createEnrollment({
        id: d.id,
        kind: "individual",
        primaryKey: d.key,
        secondaryKey: generateKey(),
        enabled: true,
      });
      sdk.push(d);
    }
    lbPort = await lb.listen();
    // The first start writes the TLS material and operator token of the shared data folder.
    await spawn("api", "api");
    ca = readCa(dataDir);
    await Promise.all([spawn("gwA", "gateway"), spawn("gwB", "gateway")]);
    lb.targets = gatewayPorts();
    await Promise.all([
      spawn("ingest1", "ingest"),
      spawn("ingest2", "ingest"),
      spawn("analytics1", "analytics"),
    ]);
  });

  after(async () => {
    for (const c of closers.splice(0)) await Promise.resolve(c()).catch(() => {});
    await Promise.all([...procs.values()].map((p) => p.stop("SIGKILL")));
    await lb.close();
    await cluster?.stop();
    await stores?.close();
    if (schema) await dropSchema(schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("provisions on one gateway and answers the poll on the other, assigning the balancer's hub name", async () => {
    const [a, b] = [procs.get("gwA")!, procs.get("gwB")!];
    const d = sdk[SDK_DEVICES]!;
    const reg = await dpsHttps(a.httpsPort, ca, idScope, d.id, d.key, "/register", "PUT");
    assert.equal(reg.status, 202, JSON.stringify(reg.body));
    const op = String(reg.body["operationId"]);
    const poll = await dpsHttps(b.httpsPort, ca, idScope, d.id, d.key, `/operations/${op}`, "GET");
    assert.equal(poll.status, 200, JSON.stringify(poll.body));
    assert.equal(
      (poll.body["registrationState"] as { assignedHub: string }).assignedHub,
      `localhost:${lbPort}`,
    );
    const forged = `${op.slice(0, -4)}0000`;
    const bad = await dpsHttps(b.httpsPort, ca, idScope, d.id, d.key, `/operations/${forged}`, "GET");
    assert.equal(bad.status, 404, "a forged operation id is unknown");
  });

  it("a device's new connection on gateway B closes its connection on A; its subscriptions follow it", async () => {
    const [a, b] = [procs.get("gwA")!, procs.get("gwB")!];
    const d = extra[0]!;
    const first = await connectRaw(a.mqttPort, `localhost:${a.mqttPort}`, ca, d, false);
    closers.push(() => first.endAsync(true));
    await first.subscribeAsync("$iothub/twin/PATCH/properties/desired/#", { qos: 0 });
    let firstClosed = 0;
    first.on("close", () => {
      firstClosed ||= Date.now();
    });
    // Let the subscription reach the shared session store before the device moves.
    await new Promise((r) => setTimeout(r, 300));
    const connectedAt = Date.now();
    const second = await connectRaw(b.mqttPort, `localhost:${b.mqttPort}`, ca, d, false);
    closers.push(() => second.endAsync(true));
    await until("the old connection on gateway A to close", () => firstClosed > 0, 5000);
    assert.ok(firstClosed - connectedAt < 2000, `closed after ${firstClosed - connectedAt} ms`);
    assert.equal(second.connected, true, "the new connection stays");
    // No SUBSCRIBE on B: the desired push still reaches the device there.
    const got = new Promise<{ topic: string; body: Record<string, unknown> }>((resolve) =>
      second.on("message", (topic, payload) => resolve({ topic, body: JSON.parse(payload.toString()) })),
    );
    await operatorRequest(api(), dataDir, "PATCH", `/api/devices/${d.id}/twin`, { desired: { interval: 9 } });
    const push = await Promise.race([
      got,
      new Promise<never>((_, rej) =>
        setTimeout(
          () => rej(new Error(`no push at the device; gateway B said:\n${b.output().slice(-3000)}`)),
          5000,
        ),
      ),
    ]);
    assert.match(push.topic, /^\$iothub\/twin\/PATCH\/properties\/desired\/\?\$version=\d+$/);
    assert.equal(push.body["interval"], 9);
  });

  it("disabling a device through the API closes its connection on the gateway holding it within 1 s", async () => {
    const b = procs.get("gwB")!;
    const d = extra[1]!;
    const client = await connectRaw(b.mqttPort, `localhost:${b.mqttPort}`, ca, d, true);
    closers.push(() => client.endAsync(true));
    let closedAt = 0;
    client.on("close", () => {
      closedAt ||= Date.now();
    });
    const t0 = Date.now();
    await operatorRequest(api(), dataDir, "POST", `/api/devices/${d.id}/disable`);
    await until("the connection to close", () => closedAt > 0, 3000);
    assert.ok(closedAt - t0 <= 1000, `closed ${closedAt - t0} ms after the API call`);
    await assert.rejects(
      connectRaw(b.mqttPort, `localhost:${b.mqttPort}`, ca, d, true),
      "refused while disabled",
    );
  });

  it("a gateway's security event (forged tokens for one device) reaches the operator API of the api process", async () => {
    const a = procs.get("gwA")!;
    const victim = { id: extra[2]!.id, key: generateKey() };
    for (let i = 0; i < 12; i++) {
      await assert.rejects(connectRaw(a.mqttPort, `localhost:${a.mqttPort}`, ca, victim, true));
    }
    type Events = { events: { kind: string; deviceId: string | null; count: number }[] };
    let found: Events["events"][number] | undefined;
    await until(
      "the auth_failures event in the API",
      async () => {
        const { events } = await operatorRequest<Events>(api(), dataDir, "GET", "/api/security/events");
        found = events.find((e) => e.kind === "auth_failures" && e.deviceId === victim.id);
        return found !== undefined;
      },
      10_000,
    );
    assert.ok(found!.count >= 10, `counted ${found!.count} failures`);
  });

  it("stores every acknowledged message exactly once and analyses identically through kills", {
    timeout: 240_000,
  }, async (t) => {
    const total = (SIM_DEVICES + SDK_DEVICES) * PER_DEVICE;
    let acked = 0;
    const kills: string[] = [];
    const milestones: { at: number; run: () => Promise<void> }[] = [
      {
        at: 0.15,
        run: async () => {
          await procs.get("gwA")!.stop("SIGKILL");
          procs.delete("gwA");
          lb.targets = gatewayPorts();
          kills.push("gateway A");
        },
      },
      {
        at: 0.3,
        run: async () => {
          await spawn("gwA", "gateway");
          lb.targets = gatewayPorts();
        },
      },
      {
        at: 0.4,
        run: async () => {
          await procs.get("ingest1")!.stop("SIGKILL");
          kills.push("ingest worker 1");
        },
      },
      {
        at: 0.5,
        run: async () => {
          await procs.get("analytics1")!.stop("SIGKILL");
          kills.push("analytics worker");
          await spawn("analytics2", "analytics");
        },
      },
      {
        at: 0.65,
        run: async () => {
          const nc = await connect({ servers: cluster.urls });
          const info = await (await nc.jetstreamManager()).streams.info(stream);
          await nc.close();
          const leader = cluster.nodes.find((n) => n.name === info.cluster?.leader) ?? cluster.nodes[1]!;
          await leader.kill();
          kills.push(`NATS node ${leader.name} (stream leader)`);
          // Back after 5 s, as a restarted machine would be (cluster.stop() ends it with the others).
          setTimeout(() => void leader.start(), 5000);
        },
      },
    ];
    const progress = async () => {
      while (milestones.length > 0 && acked >= milestones[0]!.at * total) await milestones.shift()!.run();
    };
    let checking = Promise.resolve();
    const onAck = () => {
      acked++;
      checking = checking.then(progress);
    };

    /** A simulated box: one message in flight, re-sent (same id) over a new connection until acked. */
    const simDevice = async (d: SeededDevice) => {
      let client: MqttClient | undefined;
      for (let n = 0; n < PER_DEVICE; n++) {
        const payload = payloadOf(sampleOf(baseTs, n));
        for (let attempt = 0; ; attempt++) {
          assert.ok(attempt < 200, `${d.id} message ${n}: no PUBACK after 200 attempts`);
          try {
            if (!client?.connected) {
              client?.end(true);
              client = await connectRaw(lbPort, `localhost:${lbPort}`, ca, d, true);
            }
            await Promise.race([
              client.publishAsync(telemetryTopic(d.id, `${d.id}:${n}`), payload, { qos: 1 }),
              new Promise((_, rej) => setTimeout(() => rej(new Error("no PUBACK in 8 s")), 8000)),
            ]);
            break;
          } catch {
            client?.end(true);
            client = undefined;
            await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
          }
        }
        onAck();
      }
      client?.end(true);
    };

    /**
     * An official-SDK box, provisioned through the balancer (DPS over MQTT on either gateway) and
     * connected before the kills start: the SDK's provisioning client throws an uncaught error when
     * its connection closes mid-registration, which no retry of ours can catch.
     */
    const sdkConnect = async (d: SeededDevice) => {
      // A box retries what fails while a gateway dies under it: provisioning and opening alike.
      const retry = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await fn();
          } catch (err) {
            if (attempt >= 30) throw new Error(`${d.id}: ${what} failed 30 times: ${(err as Error).message}`);
            await new Promise((r) => setTimeout(r, 300));
          }
        }
      };
      const reg = await retry("provisioning", () =>
        provision({
          transport: "mqtt",
          host: "localhost",
          port: lbPort,
          idScope,
          registrationId: d.id,
          key: d.key,
          ca,
        }),
      );
      assert.equal(reg.assignedHub, `localhost:${lbPort}`);
      const client = mqttClient(reg.assignedHub, reg.deviceId, d.key);
      closers.push(() => client.close());
      await client.setOptions({ ca });
      await retry("open", () => client.open());
      return { d, client };
    };
    const sdkDevice = async ({ d, client }: Awaited<ReturnType<typeof sdkConnect>>) => {
      for (let n = 0; n < PER_DEVICE; n++) {
        const payload = payloadOf(sampleOf(baseTs, n));
        for (let attempt = 0; ; attempt++) {
          assert.ok(attempt < 100, `${d.id} message ${n}: not sent after 100 attempts`);
          const msg = new Message(payload);
          msg.messageId = `${d.id}:${n}`;
          msg.contentType = "application/json";
          msg.contentEncoding = "utf-8";
          try {
            await Promise.race([
              client.sendEvent(msg),
              new Promise((_, rej) => setTimeout(() => rej(new Error("no PUBACK in 10 s")), 10_000)),
            ]);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 300));
            await client.open().catch(() => {});
          }
        }
        onAck();
      }
      await client.close();
    };

    const started = Date.now();
    const sdkClients = await Promise.all(sdk.slice(0, SDK_DEVICES).map(sdkConnect));
    await Promise.all([...sim.map(simDevice), ...sdkClients.map(sdkDevice)]);
    await checking;
    const sendMs = Date.now() - started;
    assert.equal(acked, total);
    assert.deepEqual(kills.length, 4, `all four kills happened: ${kills.join(", ")}`);

    // Stored: every device holds exactly its PER_DEVICE samples (acked-but-lost 0, stored twice 0).
    const ids = [...sim, ...sdk.slice(0, SDK_DEVICES)].map((d) => d.id);
    const counts = async () => Promise.all(ids.map((id) => stores.telemetry.countSamples(id)));
    await until(
      "every message to be stored",
      async () => (await counts()).every((c) => c >= PER_DEVICE),
      60_000,
    );
    assert.deepEqual(
      await counts(),
      ids.map(() => PER_DEVICE),
      "stored exactly once",
    );
    for (const id of ids) {
      const rows = await stores.telemetry.querySamples(id, 0, Number.MAX_SAFE_INTEGER, PER_DEVICE + 10);
      assert.deepEqual(
        rows.map((r) => r.ts),
        Array.from({ length: PER_DEVICE }, (_, n) => baseTs + n * STEP_MS),
        `${id}: each sample once`,
      );
    }

    // Analytics: caught up with the last sample of every pump, then equal to the failure-free analysis.
    const lastTs = baseTs + (PER_DEVICE - 1) * STEP_MS;
    await until(
      "analytics to reach the last sample",
      async () => {
        for (const id of ids) if ((await stores.analytics.loadAnalyzerState(id))?.ts !== lastTs) return false;
        return true;
      },
      60_000,
      () => `; the analytics worker said:\n${procs.get("analytics2")?.output().slice(-4000)}`,
    );
    for (const id of ids) {
      const reference = new PumpAnalyzer({ deviceId: id, model: null });
      const expected = new Map<
        string,
        { severity: string; raised: number; cleared: number | null; n: number }
      >();
      for (let n = 0; n < PER_DEVICE; n++) {
        for (const tr of reference.process(sampleOf(baseTs, n))) {
          const e = expected.get(tr.type);
          if (tr.kind === "clear") {
            if (e) e.cleared = tr.ts;
          } else if (tr.kind === "raise" && (!e || e.cleared !== null)) {
            expected.set(tr.type, {
              severity: tr.severity,
              raised: e?.raised ?? tr.ts,
              cleared: null,
              n: (e?.n ?? 0) + 1,
            });
          } else if (e) e.severity = tr.severity;
        }
      }
      const alarms = (await stores.analytics.listAlarms({ deviceIds: [id] })).filter(
        (a) => a.type !== "offline",
      );
      assert.deepEqual(
        Object.fromEntries(
          alarms.map((a) => [
            a.type,
            { severity: a.severity, raised: a.firstRaisedAt, cleared: a.clearedAt, n: a.occurrences },
          ]),
        ),
        Object.fromEntries(expected),
        `${id}: alarms as without failures`,
      );
      assert.ok(expected.has("rule:vibrationHigh"), "the fault episode raised its alarm");
      const hours = new Map<number, number>();
      for (const h of reference.drainKpis(Number.POSITIVE_INFINITY)) hours.set(h.hour, h.coveredS);
      const stored = new Map<number, number>();
      for (const h of await stores.analytics.queryKpiHours([id], 0, Number.MAX_SAFE_INTEGER))
        stored.set(h.hour, (stored.get(h.hour) ?? 0) + h.coveredS);
      assert.deepEqual([...stored.keys()].sort(), [...hours.keys()].sort(), `${id}: KPI hours`);
      for (const [hour, covered] of hours)
        assert.ok(
          Math.abs((stored.get(hour) ?? 0) - covered) < 1e-6,
          `${id}: covered seconds of hour ${hour}`,
        );
      const saved = JSON.parse((await stores.analytics.loadAnalyzerState(id))!.state);
      const mine = JSON.parse(JSON.stringify(reference));
      for (const s of [saved, mine]) {
        delete s.lastHeard;
        delete s.kpi;
      }
      assert.deepEqual(saved, mine, `${id}: analyzer state as without failures`);
    }
    t.diagnostic(
      `${total} messages from ${ids.length} devices in ${(sendMs / 1000).toFixed(1)} s through kills of ` +
        `${kills.join(", ")}: acknowledged ${acked}, stored ${total}, lost 0, duplicated 0; analytics identical`,
    );
  });
};

const unavailable = natsServerUnavailable() ?? (await pgUnavailable());
if (!unavailable) describe(NAME, body);
else
  describe(NAME, () => {
    if (process.env.CI) {
      it("needs nats-server and PostgreSQL in CI", () => assert.fail(`${unavailable}; CI is set`));
    } else it("runs a NATS cluster", { skip: `${unavailable}: skipped; set CI to require it` }, () => {});
  });
