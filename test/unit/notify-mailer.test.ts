import assert from "node:assert/strict";
import { type AddressInfo, createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { simpleParser } from "mailparser";
import { PumpwatchError } from "../../src/core/errors.js";
import { createMailer, isMailAddress, renderMail } from "../../src/notify/mailer.js";
import { startSmtp, type TestSmtp } from "../helpers/smtp.js";

const EXPIRES = new Date(Date.UTC(2025, 2, 14, 13, 30));

describe("mailer against a local SMTP server", () => {
  let smtp: TestSmtp;
  before(async () => {
    smtp = await startSmtp();
  });
  after(async () => {
    await smtp.close();
  });

  it("sends a German invitation that arrives with subject, recipient, text and HTML link", async () => {
    const mailer = createMailer({
      host: "127.0.0.1",
      port: smtp.port,
      secure: false,
      from: "pumpwatch <noreply@pumpwatch.test>",
      timeoutMs: 5000,
    });
    const link = "https://pumpwatch.example.com/invite#pwi_abcDEF123-_xyz";
    const mail = renderMail("invitation", "de", { link, company: "Müller & Söhne GmbH", expiresAt: EXPIRES });
    const { messageId } = await mailer.send({ to: "anna@example.com", ...mail });
    mailer.close();
    assert.ok(messageId);

    const got = smtp.inbox.at(-1)!;
    assert.deepEqual(got.to, ["anna@example.com"]);
    assert.equal(got.from, "noreply@pumpwatch.test");
    const parsed = await simpleParser(got.raw);
    assert.equal(parsed.subject, "Einladung zu pumpwatch – Müller & Söhne GmbH");
    assert.equal(parsed.messageId, messageId);
    const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
    assert.equal(to?.value[0]?.address, "anna@example.com");
    assert.equal(parsed.from?.value[0]?.address, "noreply@pumpwatch.test");
    assert.ok(parsed.text?.includes(link), parsed.text);
    assert.match(parsed.text ?? "", /legen Sie Ihr Passwort fest/);
    assert.match(String(parsed.html), />Passwort festlegen</);
    assert.match(parsed.text ?? "", /gilt bis 14\. März 2025 um 13:30 UTC/);
    assert.ok(typeof parsed.html === "string" && parsed.html.includes(`href="${link}"`));
    assert.ok(parsed.html.includes("Müller &amp; Söhne GmbH"));
    // The recipient address is the only personal datum, and it appears only in the To header.
    assert.equal(got.raw.toString("utf8").split("anna").length - 1, 1);
  });

  it("authenticates with user and pass when given", async () => {
    const mailer = createMailer({
      host: "127.0.0.1",
      port: smtp.port,
      secure: false,
      user: "test",
      pass: "secret-pass",
      from: "noreply@pumpwatch.test",
      timeoutMs: 5000,
    });
    const mail = renderMail("reset", "en", {
      link: "https://pumpwatch.example.com/reset#pwr_x",
      company: "ACME",
      expiresAt: EXPIRES,
    });
    await mailer.send({ to: "bob@example.com", ...mail });
    mailer.close();
    const got = smtp.inbox.at(-1)!;
    assert.equal(got.user, "test");
    const parsed = await simpleParser(got.raw);
    assert.equal(parsed.subject, "pumpwatch: reset your password – ACME");
  });

  it("reports a failed login as UNAVAILABLE without the password", async () => {
    const mailer = createMailer({
      host: "127.0.0.1",
      port: smtp.port,
      secure: false,
      user: "test",
      pass: "wrong-secret-42",
      from: "noreply@pumpwatch.test",
      timeoutMs: 5000,
    });
    const err = await mailer
      .send({ to: "bob@example.com", subject: "s", text: "t" })
      .catch((e: unknown) => e);
    mailer.close();
    assert.ok(err instanceof PumpwatchError);
    assert.equal(err.code, "UNAVAILABLE");
    assert.match(err.message, /authentication failed/);
    const dump = JSON.stringify({ m: err.message, d: err.detail, s: err.stack });
    assert.doesNotMatch(dump, /wrong-secret-42/);
    assert.doesNotMatch(dump, /Invalid username/);
  });

  it("refuses recipient lists and header injection before connecting", async () => {
    const mailer = createMailer({ host: "127.0.0.1", port: smtp.port, secure: false, from: "a@b.test" });
    for (const to of [
      "a@example.com, b@example.com",
      "a@example.com\r\nBcc: x@example.com",
      "Anna <a@example.com>",
      "",
    ]) {
      await assert.rejects(
        mailer.send({ to, subject: "s", text: "t" }),
        (e: unknown) => e instanceof PumpwatchError && e.code === "BAD_REQUEST",
      );
    }
    mailer.close();
    assert.ok(isMailAddress("anna.m+pumps@werk-2.example.de"));
  });
});

describe("mailer failures", () => {
  it("gives a clear UNAVAILABLE error when the server is down", async () => {
    // Take a free port and close it again: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const mailer = createMailer({
      host: "127.0.0.1",
      port,
      secure: false,
      user: "ops",
      pass: "hunter2-very-secret",
      from: "noreply@pumpwatch.test",
      timeoutMs: 3000,
    });
    const err = await mailer
      .send({ to: "anna@example.com", subject: "s", text: "t" })
      .catch((e: unknown) => e);
    mailer.close();
    assert.ok(err instanceof PumpwatchError, String(err));
    assert.equal(err.code, "UNAVAILABLE");
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(err.message, /connection refused|cannot connect|connection failed/);
    assert.doesNotMatch(JSON.stringify({ m: err.message, d: err.detail }), /hunter2|ops/);
  });

  it("times out against a server that never greets", async () => {
    const sockets = new Set<import("node:net").Socket>();
    const silent: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    const port = (silent.address() as AddressInfo).port;
    const mailer = createMailer({ host: "127.0.0.1", port, secure: false, from: "a@b.test", timeoutMs: 300 });
    const started = Date.now();
    const err = await mailer
      .send({ to: "anna@example.com", subject: "s", text: "t" })
      .catch((e: unknown) => e);
    mailer.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    assert.ok(err instanceof PumpwatchError);
    assert.equal(err.code, "UNAVAILABLE");
    assert.match(err.message, /timed out/);
    assert.ok(Date.now() - started < 3000);
  });
});

describe("renderMail", () => {
  const vars = { link: "https://pw.example/x?a=1&b=2", company: "ACME <Pumps>", expiresAt: EXPIRES };

  it("renders all four mails with subject, text and escaped HTML", () => {
    for (const kind of ["invitation", "reset"] as const) {
      for (const locale of ["de", "en"] as const) {
        const m = renderMail(kind, locale, vars);
        assert.ok(m.subject.includes("ACME <Pumps>"));
        assert.ok(m.text.includes("https://pw.example/x?a=1&b=2"));
        assert.ok(m.html.includes('href="https://pw.example/x?a=1&amp;b=2"'));
        assert.ok(m.html.includes("ACME &lt;Pumps&gt;"));
        assert.ok(!m.html.includes("<Pumps>"));
        assert.ok(m.html.includes(`lang="${locale}"`));
      }
    }
    assert.match(renderMail("reset", "de", vars).subject, /Passwort zurücksetzen/);
    assert.match(renderMail("invitation", "en", vars).text, /valid until 14 March 2025 at 13:30 UTC/);
    assert.match(renderMail("reset", "en", { ...vars, timeZone: "Europe/Berlin" }).text, /14:30 CET/);
  });

  it("refuses non-http links, bad dates and unknown templates", () => {
    for (const link of ["javascript:alert(1)", "not a url", "mailto:a@b.c"]) {
      assert.throws(() => renderMail("invitation", "en", { ...vars, link }), PumpwatchError);
    }
    assert.throws(
      () => renderMail("invitation", "en", { ...vars, expiresAt: new Date(Number.NaN) }),
      PumpwatchError,
    );
    assert.throws(() => renderMail("welcome" as "reset", "en", vars), PumpwatchError);
    assert.throws(() => renderMail("reset", "fr" as "de", vars), PumpwatchError);
  });

  it("strips line breaks from the company name in the subject", () => {
    const m = renderMail("invitation", "en", { ...vars, company: "ACME\r\nBcc: evil@example.com" });
    assert.doesNotMatch(m.subject, /[\r\n]/);
  });
});
