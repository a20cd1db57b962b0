/**
 * The whole pumpwatch on PostgreSQL (`--db postgres://…`): the official Azure IoT device SDK
 * provisions a device and sends telemetry over MQTT; each PUBACK means the packet is committed in
 * PostgreSQL, and the operator API answers history from there. The database URL selects a schema of
 * its own through libpq's `options` parameter, as an operator would.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Message, mqttClient, provision } from "../helpers/azure.js";
import { createSchema, describePostgres, dropSchema, PG_URL } from "../helpers/postgres.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const BOUNDED = { timeout: 60_000 };

await describePostgres("pumpwatch on PostgreSQL", () => {
  let server: TestServer;
  let schema: string;

  before(async () => {
    schema = await createSchema();
    const url = new URL(PG_URL);
    url.searchParams.set("options", `-c search_path=${schema}`);
    server = await startTestServer({ db: url.toString() });
  });
  after(async () => {
    await server?.stop();
    await dropSchema(schema);
  });

  it(
    "provisions a device, stores its telemetry exactly once and answers history from PostgreSQL",
    BOUNDED,
    async () => {
      const id = "pg-pump-0001";
      const { key } = await server.admin.enrollDevice(id);
      const reg = await provision({
        transport: "mqtt",
        host: "localhost",
        port: server.mqttPort,
        idScope: server.idScope,
        registrationId: id,
        key,
        ca: server.ca,
      });
      assert.equal(reg.deviceId, id);
      const client = mqttClient(reg.assignedHub, reg.deviceId, key);
      await client.setOptions({ ca: server.ca });
      await client.open();
      const t0 = Date.now() - 60_000;
      const message = (i: number) => {
        const m = new Message(
          JSON.stringify({ ts: new Date(t0 + i * 1000).toISOString(), values: { oilTemperature: 60 + i } }),
        );
        m.messageId = `pg-${i}`;
        return m;
      };
      try {
        for (let i = 0; i < 20; i++) await client.sendEvent(message(i));
        // A resent message (as after a lost PUBACK) is acknowledged but not stored again.
        await client.sendEvent(message(3));
      } finally {
        await client.close();
      }
      assert.equal(await server.stores.telemetry.countSamples(id), 20);
      const r = await server.api(
        `/api/devices/${id}/series?signals=oilTemperature&from=${t0}&to=${t0 + 60_000}&points=100`,
      );
      assert.equal(r.status, 200);
      assert.equal(r.body.resolution, "raw");
      assert.deepEqual(
        r.body.oilTemperature,
        Array.from({ length: 20 }, (_, i) => 60 + i),
      );
    },
  );
});
