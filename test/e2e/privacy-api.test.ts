import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.js";

/** GET without the operator token: the privacy information is public. */
function get(s: TestServer, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: s.httpsPort, path, ca: s.ca, servername: "localhost", headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), text }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("privacy information API", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      operator: {
        name: "Vakuum Service GmbH",
        address: "Hafenstraße 1, 20457 Hamburg",
        contact: "datenschutz@example.org",
      },
      retention: { rawDays: 400, rollupDays: 1200 },
      exportGraceDays: 45,
    });
  });
  after(async () => {
    await s.stop();
  });

  it("serves the document without login, in the browser's language, from this installation's settings", async () => {
    const de = await get(s, "/api/privacy", { "accept-language": "de-DE,de;q=0.9,en;q=0.8" });
    assert.equal(de.status, 200);
    const doc = JSON.parse(de.text);
    assert.ok(doc.sections.length >= 6);
    const text = JSON.stringify(doc);
    assert.match(text, /Vakuum Service GmbH/);
    assert.match(text, /400 Tage/);
    assert.match(text, /45 Tage/);
    const en = JSON.parse((await get(s, "/api/privacy?lang=en")).text);
    assert.notEqual(en.title, doc.title);
    assert.match(JSON.stringify(en), /400 days/);
  });

  it("renders markdown and rejects unknown options with what to send instead", async () => {
    const md = await get(s, "/api/privacy?lang=de&format=markdown");
    assert.equal(md.status, 200);
    assert.match(md.type, /text\/markdown/);
    assert.match(md.text, /^# /);
    const bad = await get(s, "/api/privacy?lang=fr");
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.text).message, /de or en/);
    assert.equal((await get(s, "/api/privacy?format=pdf")).status, 400);
  });
});
