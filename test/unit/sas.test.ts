import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import {
  createSas,
  encodeUriComponentStrict,
  parseSas,
  type SasCheck,
  type SasToken,
  signSas,
  verifySas,
} from "../../src/core/sas.js";

// azure-protocol.md §10.2
const KEY = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const OTHER_KEY = Buffer.alloc(32, 9).toString("base64");
const NOW = 1799990000;
const HUB_RESOURCE = "pumps.example.com/devices/pump-0001";
const DPS_RESOURCE = "0ne00000001/registrations/pump-0001";
const HUB_TOKEN =
  "SharedAccessSignature sr=pumps.example.com%2Fdevices%2Fpump-0001&sig=tVADMMjQzm4VfrZonaBX%2FzdLDzMWzBYcX1%2Bim%2F1JAro%3D&se=1800000000";
const DPS_RAW_TOKEN =
  "SharedAccessSignature sr=0ne00000001/registrations/pump-0001&sig=mECMTz2sFuymMsuIwg7MGIrslZbMMYhp7sKNESQAF9I%3D&skn=registration&se=1800000000";
const DPS_DOC_TOKEN =
  "SharedAccessSignature sr=0ne00000001%2Fregistrations%2Fpump-0001&sig=xg0hBpUMXvYVdueKdd3HtBZconyHTA3kxzMWOJQZrmw%3D&se=1800000000&skn=registration";

function parsed(token: string): SasToken {
  const t = parseSas(token);
  assert.ok(t, `token should parse: ${token}`);
  return t;
}

function check(token: string, overrides: Partial<Parameters<typeof verifySas>[1]> = {}): SasCheck {
  return verifySas(parsed(token), {
    expectedResources: [HUB_RESOURCE, DPS_RESOURCE],
    keys: [KEY],
    nowSec: NOW,
    skewSec: 300,
    ...overrides,
  });
}

describe("parseSas", () => {
  it("keeps sr, sig and se exactly as received and collects every field", () => {
    const t = parsed(DPS_RAW_TOKEN);
    assert.equal(t.sr, "0ne00000001/registrations/pump-0001");
    assert.equal(t.sig, "mECMTz2sFuymMsuIwg7MGIrslZbMMYhp7sKNESQAF9I%3D");
    assert.equal(t.se, "1800000000");
    assert.equal(t.skn, "registration");
    assert.deepEqual(t.fields, {
      sr: t.sr,
      sig: t.sig,
      skn: "registration",
      se: "1800000000",
    });
  });

  it("leaves skn undefined when the token has none", () => {
    assert.equal(parsed(HUB_TOKEN).skn, undefined);
  });

  it("parses fields in any order", () => {
    const t = parsed("SharedAccessSignature se=1800000000&skn=registration&sig=abc%3D&sr=a%2Fb");
    assert.deepEqual([t.sr, t.sig, t.se, t.skn], ["a%2Fb", "abc%3D", "1800000000", "registration"]);
  });

  it("splits each field at its first '=' only", () => {
    assert.equal(parsed("SharedAccessSignature sr=a&sig=abc==&se=1").sig, "abc==");
  });

  it("rejects malformed tokens", () => {
    for (const bad of [
      "",
      "SharedAccessSignature",
      "SharedAccessSignature ",
      "sharedaccesssignature sr=a&sig=b&se=1",
      "Bearer sr=a&sig=b&se=1",
      "SharedAccessSignaturesr=a&sig=b&se=1",
      "SharedAccessSignature  sr=a&sig=b&se=1",
      " SharedAccessSignature sr=a&sig=b&se=1",
      "SharedAccessSignature sr=a&sig=b&se=1\n",
      "SharedAccessSignature sr=a&sig=b&se=1 extra",
      "SharedAccessSignature sr=a&sig=b",
      "SharedAccessSignature sig=b&se=1",
      "SharedAccessSignature sr=a&se=1",
      "SharedAccessSignature sr=&sig=b&se=1",
      "SharedAccessSignature sr=a&sig=b&se=1&junk",
      "SharedAccessSignature sr=a&sig=b&se=1&",
      "SharedAccessSignature sr=a&sig=b&se=1&=x",
    ]) {
      assert.equal(parseSas(bad), undefined, JSON.stringify(bad));
    }
  });

  it("rejects a token whose keys repeat", () => {
    assert.equal(parseSas("SharedAccessSignature sr=a&sig=b&se=1&sr=c"), undefined);
    assert.equal(parseSas("SharedAccessSignature sr=a&sig=b&se=1&skn=x&skn=x"), undefined);
  });
});

describe("encodeUriComponentStrict", () => {
  it("escapes ! ' ( ) * with lower-case hex like the Node SDK", () => {
    assert.equal(encodeUriComponentStrict("a*b(c)!'"), "a%2ab%28c%29%21%27");
  });

  it("otherwise behaves like encodeURIComponent", () => {
    assert.equal(
      encodeUriComponentStrict("localhost:40197/devices/pump-0001"),
      "localhost%3A40197%2Fdevices%2Fpump-0001",
    );
    assert.equal(encodeUriComponentStrict("a+b=c d"), "a%2Bb%3Dc%20d");
  });
});

describe("signSas and createSas", () => {
  it("signs base64(HMAC-SHA256(decoded key, sr + newline + se))", () => {
    const want = createHmac("sha256", Buffer.from(KEY, "base64")).update("x/y\n42").digest("base64");
    assert.equal(signSas(KEY, "x/y", "42"), want);
  });

  it("refuses to sign with a key that is not base64", () => {
    assert.throws(() => signSas("", "a", "1"), TypeError);
    assert.throws(() => signSas("not base64!", "a", "1"), TypeError);
  });

  it("reproduces the §10.2 device-scoped hub token exactly", () => {
    assert.equal(createSas({ resourceUri: HUB_RESOURCE, key: KEY, expiresAt: 1800000000 }), HUB_TOKEN);
  });

  it("reproduces the §10.2 raw-sr DPS token with encodeResource false and keyName registration", () => {
    const token = createSas({
      resourceUri: DPS_RESOURCE,
      key: KEY,
      expiresAt: 1800000000,
      keyName: "registration",
      encodeResource: false,
    });
    assert.equal(token, DPS_RAW_TOKEN);
  });

  it("matches the Node SDK's own token builders for hub and DPS", () => {
    const require = createRequire(import.meta.url);
    const device = require("azure-iot-device");
    const common = require("azure-iot-common");
    const key = Buffer.alloc(64, 0xa5).toString("base64");
    const host = "localhost:40197";
    assert.equal(
      createSas({ resourceUri: `${host}/devices/pump-(1)`, key, expiresAt: 1795790671 }),
      device.SharedAccessSignature.create(host, "pump-(1)", key, 1795790671).toString(),
    );
    assert.equal(
      createSas({
        resourceUri: "0ne0000TEST/registrations/pump-0001",
        key,
        expiresAt: 1795790670,
        keyName: "registration",
        encodeResource: false,
      }),
      common.SharedAccessSignature.create(
        "0ne0000TEST/registrations/pump-0001",
        "registration",
        key,
        1795790670,
      ).toString(),
    );
  });

  it("rejects a non-integer expiry", () => {
    assert.throws(() => createSas({ resourceUri: "a", key: KEY, expiresAt: 1.5 }), RangeError);
  });
});

describe("verifySas", () => {
  it("accepts all three §10.2 vectors with the primary key", () => {
    for (const token of [HUB_TOKEN, DPS_RAW_TOKEN, DPS_DOC_TOKEN]) {
      assert.deepEqual(check(token), { ok: true, keyIndex: 0 });
    }
  });

  it("accepts the DPS vectors when skn registration is required", () => {
    for (const token of [DPS_RAW_TOKEN, DPS_DOC_TOKEN]) {
      assert.deepEqual(check(token, { requiredKeyName: "registration" }), { ok: true, keyIndex: 0 });
    }
  });

  it("reports keyIndex 1 when only the secondary key matches", () => {
    assert.deepEqual(check(HUB_TOKEN, { keys: [OTHER_KEY, KEY] }), { ok: true, keyIndex: 1 });
  });

  it("rejects a token signed with another key", () => {
    assert.deepEqual(check(HUB_TOKEN, { keys: [OTHER_KEY] }), { ok: false, reason: "signature" });
  });

  it("rejects a forged signature", () => {
    const forged = HUB_TOKEN.replace("sig=tVAD", "sig=tVAE");
    assert.deepEqual(check(forged), { ok: false, reason: "signature" });
  });

  it("rejects a signature that differs only in length", () => {
    const forged = HUB_TOKEN.replace("%3D&se=", "&se=");
    assert.deepEqual(check(forged), { ok: false, reason: "signature" });
  });

  it("rejects a re-encoded sr because the HMAC covers sr exactly as received", () => {
    const reencoded = DPS_RAW_TOKEN.replace(
      "sr=0ne00000001/registrations/",
      "sr=0ne00000001%2Fregistrations%2F",
    );
    assert.deepEqual(check(reencoded), { ok: false, reason: "signature" });
  });

  it("never matches a key that is not valid base64, even an empty one", () => {
    const emptyKeySig = createHmac("sha256", Buffer.alloc(0))
      .update(`${"a%2Fdevices%2Fd"}\n1800000000`)
      .digest("base64");
    const token = `SharedAccessSignature sr=a%2Fdevices%2Fd&sig=${encodeURIComponent(emptyKeySig)}&se=1800000000`;
    for (const key of ["", "====", "not base64!", "Bw-_"]) {
      assert.deepEqual(check(token, { expectedResources: ["a/devices/d"], keys: [key] }), {
        ok: false,
        reason: "signature",
      });
    }
  });

  it("rejects an expired token but honours the skew", () => {
    assert.deepEqual(check(HUB_TOKEN, { nowSec: 1800000301 }), { ok: false, reason: "expired" });
    assert.deepEqual(check(HUB_TOKEN, { nowSec: 1800000300 }), { ok: true, keyIndex: 0 });
  });

  it("rejects a token living longer than maxLifetimeSec plus skew", () => {
    assert.deepEqual(check(HUB_TOKEN, { maxLifetimeSec: 3600 }), { ok: false, reason: "lifetime" });
    assert.deepEqual(check(HUB_TOKEN, { maxLifetimeSec: 9700 }), { ok: true, keyIndex: 0 });
  });

  it("rejects a token for another resource", () => {
    assert.deepEqual(check(HUB_TOKEN, { expectedResources: ["pumps.example.com/devices/pump-0002"] }), {
      ok: false,
      reason: "resource",
    });
    assert.deepEqual(check(DPS_RAW_TOKEN, { expectedResources: [HUB_RESOURCE] }), {
      ok: false,
      reason: "resource",
    });
  });

  it("compares the resource case-insensitively after URL-decoding", () => {
    assert.deepEqual(check(HUB_TOKEN, { expectedResources: ["PUMPS.Example.com/DEVICES/pump-0001"] }), {
      ok: true,
      keyIndex: 0,
    });
  });

  it("reports an undecodable sr as a resource failure", () => {
    assert.deepEqual(check("SharedAccessSignature sr=a%E0%A4%A&sig=abc&se=1800000000"), {
      ok: false,
      reason: "resource",
    });
  });

  it("accepts an sr that carries the host's port", () => {
    const resource = "localhost:40197/devices/pump-0001";
    const token = createSas({ resourceUri: resource, key: KEY, expiresAt: 1800000000 });
    assert.match(token, /^SharedAccessSignature sr=localhost%3A40197%2Fdevices%2Fpump-0001&sig=/);
    assert.deepEqual(check(token, { expectedResources: [resource] }), { ok: true, keyIndex: 0 });
  });

  it("accepts a token whose fields come in another order", () => {
    const t = parsed(HUB_TOKEN);
    const reordered = `SharedAccessSignature se=${t.se}&sig=${t.sig}&sr=${t.sr}`;
    assert.deepEqual(check(reordered), { ok: true, keyIndex: 0 });
  });

  it("rejects a missing or different key name when one is required", () => {
    assert.deepEqual(check(HUB_TOKEN, { requiredKeyName: "registration" }), { ok: false, reason: "keyName" });
    const other = createSas({ resourceUri: DPS_RESOURCE, key: KEY, expiresAt: 1800000000, keyName: "owner" });
    assert.deepEqual(check(other, { requiredKeyName: "registration" }), { ok: false, reason: "keyName" });
  });

  it("reports a non-numeric se or an undecodable sig as malformed", () => {
    assert.deepEqual(check(HUB_TOKEN.replace("se=1800000000", "se=18e8")), {
      ok: false,
      reason: "malformed",
    });
    assert.deepEqual(check(HUB_TOKEN.replace("se=1800000000", "se=-1")), { ok: false, reason: "malformed" });
    assert.deepEqual(check(HUB_TOKEN.replace("sig=tVAD", "sig=%ZZtVAD")), { ok: false, reason: "malformed" });
  });

  it("refuses more than two keys", () => {
    assert.throws(() => check(HUB_TOKEN, { keys: [KEY, KEY, KEY] }), RangeError);
  });
});
