import { readFileSync } from "node:fs";

/**
 * The agent's version: pumpwatch's package version, read at run time because package.json is
 * outside the compiled tree (src/ and dist/ are both two levels below it).
 */
export const AGENT_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "0.0.0";
  } catch {
    return "0.0.0";
  }
})();

/** Product name sent as `DeviceClientType` / `ClientVersion` (azure-protocol.md §3.1, §5.1). */
export const AGENT_PRODUCT = `pumpwatch-agent/${AGENT_VERSION}`;
