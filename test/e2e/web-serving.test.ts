import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import Fastify from "fastify";
import { webRoutes } from "../../src/api/web-route.js";
import { ensureWebBuilt } from "../helpers/browser.js";
import { ApiClient } from "../helpers/client.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

/**
 * The dashboard over real HTTPS: the built single-page app at `/`, its hashed assets with a long
 * cache and precompressed variants, and the security headers (strict CSP without any remote origin)
 * on every answer, the API's included.
 */

const CSP =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;font-src 'self';" +
  "connect-src 'self';object-src 'none';base-uri 'none';frame-ancestors 'none';form-action 'self'";

function header(res: { headers: Record<string, string | string[] | undefined> }, name: string): string {
  return String(res.headers[name] ?? "");
}

describe("the dashboard served over HTTPS", { timeout: 180_000 }, () => {
  let s: TestServer;
  let client: ApiClient;

  before(async () => {
    await ensureWebBuilt();
    s = await startTestServer();
    client = new ApiClient(s);
  });

  after(async () => {
    await s?.stop();
  });

  it("serves index.html at / with the strict CSP, no inline code and no cache", async () => {
    const res = await client.call("GET", "/");
    assert.equal(res.status, 200);
    assert.match(header(res, "content-type"), /^text\/html/);
    assert.equal(header(res, "content-security-policy"), CSP);
    assert.equal(header(res, "cache-control"), "no-cache");
    const html = res.raw.toString("utf8");
    assert.match(html, /<div id="app"><\/div>/);
    // Every script is a file of this origin: no inline script or style the CSP would block.
    for (const tag of html.match(/<script[^>]*>[\s\S]*?<\/script>/g) ?? []) {
      assert.match(tag, /^<script[^>]* src="\/assets\/[^"]+\.js"[^>]*><\/script>$/);
    }
    assert.doesNotMatch(html, /<style|style="/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "no third-party resources");
  });

  it("serves the hashed assets with a year-long immutable cache", async () => {
    const html = (await client.call("GET", "/")).raw.toString("utf8");
    const js = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
    const css = html.match(/href="(\/assets\/[^"]+\.css)"/)?.[1];
    assert.ok(js && css, "index.html names its script and stylesheet");
    const script = await client.call("GET", js);
    assert.equal(script.status, 200);
    assert.match(header(script, "content-type"), /javascript/);
    assert.equal(header(script, "cache-control"), "public, max-age=31536000, immutable");
    assert.ok(script.raw.length > 1000);
    const style = await client.call("GET", css);
    assert.equal(style.status, 200);
    assert.match(header(style, "content-type"), /^text\/css/);
  });

  it("sends the precompressed script to a client that accepts gzip", async () => {
    const html = (await client.call("GET", "/")).raw.toString("utf8");
    const js = html.match(/src="(\/assets\/[^"]+\.js)"/)![1]!;
    const plain = await client.call("GET", js);
    const gz = await client.call("GET", js, undefined, { headers: { "accept-encoding": "gzip" } });
    assert.equal(gz.status, 200);
    assert.equal(header(gz, "content-encoding"), "gzip");
    assert.match(header(gz, "vary"), /accept-encoding/i);
    assert.match(header(gz, "content-type"), /javascript/);
    assert.ok(gz.raw.length < plain.raw.length / 2);
    assert.deepEqual(gunzipSync(gz.raw), plain.raw);
  });

  it("allows no remote origin in the Content-Security-Policy", async () => {
    const res = await client.call("GET", "/");
    for (const directive of header(res, "content-security-policy").split(";")) {
      const [, ...sources] = directive.trim().split(/\s+/);
      for (const src of sources) assert.ok(["'self'", "'none'", "data:"].includes(src), `${directive}`);
    }
  });

  it("puts the security headers on API answers and refusals too", async () => {
    for (const path of ["/healthz", "/api/me", "/"]) {
      const res = await client.call("GET", path);
      assert.equal(header(res, "content-security-policy"), CSP, path);
      assert.match(header(res, "strict-transport-security"), /max-age=\d{7,}/, path);
      assert.equal(header(res, "x-content-type-options"), "nosniff", path);
      assert.equal(header(res, "referrer-policy"), "no-referrer", path);
      assert.equal(header(res, "cross-origin-opener-policy"), "same-origin", path);
    }
  });

  it("answers an unknown file with the API's not-found error", async () => {
    const res = await client.call("GET", "/assets/missing-0000.js");
    assert.equal(res.status, 404);
    assert.equal(res.body.error, "NOT_FOUND");
    const api = await client.call("GET", "/api/nothing-here");
    assert.equal(api.status, 404);
    assert.match(api.body.message, /^no route/);
  });
});

describe("the dashboard route without a build", () => {
  it("answers 503 telling how to build it", async () => {
    const app = Fastify();
    webRoutes(app, new URL("file:///nonexistent-pumpwatch-web/"));
    const res = await app.inject({ method: "GET", url: "/" });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), {
      error: "UNAVAILABLE",
      message: "the dashboard is not built: run npm run build",
    });
    await app.close();
  });
});
