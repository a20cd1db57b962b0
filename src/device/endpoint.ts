import { PumpwatchError } from "../core/errors.js";

/** MQTT over TLS when no port is given (azure-protocol.md §7). */
export const MQTTS_PORT = 8883;

/** Splits `host`, `host:port` or `[v6]:port` (a DPS endpoint or an `assignedHub`). */
export function parseHostPort(value: string, defaultPort = MQTTS_PORT): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(value.trim());
  const host = m?.[1] ?? m?.[2];
  const port = m?.[3] === undefined ? defaultPort : Number(m[3]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PumpwatchError("BAD_REQUEST", `'${value}' is not HOST or HOST:PORT`);
  }
  return { host, port };
}

/** The TLS trust for a connection: the given CA (PEM), or Node's default roots when undefined. */
export function tlsTrust(ca: string | Buffer | undefined): {
  ca?: string | Buffer;
  rejectUnauthorized: true;
} {
  return ca === undefined ? { rejectUnauthorized: true } : { ca, rejectUnauthorized: true };
}

/** True for mqtt.js's CONNACK refusals that mean "these credentials are not accepted" (2, 4, 5). */
export function isAuthRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 2 || code === 4 || code === 5;
}
