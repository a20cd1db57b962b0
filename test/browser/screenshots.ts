/**
 * Screenshots of the dashboard's main views for the README and docs, in English and German, at
 * 1280×800: `npm run screenshots` (builds the dashboard, then writes docs/screenshots/*.png). Runs a
 * whole pumpwatch over HTTPS with plausible seeded data (test/browser/seed.ts) in headless Chromium.
 * Not part of `npm test`.
 */
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { chromiumUnavailable, ensureWebBuilt, launchChromium } from "../helpers/browser.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { commitTelemetry, createPump, createUser, PASSWORD, seedCompany, telemetry } from "./seed.js";

const OUT = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
const DAY = 86_400_000;

async function seed(s: TestServer) {
  const now = Date.now();
  const base = await seedCompany(s, now);
  const more: [string, string, string][] = [
    ["acme-rv-03", "RV-630 rotary vane", "RV630-1004"],
    ["acme-rv-04", "RV-160 rotary vane", "RV160-1005"],
    ["acme-cl-01", "CL-400 claw", "CL400-4001"],
    ["acme-sc-02", "SC-250 screw", "SC250-3004"],
  ];
  for (const [id, model, serial] of more) await createPump(s, base.company, id, { model, serial });
  // A month of data for every other pump, so the fleet shows recent data throughout.
  let seedNo = 11;
  for (const id of [...base.pumps.slice(1), ...more.map((m) => m[0])])
    await commitTelemetry(s, id, telemetry(now - 30 * DAY, now - 5 * 60_000, seedNo++));
  await s.stores.analytics.raiseAlarm({
    deviceId: "acme-sc-01",
    type: "rule:vibration",
    severity: "warning",
    ts: now - 3 * 3_600_000,
    message: "Vibration rising: 4.6 mm/s (limit 4.5 mm/s)",
    signals: ["vibration"],
    diagnosis: null,
  });
  await s.stores.analytics.addMaintenance(
    {
      deviceId: base.pump,
      ts: now - 40 * DAY,
      action: "oilChange",
      note: "Oil and filter changed",
      actor: "operator",
    },
    now,
  );
  await createUser(s, base.company, "companyUser", "technician@acme.test");
  await createUser(s, null, "operatorAdmin", "ops@pumpwatch.test");
  // Run the analytics over the last three days, as ingest would have: health, last data and
  // forecasts then show what a live installation shows.
  for (const id of [...base.pumps, ...more.map((m) => m[0])]) {
    const samples = await s.stores.telemetry.querySamples(id, now - 3 * DAY, now, 100_000);
    s.analytics.enqueue([
      { kind: "accept", deviceId: id, messageId: `${id}-replay`, receivedAt: now, samples },
    ]);
    await s.analytics.drainDevice(id);
  }
  await s.analytics.flush();
  return base;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${OUT}${name}.png` });
  process.stdout.write(`docs/screenshots/${name}.png\n`);
}

async function main(): Promise<void> {
  const unavailable = chromiumUnavailable();
  if (unavailable) throw new Error(unavailable);
  await ensureWebBuilt();
  await mkdir(OUT, { recursive: true });
  const s = await startTestServer();
  const browser = await launchChromium();
  try {
    const seeded = await seed(s);
    const origin = `https://127.0.0.1:${s.httpsPort}`;
    const open = async (locale: string): Promise<BrowserContext> =>
      browser.newContext({ ignoreHTTPSErrors: true, locale, viewport: { width: 1280, height: 800 } });

    for (const lang of ["en", "de"] as const) {
      const ctx = await open(lang === "de" ? "de-DE" : "en-GB");
      const page = await ctx.newPage();
      await page.goto(`${origin}/#/login`);
      await page.locator(`[data-test="language-${lang}"]`).click();
      await page.locator('[data-test="login-email"]').fill(seeded.adminEmail);
      await shot(page, `login-${lang}`);
      await page.locator('[data-test="login-password"]').fill(PASSWORD);
      await page.locator('[data-test="login-submit"]').click();
      await page.locator('[data-test="pump-row"]').first().waitFor();
      await shot(page, `fleet-${lang}`);

      await page.goto(`${origin}/#/pump/${seeded.pump}`);
      await page.locator('[data-test="chart"] canvas').first().waitFor();
      await page.locator('[data-test="range"] button', { hasText: "7d" }).click();
      await page.waitForTimeout(800);
      await shot(page, `pump-${lang}`);
      // The charts themselves, further down the page.
      await page.evaluate(`document.querySelector('[data-test="range"]').closest(".card").scrollIntoView()`);
      await shot(page, `pump-charts-${lang}`);

      await page.goto(`${origin}/#/alarms`);
      await page.locator('[data-test="alarm-row"]').first().waitFor();
      await shot(page, `alarms-${lang}`);

      for (const view of ["kpis", "contract", "admin"] as const) {
        await page.goto(`${origin}/#/${view}`);
        await page.locator("main.content section").first().waitFor();
        await page.waitForTimeout(600);
        await shot(page, `${view}-${lang}`);
      }
      await ctx.close();
    }

    // The operator's console (an operator admin has no company).
    const ctx = await open("en-GB");
    const page = await ctx.newPage();
    await page.goto(`${origin}/#/login`);
    await page.locator('[data-test="language-en"]').click();
    await page.locator('[data-test="login-email"]').fill("ops@pumpwatch.test");
    await page.locator('[data-test="login-password"]').fill(PASSWORD);
    await page.locator('[data-test="login-submit"]').click();
    await page.locator('[data-test="pump-row"]').first().waitFor();
    await page.goto(`${origin}/#/operator`);
    await page.locator("main.content section").first().waitFor();
    await page.waitForTimeout(600);
    await shot(page, "operator-en");
    await ctx.close();
  } finally {
    await browser.close();
    await s.stop();
  }
}

await main();
