import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

/**
 * Paths to `fileName` in fresh temporary folders named `prefix…`, all removed after the test file's
 * tests. Call once at the top level of a test file: `const tempDb = tempFiles("pumpwatch-x-", "pumpwatch.db")`.
 */
export function tempFiles(prefix: string, fileName: string): () => Promise<string> {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return join(dir, fileName);
  };
}
