import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/core/config.js";
import { createLogger } from "../../src/core/log.js";

describe("configuration", () => {
  it("has embedded defaults for a first start", () => {
    const c = loadConfig({});
    assert.equal(c.data, "./data");
    assert.equal(c.mqttPort, 8883);
    assert.equal(c.httpsPort, 8443);
    assert.equal(c.limits.maxPacketBytes, 256 * 1024);
    assert.ok(c.limits.connectTimeoutMs <= 10_000);
  });

  it("layers file, then environment, then flags", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pumpwatch-config-"));
    try {
      const file = join(dir, "pumpwatch.json");
      await writeFile(
        file,
        JSON.stringify({ host: "file.example", mqttPort: 1, httpsPort: 2, limits: { dedupDays: 9 } }),
      );
      const c = loadConfig({
        file,
        env: { PUMPWATCH_MQTT_PORT: "3", PUMPWATCH_HTTPS_PORT: "4" },
        flags: { httpsPort: 5 },
      });
      assert.equal(c.host, "file.example");
      assert.equal(c.mqttPort, 3);
      assert.equal(c.httpsPort, 5);
      assert.equal(c.limits.dedupDays, 9);
      assert.equal(c.limits.maxPacketBytes, 256 * 1024);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("is frozen", () => {
    const c = loadConfig({});
    assert.throws(() => {
      (c as { host: string }).host = "x";
    });
    assert.ok(Object.isFrozen(c.limits));
  });

  it("says which key is wrong and why", () => {
    assert.throws(
      () => loadConfig({ flags: { mqttPort: 70000 } }),
      (e: unknown) => e instanceof ConfigError && /mqttPort/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ flags: { limits: { connectTimeoutMs: 60_000 } } }),
      (e: unknown) => e instanceof ConfigError && /limits\.connectTimeoutMs/.test(e.message),
    );
    assert.throws(() => loadConfig({ flags: { nonsense: 1 } as never }), ConfigError);
  });
});

describe("logging", () => {
  it("never writes keys, tokens or personal data", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ level: "info", destination: sink });
    log.info(
      {
        device: { primaryKey: "PRIMARY-SECRET", secondaryKey: "SECONDARY-SECRET" },
        password: "SharedAccessSignature sr=x&sig=SIG-SECRET",
        user: { email: "anna@example.com", phone: "+49 30 1234", address: "Hauptstr. 1" },
        company: { postalAddress: "Werkstraße 7, 20457 Hamburg" },
        stored: { passwordHash: "scrypt$32768$8$1$SALT$HASH-SECRET" },
        req: { headers: { authorization: "Bearer TOKEN-SECRET" } },
        groupKey: "GROUP-SECRET",
      },
      "event",
    );
    const text = lines.join("");
    for (const secret of [
      "PRIMARY-SECRET",
      "SECONDARY-SECRET",
      "SIG-SECRET",
      "anna@example.com",
      "+49 30 1234",
      "Hauptstr",
      "Werkstraße",
      "HASH-SECRET",
      "TOKEN-SECRET",
      "GROUP-SECRET",
    ]) {
      assert.equal(text.includes(secret), false, `${secret} leaked into the log`);
    }
    assert.match(text, /\[redacted\]/);
  });
});

describe("scale-out configuration", () => {
  it("defaults to the embedded one-process setup", () => {
    const c = loadConfig({});
    assert.equal(c.role, "all");
    assert.deepEqual(c.bus, []);
    assert.equal(c.busReplicas, 1);
  });

  it("reads role and bus from the environment and needs PostgreSQL with a bus", () => {
    const env = { PUMPWATCH_ROLE: "gateway", PUMPWATCH_BUS: "nats://a:4222, nats://b:4222" };
    const c = loadConfig({ env: { ...env, PUMPWATCH_DB: "postgres://u@h/db" } });
    assert.equal(c.role, "gateway");
    assert.deepEqual(c.bus, ["nats://a:4222", "nats://b:4222"]);
    assert.throws(
      () => loadConfig({ env }),
      (e) => e instanceof ConfigError && /postgres/.test(e.message),
    );
    assert.throws(() => loadConfig({ flags: { role: "ingest" } }), ConfigError);
    const analytics = loadConfig({
      flags: { role: "analytics", bus: ["nats://a:4222"], db: "postgres://u@h/db" },
      env: { PUMPWATCH_BUS_PARTITIONS: "32", PUMPWATCH_ASSIGNED_HUB: "iot.example.com" },
    });
    assert.equal(analytics.busPartitions, 32);
    assert.equal(analytics.busLeaseMs, 10_000);
    assert.equal(analytics.assignedHub, "iot.example.com");
    assert.throws(() => loadConfig({ flags: { role: "analytics" } }), /needs a bus/);
  });
});
