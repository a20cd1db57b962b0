import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rmdir } from "node:fs/promises";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { WEB_ROOT } from "../../src/api/web-route.js";

/**
 * A real headless Chromium for dashboard tests: Debian's `chromium` (or PUMPWATCH_CHROMIUM), driven
 * by playwright-core (which never downloads a browser). In CI the browser is part of the machine
 * (.ci/run installs it), so its absence fails there; elsewhere the suite is skipped saying how to
 * install it.
 */

const INSTALL_HINT = "apt-get install -y chromium";
const BUILD_TIMEOUT_MS = 120_000;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The Chromium executable: PUMPWATCH_CHROMIUM, else `chromium` or `chromium-browser` on the PATH. */
export function findChromium(): string | undefined {
  const named = process.env.PUMPWATCH_CHROMIUM;
  if (named) return existsSync(named) ? named : undefined;
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      const path = execFileSync("which", [name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
        .trim()
        .split("\n")[0];
      if (path && existsSync(path)) return path;
    } catch {
      // Not on the PATH: try the next name.
    }
  }
  return undefined;
}

/** Why no browser can be used, or undefined when it can. */
export function chromiumUnavailable(): string | undefined {
  if (findChromium()) return undefined;
  const named = process.env.PUMPWATCH_CHROMIUM;
  return named
    ? `chromium not found at PUMPWATCH_CHROMIUM=${named}`
    : `chromium not found: ${INSTALL_HINT} (or set PUMPWATCH_CHROMIUM)`;
}

/**
 * A suite that needs Chromium, as `describePostgres` (test/helpers/postgres.ts) for PostgreSQL: with
 * CI set a missing browser fails the run, elsewhere the suite is skipped with the reason.
 */
export function describeBrowser(name: string, opts: { timeout?: number }, body: () => void): void {
  const unavailable = chromiumUnavailable();
  if (!unavailable) return void describe(name, opts, body);
  describe(name, () => {
    if (process.env.CI) {
      it("needs Chromium in CI", () => {
        assert.fail(`${unavailable}; CI is set, so chromium is required`);
      });
    } else
      it("runs in headless Chromium", { skip: `${unavailable}: skipped; set CI to require it` }, () => {});
  });
}

/** Launches headless Chromium; close it with `browser.close()`. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(chromiumUnavailable());
  return chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds the dashboard (`vite build`, bounded) when this checkout has no `dist/web/index.html` yet;
 * CI builds it in `npm ci`. Test files run in parallel processes: a lock folder lets one build while
 * the others wait for it.
 */
export async function ensureWebBuilt(): Promise<void> {
  const index = fileURLToPath(new URL("index.html", WEB_ROOT));
  if (existsSync(index)) return;
  const lock = fileURLToPath(new URL("../.web-build.lock", WEB_ROOT));
  await mkdir(fileURLToPath(new URL("..", WEB_ROOT)), { recursive: true });
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // Another test process is building: wait for its result.
      if (existsSync(index)) return;
      if (Date.now() > deadline)
        throw new Error(`waited ${BUILD_TIMEOUT_MS} ms for ${lock} (stale? remove it)`);
      await sleep(250);
    }
  }
  try {
    if (existsSync(index)) return;
    await new Promise<void>((resolve, reject) => {
      const child = spawn("npx", ["vite", "build", "--config", "web/vite.config.ts"], {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), BUILD_TIMEOUT_MS);
      child.on("error", reject);
      child.on("exit", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`vite build failed (${code}): ${stderr}`));
      });
    });
  } finally {
    await rmdir(lock).catch(() => {});
  }
}
