import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The code measured: git HEAD and a hash of src/analytics/*.ts as loaded (the working tree may
 * differ from HEAD while the analytics is being worked on).
 */
export function sourceVersion(): { head: string | null; analyticsSrc: string } {
  const dir = fileURLToPath(new URL("../src/analytics/", import.meta.url));
  const h = createHash("sha256");
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .sort()) {
    h.update(f).update(readFileSync(join(dir, f)));
  }
  let head: string | null = null;
  try {
    head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", timeout: 5000 }).trim();
  } catch {
    head = null;
  }
  return { head, analyticsSrc: h.digest("hex").slice(0, 12) };
}
