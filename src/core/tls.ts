import { createPrivateKey, X509Certificate as NodeX509Certificate, webcrypto } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
// @peculiar/x509 registers its algorithms through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { ConfigError } from "./config.js";

/**
 * TLS material for the MQTT and HTTPS listeners. Devices only need `caPath` (or `ca`): with generated
 * material that is a local CA that stays the same across restarts and server-certificate re-issues,
 * so a device provisioned once keeps trusting this pumpwatch.
 */
export interface TlsMaterial {
  /** Server private key, PEM. */
  key: string;
  /** Server certificate, PEM. */
  cert: string;
  /** The CA certificate devices must trust, PEM. */
  ca: string;
  /** Absolute path of the file holding `ca`, to hand to devices. */
  caPath: string;
  /** True when anything (CA or server certificate) was created by this call. */
  generated: boolean;
}

/**
 * The TLS policy of both listeners (MQTT and HTTPS), in this one place: TLS 1.2 and 1.3 only (IoT Hub
 * ended TLS 1.0/1.1 in 2025), and for TLS 1.2 only forward-secret ECDHE key exchange with AEAD
 * ciphers (GCM, ChaCha20-Poly1305) — no static-RSA key exchange, no CBC, no SHA-1 MACs, no 3DES or
 * RC4. ECDSA suites serve the generated P-256 certificate; the RSA ones an operator's own RSA
 * certificate. These are the suites Azure IoT Hub recommends, so every Azure SDK can connect.
 */
export const SERVER_TLS_POLICY = Object.freeze({
  minVersion: "TLSv1.2" as const,
  ciphers: [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
  honorCipherOrder: true,
});

// The project compiles without the DOM lib, so the WebCrypto types come from node:crypto.
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto);

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_MS = 10 * 365 * DAY_MS;
const SERVER_VALIDITY_MS = 2 * 365 * DAY_MS;
/** Re-issue this long before expiry so a server that restarts rarely never serves an expired cert. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Back-date certs so devices whose clock is a little behind still accept them. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
const CA_NAME = "CN=pumpwatch local CA";
/** Always in the server cert so local tools and tests work whatever host names are configured. */
const ALWAYS_NAMES = ["localhost", "127.0.0.1", "::1"];

const EC_KEY: webcrypto.EcKeyGenParams & webcrypto.EcKeyImportParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

const FILES = {
  ca: "ca.pem",
  caKey: "ca-key.pem",
  server: "server.pem",
  serverKey: "server-key.pem",
  names: "server-names.json",
} as const;

interface Ca {
  cert: x509.X509Certificate;
  certPem: string;
  signingKey: CryptoKey;
}

interface ServerPair {
  cert: string;
  key: string;
}

/**
 * Loads or creates the TLS material in `dir` (e.g. `<data>/tls`).
 *
 * With `certFile` and `keyFile` the user's files are returned as they are and nothing is written.
 * Otherwise a local CA is created once and reused, and the server certificate is (re-)issued from it
 * whenever the required names change or it comes within 30 days of expiry.
 *
 * @throws ConfigError when only part of the user-supplied files is given or they cannot be used.
 */
export async function ensureTls(opts: {
  /** Folder for generated files; created with mode 0700 if missing. */
  dir: string;
  /** DNS names or IP literals that must be in the server certificate's subjectAltName. */
  hostNames: string[];
  /** User-supplied server certificate (PEM). Needs `keyFile`. */
  certFile?: string;
  /** User-supplied server private key (PEM). Needs `certFile`. */
  keyFile?: string;
  /** User-supplied CA (PEM) for devices; without it the certificate itself is what devices trust. */
  caFile?: string;
}): Promise<TlsMaterial> {
  if (opts.certFile !== undefined || opts.keyFile !== undefined || opts.caFile !== undefined) {
    return loadUserMaterial(opts);
  }
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const names = serverNames(opts.hostNames);
  // The first configured host name is the public one; without any, "localhost" is all there is.
  const commonName = opts.hostNames.map(normalize).find((n) => n !== "") ?? "localhost";

  const existingCa = await loadCa(opts.dir);
  const ca = existingCa ?? (await createCa(opts.dir));
  const existingServer = await loadServer(opts.dir, ca, names);
  const server = existingServer ?? (await issueServer(opts.dir, ca, names, commonName));

  return {
    key: server.key,
    cert: server.cert,
    ca: ca.certPem,
    caPath: resolve(opts.dir, FILES.ca),
    generated: existingCa === undefined || existingServer === undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// User-supplied files

async function loadUserMaterial(opts: {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}): Promise<TlsMaterial> {
  // Silently generating a cert when half of the configuration is present would hide a typo.
  if (opts.certFile === undefined || opts.keyFile === undefined) {
    throw new ConfigError("tls: cert and key must be given together (ca is optional and needs both)");
  }
  const cert = await readUserFile(opts.certFile, "cert");
  const key = await readUserFile(opts.keyFile, "key");
  const ca = opts.caFile === undefined ? cert : await readUserFile(opts.caFile, "ca");
  checkKeyMatchesCert(cert, key, opts.certFile, opts.keyFile);
  return {
    key,
    cert,
    ca,
    caPath: resolve(opts.caFile ?? opts.certFile),
    generated: false,
  };
}

async function readUserFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(`tls: cannot read ${what} file ${file}: ${(err as Error).message}`);
  }
}

/** Fails at start-up with a clear message instead of with an opaque handshake error later. */
function checkKeyMatchesCert(cert: string, key: string, certFile: string, keyFile: string): void {
  let matches: boolean;
  try {
    matches = new NodeX509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new ConfigError(`tls: cannot parse ${certFile} / ${keyFile}: ${(err as Error).message}`);
  }
  if (!matches) throw new ConfigError(`tls: key ${keyFile} does not belong to certificate ${certFile}`);
}

// ---------------------------------------------------------------------------------------------
// Host names

/** The SAN list: fixed local names first, then the configured ones; lower-cased, without duplicates. */
function serverNames(hostNames: string[]): string[] {
  const names = [...ALWAYS_NAMES, ...hostNames].map(normalize).filter((n) => n !== "");
  return [...new Set(names)];
}

/** DNS names compare case-insensitively; stray blanks from config files are not part of a name. */
function normalize(name: string): string {
  return name.trim().toLowerCase();
}

function toGeneralName(name: string): x509.JsonGeneralName {
  return { type: isIP(name) === 0 ? "dns" : "ip", value: name };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return a.length === b.length && b.every((n) => set.has(n));
}

// ---------------------------------------------------------------------------------------------
// Local CA

/** The stored CA, or undefined when it is missing or unusable (it is then replaced). */
async function loadCa(dir: string): Promise<Ca | undefined> {
  const certPem = await readOptional(join(dir, FILES.ca));
  const keyPem = await readOptional(join(dir, FILES.caKey));
  if (certPem === undefined || keyPem === undefined || !keyMatches(certPem, keyPem)) return undefined;
  return { cert: new x509.X509Certificate(certPem), certPem, signingKey: await importSigningKey(keyPem) };
}

async function createCa(dir: string): Promise<Ca> {
  const keys = await generateKeyPair();
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: CA_NAME,
    keys,
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_VALIDITY_MS),
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString("pem");
  // Key before cert: loadCa needs both, so a crash in between just yields a fresh CA next time.
  await writeAtomic(join(dir, FILES.caKey), await exportKeyPem(keys.privateKey), 0o600);
  await writeAtomic(join(dir, FILES.ca), certPem, 0o644);
  return { cert, certPem, signingKey: keys.privateKey };
}

// ---------------------------------------------------------------------------------------------
// Server certificate

/** The stored server cert and key, or undefined when they must be (re-)issued. */
async function loadServer(dir: string, ca: Ca, names: string[]): Promise<ServerPair | undefined> {
  const cert = await readOptional(join(dir, FILES.server));
  const key = await readOptional(join(dir, FILES.serverKey));
  const storedNames = await readNames(join(dir, FILES.names));
  if (cert === undefined || key === undefined || storedNames === undefined) return undefined;
  if (!sameNames(storedNames, names) || !keyMatches(cert, key)) return undefined;

  const parsed = new x509.X509Certificate(cert);
  if (parsed.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) return undefined;
  // A replaced CA (e.g. ca.pem deleted) means devices could not verify the old server cert.
  if (!(await parsed.verify({ publicKey: ca.cert, signatureOnly: true }))) return undefined;
  return { cert, key };
}

async function issueServer(dir: string, ca: Ca, names: string[], commonName: string): Promise<ServerPair> {
  const keys = await generateKeyPair();
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const certificate = await x509.X509CertificateGenerator.create({
    subject: new x509.Name([{ CN: [commonName] }]),
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + SERVER_VALIDITY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map(toGeneralName)),
      await authorityKeyId(ca.cert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pair = { cert: certificate.toString("pem"), key: await exportKeyPem(keys.privateKey) };
  // Names last: nothing is reused without them, and loadServer also checks that key and cert belong
  // together, so a crash between these writes only costs a re-issue on the next start.
  await writeAtomic(join(dir, FILES.serverKey), pair.key, 0o600);
  await writeAtomic(join(dir, FILES.server), pair.cert, 0o644);
  await writeAtomic(join(dir, FILES.names), `${JSON.stringify(names, null, 2)}\n`, 0o644);
  return pair;
}

/** Copies the CA's own subject key id, so path building matches it byte for byte. */
async function authorityKeyId(caCert: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski === null
    ? x509.AuthorityKeyIdentifierExtension.create(caCert)
    : new x509.AuthorityKeyIdentifierExtension(ski.keyId);
}

async function readNames(file: string): Promise<string[] | undefined> {
  const text = await readOptional(file);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((n) => typeof n === "string") ? value : undefined;
  } catch {
    return undefined; // A damaged file only costs a re-issue.
  }
}

// ---------------------------------------------------------------------------------------------
// Keys and files

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey("pkcs8", der, EC_KEY, false, ["sign"]);
}

/** False for files that do not parse or do not belong together; the caller then regenerates. */
function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new NodeX509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Write-then-rename, so a crash never leaves a half-written PEM behind. The explicit chmod is
 * needed because `mode` is masked by the umask and ignored for a temp file that already exists.
 */
async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}
