import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { httpsGet } from "../helpers/https.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

// Requests go without the operator token: the privacy information is public.
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
    const de = await httpsGet(s, "/api/privacy", {
      headers: { "accept-language": "de-DE,de;q=0.9,en;q=0.8" },
    });
    assert.equal(de.status, 200);
    const doc = JSON.parse(de.text);
    assert.ok(doc.sections.length >= 6);
    const text = JSON.stringify(doc);
    assert.match(text, /Vakuum Service GmbH/);
    assert.match(text, /400 Tage/);
    assert.match(text, /45 Tage/);
    const en = JSON.parse((await httpsGet(s, "/api/privacy?lang=en")).text);
    assert.notEqual(en.title, doc.title);
    assert.match(JSON.stringify(en), /400 days/);
  });

  it("renders markdown and rejects unknown options with what to send instead", async () => {
    const md = await httpsGet(s, "/api/privacy?lang=de&format=markdown");
    assert.equal(md.status, 200);
    assert.match(md.type, /text\/markdown/);
    assert.match(md.text, /^# /);
    const bad = await httpsGet(s, "/api/privacy?lang=fr");
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.text).message, /de or en/);
    assert.equal((await httpsGet(s, "/api/privacy?format=pdf")).status, 400);
  });
});
