/**
 * Crash safety (reliability.md test 23, short CI form): pumpwatch commits a telemetry packet before
 * it writes the PUBACK, so a SIGKILL at any moment loses no acknowledged message; and message ids
 * de-duplicate, so what a device sends again after the crash is stored once.
 *
 * The server runs as a child process; 50 devices keep QoS 1 publishes in flight and record every
 * message id that got a PUBACK. The server is SIGKILLed under load, the store is read with the
 * server down and every message classified as Jepsen does (ok / lost / unknown / never), and the
 * server restarts on the same data folder, where each device first re-sends what was not
 * acknowledged, with the same message ids. After the last kill the devices also re-send their last
 * acknowledged message (as if its PUBACK had been lost), and the final store must hold every sent
 * message exactly once.
 *
 * Several kills, because one kill may land where nothing is at risk (and a kill that resets
 * connections with unread data also drops PUBACKs the devices had not read yet). Checked against a
 * gateway changed to acknowledge before committing: one kill per run showed the loss in 3 of 5 runs,
 * five kills per run in 6 of 6.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import type { MqttClient } from "mqtt";
import { loadConfig } from "../../src/core/config.js";
import { openStores } from "../../src/main.js";
import {
  type ChildServer,
  connectDevice,
  readCa,
  type SeededDevice,
  seedDevices,
  spawnPumpwatch,
  telemetryTopic,
} from "../helpers/child.js";

const DEVICES = 50;
/** QoS 1 publishes each device keeps in flight. */
const WINDOW = 10;
/** Server kills under load; each round ends KILL_DELAY_MS after KILL_AT_ACKS PUBACKs, or at KILL_AFTER_MS. */
const KILLS = 5;
const KILL_AT_ACKS = 2000;
const KILL_AFTER_MS = 3000;
/** A random delay, so the kill is not tied to the moment the load generator reads a PUBACK. */
const KILL_DELAY_MS = 30;
/** Bound on everything that waits for the network or a process. */
const WAIT_MS = 10_000;

interface Message {
  mid: string;
  ts: number;
  body: string;
}

/** One simulated device: what it sent and which of it was acknowledged. */
class DeviceLog {
  readonly device: SeededDevice;
  readonly sent: Message[] = [];
  readonly acked = new Set<string>();
  #seq = 0;
  readonly #baseTs: number;

  constructor(device: SeededDevice, baseTs: number) {
    this.device = device;
    this.#baseTs = baseTs;
  }

  /** A new message; its distinct, past timestamp identifies it in the store. */
  fresh(): Message {
    const seq = this.#seq++;
    const ts = this.#baseTs + seq * 10;
    const oilTemperature = 60 + (seq % 200) / 10;
    const msg = {
      mid: `${this.device.id}:${seq}`,
      ts,
      body: JSON.stringify({ ts: new Date(ts).toISOString(), values: { oilTemperature } }),
    };
    this.sent.push(msg);
    return msg;
  }

  unacked(): Message[] {
    return this.sent.filter((m) => !this.acked.has(m.mid));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Sample timestamps per device, read straight from the store while no server runs. */
async function readStored(dataDir: string, logs: DeviceLog[]): Promise<Map<string, number[]>> {
  const stores = openStores(loadConfig({ flags: { data: dataDir } }));
  try {
    const out = new Map<string, number[]>();
    for (const { device } of logs) {
      const samples = await stores.telemetry.querySamples(device.id, 0, Date.now() + 86_400_000, 1_000_000);
      out.set(
        device.id,
        samples.map((s) => s.ts),
      );
    }
    assert.deepEqual(await stores.telemetry.listQuarantine({ limit: 10 }), [], "nothing may be quarantined");
    return out;
  } finally {
    await stores.close();
  }
}

function integrityCheck(dataDir: string): string {
  const db = new Database(join(dataDir, "pumpwatch.db"), { readonly: true });
  try {
    return db.pragma("integrity_check", { simple: true }) as string;
  } finally {
    db.close();
  }
}

/** Jepsen's classes for the messages sent so far, against the store; duplicate samples counted too. */
function classify(logs: DeviceLog[], stored: Map<string, number[]>) {
  const c = { sent: 0, acked: 0, lost: 0, unknown: 0, duplicates: 0 };
  for (const log of logs) {
    const ts = stored.get(log.device.id)!;
    const set = new Set(ts);
    c.duplicates += ts.length - set.size;
    for (const m of log.sent) {
      c.sent++;
      if (log.acked.has(m.mid)) {
        c.acked++;
        if (!set.has(m.ts)) c.lost++;
      } else if (set.has(m.ts)) c.unknown++;
    }
  }
  return c;
}

function connectAll(server: ChildServer, ca: string, logs: DeviceLog[]): Promise<MqttClient[]> {
  return withTimeout(
    Promise.all(logs.map(({ device }) => connectDevice({ port: server.mqttPort, ca, device }))),
    WAIT_MS,
    `connecting ${logs.length} devices`,
  );
}

/**
 * Each device re-sends its unacknowledged messages, then sends fresh ones, with WINDOW in flight,
 * until the server is SIGKILLed; resolves when every connection noticed. Returns the PUBACK count.
 */
async function loadUntilKilled(server: ChildServer, clients: MqttClient[], logs: DeviceLog[]) {
  let acks = 0;
  let killTimer: NodeJS.Timeout | undefined;
  let killing = false;
  const kill = (delayMs: number) => {
    if (killing) return;
    killing = true;
    clearTimeout(killTimer);
    killTimer = setTimeout(() => server.child.kill("SIGKILL"), delayMs);
  };
  const closed = clients.map(
    (client, i) =>
      new Promise<void>((resolve) => {
        const log = logs[i]!;
        const queue = log.unacked();
        let open = true;
        client.once("close", () => {
          open = false;
          resolve();
        });
        const sendNext = () => {
          if (!open) return;
          const m = queue.shift() ?? log.fresh();
          client.publish(telemetryTopic(log.device.id, m.mid), m.body, { qos: 1 }, (err) => {
            if (err) return;
            // A PUBACK read after the kill signal was still written before the process died.
            log.acked.add(m.mid);
            if (++acks >= KILL_AT_ACKS) kill(Math.random() * KILL_DELAY_MS);
            sendNext();
          });
        };
        for (let w = 0; w < WINDOW; w++) sendNext();
      }),
  );
  killTimer = setTimeout(() => kill(0), KILL_AFTER_MS);
  const { signal } = await withTimeout(server.exited, WAIT_MS, "killed server exiting");
  clearTimeout(killTimer);
  assert.equal(signal, "SIGKILL", `server died by itself:\n${server.output()}`);
  await withTimeout(Promise.all(closed), WAIT_MS, "devices noticing the crash");
  return acks;
}

test("no acknowledged message is lost to a SIGKILL, and messages sent again after it are stored once", {
  timeout: 60_000,
}, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), "pumpwatch-crash-"));
  const servers: ChildServer[] = [];
  const clients: MqttClient[] = [];
  const endClients = () => {
    for (const c of clients.splice(0)) c.end(true);
  };
  try {
    const devices = await seedDevices(dataDir, DEVICES);
    const baseTs = Date.now() - 3_600_000;
    const logs = devices.map((d) => new DeviceLog(d, baseTs));

    for (let round = 1; round <= KILLS; round++) {
      const server = await spawnPumpwatch(dataDir);
      servers.push(server);
      const ca = readCa(dataDir);
      const started = Date.now();
      clients.push(...(await connectAll(server, ca, logs)));
      const acks = await loadUntilKilled(server, clients, logs);
      const seconds = (Date.now() - started) / 1000;
      endClients();

      assert.equal(integrityCheck(dataDir), "ok");
      const c = classify(logs, await readStored(dataDir, logs));
      t.diagnostic(
        `kill ${round}: ${acks} PUBACKs in ${seconds.toFixed(1)} s; so far sent ${c.sent}, acked ${c.acked}, ` +
          `not acked ${c.sent - c.acked}; lost ${c.lost}, unknown (stored, not acked) ${c.unknown}, ` +
          `duplicates ${c.duplicates}`,
      );
      assert.ok(acks >= 100, `round ${round}: too few PUBACKs before the kill (${acks})`);
      assert.equal(c.lost, 0, `round ${round}: acknowledged messages missing after the crash`);
      assert.equal(c.duplicates, 0, `round ${round}: duplicate samples after the crash`);
    }

    // Restart; every device re-sends what is unacknowledged, and its last acknowledged message.
    const server = await spawnPumpwatch(dataDir);
    servers.push(server);
    const ready = Date.now();
    clients.push(...(await connectAll(server, readCa(dataDir), logs)));
    let resent = 0;
    let firstAckMs = -1;
    const again = logs.map((log) => {
      const list = log.unacked();
      const lastAcked = log.sent.findLast((m) => log.acked.has(m.mid));
      if (lastAcked) list.push(lastAcked);
      resent += list.length;
      return list;
    });
    await withTimeout(
      Promise.all(
        clients.flatMap((client, i) =>
          again[i]!.map(
            (m) =>
              new Promise<void>((resolve, reject) => {
                client.publish(telemetryTopic(logs[i]!.device.id, m.mid), m.body, { qos: 1 }, (err) => {
                  if (err) return reject(err);
                  if (firstAckMs < 0) firstAckMs = Date.now() - ready;
                  logs[i]!.acked.add(m.mid);
                  resolve();
                });
              }),
          ),
        ),
      ),
      WAIT_MS,
      "re-sent messages acknowledged",
    );
    endClients();
    await server.stop("SIGTERM");
    const { code } = await server.exited;
    assert.equal(code, 0, `server did not stop cleanly:\n${server.output()}`);

    // Every message sent is now stored, exactly once.
    assert.equal(integrityCheck(dataDir), "ok");
    const final = await readStored(dataDir, logs);
    const c = classify(logs, final);
    t.diagnostic(
      `after restart: re-sent ${resent} (first PUBACK ${firstAckMs} ms after ready); ` +
        `sent ${c.sent}, acked ${c.acked}, lost ${c.lost}, duplicates ${c.duplicates}`,
    );
    assert.equal(c.acked, c.sent);
    for (const log of logs) {
      assert.deepEqual(
        final.get(log.device.id)!.sort((a, b) => a - b),
        log.sent.map((m) => m.ts).sort((a, b) => a - b),
        `stored samples of ${log.device.id} differ from what it sent`,
      );
    }
  } finally {
    endClients();
    for (const s of servers) await s.stop("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
});
