import { parseJsonObject } from "../core/json.js";
import type { Metrics } from "../core/metrics.js";
import type { RegistryStore, Twin } from "../store/ports.js";
import type { HubTopic } from "./topics.js";
import { twinResponseTopic } from "./topics.js";

/** Azure's limit for the reported properties document (azure-protocol.md §8). */
const MAX_REPORTED_BYTES = 32 * 1024;

/** Twin document as the SDK reads it: top-level desired and reported with their versions (§5.5). */
export function twinDocument(t: Twin): Record<string, unknown> {
  return {
    desired: { ...t.desired, $version: t.desiredVersion },
    reported: { ...t.reported, $version: t.reportedVersion },
  };
}

/**
 * Answers a device's twin request (GET, or PATCH of reported properties) with the response topic
 * and payload to send it. Errors carry `{"errorCode","message"}` in the body, because the SDK ignores
 * the status number (§5.5, §9.8); a store failure becomes a 500 the device can retry.
 */
export async function twinRequest(
  deps: { registry: RegistryStore; metrics: Metrics },
  deviceId: string,
  topic: Extract<HubTopic, { kind: "twinGet" | "twinPatchReported" }>,
  body: Buffer,
): Promise<{ topic: string; payload: string; error?: Error }> {
  try {
    if (topic.kind === "twinGet") {
      deps.metrics.twinOps.inc({ op: "get" });
      const twin = await deps.registry.getTwin(deviceId);
      return { topic: twinResponseTopic(200, topic.rid), payload: JSON.stringify(twinDocument(twin)) };
    }
    deps.metrics.twinOps.inc({ op: "patch_reported" });
    const patch = parseJsonObject(body.toString("utf8"));
    if (!patch || body.length > MAX_REPORTED_BYTES) {
      return {
        topic: twinResponseTopic(400, topic.rid),
        payload: JSON.stringify({
          errorCode: 400004,
          message: "reported patch must be a JSON object of at most 32 KiB",
        }),
      };
    }
    const twin = await deps.registry.patchTwin(deviceId, "reported", patch);
    return { topic: twinResponseTopic(204, topic.rid, twin.reportedVersion), payload: "" };
  } catch (err) {
    deps.metrics.twinOps.inc({ op: "failed" });
    return {
      error: err as Error,
      topic: twinResponseTopic(500, topic.rid),
      payload: JSON.stringify({ errorCode: 500000, message: "twin operation failed; retry later" }),
    };
  }
}
