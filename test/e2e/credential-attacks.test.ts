/**
 * Credential attacks against a running pumpwatch over real TLS (reliability.md §6 tests 10, 11, 12,
 * 15, 16): forged SAS tokens over MQTT CONNECT and the device HTTPS API, expiry against
 * `limits.sasSkewSec`, failed logins with a connected device's client id, revocation of live
 * connections through the API and the command line, and provisioning abuse (enumeration, flooding).
 * The verifier-level matrix with 10,000+ tokens is test/unit/sas-attacks.test.ts.
 */
import assert from "node:assert/strict";
import https from "node:https";
import { after, before, describe, it } from "node:test";
import { connect, type MqttClient } from "mqtt";
import { generate } from "mqtt-packet";
import { main as cli } from "../../src/cli.js";
import { generateKey } from "../../src/core/keys.js";
import { createLogger } from "../../src/core/log.js";
import { createSas } from "../../src/core/sas.js";
import { RawClient, within } from "../helpers/mqtt-raw.js";
import { pick, rng } from "../helpers/random.js";
import { type Dev, sasForgeries } from "../helpers/sas-forgery.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const API = "api-version=2021-04-12";
const FORGED_MQTT = 300;
const VALID_MQTT = 50;
const FORGED_HTTPS = 300;
const VALID_HTTPS = 50;

const nowSec = () => Math.floor(Date.now() / 1000);

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe("credential attacks over MQTT/TLS and HTTPS", () => {
  let s: TestServer;
  let hub: string;
  const logLines: string[] = [];
  const devices: Dev[] = [];
  const clients: MqttClient[] = [];
  let canary: MqttClient;
  let canaryId: string;
  let canaryDisconnects = 0;
  let seq = 0;

  async function newDevice(prefix = "cred"): Promise<Dev> {
    const d = { id: `${prefix}-${++seq}`, primaryKey: generateKey(), secondaryKey: generateKey() };
    await s.stores.registry.createDevice({
      id: d.id,
      primaryKey: d.primaryKey,
      secondaryKey: d.secondaryKey,
      enrollmentKind: "manual",
    });
    return d;
  }

  function connectBytes(clientId: string, password: string, deviceId = clientId): Buffer {
    return generate({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: false,
      keepalive: 60,
      clientId,
      username: `${hub}/${deviceId}/?${API}`,
      password: Buffer.from(password, "utf8"),
    });
  }

  /** CONNECT over a fresh TLS connection: the CONNACK return code, or "closed" without one. */
  async function connack(clientId: string, password: string): Promise<number | "closed"> {
    const r = await RawClient.open({ port: s.mqttPort, ca: s.ca });
    try {
      r.write(connectBytes(clientId, password));
      const p = await r.next(5000);
      assert.equal(p.cmd, "connack");
      return (p as { returnCode: number }).returnCode;
    } catch (err) {
      if (r.isClosed) return "closed";
      throw err;
    } finally {
      r.destroy();
    }
  }

  function mqttDevice(d: Dev, o: { localAddress?: string } = {}): Promise<MqttClient> {
    const c = connect(`mqtts://localhost:${s.mqttPort}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      ca: s.ca,
      clean: false,
      clientId: d.id,
      username: `${hub}/${d.id}/?${API}`,
      password: createSas({
        resourceUri: `${hub}/devices/${d.id}`,
        key: d.primaryKey,
        expiresAt: nowSec() + 3600,
      }),
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    } as Parameters<typeof connect>[1]);
    clients.push(c);
    return within(
      new Promise<MqttClient>((res, rej) => c.once("connect", () => res(c)).once("error", rej)),
      5000,
      `CONNACK for ${d.id}`,
    );
  }

  function httpsRequest(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string,
    localAddress?: string,
  ): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port: s.httpsPort,
          path,
          method,
          ca: s.ca,
          servername: "localhost",
          headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
          agent: false,
          ...(localAddress ? { localAddress } : {}),
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  async function canaryAcks(): Promise<void> {
    assert.equal(canaryDisconnects, 0, "the canary was disconnected");
    await within(
      canary.publishAsync(
        `devices/${canaryId}/messages/events/%24.mid=c-${++seq}`,
        JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 1 } }),
        { qos: 1 },
      ),
      3000,
      "canary PUBACK",
    );
  }

  before(async () => {
    s = await startTestServer(
      {},
      { log: createLogger({ level: "info", destination: { write: (l: string) => void logLines.push(l) } }) },
    );
    hub = `localhost:${s.mqttPort}`;
    for (let i = 0; i < 40; i++) devices.push(await newDevice());
    const c = await newDevice("canary");
    canaryId = c.id;
    canary = await mqttDevice(c);
    canary.on("close", () => canaryDisconnects++);
    await canaryAcks();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await s?.stop();
  });

  it(`MQTT CONNECT: ${FORGED_MQTT} forged tokens get CONNACK 5, ${VALID_MQTT} valid ones CONNACK 0`, async () => {
    const r = rng(11);
    const kit = sasForgeries({
      hub,
      idScope: s.idScope,
      nowSec: nowSec(),
      skewSec: 300,
      devices,
      groupKey: generateKey(64),
    });
    const names = Object.keys(kit.forgeries);
    const forged = Array.from({ length: FORGED_MQTT }, (_, i) => {
      const dev = pick(r, devices);
      return { dev, token: kit.forgeries[names[i % names.length]!]!(r, { kind: "hub", dev }) };
    });
    const t0 = Date.now();
    const codes = await pool(forged, 8, ({ dev, token }) => connack(dev.id, token));
    const acceptedForged = codes.filter((c) => c === 0).length;
    // Primary keys, then secondary keys once every device had its turn.
    const valid = await pool(
      Array.from({ length: VALID_MQTT }, (_, i) => i),
      8,
      (i) => {
        const dev = devices[i % devices.length]!;
        const key = i < devices.length ? dev.primaryKey : dev.secondaryKey;
        return connack(dev.id, kit.valid({ kind: "hub", dev }, { key }));
      },
    );
    const rejectedValid = valid.filter((c) => c !== 0).length;
    console.log(
      JSON.stringify({
        mqttForged: codes.length,
        mqttForgedAccepted: acceptedForged,
        refusedWith5: codes.filter((c) => c === 5).length,
        mqttValid: valid.length,
        mqttValidRejected: rejectedValid,
        ms: Date.now() - t0,
      }),
    );
    assert.equal(acceptedForged, 0);
    assert.equal(codes.filter((c) => c !== 5).length, 0, "every forged CONNECT is answered CONNACK 5");
    assert.equal(rejectedValid, 0);
    await canaryAcks();
  });

  it(`device HTTPS API: ${FORGED_HTTPS} forged tokens get 401, ${VALID_HTTPS} valid ones 204`, async () => {
    const r = rng(12);
    const httpsHub = `localhost:${s.httpsPort}`;
    const kit = sasForgeries({
      hub: httpsHub,
      idScope: s.idScope,
      nowSec: nowSec(),
      skewSec: 300,
      devices,
      groupKey: generateKey(64),
    });
    const names = Object.keys(kit.forgeries);
    const post = (dev: Dev, token: string, mid: string) =>
      httpsRequest(
        "POST",
        `/devices/${dev.id}/messages/events?${API}`,
        { authorization: token, "iothub-messageid": mid, "content-type": "application/json" },
        JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 0.5 } }),
      );
    const forged = Array.from({ length: FORGED_HTTPS }, (_, i) => {
      const dev = pick(r, devices);
      return { dev, token: kit.forgeries[names[i % names.length]!]!(r, { kind: "hub", dev }), i };
    });
    const answers = await pool(forged, 8, ({ dev, token, i }) => post(dev, token, `forged-${i}`));
    const leaked = answers.filter((a) => forged.some((f) => a.text.includes(f.dev.primaryKey)));
    const valid = await pool(
      Array.from({ length: VALID_HTTPS }, (_, i) => devices[i % devices.length]!),
      8,
      (dev) => post(dev, kit.valid({ kind: "hub", dev }), `valid-${++seq}`),
    );
    const statuses = (xs: { status: number }[]) => {
      const m: Record<number, number> = {};
      for (const x of xs) m[x.status] = (m[x.status] ?? 0) + 1;
      return m;
    };
    console.log(JSON.stringify({ httpsForged: statuses(answers), httpsValid: statuses(valid) }));
    assert.deepEqual(statuses(answers), { 401: FORGED_HTTPS });
    assert.deepEqual(statuses(valid), { 204: VALID_HTTPS });
    assert.equal(leaked.length, 0);
    await canaryAcks();
  });

  it("tokens expire after limits.sasSkewSec (300 s) on the wire, not before", async () => {
    const d = devices[0]!;
    const token = (se: number) =>
      createSas({ resourceUri: `${hub}/devices/${d.id}`, key: d.primaryKey, expiresAt: se });
    assert.equal(await connack(d.id, token(nowSec() - 300 + 5)), 0);
    assert.equal(await connack(d.id, token(nowSec() - 300 - 5)), 5);
    assert.equal(await connack(d.id, token(nowSec() - 3600)), 5);
  });

  it("a connection whose token expires is closed at expiry + skew (token renewal)", async () => {
    // se in the past but within the skew: accepted, and closed when se + skew is reached.
    const d = devices[1]!;
    const se = nowSec() - 300 + 2;
    const r = await RawClient.open({ port: s.mqttPort, ca: s.ca });
    r.write(
      connectBytes(
        d.id,
        createSas({ resourceUri: `${hub}/devices/${d.id}`, key: d.primaryKey, expiresAt: se }),
      ),
    );
    assert.equal(((await r.next()) as { returnCode: number }).returnCode, 0);
    await r.expectClosed(5000, "the expired token's connection");
    const late = Date.now() - (se + 300) * 1000;
    console.log(JSON.stringify({ closedAfterExpiryMs: late }));
    assert.ok(late >= -1000 && late < 1500, `closed ${late} ms after expiry + skew`);
  });

  it("100 failed CONNECTs with a connected device's client id never disconnect it", async () => {
    const r = rng(13);
    const kit = sasForgeries({
      hub,
      idScope: s.idScope,
      nowSec: nowSec(),
      skewSec: 300,
      devices,
      groupKey: generateKey(64),
    });
    const names = Object.keys(kit.forgeries);
    const canaryDev: Dev = { id: canaryId, primaryKey: generateKey(), secondaryKey: generateKey() };
    const codes = await pool(
      Array.from({ length: 100 }, (_, i) => i),
      8,
      (i) => connack(canaryId, kit.forgeries[names[i % names.length]!]!(r, { kind: "hub", dev: canaryDev })),
    );
    console.log(
      JSON.stringify({
        knockOffAttempts: codes.length,
        accepted: codes.filter((c) => c === 0).length,
        canaryDisconnects,
      }),
    );
    assert.equal(codes.filter((c) => c === 0).length, 0);
    await canaryAcks();
  });

  describe("revocation reaches live connections within 1 s", () => {
    const figures: Record<string, number> = {};

    async function liveThen(action: (d: Dev) => Promise<unknown>, what: string): Promise<void> {
      const d = await newDevice("revoke");
      const c = await mqttDevice(d);
      const closed = new Promise<number>((res) => c.once("close", () => res(Date.now())));
      const t0 = Date.now();
      await action(d);
      const ms = (await within(closed, 5000, `${what}: the connection to close`)) - t0;
      figures[what] = ms;
      assert.ok(ms <= 1000, `${what}: closed after ${ms} ms`);
      // And the old token does not get back in.
      const code = await connack(
        d.id,
        createSas({ resourceUri: `${hub}/devices/${d.id}`, key: d.primaryKey, expiresAt: nowSec() + 600 }),
      );
      assert.equal(code, 5, `${what}: the old credentials were accepted again`);
    }

    after(() => console.log(JSON.stringify({ revocationMs: figures })));

    it("API: disable", () =>
      liveThen(
        async (d) =>
          assert.equal((await s.api(`/api/devices/${d.id}/disable`, { method: "POST" })).status, 200),
        "api disable",
      ));

    it("API: rotate both keys", () =>
      liveThen(
        async (d) =>
          assert.equal(
            (await s.api(`/api/devices/${d.id}/rotate-key`, { method: "POST", body: { which: "both" } }))
              .status,
            200,
          ),
        "api rotate-key",
      ));

    // The command line changes the database from outside the server: the server notices through
    // its registry poll. Timed from the start of the command (an upper bound of commit → close).
    for (const sub of ["disable", "rotate-key"] as const) {
      it(`command line: device ${sub}`, () =>
        liveThen(async (d) => {
          const write = process.stdout.write;
          process.stdout.write = () => true;
          try {
            assert.equal(await cli(["device", sub, d.id, "--data", s.dataDir]), 0);
          } finally {
            process.stdout.write = write;
          }
        }, `cli ${sub}`));
    }
  });

  describe("provisioning abuse is limited and logged", () => {
    const register = (regId: string, token: string, localAddress?: string) =>
      httpsRequest(
        "PUT",
        `/${s.idScope}/registrations/${regId}/register?api-version=2021-06-01`,
        { authorization: token, "content-type": "application/json" },
        JSON.stringify({ registrationId: regId }),
        localAddress,
      );
    const dpsToken = (regId: string, key: string) =>
      createSas({
        resourceUri: `${s.idScope}/registrations/${regId}`,
        key,
        expiresAt: nowSec() + 3600,
        keyName: "registration",
        encodeResource: false,
      });

    it("enumerating unknown registration ids: 401 up to the budget, then 429 for that source only", async () => {
      const statuses: number[] = [];
      const t0 = Date.now();
      for (let i = 0; i < 80; i++) {
        const regId = `guess-${i}`;
        statuses.push((await register(regId, dpsToken(regId, generateKey()), "127.0.0.1")).status);
      }
      const count = (n: number) => statuses.filter((x) => x === n).length;
      // A legitimate device from another address still provisions.
      const e = await s.admin.enrollDevice("legit-from-elsewhere");
      const ok = await register(e.registrationId, dpsToken(e.registrationId, e.key), "127.0.0.2");
      console.log(
        JSON.stringify({ enumeration: { 401: count(401), 429: count(429) }, otherSource: ok.status }),
      );
      // The budget (limits.dpsFailuresPerMinPerIp = 60) refills at one a second while the loop runs.
      const refilled = Math.ceil((Date.now() - t0) / 1000);
      assert.ok(count(401) >= 60 && count(401) <= 60 + refilled, `${count(401)} answered 401`);
      assert.equal(count(401) + count(429), 80);
      assert.equal(ok.status, 202);
    });

    it("flooding one registration id gets 429 with retry-after once its budget is spent", async () => {
      const e = await s.admin.enrollDevice("flooder");
      const answers = [];
      for (let i = 0; i < 25; i++)
        answers.push(await register(e.registrationId, dpsToken(e.registrationId, e.key), "127.0.0.3"));
      const limited = answers.filter((a) => a.status === 429);
      console.log(
        JSON.stringify({
          flood: { 202: answers.filter((a) => a.status === 202).length, 429: limited.length },
        }),
      );
      assert.equal(answers.filter((a) => a.status === 202).length, 20);
      assert.equal(limited.length, 5);
      assert.ok(Number(limited[0]!.headers["retry-after"]) >= 1);
    });

    it("each abuse is logged once, with ids and addresses but no token or key", async () => {
      const lines = logLines.filter((l) => l.includes("provisioning requests refused"));
      assert.equal(lines.length, 2, lines.join("\n"));
      for (const l of lines) assert.doesNotMatch(l, /sig=|SharedAccessSignature/);
      assert.ok(lines.some((l) => JSON.parse(l).reason === "source_failures"));
      assert.ok(lines.some((l) => JSON.parse(l).registrationId === "flooder"));
    });
  });
});
