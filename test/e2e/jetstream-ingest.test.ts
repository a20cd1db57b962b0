/**
 * The ingest commit point on NATS JetStream (issue 8, item 2), against the real local NATS server and
 * PostgreSQL: gateways append units and are acknowledged by JetStream; ingest workers sharing one
 * durable consumer write them to PostgreSQL. Whatever is redelivered or re-sent — a gateway retry, a
 * worker dying with an unacked batch, a failed commit — every sample is stored exactly once.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, it } from "node:test";
import { connect, type NatsConnection } from "nats";
import { createSecretBox } from "../../src/core/secrets.js";
import { IngestWorker, type IngestWorkerOptions } from "../../src/scale/ingest-worker.js";
import { encodeUnit, JetStreamLog } from "../../src/scale/jetstream.js";
import type { CommitUnit, TelemetryStore } from "../../src/store/ports.js";
import { describeNats, NATS_URL } from "../helpers/nats.js";
import { describePostgres, freshPostgresStores, pgUnavailable } from "../helpers/postgres.js";

const GATEWAYS = 20;
const SAMPLES_PER_UNIT = 2;

/** `devices` × `perDevice` accepted units with distinct message ids and timestamps. */
function makeUnits(tag: string, devices: number, perDevice: number): CommitUnit[] {
  const base = Date.now() - 3600_000;
  const units: CommitUnit[] = [];
  for (let m = 0; m < perDevice; m++) {
    for (let d = 0; d < devices; d++) {
      const ts = base + m * 1000;
      units.push({
        kind: "accept",
        deviceId: `${tag}-pump-${d}`,
        messageId: `msg-${m}`,
        receivedAt: ts + 500,
        samples: Array.from({ length: SAMPLES_PER_UNIT }, (_, s) => ({
          ts: ts + s * 100,
          values: { inletPressureMbar: 1 + d, motorCurrentA: m + s / 10 },
        })),
      });
    }
  }
  return units;
}

/** Appends all units from GATEWAYS concurrent gateways, each with up to 25 publishes in flight. */
async function appendFromGateways(log: JetStreamLog, units: readonly CommitUnit[]): Promise<number> {
  let resolved = 0;
  await Promise.all(
    Array.from({ length: GATEWAYS }, async (_, g) => {
      const mine = units.filter((_, i) => i % GATEWAYS === g);
      for (let i = 0; i < mine.length; i += 25) {
        await Promise.all(mine.slice(i, i + 25).map((u) => log.append(u).then(() => resolved++)));
      }
    }),
  );
  return resolved;
}

/** A view of the store whose `commit` is replaced. */
function withCommit(store: TelemetryStore, commit: TelemetryStore["commit"]): TelemetryStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === "commit") return commit;
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

async function until(
  what: string,
  cond: () => boolean,
  timeoutMs = 15_000,
  detail = () => "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One stream, subject space, durable consumer and PostgreSQL schema of its own. */
async function rig(workerDefaults: Partial<IngestWorkerOptions> = {}) {
  const id = randomBytes(4).toString("hex");
  const stream = `PW_TEST_${id}`;
  const log = await JetStreamLog.open({ servers: [NATS_URL], stream, subjectPrefix: `pwtest.${id}.ingest` });
  const stores = await freshPostgresStores(createSecretBox(randomBytes(32)));
  const conns: NatsConnection[] = [];
  const workers: IngestWorker[] = [];
  return {
    id,
    log,
    store: stores.telemetry,
    async connection(): Promise<NatsConnection> {
      const nc = await connect({ servers: NATS_URL, name: `pwtest-worker-${id}` });
      conns.push(nc);
      return nc;
    },
    async worker(o: Partial<IngestWorkerOptions> = {}): Promise<IngestWorker> {
      const w = await IngestWorker.start({
        nc: o.nc ?? (await this.connection()),
        store: stores.telemetry,
        stream,
        consumer: `ingest-${id}`,
        ...workerDefaults,
        ...o,
      });
      workers.push(w);
      return w;
    },
    async streamMessages(): Promise<number> {
      return (await (await log.nc.jetstreamManager()).streams.info(stream)).state.messages;
    },
    async close(): Promise<void> {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(conns.map((c) => (c.isClosed() ? undefined : c.close())));
      await (await log.nc.jetstreamManager()).streams.delete(stream).catch(() => {});
      await log.close();
      await stores.close();
    },
  };
}

type Rig = Awaited<ReturnType<typeof rig>>;

async function assertExactlyOnce(store: TelemetryStore, units: readonly CommitUnit[]): Promise<void> {
  const expected = new Map<string, number>();
  for (const u of units) {
    if (u.kind === "accept") expected.set(u.deviceId, (expected.get(u.deviceId) ?? 0) + u.samples.length);
  }
  for (const [device, n] of expected) assert.equal(await store.countSamples(device), n, device);
}

const NAME = "ingest commit point on NATS JetStream";
const body = () => {
  let r: Rig;
  let a: IngestWorker;
  let b: IngestWorker;
  const units = makeUnits("a", 50, 100);
  const delivered = new Map<string, number>();

  before(async () => {
    // A short ack_wait: on a loaded machine a pull request can end client-side while units it was
    // sent are still unread; those are redelivered after ack_wait (and then de-duplicated).
    r = await rig({ ackWaitMs: 3000 });
    a = await r.worker();
    b = await r.worker();
    for (const w of [a, b]) {
      w.onCommitted((us) => {
        for (const u of us)
          delivered.set(
            `${u.deviceId}/${u.messageId}`,
            (delivered.get(`${u.deviceId}/${u.messageId}`) ?? 0) + 1,
          );
      });
    }
  });
  after(async () => {
    await r?.close();
  });

  it("stores each of 5,000 units from 20 concurrent gateways exactly once with two workers", async (t) => {
    const t0 = performance.now();
    const resolved = await appendFromGateways(r.log, units);
    const appendSeconds = (performance.now() - t0) / 1000;
    assert.equal(resolved, units.length);
    await until(
      "both workers stored all units",
      () => a.stats.stored + b.stats.stored === units.length,
      40_000,
      () => JSON.stringify([a.stats, b.stats]),
    );
    const storeSeconds = (performance.now() - t0) / 1000;
    t.diagnostic(
      `appended ${units.length} units in ${appendSeconds.toFixed(2)} s (${Math.round(units.length / appendSeconds)}/s); ` +
        `all stored after ${storeSeconds.toFixed(2)} s; worker a ${a.stats.stored} in ${a.stats.batches} batches, ` +
        `worker b ${b.stats.stored} in ${b.stats.batches} batches`,
    );
    assert.equal(await r.streamMessages(), units.length);
    await assertExactlyOnce(r.store, units);
    assert.equal(delivered.size, units.length);
    assert.ok(
      [...delivered.values()].every((n) => n === 1),
      "onCommitted reported a unit twice",
    );
    assert.equal(a.stats.duplicates + b.stats.duplicates, a.stats.redelivered + b.stats.redelivered);
  });

  it("keeps them exactly once when the gateways append them again and when they are re-sent beyond the window", async () => {
    // A gateway retrying after a lost PubAck: JetStream's duplicate window swallows the copies.
    assert.equal(await appendFromGateways(r.log, units), units.length);
    assert.equal(await r.streamMessages(), units.length);
    // The same units once more without a Nats-Msg-Id, as after the window: the store de-duplicates.
    const js = r.log.nc.jetstream();
    await Promise.all(units.map((u) => js.publish(r.log.subjectOf(u.deviceId), encodeUnit(u))));
    assert.equal(await r.streamMessages(), 2 * units.length);
    await until(
      "the re-sent units are processed",
      () => a.stats.messages + b.stats.messages >= 2 * units.length,
      20_000,
      () => JSON.stringify([a.stats, b.stats]),
    );
    assert.equal(a.stats.stored + b.stats.stored, units.length);
    await assertExactlyOnce(r.store, units);
    assert.equal(delivered.size, units.length);
    assert.ok(
      [...delivered.values()].every((n) => n === 1),
      "onCommitted reported a unit twice",
    );
  });

  it("redelivers a killed worker's unacked batch to another worker after ack_wait, losing nothing", async (t) => {
    const k = await rig({ ackWaitMs: 2000 });
    try {
      const us = makeUnits("c", 20, 100);
      const ncA = await k.connection();
      let killedBatch = 0;
      let killedAt = 0;
      const dying = withCommit(k.store, async (batch) => {
        // The process dies between fetch and commit: the connection goes, nothing is acked.
        killedBatch = batch.length;
        killedAt = performance.now();
        await ncA.close();
        throw new Error("killed");
      });
      const victim = await k.worker({ nc: ncA, store: dying });
      assert.equal(await appendFromGateways(k.log, us), us.length);
      await until("the victim fetched a batch", () => killedBatch > 0);
      await victim.stop();
      const survivor = await k.worker();
      await until("the survivor stored every unit", () => survivor.stats.stored === us.length);
      const redeliveredAfter = performance.now() - killedAt;
      assert.equal(victim.stats.stored, 0);
      assert.ok(survivor.stats.redelivered >= killedBatch, `${survivor.stats.redelivered} < ${killedBatch}`);
      t.diagnostic(
        `victim died holding ${killedBatch} units; survivor had all ${us.length} stored ` +
          `${Math.round(redeliveredAfter)} ms after the kill (ack_wait 2000 ms, counted from delivery)`,
      );
      await assertExactlyOnce(k.store, us);
    } finally {
      await k.close();
    }
  });

  it("redelivers a batch whose commit failed and stores it once", async () => {
    const f = await rig({ retryDelayMs: 200 });
    try {
      const us = makeUnits("d", 10, 100);
      let failures = 0;
      let failedBatch = 0;
      const flaky = withCommit(f.store, async (batch) => {
        if (failures++ === 0) {
          failedBatch = batch.length;
          throw new Error("disk full");
        }
        return f.store.commit(batch);
      });
      const errors: Error[] = [];
      const w = await f.worker({ store: flaky, onError: (e) => errors.push(e) });
      assert.equal(await appendFromGateways(f.log, us), us.length);
      await until("every unit is stored", () => w.stats.stored === us.length);
      assert.equal(w.stats.commitFailures, 1);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /disk full/);
      assert.ok(w.stats.redelivered >= failedBatch && failedBatch > 0);
      assert.equal(w.stats.duplicates, 0);
      await assertExactlyOnce(f.store, us);
    } finally {
      await f.close();
    }
  });
};

const pgDown = await pgUnavailable();
if (pgDown) await describePostgres(NAME, () => {});
else await describeNats(NAME, body);
