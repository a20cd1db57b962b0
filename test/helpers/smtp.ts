import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  user: string | undefined;
}

export interface TestSmtp {
  server: SMTPServer;
  port: number;
  inbox: Received[];
  /** Waits (bounded) until a mail to `to` beyond the first `skip` has arrived; returns its text body. */
  waitFor(
    to: string,
    opts?: { skip?: number; timeoutMs?: number },
  ): Promise<{ subject: string; text: string }>;
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1, random port, no TLS; AUTH only with test/secret-pass. */
export async function startSmtp(): Promise<TestSmtp> {
  const inbox: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === "test" && auth.password === "secret-pass") cb(null, { user: "test" });
      else cb(new Error("Invalid username or password"));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        inbox.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          user: session.user as string | undefined,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  assert.notEqual(port, 1883);
  return {
    server,
    port,
    inbox,
    async waitFor(to, opts = {}) {
      const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
      for (;;) {
        const mails = inbox.filter((m) => m.to.includes(to));
        const mail = mails[opts.skip ?? 0];
        if (mail) {
          const parsed = await simpleParser(mail.raw);
          return { subject: parsed.subject ?? "", text: parsed.text ?? "" };
        }
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within the time limit`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The one-time token in a pumpwatch mail's link ("…#/invitation?token=pwi_…"). */
export function linkToken(text: string): string {
  const m = /token=(pw[ir]_[A-Za-z0-9_-]{43})/.exec(text);
  if (!m) throw new Error(`no pumpwatch link in the mail: ${text.slice(0, 200)}`);
  return m[1]!;
}
