import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  classifySubscription,
  desiredPatchTopic,
  dpsResponseTopic,
  formatPropertyBag,
  parsePropertyBag,
  parsePublishTopic,
  parseUsername,
  twinResponseTopic,
} from "../../src/gateway/topics.js";

const RID = "adc9fb19-1b5e-4a8f-9a5c-0f1e2d3c4b5a";
const WIRE_BAG =
  "%24.mid=msg-1&%24.cid=corr%201&%24.ct=application%2Fjson&alarm=true&unit%20name=a%2Fb%26c%3Dd";

describe("parsePropertyBag", () => {
  it("decodes the SDK's percent-encoded system keys and application properties (§5.3)", () => {
    assert.deepEqual(
      parsePropertyBag(WIRE_BAG),
      new Map([
        ["$.mid", "msg-1"],
        ["$.cid", "corr 1"],
        ["$.ct", "application/json"],
        ["alarm", "true"],
        ["unit name", "a/b&c=d"],
      ]),
    );
  });

  it("returns an empty map for an empty bag", () => {
    assert.deepEqual(parsePropertyBag(""), new Map());
  });

  it("does not turn '+' into a space", () => {
    assert.deepEqual(parsePropertyBag("a+b=c+d"), new Map([["a+b", "c+d"]]));
  });

  it("maps an item without '=' to the empty string and splits at the first '='", () => {
    assert.deepEqual(
      parsePropertyBag("flag&x=1=2&y="),
      new Map([
        ["flag", ""],
        ["x", "1=2"],
        ["y", ""],
      ]),
    );
  });

  it("returns undefined on a decoding error", () => {
    assert.equal(parsePropertyBag("a=%E0%A4%A"), undefined);
    assert.equal(parsePropertyBag("%zz=1"), undefined);
  });
});

describe("formatPropertyBag", () => {
  it("URI-encodes keys and values so the bag round-trips", () => {
    const props = {
      "$.mid": "m1",
      "$.to": "/devices/pump-0001/messages/deviceBound",
      myProp: "a b",
      "k&=": "v&=",
    };
    const bag = formatPropertyBag(props);
    assert.equal(
      bag,
      "%24.mid=m1&%24.to=%2Fdevices%2Fpump-0001%2Fmessages%2FdeviceBound&myProp=a%20b&k%26%3D=v%26%3D",
    );
    assert.deepEqual(parsePropertyBag(bag), new Map(Object.entries(props)));
  });

  it("formats an empty record as an empty string", () => {
    assert.equal(formatPropertyBag({}), "");
  });
});

describe("parsePublishTopic", () => {
  it("parses the wire telemetry topic with its property bag", () => {
    const topic = parsePublishTopic(`devices/pump-0001/messages/events/${WIRE_BAG}`);
    assert.ok(topic?.kind === "telemetry");
    assert.equal(topic.deviceId, "pump-0001");
    assert.equal(topic.properties.get("$.ct"), "application/json");
    assert.equal(topic.properties.get("unit name"), "a/b&c=d");
  });

  it("accepts telemetry with an empty bag but requires the slash after events", () => {
    assert.deepEqual(parsePublishTopic("devices/pump-0001/messages/events/"), {
      kind: "telemetry",
      deviceId: "pump-0001",
      properties: new Map(),
    });
    assert.equal(parsePublishTopic("devices/pump-0001/messages/events"), undefined);
  });

  it("rejects telemetry topics with extra levels, module paths or undecodable bags", () => {
    for (const t of [
      "devices/pump-0001/messages/events/a=1/b=2",
      "devices/pump-0001/modules/m1/messages/events/",
      "devices//messages/events/",
      "devices/pump-0001/messages/events/a=%E0%A4%A",
      "devices/pump-0001/messages/devicebound/",
    ]) {
      assert.equal(parsePublishTopic(t), undefined, t);
    }
  });

  it("parses the twin GET and reported-PATCH requests (§5.5)", () => {
    assert.deepEqual(parsePublishTopic(`$iothub/twin/GET/?$rid=${RID}`), { kind: "twinGet", rid: RID });
    assert.deepEqual(parsePublishTopic(`$iothub/twin/PATCH/properties/reported/?$rid=${RID}`), {
      kind: "twinPatchReported",
      rid: RID,
    });
  });

  it("parses a method response with its status (§5.6)", () => {
    assert.deepEqual(parsePublishTopic("$iothub/methods/res/200/?$rid=abc1"), {
      kind: "methodResponse",
      status: 200,
      rid: "abc1",
    });
    assert.equal(parsePublishTopic("$iothub/methods/res/abc/?$rid=abc1"), undefined);
    assert.equal(parsePublishTopic("$iothub/methods/res//?$rid=abc1"), undefined);
  });

  it("parses the DPS register and poll requests (§3.2)", () => {
    assert.deepEqual(parsePublishTopic(`$dps/registrations/PUT/iotdps-register/?$rid=${RID}`), {
      kind: "dpsRegister",
      rid: RID,
    });
    assert.deepEqual(
      parsePublishTopic(
        `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${RID}&operationId=4.0123abc`,
      ),
      { kind: "dpsPoll", rid: RID, operationId: "4.0123abc" },
    );
    assert.equal(
      parsePublishTopic(`$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${RID}`),
      undefined,
    );
  });

  it("keeps the rid as decoded text", () => {
    assert.deepEqual(parsePublishTopic("$iothub/twin/GET/?$rid=a%20b%26c"), {
      kind: "twinGet",
      rid: "a b&c",
    });
    assert.deepEqual(parsePublishTopic("$iothub/twin/GET/?%24rid=r1&other=x"), {
      kind: "twinGet",
      rid: "r1",
    });
  });

  it("rejects a missing, empty or repeated $rid", () => {
    for (const t of [
      "$iothub/twin/GET/",
      "$iothub/twin/GET/?",
      "$iothub/twin/GET/?$rid=",
      "$iothub/twin/GET/?$rid",
      "$iothub/twin/GET/?rid=1",
      "$iothub/twin/GET/?$rid=1&$rid=2",
      "$iothub/twin/GET/?$rid=1&%24rid=1",
      "$dps/registrations/PUT/iotdps-register/?$rid=1&$rid=1",
      "$iothub/twin/GET/?$rid=%E0%A4%A",
    ]) {
      assert.equal(parsePublishTopic(t), undefined, t);
    }
  });

  it("rejects topics with the wrong case (§9.17)", () => {
    for (const t of [
      "Devices/pump-0001/messages/events/",
      "devices/pump-0001/Messages/events/",
      "$iothub/twin/get/?$rid=1",
      "$IOTHUB/twin/GET/?$rid=1",
      "$iothub/twin/patch/properties/reported/?$rid=1",
      "$iothub/Methods/res/200/?$rid=1",
      "$dps/registrations/put/iotdps-register/?$rid=1",
      "$dps/registrations/GET/IOTDPS-get-operationstatus/?$rid=1&operationId=x",
    ]) {
      assert.equal(parsePublishTopic(t), undefined, t);
    }
  });

  it("rejects wildcards, non-printable and non-ASCII characters", () => {
    for (const t of [
      "devices/+/messages/events/",
      "devices/pump-0001/messages/events/#",
      "devices/pump-0001/messages/events/a=#",
      "$iothub/twin/GET/?$rid=+",
      "devices/pump-0001/messages/events/a=b c",
      "devices/pump-0001/messages/events/a=\u0000",
      "devices/pump-0001/messages/events/a=\n",
      "devices/pümp/messages/events/",
      "$iothub/twin/GET/?$rid=ä",
      "",
    ]) {
      assert.equal(parsePublishTopic(t), undefined, JSON.stringify(t));
    }
  });

  it("rejects server-to-device and unknown topics", () => {
    for (const t of [
      "$iothub/twin/res/200/?$rid=1",
      "$iothub/twin/PATCH/properties/desired/?$version=1",
      "$iothub/methods/POST/reboot/?$rid=1",
      "$dps/registrations/res/200/?$rid=1",
      "$iothub/twin/GET?$rid=1",
      "$iothub/twin/GET/extra/?$rid=1",
      "foo/bar",
    ]) {
      assert.equal(parsePublishTopic(t), undefined, t);
    }
  });
});

describe("classifySubscription", () => {
  it("recognises each filter the SDK subscribes to", () => {
    assert.equal(classifySubscription("devices/pump-0001/messages/devicebound/#", "pump-0001"), "c2d");
    assert.equal(classifySubscription("$iothub/methods/POST/#", "pump-0001"), "methods");
    assert.equal(classifySubscription("$iothub/twin/res/#", "pump-0001"), "twinResponses");
    assert.equal(classifySubscription("$iothub/twin/PATCH/properties/desired/#", "pump-0001"), "twinDesired");
    assert.equal(classifySubscription("$dps/registrations/res/#", "pump-0001"), "dpsResponses");
  });

  it("rejects another device's C2D filter and every other filter", () => {
    for (const f of [
      "devices/pump-0002/messages/devicebound/#",
      "devices/+/messages/devicebound/#",
      "devices/#",
      "#",
      "$iothub/#",
      "$iothub/twin/+/#",
      "devices/pump-0001/messages/devicebound/+",
      "devices/pump-0001/messages/devicebound",
      "devices/pump-0001/messages/events/#",
      "$iothub/methods/post/#",
      "$iothub/twin/RES/#",
      "$iothub/twin/PATCH/properties/desired",
      "$dps/registrations/res/+",
      "",
    ]) {
      assert.equal(classifySubscription(f, "pump-0001"), undefined, f);
    }
  });
});

describe("response topics", () => {
  it("formats twin responses with and without a version (§5.5)", () => {
    assert.equal(twinResponseTopic(200, RID), `$iothub/twin/res/200/?$rid=${RID}`);
    assert.equal(twinResponseTopic(204, "35df", 4), "$iothub/twin/res/204/?$rid=35df&$version=4");
  });

  it("formats desired-property patches (§5.5)", () => {
    assert.equal(desiredPatchTopic(7), "$iothub/twin/PATCH/properties/desired/?$version=7");
  });

  it("formats DPS responses with and without retry-after (§3.2)", () => {
    assert.equal(dpsResponseTopic(202, RID, 3), `$dps/registrations/res/202/?$rid=${RID}&retry-after=3`);
    assert.equal(dpsResponseTopic(200, RID), `$dps/registrations/res/200/?$rid=${RID}`);
  });

  it("round-trips an unusual rid through the request and response topics", () => {
    const parsed = parsePublishTopic("$iothub/twin/GET/?$rid=a%20b%26c%3Dd%2B");
    assert.ok(parsed?.kind === "twinGet");
    const response = twinResponseTopic(200, parsed.rid);
    assert.equal(response, "$iothub/twin/res/200/?$rid=a%20b%26c%3Dd%2B");
    assert.equal(new URLSearchParams(response.split("?")[1]).get("$rid"), "a b&c=d+");
  });
});

describe("parseUsername", () => {
  it("parses the wire DPS user name without '?' (§3.1)", () => {
    assert.deepEqual(
      parseUsername(
        "0ne0000TEST/registrations/pump-0001/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1",
      ),
      {
        kind: "dps",
        idScope: "0ne0000TEST",
        registrationId: "pump-0001",
        query: new Map([
          ["api-version", "2019-03-31"],
          ["ClientVersion", "azure-iot-provisioning-device/1.9.1"],
        ]),
      },
    );
  });

  it("accepts the DPS user name with '/?'", () => {
    const u = parseUsername("0ne0000TEST/registrations/pump-0001/?api-version=2019-03-31");
    assert.ok(u?.kind === "dps");
    assert.equal(u.registrationId, "pump-0001");
    assert.equal(u.query.get("api-version"), "2019-03-31");
  });

  it("parses the wire hub user name with the host's port (§5.1)", () => {
    assert.deepEqual(
      parseUsername(
        "localhost:40197/pump-0001/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)",
      ),
      {
        kind: "hub",
        host: "localhost:40197",
        deviceId: "pump-0001",
        query: new Map([
          ["api-version", "2021-04-12"],
          ["DeviceClientType", "azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)"],
        ]),
      },
    );
  });

  it("accepts the older hub form without '?' and an unencoded model-id", () => {
    const u = parseUsername(
      "pumps.example.com/pump-0001/api-version=2016-11-14&model-id=dtmi:com:example:Pump;1",
    );
    assert.ok(u?.kind === "hub");
    assert.equal(u.deviceId, "pump-0001");
    assert.equal(u.moduleId, undefined);
    assert.equal(u.query.get("model-id"), "dtmi:com:example:Pump;1");
  });

  it("parses a module user name", () => {
    const u = parseUsername("pumps.example.com/pump-0001/edge-agent/?api-version=2021-04-12");
    assert.ok(u?.kind === "hub");
    assert.equal(u.deviceId, "pump-0001");
    assert.equal(u.moduleId, "edge-agent");
  });

  it("rejects malformed user names", () => {
    for (const u of [
      "",
      "pumps.example.com",
      "pumps.example.com/pump-0001",
      "pumps.example.com/?api-version=2021-04-12",
      "pumps.example.com//?api-version=2021-04-12",
      "/pump-0001/?api-version=2021-04-12",
      "pumps.example.com/pump-0001?api-version=2021-04-12",
      "a/b/c/d/?api-version=2021-04-12",
      "0ne0000TEST/registrations/api-version=2019-03-31",
      "0ne0000TEST/registrations/pump-0001/extra/api-version=2019-03-31",
      "pumps.example.com/pump-0001/?api-version=1&api-version=2",
      "pumps.example.com/pump-0001/?DeviceClientType=%E0%A4%A",
    ]) {
      assert.equal(parseUsername(u), undefined, u);
    }
  });
});
