/**
 * No secret or personal data in logs or error messages (reliability.md §6 test 22, class C12): a
 * realistic scenario — provisioning with SAS over MQTT and HTTPS, hub connects with good, forged and
 * expired tokens, HTTPS telemetry, provisioning abuse, key rotation, invitations with e-mail and phone,
 * logins with right and wrong passwords, API tokens — runs against a server logging everything at
 * `trace`; every log line and every error answer is then scanned for each secret and personal value.
 */
import assert from "node:assert/strict";
import https from "node:https";
import { after, before, describe, it } from "node:test";
import { deriveDeviceKey, generateKey } from "../../src/core/keys.js";
import { createLogger } from "../../src/core/log.js";
import { createSas } from "../../src/core/sas.js";
import { mqttClient, provision } from "../helpers/azure.js";
import { ApiClient } from "../helpers/client.js";
import { RawClient } from "../helpers/mqtt-raw.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const API = "api-version=2021-04-12";
const nowSec = () => Math.floor(Date.now() / 1000);

describe("logs and error answers carry no secrets or personal data", () => {
  let s: TestServer;
  const logs: string[] = [];
  /** Error answers (status ≥ 400) the scenario received, bodies as text. */
  const answers: string[] = [];
  /** Secret or personal values that must appear nowhere: name → value. */
  const secrets = new Map<string, string>();

  function secret(name: string, value: string | undefined): void {
    assert.ok(value && value.length >= 6, `secret ${name} is empty`);
    secrets.set(name, value);
  }

  /** A SAS token's signature, raw as sent and URL-decoded. */
  function sasSecrets(name: string, token: string): void {
    const sig = /sig=([^&]+)/.exec(token)![1]!;
    secret(`${name} sig`, sig);
    secret(`${name} sig decoded`, decodeURIComponent(sig));
  }

  function post(path: string, headers: Record<string, string>, body: string, method = "POST") {
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port: s.httpsPort,
          path,
          method,
          ca: s.ca,
          servername: "localhost",
          headers,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => {
            if ((res.statusCode ?? 0) >= 400) answers.push(text);
            resolve({ status: res.statusCode ?? 0, text });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  async function connack(clientId: string, username: string, password: string): Promise<number> {
    const { generate } = await import("mqtt-packet");
    const r = await RawClient.open({ port: s.mqttPort, ca: s.ca });
    try {
      r.write(
        generate({
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: 4,
          clean: true,
          keepalive: 60,
          clientId,
          username,
          password: Buffer.from(password),
        }),
      );
      return ((await r.next(5000)) as { returnCode: number }).returnCode;
    } finally {
      r.destroy();
    }
  }

  before(async () => {
    s = await startTestServer(
      { logLevel: "trace", limits: { dpsFailuresPerMinPerIp: 5 } },
      { log: createLogger({ level: "trace", destination: { write: (l: string) => void logs.push(l) } }) },
    );
    secret("operator token", s.operatorToken);
  });

  after(async () => {
    await s?.stop();
  });

  it("runs the scenario", async () => {
    const hub = `localhost:${s.mqttPort}`;
    const op = new ApiClient(s, { bearer: s.operatorToken });

    // Enrollments through the API: a group and an individual enrollment.
    const group = await op.call("POST", "/api/enrollments/groups", { name: "secret-scan" });
    assert.equal(group.status, 201);
    secret("group key", group.body.groupKey);
    const indiv = await op.call("POST", "/api/enrollments/devices", { registrationId: "scan-indiv" });
    assert.equal(indiv.status, 201);
    secret("individual enrollment key", indiv.body.key);

    // Provisioning with the Azure SDK over MQTT and HTTPS.
    const regA = "scan-a";
    const keyA = deriveDeviceKey(group.body.groupKey, regA);
    secret("derived key", keyA);
    const a = await provision({
      transport: "mqtt",
      host: "localhost",
      port: s.mqttPort,
      idScope: s.idScope,
      registrationId: regA,
      key: keyA,
      ca: s.ca,
    });
    assert.equal(a.deviceId, regA);
    await provision({
      transport: "http",
      host: "localhost",
      port: s.httpsPort,
      idScope: s.idScope,
      registrationId: "scan-indiv",
      key: indiv.body.key,
      ca: s.ca,
    });

    // Provisioning with forged tokens, until the source is rate-limited (and logged).
    const dpsStatuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const forgedKey = generateKey();
      secret(`forged dps key ${i}`, forgedKey);
      const token = createSas({
        resourceUri: `${s.idScope}/registrations/guess-${i}`,
        key: forgedKey,
        expiresAt: nowSec() + 60,
        keyName: "registration",
        encodeResource: false,
      });
      sasSecrets(`forged dps token ${i}`, token);
      dpsStatuses.push(
        (
          await post(
            `/${s.idScope}/registrations/guess-${i}/register?api-version=2021-06-01`,
            { authorization: token, "content-type": "application/json" },
            JSON.stringify({ registrationId: `guess-${i}` }),
            "PUT",
          )
        ).status,
      );
    }
    assert.deepEqual(dpsStatuses, [401, 401, 401, 401, 401, 429, 429, 429], answers.slice(-1)[0]);

    // Hub: a good connection sending telemetry, then forged and expired tokens.
    const dev = mqttClient(a.assignedHub, regA, keyA);
    await dev.setOptions({ ca: s.ca });
    await dev.open();
    await dev.sendEvent(
      new (await import("../helpers/azure.js")).Message(
        JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 0.7 } }),
      ),
    );
    await dev.close();
    const user = `${hub}/${regA}/?${API}`;
    const good = createSas({ resourceUri: `${hub}/devices/${regA}`, key: keyA, expiresAt: nowSec() + 600 });
    sasSecrets("good hub token", good);
    assert.equal(await connack(regA, user, good), 0);
    const wrongKey = generateKey();
    secret("wrong hub key", wrongKey);
    const forged = createSas({
      resourceUri: `${hub}/devices/${regA}`,
      key: wrongKey,
      expiresAt: nowSec() + 600,
    });
    sasSecrets("forged hub token", forged);
    assert.equal(await connack(regA, user, forged), 5);
    const expired = createSas({
      resourceUri: `${hub}/devices/${regA}`,
      key: keyA,
      expiresAt: nowSec() - 3600,
    });
    sasSecrets("expired hub token", expired);
    assert.equal(await connack(regA, user, expired), 5);
    assert.equal(await connack(regA, user, `not a token ${wrongKey}`), 5);

    // HTTPS telemetry with good and forged tokens.
    const httpsHub = `localhost:${s.httpsPort}`;
    const hgood = createSas({
      resourceUri: `${httpsHub}/devices/${regA}`,
      key: keyA,
      expiresAt: nowSec() + 600,
    });
    sasSecrets("good https token", hgood);
    const body = JSON.stringify({ ts: new Date().toISOString(), values: { inletPressure: 0.6 } });
    const path = `/devices/${regA}/messages/events?${API}`;
    assert.equal((await post(path, { authorization: hgood, "iothub-messageid": "h1" }, body)).status, 204);
    const hforged = createSas({
      resourceUri: `${httpsHub}/devices/${regA}`,
      key: wrongKey,
      expiresAt: nowSec() + 600,
    });
    sasSecrets("forged https token", hforged);
    assert.equal((await post(path, { authorization: hforged, "iothub-messageid": "h2" }, body)).status, 401);

    // Key rotation: the new keys are secrets too.
    const rotated = await op.call("POST", `/api/devices/${regA}/rotate-key`, { which: "both" });
    assert.equal(rotated.status, 200);
    secret("rotated primary", rotated.body.primaryKey);
    secret("rotated secondary", rotated.body.secondaryKey);

    // People: a company, an invitation with e-mail and phone, accepting it, logins.
    const email = "erika.mustermann@scan.example.test";
    const phone = "+49 170 5550123";
    const address = "Geheimweg 7, 12345 Verborgen";
    secret("e-mail", email);
    secret("phone", phone);
    secret("postal address", address);
    assert.equal(
      (await op.call("POST", "/api/companies", { id: "scanco", name: "Scan GmbH", postalAddress: address }))
        .status,
      201,
    );
    const inv = await op.call("POST", "/api/users", {
      email,
      phone,
      role: "companyAdmin",
      companyId: "scanco",
    });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    const invitation = /token=([^&\s]+)/.exec(String(inv.body.invitation.link))![1]!;
    secret("invitation token", invitation);
    const password = "Correct-Horse-Battery-9431";
    secret("password", password);
    const person = new ApiClient(s);
    const accepted = await person.call("POST", "/api/auth/invitation", { token: invitation, password });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    person.adopt(accepted);
    const wrongPassword = "Wrong-Password-Guess-7781";
    secret("wrong password", wrongPassword);
    const other = new ApiClient(s);
    for (let i = 0; i < 6; i++) {
      const r = await other.login(email, wrongPassword);
      if (r.status >= 400) answers.push(r.raw.toString("utf8"));
    }
    const unknown = await other.login("nobody-here@scan.example.test", wrongPassword);
    answers.push(unknown.raw.toString("utf8"));
    secret("unknown e-mail", "nobody-here@scan.example.test");
    // A fresh client logs in (the lockout is per account: use the accepted session for the rest).
    secret("session cookie", person.cookieHeader().split("=")[1]);
    secret("csrf token", person.csrf);
    const token = await person.call("POST", "/api/me/tokens", { name: "scan", scopes: ["devices:read"] });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    secret("api token", token.body.token);
    const list = await new ApiClient(s, { bearer: token.body.token }).call("GET", "/api/devices");
    assert.equal(list.status, 200, list.raw.toString("utf8"));
    // A bearer token that is wrong in one character.
    const badBearer = `${token.body.token.slice(0, -1)}${token.body.token.endsWith("A") ? "B" : "A"}`;
    const bad = await new ApiClient(s, { bearer: badBearer }).call("GET", "/api/me");
    assert.equal(bad.status, 401);
    answers.push(bad.raw.toString("utf8"));
    const forgotten = await person.call("POST", "/api/auth/logout");
    assert.ok(forgotten.status < 300);

    // Disable the device while nothing is connected, then try once more (a refusal is logged).
    assert.equal((await op.call("POST", `/api/devices/${regA}/disable`)).status, 200);
    const stale = createSas({
      resourceUri: `${hub}/devices/${regA}`,
      key: rotated.body.primaryKey,
      expiresAt: nowSec() + 600,
    });
    sasSecrets("disabled device token", stale);
    assert.equal(await connack(regA, user, stale), 5);
  });

  it("found none of them in any log line or error answer", () => {
    // The scenario did produce logs to scan: refusals, rate limits, the gateway and the API.
    const text = logs.join("");
    assert.match(text, /connection refused/);
    assert.match(text, /provisioning requests refused/);
    const hits: string[] = [];
    for (const [name, value] of secrets) {
      for (const [where, items] of [
        ["log", logs],
        ["answer", answers],
      ] as const) {
        const n = items.filter((l) => l.includes(value)).length;
        if (n > 0)
          hits.push(`${name} in ${n} ${where}(s): ${items.find((l) => l.includes(value))!.slice(0, 300)}`);
      }
    }
    console.log(
      JSON.stringify({
        logLines: logs.length,
        errorAnswers: answers.length,
        secretsChecked: secrets.size,
        hits: hits.length,
      }),
    );
    assert.deepEqual(hits, []);
  });
});
