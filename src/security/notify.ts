import { cleanLine, notificationMail } from "../notify/mailer.js";
import type { SecurityEvent } from "../store/ports.js";

/** What a webhook receives for a security event (docs/api.md § Security events). */
export function securityWebhookPayload(id: string, e: SecurityEvent, sentAt: number) {
  return {
    id,
    kind: "security",
    securityEvent: {
      id: e.id,
      kind: e.kind,
      subject: e.subject,
      episode: e.episode,
      deviceId: e.deviceId,
      network: e.network,
      severity: e.severity,
      count: e.count,
      detail: e.detail,
      firstSeen: e.firstSeen,
      lastSeen: e.lastSeen,
    },
    sentAt,
  };
}

const KIND_TEXT: Record<"de" | "en", Record<string, string>> = {
  de: {
    auth_failures: "Häufung fehlgeschlagener Anmeldungen",
    device_rate: "Gerät sendet ungewöhnlich viele Nachrichten",
    device_payload: "Gerät sendet ungewöhnlich große Nachrichten",
    device_churn: "Gerät verbindet sich ungewöhnlich oft neu",
    quarantine_spike: "Häufung verworfener Pakete (Quarantäne)",
    dps_enumeration: "Durchprobieren von Registrierungs-IDs (DPS)",
    dps_flood: "Flut von Provisionierungsanfragen (DPS)",
  },
  en: {
    auth_failures: "Burst of failed authentications",
    device_rate: "Device sends unusually many messages",
    device_payload: "Device sends unusually large messages",
    device_churn: "Device reconnects unusually often",
    quarantine_spike: "Spike of quarantined packets",
    dps_enumeration: "Enumeration of registration ids (DPS)",
    dps_flood: "Flood of provisioning requests (DPS)",
  },
};

const TEXTS = {
  de: {
    lead: "pumpwatch hat ein Sicherheitsereignis erkannt:",
    severity: { warning: "Warnung", alarm: "Alarm" },
    subject: "Betroffen",
    network: "Netz",
    count: "Beobachtungen",
    since: "Seit",
    open: "Sicherheitsereignisse ansehen",
    footer:
      "Sie erhalten diese Nachricht als Mitarbeiter des Betreibers mit einem Abonnement für alle Pumpen.",
  },
  en: {
    lead: "pumpwatch detected a security event:",
    severity: { warning: "Warning", alarm: "Alarm" },
    subject: "Subject",
    network: "Network",
    count: "Observations",
    since: "Since",
    open: "View security events",
    footer: "You receive this as operator staff subscribed to all pumps.",
  },
} as const;

/** Subject, text and HTML of a security event's e-mail to operator staff. */
export function renderSecurityMail(
  locale: "de" | "en",
  e: SecurityEvent,
  publicUrl: string,
): { subject: string; text: string; html: string } {
  const t = TEXTS[locale];
  const clean = cleanLine;
  const what = KIND_TEXT[locale][e.kind] ?? e.kind;
  const subject = `${t.severity[e.severity]} · ${what} · ${clean(e.subject)}`;
  const link = `${publicUrl.replace(/\/+$/, "")}/#/operator`;
  const lines = [
    `${t.subject}: ${clean(e.subject)}`,
    ...(e.network ? [`${t.network}: ${e.network}`] : []),
    `${t.count}: ${e.count}`,
    `${t.since}: ${new Date(e.firstSeen).toISOString()}`,
    ...(e.detail ? [clean(e.detail)] : []),
  ];
  return notificationMail({
    locale,
    subject,
    paragraphs: [t.lead, what],
    lines,
    link,
    open: t.open,
    footer: t.footer,
  });
}
