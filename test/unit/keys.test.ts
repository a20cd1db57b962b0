import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deriveDeviceKey, generateKey, ID_PATTERN, isBase64Key, isValidId } from "../../src/core/keys.js";

describe("deriveDeviceKey", () => {
  it("reproduces the documented group-enrollment vector (azure-protocol.md §2)", () => {
    const groupKey =
      "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==";
    assert.equal(
      deriveDeviceKey(groupKey, "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6"),
      "Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc=",
    );
  });

  it("derives different keys for different registration ids", () => {
    const groupKey = generateKey(64);
    assert.notEqual(deriveDeviceKey(groupKey, "pump-0001"), deriveDeviceKey(groupKey, "pump-0002"));
  });

  it("refuses a group key that is not valid base64", () => {
    assert.throws(() => deriveDeviceKey("", "pump-0001"), TypeError);
    assert.throws(() => deriveDeviceKey("not base64!", "pump-0001"), TypeError);
  });
});

describe("generateKey", () => {
  it("returns 32 random bytes as base64 by default", () => {
    const key = generateKey();
    assert.equal(Buffer.from(key, "base64").length, 32);
    assert.ok(isBase64Key(key));
    assert.notEqual(generateKey(), key);
  });

  it("honours the requested length and rejects nonsense", () => {
    assert.equal(Buffer.from(generateKey(64), "base64").length, 64);
    assert.throws(() => generateKey(0), RangeError);
    assert.throws(() => generateKey(1.5), RangeError);
  });
});

describe("isBase64Key", () => {
  it("accepts canonical padded base64 and rejects everything else", () => {
    for (const ok of ["BwcHBw==", "BwcHBwc=", "BwcHBwcH", "+/+/"]) assert.equal(isBase64Key(ok), true, ok);
    for (const bad of ["", "BwcHBw", "Bw-_", "BwcH\n", "Bw==Bw==", "====", "a b="]) {
      assert.equal(isBase64Key(bad), false, JSON.stringify(bad));
    }
  });
});

describe("isValidId", () => {
  it("accepts lower-case alphanumeric ids with - . _ : inside", () => {
    for (const id of [
      "a",
      "7",
      "pump-0001",
      "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6",
      "a.b_c:d-e",
      "a-",
      "a".repeat(128),
    ]) {
      assert.equal(isValidId(id), true, id);
    }
  });

  it("rejects empty, over-long, upper-case and special-character ids", () => {
    for (const id of [
      "",
      "a".repeat(129),
      "Pump-0001",
      "-a",
      ".a",
      "a.",
      "a_",
      "a:",
      "a/b",
      "a#b",
      "a+b",
      "a%b",
      "a b",
      "a\n",
      "pümp",
      "$iothub",
    ]) {
      assert.equal(isValidId(id), false, JSON.stringify(id));
    }
  });

  it("exposes the same rule as ID_PATTERN", () => {
    assert.equal(ID_PATTERN.test("pump-0001"), true);
    assert.equal(ID_PATTERN.test("pump-0001."), false);
  });
});
