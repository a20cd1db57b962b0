/**
 * TLS policy of both listeners (reliability.md §6 test 20, 22): TLS 1.0/1.1 and weak TLS 1.2 suites
 * are refused on the MQTT and the HTTPS port, tested with a Node client forced to offer them; only
 * ECDHE + AEAD suites are negotiated, TLS 1.3 is offered; key material and the database are
 * readable by the owner only.
 */
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { SERVER_TLS_POLICY } from "../../src/core/tls.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Outcome = { ok: true; version: string; cipher: string } | { ok: false; error: string };

/** A handshake with the given client options; never hangs (3 s). */
function handshake(port: number, ca: string, o: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost", ...o });
    } catch (err) {
      resolve({ ok: false, error: `client cannot offer this: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, error: "timeout" });
    }, 3000);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const c = socket.getCipher();
      resolve({ ok: true, version: String(socket.getProtocol()), cipher: c.name });
      socket.destroy();
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, error: err.code ?? err.message });
    });
  });
}

/** Client options forcing old protocols and ciphers (security level 0 lets OpenSSL offer them). */
const LEGACY = { ciphers: "DEFAULT@SECLEVEL=0", minVersion: "TLSv1" as const };

const WEAK_TLS12 = [
  "ECDHE-ECDSA-AES128-SHA", // CBC, SHA-1 MAC
  "ECDHE-ECDSA-AES256-SHA",
  "ECDHE-ECDSA-AES128-SHA256", // CBC
  "ECDHE-ECDSA-AES256-SHA384",
  "ECDHE-RSA-AES128-SHA",
  "AES128-GCM-SHA256", // static RSA key exchange: not forward-secret
  "AES256-GCM-SHA384",
  "AES128-SHA",
  "AES128-SHA256",
  "DES-CBC3-SHA", // 3DES
  "ECDHE-ECDSA-NULL-SHA", // no encryption
];

const STRONG_TLS12 = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
];

describe("TLS policy on the MQTT and HTTPS ports", () => {
  let s: TestServer;
  let ports: [string, number][];
  const figures: Record<string, unknown> = {};

  before(async () => {
    s = await startTestServer();
    ports = [
      ["mqtt", s.mqttPort],
      ["https", s.httpsPort],
    ];
  });

  after(async () => {
    console.log(JSON.stringify({ tlsPolicy: figures }));
    await s?.stop();
  });

  for (const version of ["TLSv1", "TLSv1.1"] as const) {
    it(`refuses ${version} from a client forced to offer it`, async () => {
      for (const [name, port] of ports) {
        const r = await handshake(port, s.ca, { ...LEGACY, maxVersion: version });
        figures[`${name} ${version}`] = r.ok ? `accepted ${r.cipher}` : r.error;
        assert.equal(r.ok, false, `${name} accepted ${version}`);
      }
    });
  }

  it("refuses TLS 1.2 with CBC, SHA-1, static-RSA, 3DES and NULL suites", async () => {
    let offered = 0;
    for (const cipher of WEAK_TLS12) {
      for (const [name, port] of ports) {
        const r = await handshake(port, s.ca, { ciphers: `${cipher}@SECLEVEL=0`, maxVersion: "TLSv1.2" });
        if (!r.ok && r.error.startsWith("client cannot offer")) continue;
        offered++;
        figures[`${name} ${cipher}`] = r.ok ? `accepted ${r.version}` : r.error;
        assert.equal(r.ok, false, `${name} accepted ${cipher}`);
      }
    }
    figures["weak suites offered"] = offered;
    assert.ok(offered >= 16, `only ${offered} weak suites could be offered`);
  });

  it("accepts TLS 1.2 with ECDHE + AEAD suites, and negotiates TLS 1.3 by default", async () => {
    for (const [name, port] of ports) {
      for (const cipher of STRONG_TLS12) {
        const r = await handshake(port, s.ca, { ciphers: cipher, maxVersion: "TLSv1.2" });
        assert.ok(r.ok, `${name} refused ${cipher}: ${!r.ok && r.error}`);
        assert.equal(r.cipher, cipher);
      }
      const d = await handshake(port, s.ca, {});
      assert.ok(d.ok);
      figures[`${name} default`] = `${d.version} ${d.cipher}`;
      assert.equal(d.version, "TLSv1.3");
    }
  });

  it("keeps the policy in one place: TLS 1.2 minimum, ECDHE + AEAD only", () => {
    assert.equal(SERVER_TLS_POLICY.minVersion, "TLSv1.2");
    for (const c of SERVER_TLS_POLICY.ciphers.split(":")) assert.match(c, /^(TLS_|ECDHE-).*(GCM|CHACHA20)/);
  });

  it("keeps keys, token and database readable by the owner only (mode 0600, folders 0700)", async () => {
    const mode = async (p: string) => ((await stat(join(s.dataDir, p))).mode & 0o777).toString(8);
    const modes: Record<string, string> = {};
    for (const f of [
      "tls/server-key.pem",
      "tls/ca-key.pem",
      "master.key",
      "operator-token",
      "pumpwatch.db",
      "pumpwatch.db-wal",
    ])
      modes[f] = await mode(f);
    modes["tls/"] = await mode("tls");
    figures["file modes"] = modes;
    for (const [f, m] of Object.entries(modes)) assert.equal(m, f.endsWith("/") ? "700" : "600", f);
  });
});
