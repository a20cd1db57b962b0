/**
 * Forged SAS tokens for attack tests (reliability.md §6 test 11): from a valid token of a target
 * device, tokens that must never be accepted — wrong or foreign keys, altered signatures, wrong
 * audience (sr), bad or extended expiry, wrong key names, duplicated fields — and random character
 * edits with an oracle telling genuine edits (same signed content) apart.
 */
import { generateKey } from "../../src/core/keys.js";
import { createSas, encodeUriComponentStrict, parseSas, signSas } from "../../src/core/sas.js";
import { int, pick, type Rand } from "./random.js";

export interface Dev {
  id: string;
  primaryKey: string;
  secondaryKey: string;
}

/** A token for a device on the hub, or for its registration at DPS. */
export interface Target {
  kind: "hub" | "dps";
  dev: Dev;
}

export interface ForgeryOptions {
  /** Hub name as in `sr` (e.g. `localhost:8883`). */
  hub: string;
  idScope: string;
  nowSec: number;
  skewSec: number;
  /** Other devices, whose keys and ids are used against the target. */
  devices: Dev[];
  /** A group key the targets' keys may derive from. */
  groupKey: string;
}

function field(token: string, name: string): string {
  const m = new RegExp(`[ &]${name}=([^&]*)`).exec(token);
  if (!m) throw new Error(`no ${name} in ${token}`);
  return m[1]!;
}

function withField(token: string, name: string, value: string | undefined): string {
  const re = new RegExp(`([ &])${name}=[^&]*`);
  if (value === undefined)
    return token.replace(re, "$1").replace(/ &/, " ").replace(/&&/, "&").replace(/&$/, "");
  return token.replace(re, `$1${name}=${value}`);
}

function sigBytes(token: string): Buffer {
  return Buffer.from(decodeURIComponent(field(token, "sig")), "base64");
}

function withSig(token: string, bytes: Buffer): string {
  return withField(token, "sig", encodeUriComponentStrict(bytes.toString("base64")));
}

export function sasForgeries(o: ForgeryOptions) {
  /** A valid token for the target as the Azure SDK builds it. */
  function valid(t: Target, v: { key?: string; se?: number; resource?: string } = {}): string {
    const key = v.key ?? t.dev.primaryKey;
    const se = v.se ?? o.nowSec + 3600;
    return t.kind === "hub"
      ? createSas({ resourceUri: v.resource ?? `${o.hub}/devices/${t.dev.id}`, key, expiresAt: se })
      : createSas({
          resourceUri: v.resource ?? `${o.idScope}/registrations/${t.dev.id}`,
          key,
          expiresAt: se,
          keyName: "registration",
          encodeResource: false,
        });
  }

  /** Each generator makes one forged token for a target from a random valid one; none may pass. */
  const forgeries: Record<string, (r: Rand, t: Target) => string> = {
    "wrong key": (_r, t) => valid(t, { key: generateKey() }),
    "another device's key": (r, t) =>
      valid(t, {
        key: pick(
          r,
          o.devices.filter((d) => d !== t.dev),
        ).primaryKey,
      }),
    "the group key used directly": (_r, t) => valid(t, { key: o.groupKey }),
    "one bit of the signature flipped": (r, t) => {
      const token = valid(t);
      const sig = sigBytes(token);
      const bit = int(r, 0, sig.length * 8 - 1);
      sig[bit >> 3]! ^= 1 << (bit & 7);
      return withSig(token, sig);
    },
    "signature truncated": (r, t) => {
      const token = valid(t);
      const sig = field(token, "sig");
      return withField(token, "sig", sig.slice(0, int(r, 1, sig.length - 1)));
    },
    "signature as base64url": (_r, t) => {
      // Re-signed until the signature holds a '+' or '/', so the url alphabet really differs.
      for (let se = o.nowSec + 3600; ; se++) {
        const token = valid(t, { se });
        const b64 = sigBytes(token).toString("base64");
        if (/[+/]/.test(b64)) return withField(token, "sig", sigBytes(token).toString("base64url"));
      }
    },
    "signature double URL-encoded": (_r, t) => {
      for (let se = o.nowSec + 3600; ; se++) {
        const token = valid(t, { se });
        const sig = field(token, "sig");
        if (sig.includes("%")) return withField(token, "sig", encodeURIComponent(sig));
      }
    },
    "signature of another message (sr only)": (_r, t) => {
      const token = valid(t);
      const mac = signSas(t.dev.primaryKey, field(token, "sr"), "");
      return withField(token, "sig", encodeUriComponentStrict(mac));
    },
    "sr of another device, signed with its key": (r, t) => {
      const other = pick(
        r,
        o.devices.filter((d) => d !== t.dev),
      );
      return valid({ kind: t.kind, dev: other });
    },
    "sr of another device, re-pointed without re-signing": (r, t) => {
      const other = pick(
        r,
        o.devices.filter((d) => d !== t.dev),
      );
      const token = valid(t);
      return withField(token, "sr", field(token, "sr").replace(t.dev.id, other.id));
    },
    "sr at hub level": (_r, t) => valid(t, { resource: t.kind === "hub" ? o.hub : o.idScope }),
    "sr with an extra segment": (_r, t) =>
      valid(t, {
        resource: `${t.kind === "hub" ? `${o.hub}/devices` : `${o.idScope}/registrations`}/${t.dev.id}/x`,
      }),
    "sr of a sibling prefix (d1 vs d10)": (_r, t) =>
      valid(t, {
        resource: `${t.kind === "hub" ? `${o.hub}/devices` : `${o.idScope}/registrations`}/${t.dev.id}0`,
      }),
    "sr of another hub or id scope": (_r, t) =>
      valid(t, {
        resource:
          t.kind === "hub" ? `evil.example.com/devices/${t.dev.id}` : `0ne99999999/registrations/${t.dev.id}`,
      }),
    "sr upper-cased without re-signing": (_r, t) => {
      const token = valid(t);
      return withField(token, "sr", field(token, "sr").toUpperCase());
    },
    "se missing": (_r, t) => withField(valid(t), "se", undefined),
    "se not numeric": (r, t) =>
      withField(valid(t), "se", pick(r, ["abc", "1e10", "0x10", " 1", "1.5", "", "NaN"])),
    "se negative": (r, t) => withField(valid(t), "se", `-${int(r, 1, 1_000_000)}`),
    "se beyond 2^53": (_r, t) => withField(valid(t), "se", "90071992547409930"),
    "se extended without re-signing (replay with a longer life)": (r, t) => {
      const token = valid(t, { se: o.nowSec - 3600 });
      return withField(token, "se", String(o.nowSec + int(r, 1, 10_000_000)));
    },
    "expired beyond the skew (replayed after expiry)": (r, t) =>
      valid(t, { se: o.nowSec - o.skewSec - int(r, 1, 86_400 * 365) }),
    "expired one second beyond the skew": (_r, t) => valid(t, { se: o.nowSec - o.skewSec - 1 }),
    "wrong key name": (r, t) =>
      t.kind === "hub"
        ? `${valid(t)}&skn=${pick(r, ["device", "iothubowner", "registration"])}`
        : withField(valid(t), "skn", pick(r, ["Registration", "device", "x", ""])),
    "key name added to a device token": (r, t) =>
      t.kind === "hub"
        ? `${valid(t)}&skn=${pick(r, ["device", "iothubowner", "service"])}`
        : withField(valid(t), "skn", undefined),
    "duplicated parameter": (r, t) => {
      const token = valid(t);
      const name = pick(r, ["sr", "sig", "se"]);
      return `${token}&${name}=${field(token, name)}`;
    },
    "prefix altered": (r, t) => {
      const token = valid(t);
      return pick(r, [
        token.replace("SharedAccessSignature ", "sharedaccesssignature "),
        token.replace("SharedAccessSignature ", "SharedAccessSignature  "),
        token.replace("SharedAccessSignature ", ""),
        `Bearer ${token}`,
      ]);
    },
    "signature replaced with random bytes": (r, t) =>
      withSig(valid(t), Buffer.from(Array.from({ length: 32 }, () => int(r, 0, 255)))),
    "empty signature": (_r, t) => withField(valid(t), "sig", ""),
  };

  /** Same signed content (raw sr, decoded sig, se) and key name as the original: a genuine token. */
  function sameSignedContent(a: string, b: string): boolean {
    const x = parseSas(a);
    const y = parseSas(b);
    if (!x || !y) return false;
    const dec = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return undefined;
      }
    };
    return x.sr === y.sr && x.se === y.se && dec(x.sig) === dec(y.sig) && (x.skn ?? "") === (y.skn ?? "");
  }

  /** A random edit of the token's characters: replace, insert, delete or swap. */
  function mutate(r: Rand, token: string): string {
    const chars = [...token];
    const alphabet = "AZaz09+/=%&.-_ \u0000\u00e9\uFFFD";
    for (let n = int(r, 1, 3); n > 0; n--) {
      const i = int(r, 0, chars.length - 1);
      const c = alphabet[int(r, 0, alphabet.length - 1)]!;
      const op = int(r, 0, 3);
      if (op === 0) chars[i] = c;
      else if (op === 1) chars.splice(i, 0, c);
      else if (op === 2) chars.splice(i, 1);
      else [chars[i], chars[chars.length - 1 - i]] = [chars[chars.length - 1 - i]!, chars[i]!];
    }
    return chars.join("");
  }

  return { valid, forgeries, mutate, sameSignedContent };
}
