import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Seals device and enrollment keys before they reach the database, so that a copied database
 * alone does not hand out usable keys: AES-256-GCM under a master key that lives outside the
 * database (`<data>/master.key`, mode 0600, or PUMPWATCH_MASTER_KEY).
 */
export interface SecretBox {
  seal(plain: string): string;
  /** Throws when the value was sealed under another master key or was tampered with. */
  open(sealed: string): string;
}

const PREFIX = "v1:";

export function createSecretBox(masterKey: Buffer): SecretBox {
  if (masterKey.length !== 32) throw new Error("master key must be 32 bytes (base64 of 32 random bytes)");
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", masterKey, iv);
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
    },
    open(sealed) {
      if (!sealed.startsWith(PREFIX)) throw new Error("sealed value has an unknown format");
      const raw = Buffer.from(sealed.slice(PREFIX.length), "base64");
      const decipher = createDecipheriv("aes-256-gcm", masterKey, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    },
  };
}

/** Reads the master key from config, or from `file`, creating it (0600) on first use. */
export function loadMasterKey(configured: string | undefined, file: string): Buffer {
  if (configured) return Buffer.from(configured, "base64");
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  }
  return Buffer.from(readFileSync(file, "utf8").trim(), "base64");
}
