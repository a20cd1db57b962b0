import https from "node:https";
import { createRequire } from "node:module";

/**
 * The official Azure IoT device SDK for Node, pointed at a pumpwatch on a local port with its own
 * CA (azure-protocol.md §7): the CA is injected into each transport, since the provisioning
 * transports have no CA option of their own.
 */
const require = createRequire(import.meta.url);
const { ProvisioningDeviceClient } = require("azure-iot-provisioning-device");
const ProvMqtt = require("azure-iot-provisioning-device-mqtt").Mqtt;
const ProvHttp = require("azure-iot-provisioning-device-http").Http;
const { SymmetricKeySecurityClient } = require("azure-iot-security-symmetric-key");
const { MqttBase } = require("azure-iot-mqtt-base");
const HttpBase = require("azure-iot-http-base").Http;
const DeviceMqtt = require("azure-iot-device-mqtt").Mqtt;
const DeviceHttp = require("azure-iot-device-http").Http;
export const { Client, Message } = require("azure-iot-device");

export interface Registration {
  assignedHub: string;
  deviceId: string;
  [k: string]: unknown;
}

/** An http-base that sends to a fixed port with our CA (the SDK's HTTP transports always use 443). */
function portedHttpBase(port: number, ca: string) {
  const request = (options: https.RequestOptions, cb: (res: unknown) => void) =>
    https.request({ ...options, ca }, cb);
  class Ported extends HttpBase {
    buildRequest(method: string, path: string, headers: unknown, host: string, ...rest: unknown[]) {
      const done = rest.find((r) => typeof r === "function");
      return super.buildRequest(method, path, headers, String(host).split(":")[0], { port, request }, done);
    }
  }
  return new Ported();
}

export async function provision(opts: {
  transport: "mqtt" | "http";
  host: string;
  port: number;
  idScope: string;
  registrationId: string;
  key: string;
  ca: string;
  payload?: unknown;
}): Promise<Registration> {
  let transport: unknown;
  if (opts.transport === "mqtt") {
    const base = new MqttBase();
    base.setOptions({ ca: opts.ca });
    transport = new ProvMqtt(base);
  } else {
    transport = new ProvHttp(portedHttpBase(opts.port, opts.ca));
  }
  const security = new SymmetricKeySecurityClient(opts.registrationId, opts.key);
  const client = ProvisioningDeviceClient.create(
    `${opts.host}:${opts.port}`,
    opts.idScope,
    transport,
    security,
  );
  if (opts.payload !== undefined) client.setProvisioningPayload(opts.payload);
  return client.register();
}

/** A device client over MQTT using `HostName=<assignedHub>` (host:port) as the SDK sample does. */
export function mqttClient(hostName: string, deviceId: string, key: string) {
  return Client.fromConnectionString(
    `HostName=${hostName};DeviceId=${deviceId};SharedAccessKey=${key}`,
    DeviceMqtt,
  );
}

/** A device client over HTTPS; the transport is subclassed to reach a non-443 port with our CA. */
export function httpClient(hostName: string, deviceId: string, key: string, port: number, ca: string) {
  const base = portedHttpBase(port, ca);
  class PortedHttp extends DeviceHttp {
    constructor(authProvider: unknown) {
      super(authProvider, base);
    }
  }
  return Client.fromConnectionString(
    `HostName=${hostName};DeviceId=${deviceId};SharedAccessKey=${key}`,
    PortedHttp,
  );
}
