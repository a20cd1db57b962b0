import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { PumpwatchError } from "../core/errors.js";
import type { Logger } from "../core/log.js";

/**
 * Outgoing e-mail over SMTP (nodemailer), and the texts of the mails pumpwatch sends to people:
 * invitations and password resets, in German and English. A mail carries no personal data beyond
 * the recipient address; the log lines here carry none at all.
 */

export interface MailerConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). false: plain, upgraded by STARTTLS when the server offers it. */
  secure: boolean;
  user?: string;
  pass?: string;
  /** Sender, e.g. "pumpwatch <noreply@example.com>". */
  from: string;
  /** Refuse to send unless STARTTLS succeeds (for `secure: false`). */
  requireTls?: boolean;
  /** Upper bound for one `send`, connection included. Default 15 s. */
  timeoutMs?: number;
  /** Extra TLS options, e.g. `{ ca }` for a private CA. */
  tls?: { ca?: string | Buffer; servername?: string; rejectUnauthorized?: boolean };
}

export interface OutgoingMail {
  /** One plain address, e.g. "anna@example.com". */
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
  /** Connects and authenticates without sending: for a start-up or health check. */
  verify(): Promise<void>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** One address, no display name, no list, no line breaks: what a user account holds. */
const ADDRESS = /^[^\s@<>(),;:"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point
const HAS_CONTROL = /[\u0000-\u001f\u007f]/;

export function isMailAddress(s: string): boolean {
  return typeof s === "string" && s.length <= 254 && ADDRESS.test(s);
}

export function createMailer(config: MailerConfig, log?: Logger): Mailer {
  if (!config.host || !Number.isInteger(config.port) || config.port < 1 || config.port > 65535) {
    throw new PumpwatchError("BAD_REQUEST", "mailer: host and a port 1–65535 are required");
  }
  if (!config.from || HAS_CONTROL.test(config.from)) {
    throw new PumpwatchError("BAD_REQUEST", "mailer: a sender address (from) is required");
  }
  if ((config.user === undefined) !== (config.pass === undefined)) {
    throw new PumpwatchError("BAD_REQUEST", "mailer: give both user and pass, or neither");
  }
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const where = `${config.host}:${config.port}`;
  const options: SMTPTransport.Options = {
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: config.requireTls ?? false,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    // Message content never names files or URLs for nodemailer to fetch.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
  };
  if (config.user !== undefined && config.pass !== undefined) {
    options.auth = { user: config.user, pass: config.pass };
  }
  if (config.tls) options.tls = { ...config.tls };
  const transport = nodemailer.createTransport(options);

  const withTimeout = <T>(what: string, p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })), timeoutMs);
    });
    return Promise.race([p, timeout])
      .catch((err: unknown) => {
        throw unavailable(what, where, err);
      })
      .finally(() => clearTimeout(timer));
  };

  return {
    async send(mail) {
      if (!isMailAddress(mail.to)) throw new PumpwatchError("BAD_REQUEST", "mail: invalid recipient address");
      if (!mail.subject || !mail.text)
        throw new PumpwatchError("BAD_REQUEST", "mail: subject and text required");
      const info = await withTimeout(
        "send",
        transport.sendMail({
          from: config.from,
          to: mail.to,
          subject: mail.subject.replace(CONTROL, " "),
          text: mail.text,
          ...(mail.html !== undefined ? { html: mail.html } : {}),
        }),
      );
      if (info.rejected.length > 0) {
        throw new PumpwatchError("UNAVAILABLE", `mail server ${where} rejected the recipient`, {
          smtpCode: "EENVELOPE",
        });
      }
      log?.debug({ messageId: info.messageId }, "mail sent");
      return { messageId: info.messageId };
    },
    async verify() {
      await withTimeout("verify", transport.verify());
    },
    close() {
      transport.close();
    },
  };
}

/**
 * The error a caller sees: which server and what kind of failure, from nodemailer's error code and
 * the SMTP reply code only. Never the server's text, which may echo the user name, never the password.
 */
function unavailable(what: string, where: string, err: unknown): PumpwatchError {
  const e = (err ?? {}) as { code?: unknown; responseCode?: unknown };
  const code = typeof e.code === "string" && /^[A-Z_]{2,32}$/.test(e.code) ? e.code : "EUNKNOWN";
  const responseCode = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const reason: Record<string, string> = {
    ECONNECTION: "cannot connect",
    ECONNREFUSED: "connection refused",
    ETIMEDOUT: "timed out",
    EDNS: "host name not found",
    EAUTH: "authentication failed",
    ETLS: "TLS failed",
    ESOCKET: "connection failed",
    EENVELOPE: "recipient or sender rejected",
    EMESSAGE: "message rejected",
    EPROTOCOL: "protocol error",
  };
  const text = reason[code] ?? "failed";
  return new PumpwatchError(
    "UNAVAILABLE",
    `mail ${what} via ${where}: ${text}${responseCode ? ` (SMTP ${responseCode})` : ""}`,
    { smtpCode: code, ...(responseCode ? { responseCode } : {}) },
  );
}

// ---------------------------------------------------------------------------------------------
// Templates

export type MailKind = "invitation" | "reset";
export type MailLocale = "de" | "en";

export interface MailVars {
  /** The one-time link (https, or http for a local test installation). */
  link: string;
  /** Name of the organisation the account belongs to. */
  company: string;
  /** When the link stops working. */
  expiresAt: Date;
  /** IANA time zone for showing `expiresAt`; default UTC. */
  timeZone?: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}

interface Texts {
  subject: string;
  greeting: string;
  lead: string;
  action: string;
  expiry: string;
  ignore: string;
}

const TEXTS: Record<MailKind, Record<MailLocale, (company: string, expires: string) => Texts>> = {
  invitation: {
    de: (company, expires) => ({
      subject: `Einladung zu pumpwatch – ${company}`,
      greeting: "Guten Tag,",
      lead: `Sie wurden eingeladen, pumpwatch für ${company} zu nutzen. Über den folgenden Link legen Sie Ihr Passwort fest und aktivieren Ihr Konto:`,
      action: "Passwort festlegen",
      expiry: `Der Link ist nur einmal verwendbar und gilt bis ${expires}.`,
      ignore: "Wenn Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.",
    }),
    en: (company, expires) => ({
      subject: `Invitation to pumpwatch – ${company}`,
      greeting: "Hello,",
      lead: `You have been invited to use pumpwatch for ${company}. Follow this link to set your password and activate your account:`,
      action: "Set password",
      expiry: `The link works once and is valid until ${expires}.`,
      ignore: "If you did not expect this invitation, you can ignore this e-mail.",
    }),
  },
  reset: {
    de: (company, expires) => ({
      subject: `pumpwatch: Passwort zurücksetzen – ${company}`,
      greeting: "Guten Tag,",
      lead: `für Ihr pumpwatch-Konto bei ${company} wurde das Zurücksetzen des Passworts angefordert. Über den folgenden Link legen Sie ein neues Passwort fest:`,
      action: "Neues Passwort festlegen",
      expiry: `Der Link ist nur einmal verwendbar und gilt bis ${expires}.`,
      ignore:
        "Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail; Ihr bisheriges Passwort bleibt gültig.",
    }),
    en: (company, expires) => ({
      subject: `pumpwatch: reset your password – ${company}`,
      greeting: "Hello,",
      lead: `A password reset was requested for your pumpwatch account at ${company}. Follow this link to set a new password:`,
      action: "Set new password",
      expiry: `The link works once and is valid until ${expires}.`,
      ignore: "If you did not request this, ignore this e-mail; your current password stays valid.",
    }),
  },
};

function formatExpiry(at: Date, locale: MailLocale, timeZone: string): string {
  return new Intl.DateTimeFormat(locale === "de" ? "de-DE" : "en-GB", {
    year: "numeric",
    month: "long",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone,
    timeZoneName: "short",
  }).format(at);
}

/** Subject, plain text and HTML of an invitation or password-reset mail. */
export function renderMail(kind: MailKind, locale: MailLocale, vars: MailVars): RenderedMail {
  const make = TEXTS[kind]?.[locale];
  if (!make) throw new PumpwatchError("BAD_REQUEST", `no mail template ${String(kind)}/${String(locale)}`);
  let url: URL;
  try {
    url = new URL(vars.link);
  } catch {
    throw new PumpwatchError("BAD_REQUEST", "mail link is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new PumpwatchError("BAD_REQUEST", "mail link must be http(s)");
  }
  if (!(vars.expiresAt instanceof Date) || Number.isNaN(vars.expiresAt.getTime())) {
    throw new PumpwatchError("BAD_REQUEST", "mail expiresAt must be a valid date");
  }
  const link = url.href;
  const company = vars.company.replace(CONTROL, " ").trim() || "pumpwatch";
  const expires = formatExpiry(vars.expiresAt, locale, vars.timeZone ?? "UTC");
  const t = make(company, expires);
  const text = [
    t.greeting,
    "",
    t.lead,
    "",
    link,
    "",
    t.expiry,
    "",
    t.ignore,
    "",
    "-- ",
    "pumpwatch",
    "",
  ].join("\n");
  const h = make(escapeHtml(company), escapeHtml(expires));
  const html = `<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><title>${escapeHtml(t.subject)}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222;">
<p>${h.greeting}</p>
<p>${h.lead}</p>
<p><a href="${escapeHtml(link)}" style="display: inline-block; padding: 0.6em 1.2em; background: #0b5cad; color: #fff; text-decoration: none; border-radius: 4px;">${h.action}</a></p>
<p style="font-size: 0.9em;">${escapeHtml(link)}</p>
<p>${h.expiry}</p>
<p style="color: #666;">${h.ignore}</p>
</body></html>
`;
  return { subject: t.subject, text, html };
}

// ---------------------------------------------------------------------------------------------
// Alarm notifications (src/notify/notifier.ts)

export type AlarmMailKind = "raised" | "escalated" | "cleared" | "reminder";

export interface AlarmMailVars {
  kind: AlarmMailKind;
  severity: "warning" | "alarm";
  deviceId: string;
  message: string;
  diagnosis: { code: string; cause: string; action: string } | null;
  /** When it happened: the raise (raised, escalated, reminder) or the clearing. */
  at: Date;
  /** Base of the dashboard, e.g. "https://pumps.example.com"; the mail links to the pump's page. */
  publicUrl: string;
  /** IANA time zone for `at`; default Europe/Berlin. */
  timeZone?: string;
}

const ALARM_TEXTS: Record<
  MailLocale,
  {
    kind: Record<AlarmMailKind, string>;
    severity: Record<AlarmMailVars["severity"], string>;
    lead: Record<AlarmMailKind, string>;
    pump: string;
    time: string;
    cause: string;
    action: string;
    open: string;
    footer: string;
  }
> = {
  de: {
    kind: {
      raised: "Alarm ausgelöst",
      escalated: "Alarm verschärft",
      cleared: "Alarm aufgehoben",
      reminder: "Erinnerung: Alarm weiterhin aktiv",
    },
    severity: { warning: "Warnung", alarm: "Alarm" },
    lead: {
      raised: "an einer Ihrer Pumpen wurde ein Alarm ausgelöst.",
      escalated: "ein aktiver Alarm an einer Ihrer Pumpen ist schwerer geworden.",
      cleared: "ein Alarm an einer Ihrer Pumpen ist nicht mehr aktiv.",
      reminder: "dieser Alarm ist weiterhin aktiv und noch nicht quittiert.",
    },
    pump: "Pumpe",
    time: "Zeit",
    cause: "Mögliche Ursache",
    action: "Empfohlene Maßnahme",
    open: "Pumpe in pumpwatch öffnen",
    footer:
      "Sie erhalten diese E-Mail, weil Sie Alarme dieser Pumpe abonniert haben (Konto → Benachrichtigungen).",
  },
  en: {
    kind: {
      raised: "Alarm raised",
      escalated: "Alarm escalated",
      cleared: "Alarm cleared",
      reminder: "Reminder: alarm still active",
    },
    severity: { warning: "Warning", alarm: "Alarm" },
    lead: {
      raised: "an alarm was raised on one of your pumps.",
      escalated: "an active alarm on one of your pumps has become more severe.",
      cleared: "an alarm on one of your pumps is no longer active.",
      reminder: "this alarm is still active and has not been acknowledged.",
    },
    pump: "Pump",
    time: "Time",
    cause: "Possible cause",
    action: "Recommended action",
    open: "Open the pump in pumpwatch",
    footer: "You receive this e-mail because you subscribed to this pump's alarms (account → notifications).",
  },
};

/**
 * Subject, plain text and HTML of an alarm notification: subject with kind, severity, pump id and the
 * alarm message; body with the time in the recipient's zone (Europe/Berlin by default), the diagnosis
 * and a link to the pump's page (`<publicUrl>/#/pump/<deviceId>`).
 */
export function renderAlarmMail(locale: MailLocale, vars: AlarmMailVars): RenderedMail {
  const t = ALARM_TEXTS[locale];
  if (!t) throw new PumpwatchError("BAD_REQUEST", `no alarm mail template for ${String(locale)}`);
  let base: URL;
  try {
    base = new URL(vars.publicUrl);
  } catch {
    throw new PumpwatchError("BAD_REQUEST", "publicUrl is not a URL");
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new PumpwatchError("BAD_REQUEST", "publicUrl must be http(s)");
  }
  const link = `${base.href.replace(/\/+$/, "")}/#/pump/${encodeURIComponent(vars.deviceId)}`;
  const clean = cleanLine;
  const device = clean(vars.deviceId);
  const message = clean(vars.message);
  const when = formatExpiry(vars.at, locale, vars.timeZone ?? "Europe/Berlin");
  const subject = `${t.kind[vars.kind]} · ${t.severity[vars.severity]} · ${device}: ${message}`;
  const greeting = locale === "de" ? "Guten Tag," : "Hello,";
  const lines = [`${t.pump}: ${device}`, `${t.severity[vars.severity]}: ${message}`, `${t.time}: ${when}`];
  if (vars.diagnosis) {
    lines.push(`${t.cause}: ${clean(vars.diagnosis.cause)} (${clean(vars.diagnosis.code)})`);
    lines.push(`${t.action}: ${clean(vars.diagnosis.action)}`);
  }
  return notificationMail({
    locale,
    subject,
    paragraphs: [greeting, t.lead[vars.kind]],
    lines,
    link,
    open: t.open,
    footer: t.footer,
  });
}

/** A clean one-line text for a mail: control characters become spaces. */
export function cleanLine(s: string): string {
  return s.replace(CONTROL, " ").trim();
}

/**
 * The layout of every notification e-mail (alarms, security events): paragraphs, a list of facts,
 * a link to the dashboard and a footer, as plain text and as escaped HTML.
 */
export function notificationMail(o: {
  locale: MailLocale;
  subject: string;
  paragraphs: readonly string[];
  lines: readonly string[];
  link: string;
  open: string;
  footer: string;
}): RenderedMail {
  const text = [
    ...o.paragraphs.flatMap((p) => [p, ""]),
    ...o.lines,
    "",
    `${o.open}: ${o.link}`,
    "",
    o.footer,
    "",
    "-- ",
    "pumpwatch",
    "",
  ].join("\n");
  const html = `<!doctype html>
<html lang="${o.locale}"><head><meta charset="utf-8"><title>${escapeHtml(o.subject)}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222;">
${o.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join("\n")}
<ul>${o.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join("")}</ul>
<p><a href="${escapeHtml(o.link)}" style="display: inline-block; padding: 0.6em 1.2em; background: #0b5cad; color: #fff; text-decoration: none; border-radius: 4px;">${escapeHtml(o.open)}</a></p>
<p style="font-size: 0.9em;">${escapeHtml(o.link)}</p>
<p style="color: #666;">${escapeHtml(o.footer)}</p>
</body></html>
`;
  return { subject: o.subject, text, html };
}
