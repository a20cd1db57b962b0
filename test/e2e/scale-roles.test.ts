/**
 * Scale-out roles (issue 8): two `--role gateway` processes and one `--role ingest` process, started
 * from the CLI as child processes on one NATS JetStream stream and one PostgreSQL schema. Devices
 * spread over both gateways get their PUBACK once JetStream holds the packet; the ingest worker
 * stores every packet exactly once. With the ingest process SIGKILLed the gateways still
 * acknowledge (the bus holds the packets), and a new ingest process stores them, again once.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import type { MqttClient } from "mqtt";
import { connect } from "nats";
import { generateKey } from "../../src/core/keys.js";
import { createSecretBox } from "../../src/core/secrets.js";
import { openPostgresStores, type PostgresStores } from "../../src/store/postgres/index.js";
import {
  type ChildServer,
  connectDevice,
  readCa,
  type SeededDevice,
  spawnPumpwatch,
  telemetryTopic,
} from "../helpers/child.js";
import { describeNats, NATS_URL } from "../helpers/nats.js";
import { createSchema, describePostgres, dropSchema, PG_URL, pgUnavailable } from "../helpers/postgres.js";

const DEVICES = 20;
const FIRST = 2000;
const SECOND = 500;

const NAME = "scale-out roles: 2 gateways + 1 ingest worker on NATS JetStream and PostgreSQL";
const body = () => {
  const tag = randomBytes(4).toString("hex");
  const stream = `PW_ROLES_${tag}`;
  const masterKey = randomBytes(32);
  const idScope = `0ne${tag}`;
  let dataDir: string;
  let schema: string;
  let db: string;
  let stores: PostgresStores;
  let devices: SeededDevice[] = [];
  const children: ChildServer[] = [];
  const clients: MqttClient[] = [];
  const baseTs = Date.now() - 3_600_000;
  const seq = new Map<string, number>();

  const spawn = async (role: "gateway" | "ingest") => {
    const child = await spawnPumpwatch(dataDir, {
      extraArgs: ["--role", role, "--bus", NATS_URL, "--db", db],
      env: {
        PUMPWATCH_MASTER_KEY: masterKey.toString("base64"),
        PUMPWATCH_ID_SCOPE: idScope,
        PUMPWATCH_BUS_STREAM: stream,
        PUMPWATCH_BUS_ACK_WAIT_MS: "2000",
      },
      httpsOnly: role === "ingest",
    });
    children.push(child);
    return child;
  };

  /** Publishes `perDevice` fresh QoS 1 messages from every device; resolves with the PUBACK count. */
  const publishAll = async (perDevice: number): Promise<number> => {
    let acks = 0;
    await Promise.all(
      clients.map((client, i) => {
        const id = devices[i]!.id;
        return Promise.all(
          Array.from({ length: perDevice }, () => {
            const n = seq.get(id) ?? 0;
            seq.set(id, n + 1);
            const ts = baseTs + n * 10;
            const payload = JSON.stringify({
              ts: new Date(ts).toISOString(),
              values: { oilTemperature: 60 },
            });
            return new Promise<void>((resolve, reject) => {
              client.publish(telemetryTopic(id, `${id}:${n}`), payload, { qos: 1 }, (err) => {
                if (err) return reject(err);
                acks++;
                resolve();
              });
            });
          }),
        );
      }),
    );
    return acks;
  };

  const storedCounts = async () => Promise.all(devices.map((d) => stores.telemetry.countSamples(d.id)));

  /** Polls the store until every device holds `perDevice` samples, then checks none holds more. */
  const untilStored = async (perDevice: number, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    let counts = await storedCounts();
    while (counts.some((c) => c < perDevice)) {
      if (Date.now() > deadline) {
        assert.fail(`stored ${counts.reduce((a, b) => a + b, 0)} of ${perDevice * DEVICES}: ${counts}`);
      }
      await new Promise((r) => setTimeout(r, 200));
      counts = await storedCounts();
    }
    assert.deepEqual(
      counts,
      devices.map(() => perDevice),
      "every message stored exactly once",
    );
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-roles-"));
    schema = await createSchema();
    const url = new URL(PG_URL);
    url.searchParams.set("options", `-c search_path=${schema}`);
    db = url.toString();
    stores = openPostgresStores(PG_URL, createSecretBox(masterKey), { schema });
    await stores.ready;
    for (let i = 0; i < DEVICES; i++) {
      const d = { id: `roles-${tag}-${i}`, key: generateKey() };
      await stores.registry.createDevice({
        id: d.id,
        primaryKey: d.key,
        secondaryKey: generateKey(),
        enrollmentKind: "manual",
      });
      devices.push(d);
    }
  });

  after(async () => {
    for (const c of clients) c.end(true);
    for (const c of children) await c.stop("SIGKILL");
    const nc = await connect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
    await nc.close();
    await stores?.close();
    if (schema) await dropSchema(schema);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    devices = [];
  });

  it("stores 2,000 messages through two gateways exactly once, and 500 more across an ingest kill", {
    timeout: 60_000,
  }, async (t) => {
    // The first start writes the TLS material of the shared data folder; the others reuse it.
    const gatewayA = await spawn("gateway");
    const [gatewayB, ingest] = await Promise.all([spawn("gateway"), spawn("ingest")]);
    const ca = readCa(dataDir);
    const t0 = Date.now();
    clients.push(
      ...(await Promise.all(
        devices.map((device, i) =>
          connectDevice({ port: (i % 2 === 0 ? gatewayA : gatewayB).mqttPort, ca, device }),
        ),
      )),
    );
    assert.equal(await publishAll(FIRST / DEVICES), FIRST);
    const acked = Date.now();
    await untilStored(FIRST / DEVICES, 20_000);
    t.diagnostic(
      `${FIRST} PUBACKs from 2 gateways in ${acked - t0} ms; all stored once ${Date.now() - acked} ms later`,
    );

    // The ingest worker dies; the gateways keep acknowledging, the bus holds the packets.
    ingest.child.kill("SIGKILL");
    const { signal } = await ingest.exited;
    assert.equal(signal, "SIGKILL");
    assert.equal(await publishAll(SECOND / DEVICES), SECOND);
    assert.deepEqual(
      await storedCounts(),
      devices.map(() => FIRST / DEVICES),
      "nothing stored without a worker",
    );
    const restarted = Date.now();
    await spawn("ingest");
    await untilStored((FIRST + SECOND) / DEVICES, 20_000);
    t.diagnostic(
      `after the kill: ${SECOND} PUBACKs with no worker; all stored once ${Date.now() - restarted} ms after the restart`,
    );
    // Later redeliveries (ack_wait) must not add anything.
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(
      await storedCounts(),
      devices.map(() => (FIRST + SECOND) / DEVICES),
    );
    assert.deepEqual(await stores.telemetry.listQuarantine({ limit: 10 }), [], "nothing quarantined");
  });
};

const pgDown = await pgUnavailable();
if (pgDown) await describePostgres(NAME, () => {});
else await describeNats(NAME, body);
