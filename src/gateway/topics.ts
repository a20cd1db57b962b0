/** Azure IoT Hub / DPS MQTT topic and user-name grammar (azure-protocol.md §3, §5). Pure; no I/O. */

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/**
 * Splits `k=v&k=v` into decoded pairs: each item at its first `=`, `decodeURIComponent` on both
 * sides, `+` is not a space (azure-protocol.md §5.3). A bare key maps to "". Empty items are skipped.
 * Undefined on a decoding error.
 */
function splitPairs(s: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  for (const item of s.split("&")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    const key = decode(eq < 0 ? item : item.slice(0, eq));
    const value = eq < 0 ? "" : decode(item.slice(eq + 1));
    if (key === undefined || value === undefined) return undefined;
    pairs.push([key, value]);
  }
  return pairs;
}

/** D2C/C2D property bag (azure-protocol.md §5.3, §5.4). Keys such as `%24.mid` decode to `$.mid`. */
export function parsePropertyBag(bag: string): Map<string, string> | undefined {
  const pairs = splitPairs(bag);
  return pairs && new Map(pairs);
}

/** `encodeURIComponent(key)=encodeURIComponent(value)` joined with `&` (azure-protocol.md §5.3, §5.4). */
export function formatPropertyBag(props: Record<string, string>): string {
  return Object.entries(props)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
}

/** Query of a request topic or user name: like the property bag, but a repeated key is rejected (§9.18). */
function parseQuery(query: string): Map<string, string> | undefined {
  const pairs = splitPairs(query);
  if (!pairs) return undefined;
  const map = new Map(pairs);
  return map.size === pairs.length ? map : undefined;
}

export type HubTopic =
  | { kind: "telemetry"; deviceId: string; properties: Map<string, string> }
  | { kind: "twinGet"; rid: string }
  | { kind: "twinPatchReported"; rid: string }
  | { kind: "methodResponse"; status: number; rid: string }
  | { kind: "dpsRegister"; rid: string }
  | { kind: "dpsPoll"; rid: string; operationId: string };

/** Request topics a device publishes, exact case-sensitive spellings (azure-protocol.md §3.2, §5.5, §5.6, §9.17). */
const TELEMETRY = /^devices\/([^/]+)\/messages\/events\/([^/]*)$/;
const TWIN_GET = /^\$iothub\/twin\/GET\/\?(.*)$/;
const TWIN_PATCH = /^\$iothub\/twin\/PATCH\/properties\/reported\/\?(.*)$/;
const METHOD_RES = /^\$iothub\/methods\/res\/(0|[1-9][0-9]{0,8})\/\?(.*)$/;
const DPS_REGISTER = /^\$dps\/registrations\/PUT\/iotdps-register\/\?(.*)$/;
const DPS_POLL = /^\$dps\/registrations\/GET\/iotdps-get-operationstatus\/\?(.*)$/;

/** Printable ASCII without MQTT wildcards, which are illegal in a PUBLISH topic name. */
const TOPIC_CHARS = /^[\x21-\x22\x24-\x2a\x2c-\x7e]+$/;

/** The non-empty `$rid` of a request query (azure-protocol.md §5.5, §9.18); kept decoded, echoed on reply. */
function ridOf(query: string | undefined): { rid: string; q: Map<string, string> } | undefined {
  const q = parseQuery(query ?? "");
  const rid = q?.get("$rid");
  return q && rid ? { rid, q } : undefined;
}

function withRid(
  query: string | undefined,
  build: (rid: string, q: Map<string, string>) => HubTopic | undefined,
): HubTopic | undefined {
  const r = ridOf(query);
  return r && build(r.rid, r.q);
}

const RULES: ReadonlyArray<[RegExp, (m: RegExpExecArray) => HubTopic | undefined]> = [
  [
    TELEMETRY,
    (m) => {
      const properties = parsePropertyBag(m[2] ?? "");
      return properties && { kind: "telemetry", deviceId: m[1] ?? "", properties };
    },
  ],
  [TWIN_GET, (m) => withRid(m[1], (rid) => ({ kind: "twinGet", rid }))],
  [TWIN_PATCH, (m) => withRid(m[1], (rid) => ({ kind: "twinPatchReported", rid }))],
  [METHOD_RES, (m) => withRid(m[2], (rid) => ({ kind: "methodResponse", status: Number(m[1]), rid }))],
  [DPS_REGISTER, (m) => withRid(m[1], (rid) => ({ kind: "dpsRegister", rid }))],
  [
    DPS_POLL,
    (m) =>
      withRid(m[1], (rid, q) => {
        const operationId = q.get("operationId");
        return operationId ? { kind: "dpsPoll", rid, operationId } : undefined;
      }),
  ],
];

/** Classifies a device PUBLISH topic; undefined for anything we do not serve (azure-protocol.md §5.7). */
export function parsePublishTopic(topic: string): HubTopic | undefined {
  if (!TOPIC_CHARS.test(topic)) return undefined;
  for (const [pattern, build] of RULES) {
    const m = pattern.exec(topic);
    if (m) return build(m);
  }
  return undefined;
}

export type SubscriptionKind = "c2d" | "methods" | "twinResponses" | "twinDesired" | "dpsResponses";

/** The only filters we grant (azure-protocol.md §3.2, §5.4–5.7); anything else → undefined (close the socket). */
const FIXED_FILTERS: ReadonlyMap<string, SubscriptionKind> = new Map([
  ["$iothub/methods/POST/#", "methods"],
  ["$iothub/twin/res/#", "twinResponses"],
  ["$iothub/twin/PATCH/properties/desired/#", "twinDesired"],
  ["$dps/registrations/res/#", "dpsResponses"],
]);

export function classifySubscription(filter: string, deviceId: string): SubscriptionKind | undefined {
  if (filter === `devices/${deviceId}/messages/devicebound/#`) return "c2d";
  return FIXED_FILTERS.get(filter);
}

/** `$iothub/twin/res/{status}/?$rid={rid}[&$version={v}]` (azure-protocol.md §5.5). */
export function twinResponseTopic(status: number, rid: string, version?: number): string {
  const v = version === undefined ? "" : `&$version=${version}`;
  return `$iothub/twin/res/${status}/?$rid=${encodeURIComponent(rid)}${v}`;
}

/** `$iothub/twin/PATCH/properties/desired/?$version={v}` (azure-protocol.md §5.5). */
export function desiredPatchTopic(version: number): string {
  return `$iothub/twin/PATCH/properties/desired/?$version=${version}`;
}

/** `$dps/registrations/res/{status}/?$rid={rid}[&retry-after={n}]` (azure-protocol.md §3.2, §9.2). */
export function dpsResponseTopic(status: number, rid: string, retryAfterSec?: number): string {
  const r = retryAfterSec === undefined ? "" : `&retry-after=${retryAfterSec}`;
  return `$dps/registrations/res/${status}/?$rid=${encodeURIComponent(rid)}${r}`;
}

export type ParsedUsername =
  | { kind: "hub"; host: string; deviceId: string; moduleId?: string; query: Map<string, string> }
  | { kind: "dps"; idScope: string; registrationId: string; query: Map<string, string> };

/**
 * CONNECT user name (azure-protocol.md §3.1, §5.1): `<host>/<deviceId>[/<moduleId>]/?<query>` or
 * `<idScope>/registrations/<regId>/<query>`, each with or without the `?`. The query starts at the
 * first segment that begins with `?` or contains `=`; path segments are returned raw.
 */
export function parseUsername(username: string): ParsedUsername | undefined {
  const segments = username.split("/");
  const at = segments.findIndex((s) => s.startsWith("?") || s.includes("="));
  if (at < 0) return undefined;
  const path = segments.slice(0, at);
  const query = parseQuery(segments.slice(at).join("/").replace(/^\?/, ""));
  if (!query || path.some((s) => s === "")) return undefined;
  const [first, second, third] = path;
  if (first === undefined || second === undefined || path.length > 3) return undefined;
  if (second === "registrations") {
    return third !== undefined ? { kind: "dps", idScope: first, registrationId: third, query } : undefined;
  }
  return {
    kind: "hub",
    host: first,
    deviceId: second,
    ...(third !== undefined && { moduleId: third }),
    query,
  };
}
