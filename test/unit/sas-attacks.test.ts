/**
 * SAS forgery matrix at the verifier (reliability.md §6 test 11, 12): at least 10,000 forged, mutated,
 * expired, wrong-audience, wrong key-name and replayed tokens, derived from valid ones with a seeded
 * generator, are all refused; 1,000 valid tokens are all accepted. The hub check is called exactly as
 * the gateway and the device HTTPS routes call it, the provisioning check as DPS does.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { deriveDeviceKey, generateKey } from "../../src/core/keys.js";
import { parseSas, type SasCheck, verifySas } from "../../src/core/sas.js";
import { int, pick, rng } from "../helpers/random.js";
import { type Dev, sasForgeries, type Target } from "../helpers/sas-forgery.js";

const HUB = "pumps.example.com";
const ID_SCOPE = "0ne00000A1";
const NOW = 1_800_000_000;
const SKEW = 300;
const DEVICES = 1000;

function hubCheck(password: string, dev: Dev, nowSec = NOW): SasCheck | "unparsable" {
  const token = parseSas(password);
  if (!token) return "unparsable";
  return verifySas(token, {
    expectedResources: [`${HUB}/devices/${dev.id}`],
    keys: [dev.primaryKey, dev.secondaryKey],
    nowSec,
    skewSec: SKEW,
    noKeyName: true,
  });
}

function dpsCheck(password: string, dev: Dev, nowSec = NOW): SasCheck | "unparsable" {
  const token = parseSas(password);
  if (!token) return "unparsable";
  return verifySas(token, {
    expectedResources: [`${ID_SCOPE}/registrations/${dev.id}`],
    keys: [dev.primaryKey, dev.secondaryKey],
    nowSec,
    skewSec: SKEW,
    requiredKeyName: "registration",
  });
}

function check(t: Target, password: string, nowSec = NOW): SasCheck | "unparsable" {
  return t.kind === "hub" ? hubCheck(password, t.dev, nowSec) : dpsCheck(password, t.dev, nowSec);
}

function accepted(r: SasCheck | "unparsable"): boolean {
  return r !== "unparsable" && r.ok;
}

const GROUP_KEY = generateKey();
const devices: Dev[] = Array.from({ length: DEVICES }, (_, i) => {
  const id = `pump-${String(i + 1).padStart(4, "0")}`;
  // Half of them provisioned from a group: their keys derive from the group key.
  return i % 2 === 0
    ? { id, primaryKey: deriveDeviceKey(GROUP_KEY, id), secondaryKey: generateKey() }
    : { id, primaryKey: generateKey(), secondaryKey: generateKey() };
});

const {
  valid,
  forgeries: FORGERIES,
  mutate,
  sameSignedContent,
} = sasForgeries({
  hub: HUB,
  idScope: ID_SCOPE,
  nowSec: NOW,
  skewSec: SKEW,
  devices,
  groupKey: GROUP_KEY,
});

describe("SAS forgery matrix (verifier level)", () => {
  it("accepts 1,000 valid tokens: hub and DPS, primary and secondary key, within the skew", () => {
    const r = rng(1);
    let rejected = 0;
    for (let i = 0; i < 1000; i++) {
      const t: Target = { kind: i % 4 === 3 ? "dps" : "hub", dev: devices[i]! };
      const key = i % 3 === 0 ? t.dev.secondaryKey : t.dev.primaryKey;
      // Expiry anywhere from "just inside the skew" to a year ahead.
      const se = pick(r, [NOW - SKEW, NOW - int(r, 0, SKEW), NOW + int(r, 1, 365 * 86_400)]);
      const token = valid(t, { key, se });
      if (!accepted(check(t, token))) rejected++;
    }
    assert.equal(rejected, 0);
  });

  it("refuses at least 10,000 forged, mutated, expired, wrong-audience and wrong-key-name tokens", () => {
    const r = rng(2);
    const names = Object.keys(FORGERIES);
    const perKind: Record<string, number> = {};
    let forged = 0;
    let acceptedForged = 0;
    const examples: string[] = [];
    for (let i = 0; forged < 8000; i++) {
      const name = names[i % names.length]!;
      const t: Target = { kind: i % 3 === 2 ? "dps" : "hub", dev: pick(r, devices) };
      const token = FORGERIES[name]!(r, t);
      forged++;
      perKind[name] = (perKind[name] ?? 0) + 1;
      if (accepted(check(t, token))) {
        acceptedForged++;
        if (examples.length < 5) examples.push(`${name}: ${token}`);
      }
    }
    // Random character edits of valid tokens; an edit that leaves the signed content as it was
    // (e.g. %2F written %2f in the signature) is a genuine token and not counted.
    let mutated = 0;
    let unchanged = 0;
    for (let i = 0; mutated < 4000; i++) {
      const t: Target = { kind: i % 3 === 2 ? "dps" : "hub", dev: pick(r, devices) };
      const original = valid(t);
      const token = mutate(r, original);
      if (sameSignedContent(original, token)) {
        unchanged++;
        continue;
      }
      mutated++;
      if (accepted(check(t, token))) {
        acceptedForged++;
        if (examples.length < 5) examples.push(`mutation: ${JSON.stringify(token)}`);
      }
    }
    const total = forged + mutated;
    console.log(
      JSON.stringify({
        forgedAndMutated: total,
        accepted: acceptedForged,
        genuineEditsSkipped: unchanged,
        perKind,
      }),
    );
    assert.ok(total >= 10_000);
    assert.equal(acceptedForged, 0, examples.join("\n"));
  });

  it("tolerates exactly limits.sasSkewSec of clock skew on expiry (±1 s at the edge)", () => {
    const t: Target = { kind: "hub", dev: devices[0]! };
    for (const skew of [0, 60, 300]) {
      const ok = (se: number) => {
        const tok = parseSas(valid(t, { se }))!;
        const res = verifySas(tok, {
          expectedResources: [`${HUB}/devices/${t.dev.id}`],
          keys: [t.dev.primaryKey],
          nowSec: NOW,
          skewSec: skew,
          noKeyName: true,
        });
        return res.ok ? "ok" : res.reason;
      };
      assert.equal(ok(NOW - skew + 1), "ok", `skew ${skew}: inside`);
      assert.equal(ok(NOW - skew), "ok", `skew ${skew}: at the edge`);
      assert.equal(ok(NOW - skew - 1), "expired", `skew ${skew}: one second beyond`);
      assert.equal(ok(NOW + 1), "ok", `skew ${skew}: expires in one second`);
    }
  });

  it("reports expired only for genuine tokens, so a forged token learns nothing about expiry", () => {
    const t: Target = { kind: "hub", dev: devices[1]! };
    const r = hubCheck(valid(t, { key: generateKey(), se: NOW - 86_400 }), t.dev);
    assert.deepEqual(r, { ok: false, reason: "signature" });
  });

  it("compares signatures in constant time (crypto.timingSafeEqual)", () => {
    const src = readFileSync(new URL("../../src/core/sas.ts", import.meta.url), "utf8");
    assert.match(src, /timingSafeEqual\(want, given\)/);
    assert.doesNotMatch(src, /want\s*===\s*given|given\s*===\s*want/);
  });
});
