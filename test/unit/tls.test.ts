import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import tls from "node:tls";
import { ConfigError } from "../../src/core/config.js";
import { ensureTls, type TlsMaterial } from "../../src/core/tls.js";

// Imported after tls.js, which installs the Reflect metadata stand-in @peculiar/x509 needs.
const x509 = await import("@peculiar/x509");

const DAY_MS = 24 * 60 * 60 * 1000;

/** Starts a TLS server with the material, runs `fn` with its port, and always closes it. */
async function withTlsServer(material: TlsMaterial, fn: (port: number) => Promise<void>): Promise<void> {
  const server = tls.createServer({ key: material.key, cert: material.cert, minVersion: "TLSv1.2" }, (s) =>
    s.end(),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    await fn((server.address() as AddressInfo).port);
  } finally {
    server.close();
  }
}

/** Connects like a device would (default certificate and host-name checks) and reports `authorized`. */
async function handshake(port: number, ca: string, servername: string | undefined): Promise<boolean> {
  const socket = tls.connect({ host: "127.0.0.1", port, ca, servername, minVersion: "TLSv1.2" });
  try {
    await once(socket, "secureConnect"); // rejects on the 'error' event, e.g. a name mismatch
    return socket.authorized;
  } finally {
    socket.destroy();
  }
}

function subjectAltNames(certPem: string): string[] {
  return (new X509Certificate(certPem).subjectAltName ?? "").split(", ");
}

describe("ensureTls", () => {
  let tmp: string;
  let dir: string;

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), "pumpwatch-tls-"));
    dir = join(tmp, "tls");
  });

  afterEach(async () => {
    mock.timers.reset();
    await rm(tmp, { recursive: true, force: true });
  });

  it("generates a CA and server certificate that devices accept over real TLS", async () => {
    const material = await ensureTls({ dir, hostNames: ["pumps.example.test"] });
    assert.equal(material.generated, true);
    assert.equal(material.caPath, join(dir, "ca.pem"));
    assert.match(material.key, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(material.ca, await readFile(material.caPath, "utf8"));

    await withTlsServer(material, async (port) => {
      assert.equal(await handshake(port, material.ca, undefined), true); // IP SAN 127.0.0.1
      assert.equal(await handshake(port, material.ca, "localhost"), true);
      assert.equal(await handshake(port, material.ca, "pumps.example.test"), true);
    });
  });

  it("refuses a host name that is not in the server certificate", async () => {
    const material = await ensureTls({ dir, hostNames: ["pumps.example.test"] });
    await withTlsServer(material, async (port) => {
      await assert.rejects(handshake(port, material.ca, "other.example.test"), {
        code: "ERR_TLS_CERT_ALTNAME_INVALID",
      });
    });
  });

  it("issues a CA and server certificate with the documented properties", async () => {
    const material = await ensureTls({ dir, hostNames: ["Pumps.Example.test", "10.1.2.3", "localhost", ""] });
    const ca = new X509Certificate(material.ca);
    const server = new X509Certificate(material.cert);

    assert.equal(ca.subject, "CN=pumpwatch local CA");
    assert.equal(ca.ca, true);
    assert.equal(server.ca, false);
    assert.equal(server.subject, "CN=pumps.example.test");
    assert.equal(server.verify(ca.publicKey), true);
    assert.equal(server.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.deepEqual(subjectAltNames(material.cert), [
      "DNS:localhost",
      "IP Address:127.0.0.1",
      "IP Address:0:0:0:0:0:0:0:1",
      "DNS:pumps.example.test",
      "IP Address:10.1.2.3",
    ]);
    assert.deepEqual(JSON.parse(await readFile(join(dir, "server-names.json"), "utf8")), [
      "localhost",
      "127.0.0.1",
      "::1",
      "pumps.example.test",
      "10.1.2.3",
    ]);

    const caX509 = new x509.X509Certificate(material.ca);
    const serverX509 = new x509.X509Certificate(material.cert);
    const basic = caX509.getExtension(x509.BasicConstraintsExtension);
    const caUsage = caX509.getExtension(x509.KeyUsagesExtension);
    const caKeyId = caX509.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    assert.deepEqual([basic?.ca, basic?.critical], [true, true]);
    assert.deepEqual(
      [caUsage?.usages, caUsage?.critical],
      [x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true],
    );
    assert.ok(caKeyId);
    assert.equal(serverX509.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, caKeyId);
    assert.equal(
      serverX509.getExtension(x509.KeyUsagesExtension)?.usages,
      x509.KeyUsageFlags.digitalSignature,
    );
    assert.deepEqual(
      [...(serverX509.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
      [x509.ExtendedKeyUsage.serverAuth],
    );
    for (const cert of [caX509, serverX509]) {
      assert.deepEqual(cert.signatureAlgorithm, { name: "ECDSA", hash: { name: "SHA-256" } });
    }

    const lifetimeDays = (cert: X509Certificate) =>
      Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY_MS);
    assert.equal(lifetimeDays(ca), 3650);
    assert.equal(lifetimeDays(server), 730);
    assert.ok(Date.parse(server.validFrom) < Date.now() - 30 * 60 * 1000, "server cert is back-dated");
  });

  it("reuses the CA and server certificate on a second call", async () => {
    const first = await ensureTls({ dir, hostNames: ["pumps.example.test"] });
    const second = await ensureTls({ dir, hostNames: ["pumps.example.test"] });

    assert.equal(second.generated, false);
    assert.equal(second.ca, first.ca);
    assert.equal(second.cert, first.cert);
    assert.equal(second.key, first.key);
  });

  it("re-issues the server certificate from the same CA when a host name is added", async () => {
    const first = await ensureTls({ dir, hostNames: ["pumps.example.test"] });
    const caKey = await readFile(join(dir, "ca-key.pem"), "utf8");
    const second = await ensureTls({ dir, hostNames: ["pumps.example.test", "192.0.2.7"] });

    assert.equal(second.generated, true);
    assert.equal(second.ca, first.ca);
    assert.equal(await readFile(join(dir, "ca-key.pem"), "utf8"), caKey);
    assert.notEqual(second.cert, first.cert);
    assert.notEqual(second.key, first.key);
    assert.ok(subjectAltNames(second.cert).includes("IP Address:192.0.2.7"));
    assert.equal(new X509Certificate(second.cert).verify(new X509Certificate(first.ca).publicKey), true);
    assert.equal(await readFile(join(dir, "server.pem"), "utf8"), second.cert);
  });

  it("re-issues the server certificate from the same CA when it expires within 30 days", async () => {
    const first = await ensureTls({ dir, hostNames: [] });
    const notAfter = Date.parse(new X509Certificate(first.cert).validTo);
    mock.timers.enable({ apis: ["Date"], now: notAfter - 29 * DAY_MS });

    const second = await ensureTls({ dir, hostNames: [] });

    assert.equal(second.generated, true);
    assert.equal(second.ca, first.ca);
    assert.notEqual(second.cert, first.cert);
    assert.ok(Date.parse(new X509Certificate(second.cert).validTo) > notAfter);
  });

  it("writes private keys with mode 0600 and the folder with mode 0700", {
    skip: process.platform === "win32",
  }, async () => {
    await ensureTls({ dir, hostNames: [] });

    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, "ca-key.pem"))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "server-key.pem"))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "ca.pem"))).mode & 0o777, 0o644);
    assert.equal((await stat(join(dir, "server.pem"))).mode & 0o777, 0o644);
  });

  it("uses user-supplied cert and key as they are and generates nothing", async () => {
    const own = await ensureTls({ dir: join(tmp, "own"), hostNames: [] });
    const certFile = join(tmp, "own", "server.pem");
    const keyFile = join(tmp, "own", "server-key.pem");
    const caFile = join(tmp, "own", "ca.pem");

    // A relative path is reported back as absolute, since devices are told where to find the CA.
    const withoutCa = await ensureTls({
      dir,
      hostNames: ["x.example.test"],
      certFile: relative(".", certFile),
      keyFile,
    });
    assert.deepEqual(withoutCa, {
      key: own.key,
      cert: own.cert,
      ca: own.cert,
      caPath: certFile,
      generated: false,
    });

    const withCa = await ensureTls({ dir, hostNames: [], certFile, keyFile, caFile });
    assert.deepEqual(withCa, { key: own.key, cert: own.cert, ca: own.ca, caPath: caFile, generated: false });

    await assert.rejects(readdir(dir), { code: "ENOENT" });
  });

  it("rejects a user-supplied cert without its key, or with a key that does not belong to it", async () => {
    const a = await ensureTls({ dir: join(tmp, "a"), hostNames: [] });
    await ensureTls({ dir: join(tmp, "b"), hostNames: [] });
    assert.ok(a.generated);

    await assert.rejects(
      ensureTls({ dir, hostNames: [], certFile: join(tmp, "a", "server.pem") }),
      ConfigError,
    );
    await assert.rejects(
      ensureTls({
        dir,
        hostNames: [],
        certFile: join(tmp, "a", "server.pem"),
        keyFile: join(tmp, "b", "server-key.pem"),
      }),
      ConfigError,
    );
    await assert.rejects(readdir(dir), { code: "ENOENT" });
  });
});
