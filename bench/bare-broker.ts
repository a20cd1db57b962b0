/**
 * The benchmark's ceiling: a bare aedes broker over TLS with no authentication, no topic checks and
 * no storage, so QoS 1 PUBACKs go out as soon as a PUBLISH is parsed. It serves the same certificate
 * as the pumpwatch under test, so both runs pay the same TLS cost.
 *
 *   node --import tsx bench/bare-broker.ts --cert server.pem --key server-key.pem
 *
 * Listens on a free port of 127.0.0.1 and prints one JSON line {"mqtt":"mqtts://127.0.0.1:PORT"};
 * stops on SIGTERM or SIGINT.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { Aedes } from "aedes";

const { values } = parseArgs({
  options: { cert: { type: "string" }, key: { type: "string" } },
  strict: true,
});
if (!values.cert || !values.key) {
  process.stderr.write("usage: bare-broker.ts --cert FILE --key FILE\n");
  process.exit(2);
}

const broker = await Aedes.createBroker();
const server = tls.createServer({
  cert: readFileSync(values.cert),
  key: readFileSync(values.key),
  minVersion: "TLSv1.2",
});
server.on("secureConnection", (socket) => broker.handle(socket));
await new Promise<void>((resolve, reject) => {
  server.once("error", reject);
  server.listen(0, "127.0.0.1", () => resolve());
});
const { port } = server.address() as AddressInfo;
process.stdout.write(`${JSON.stringify({ mqtt: `mqtts://127.0.0.1:${port}` })}\n`);

await new Promise<void>((resolve) => {
  process.once("SIGTERM", resolve);
  process.once("SIGINT", resolve);
});
const closed = new Promise<void>((resolve) => server.close(() => resolve()));
await new Promise<void>((resolve) => broker.close(() => resolve()));
await closed;
