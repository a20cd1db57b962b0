import { type SignalDef, signalCatalog } from "../ingest/telemetry.js";

/**
 * Privacy information ("Datenschutzhinweise") for the customers of a pumpwatch installation, in
 * German and English, generated from the data model itself: the categories come from
 * {@link DATA_INVENTORY}, the signals from the telemetry signal catalogue and the retention periods
 * from the running configuration. The API serves {@link PrivacyDocument} as JSON for the dashboard;
 * {@link privacyMarkdown} renders the same document as text.
 *
 * pumpwatch is self-hosted: whoever runs it (the `operator`) is the controller and the provider of
 * the monitoring service, so every statement names the operator, never a vendor.
 */

export type PrivacyLocale = "de" | "en";

/** Text in both supported languages. */
export type Localized = Readonly<Record<PrivacyLocale, string>>;

/**
 * The personal data pumpwatch holds about a person, and the only personal data it holds: the
 * contact details of a user account. Log redaction (`REDACT_PATHS` in src/core/log.ts) covers the
 * same three fields.
 */
export const PERSONAL_FIELDS = ["email", "phone", "postalAddress"] as const;
export type PersonalField = (typeof PERSONAL_FIELDS)[number];

/** How long a category is kept; resolved against the retention input when rendering. */
export type RetentionRule =
  /** For the duration of the contract; after it ends, for the export grace period, then deleted. */
  | { kind: "contract" }
  /** Raw telemetry for `rawDays`, hourly and daily aggregates for `rollupDays`. */
  | { kind: "telemetry" }
  /** Not stored by pumpwatch; written to the operator's log output, which the operator rotates. */
  | { kind: "logs" };

export interface DataItem {
  readonly key: string;
  readonly label: Localized;
  /** Set when the item is personal data; only user contact fields may be. */
  readonly personal: PersonalField | null;
}

export type DataCategoryId =
  | "company"
  | "user"
  | "account"
  | "device"
  | "telemetry"
  | "analytics"
  | "operations";

export interface DataCategory {
  readonly id: DataCategoryId;
  readonly label: Localized;
  /** Whose data it is. */
  readonly subject: "company" | "user" | "pump" | "system";
  /** Items of the category. The telemetry category's signals come from the signal catalogue. */
  readonly items: readonly DataItem[];
  readonly purpose: Localized;
  readonly retention: RetentionRule;
}

const item = (key: string, de: string, en: string, personal: PersonalField | null = null): DataItem =>
  Object.freeze({ key, label: Object.freeze({ de, en }), personal });

/** pumpwatch's actual data model, category by category: the one source of the privacy texts. */
export const DATA_INVENTORY: readonly DataCategory[] = Object.freeze([
  {
    id: "company",
    label: { de: "Unternehmensdaten", en: "Company data" },
    subject: "company",
    items: [
      item("name", "Unternehmensname", "Company name"),
      item("postalAddress", "Postanschrift des Unternehmens", "Postal address of the company"),
      item(
        "webhooks",
        "Webhook-Adressen, an die Alarmmeldungen für Ihre Systeme gehen (mit verschlüsselt gespeichertem Signaturschlüssel)",
        "Webhook addresses that alarm messages for your systems go to (with their signing key stored sealed)",
      ),
    ],
    purpose: {
      de: "Vertragsverhältnis und Zuordnung der überwachten Vakuumpumpen zu Ihrem Unternehmen.",
      en: "The contract, and assigning the monitored vacuum pumps to your company.",
    },
    retention: { kind: "contract" },
  },
  {
    id: "user",
    label: { de: "Benutzerdaten", en: "User data" },
    subject: "user",
    items: [
      item("email", "E-Mail-Adresse", "E-mail address", "email"),
      item("phone", "Telefonnummer", "Phone number", "phone"),
      item("postalAddress", "Postanschrift", "Postal address", "postalAddress"),
    ],
    purpose: {
      de: "Anmeldung am Dashboard und Zustellung von Warnhinweisen und Alarmen an die Benutzer.",
      en: "Signing in to the dashboard and delivering warnings and alarms to the users.",
    },
    retention: { kind: "contract" },
  },
  {
    id: "account",
    label: { de: "Zugangs- und Benachrichtigungsdaten", en: "Access and notification data" },
    subject: "user",
    items: [
      item(
        "account",
        "Rolle, Passwort, Anmeldesitzungen und API-Tokens — Passwort und Schlüssel nur als Hash",
        "Role, password, login sessions and API tokens — password and secrets as hashes only",
      ),
      item(
        "notifications",
        "Benachrichtigungseinstellungen (Pumpen und Schweregrad) und Zustellprotokoll",
        "Notification settings (pumps and severity) and the delivery record",
      ),
    ],
    purpose: {
      de: "Sichere Anmeldung, Zugriff für Integrationen und Zustellung der gewählten Benachrichtigungen.",
      en: "Secure sign-in, access for integrations and delivering the chosen notifications.",
    },
    retention: { kind: "contract" },
  },
  {
    id: "device",
    label: { de: "Geräteregister", en: "Device registry" },
    subject: "pump",
    items: [
      item("deviceId", "Geräte-ID (Registrierungs-ID)", "Device id (registration id)"),
      item(
        "keys",
        "Symmetrische Geräteschlüssel, mit AES-256-GCM verschlüsselt gespeichert",
        "Symmetric device keys, stored sealed with AES-256-GCM",
      ),
      item("model", "Pumpenmodell und Pumpentyp", "Pump model and pump type"),
      item("serial", "Seriennummer", "Serial number"),
      item("labels", "Anzeigename und Standort der Pumpe", "Display name and site of the pump"),
      item(
        "settings",
        "Geräteeinstellungen (Abtast- und Sendeintervall) und Registrierungsdaten",
        "Device settings (sampling and sending interval) and registration data",
      ),
    ],
    purpose: {
      de: "Authentifizierung der IoT-Box und Zuordnung ihrer Daten zur richtigen Pumpe.",
      en: "Authenticating the IoT box and assigning its data to the right pump.",
    },
    retention: { kind: "contract" },
  },
  {
    id: "telemetry",
    label: { de: "Rohdaten der Pumpensensoren", en: "Raw pump sensor data" },
    subject: "pump",
    // Filled from the signal catalogue when rendering; see signalItems().
    items: [],
    purpose: {
      de: "Auswertung des Pumpenzustands und Anzeige der historischen Pumpendaten.",
      en: "Analysing the condition of the pump and showing its history.",
    },
    retention: { kind: "telemetry" },
  },
  {
    id: "analytics",
    label: { de: "Abgeleitete Auswertungen", en: "Derived analytics" },
    subject: "pump",
    items: [
      item("alarms", "Warnhinweise und Alarme mit ihrem Verlauf", "Warnings and alarms with their history"),
      item("forecasts", "Prognosen für die vorausschauende Wartung", "Forecasts for predictive maintenance"),
      item("kpis", "Leistungskennzahlen (KPIs)", "Key performance indicators (KPIs)"),
      item("maintenance", "Wartungsprotokoll", "Maintenance log"),
    ],
    purpose: {
      de: "Warnhinweise, Alarme, vorausschauende Wartung und Leistungskennzahlen für Ihre Pumpen.",
      en: "Warnings, alarms, predictive maintenance and key performance indicators for your pumps.",
    },
    retention: { kind: "contract" },
  },
  {
    id: "operations",
    label: { de: "Betriebsdaten", en: "Operational data" },
    subject: "system",
    items: [
      item(
        "logs",
        "Betriebsprotokolle ohne personenbezogene Daten (E-Mail, Telefon, Anschrift, Schlüssel und Tokens werden geschwärzt)",
        "Operational logs without personal data (e-mail, phone, address, keys and tokens are redacted)",
      ),
      item(
        "quarantine",
        "Quarantäne abgelehnter Datenpakete mit dem Ablehnungsgrund",
        "Quarantine of rejected data packets with the reason for rejection",
      ),
      item(
        "messageIds",
        "Nachrichten-IDs empfangener Pakete (zum Erkennen von Duplikaten)",
        "Message ids of received packets (to detect duplicates)",
      ),
      item(
        "securityEvents",
        "Sicherheitsereignisse (z. B. gehäufte Fehlanmeldungen, ein Gerät, das sich ungewöhnlich verhält) mit Geräte-ID, Netzbereich und einem verschlüsselten Kennwert der Absenderadresse – nie der Adresse selbst",
        "Security events (e.g. bursts of failed logins, a device behaving unlike itself) with the device id, the network range and a keyed hash of the source address — never the address itself",
      ),
    ],
    purpose: {
      de: "Sicherer und störungsfreier Betrieb des Dienstes und Fehlersuche bei der Datenübertragung.",
      en: "Running the service securely and reliably, and troubleshooting data transmission.",
    },
    retention: { kind: "logs" },
  },
] satisfies DataCategory[]);

/** German names of the built-in signals; the catalogue's descriptions are English. */
const SIGNAL_DE: Readonly<Record<string, string>> = {
  inletPressure: "Ansaugdruck (absolut)",
  exhaustPressure: "Abgasdruck (absolut)",
  oilTemperature: "Öltemperatur",
  motorTemperature: "Motortemperatur",
  ambientTemperature: "Umgebungstemperatur",
  motorCurrent: "Motorstrom (Effektivwert)",
  power: "Elektrische Leistungsaufnahme",
  vibration: "Schwinggeschwindigkeit (Effektivwert)",
  operatingHours: "Betriebsstundenzähler",
  running: "Betriebszustand (1 = Pumpe läuft, 0 = steht)",
};

/** English names where the catalogue's description does not read as a name. */
const SIGNAL_EN: Readonly<Record<string, string>> = { running: "Running state (1 = pump runs, 0 = stopped)" };

/** The signals the privacy text lists: the catalogue (built-ins) in its order. */
export function privacySignals(): readonly SignalDef[] {
  return [...signalCatalog().values()];
}

function signalItems(): DataItem[] {
  return privacySignals().map((s) =>
    item(s.name, SIGNAL_DE[s.name] ?? s.description, SIGNAL_EN[s.name] ?? s.description, null),
  );
}

/** The inventory with the telemetry category's items taken from the signal catalogue. */
export function resolvedInventory(): readonly DataCategory[] {
  return DATA_INVENTORY.map((c) => (c.id === "telemetry" ? { ...c, items: signalItems() } : c));
}

export interface PrivacyInput {
  locale: PrivacyLocale;
  /** Who runs this pumpwatch: the controller and provider of the service. */
  operator: { name: string; address: string; contact: string };
  retention: { rawDays: number; rollupDays: number };
  /** Days a company's data is kept after the contract ends so that it can be exported (default 30). */
  exportGraceDays: number;
  /** The user contact fields this installation collects (a subset of {@link PERSONAL_FIELDS}). */
  personalFields: readonly PersonalField[];
  /** Days security events are kept after they were last seen (`security.retentionDays`). */
  securityEventDays: number;
}

export interface PrivacyTable {
  columns: string[];
  rows: string[][];
}

export interface PrivacySection {
  id: string;
  heading: string;
  paragraphs: string[];
  table?: PrivacyTable;
}

export interface PrivacyDocument {
  locale: PrivacyLocale;
  title: string;
  sections: PrivacySection[];
  generatedFrom: {
    categories: DataCategoryId[];
    personalFields: PersonalField[];
    signals: string[];
    retention: { rawDays: number; rollupDays: number };
    exportGraceDays: number;
    operator: string;
  };
}

export const DEFAULT_EXPORT_GRACE_DAYS = 30;

function checkDays(name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}`);
}

function days(locale: PrivacyLocale, n: number): string {
  const base = locale === "de" ? `${n} ${n === 1 ? "Tag" : "Tage"}` : `${n} ${n === 1 ? "day" : "days"}`;
  if (n < 365 || n % 365 !== 0) return base;
  const y = n / 365;
  return locale === "de"
    ? `${base} (${y} ${y === 1 ? "Jahr" : "Jahre"})`
    : `${base} (${y} ${y === 1 ? "year" : "years"})`;
}

function list(locale: PrivacyLocale, parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join("");
  const and = locale === "de" ? "und" : "and";
  return `${parts.slice(0, -1).join(", ")} ${and} ${parts[parts.length - 1]}`;
}

function retentionText(rule: RetentionRule, input: PrivacyInput): string {
  const { locale, retention, exportGraceDays } = input;
  const grace = days(locale, exportGraceDays);
  switch (rule.kind) {
    case "contract":
      return locale === "de"
        ? `Für die Dauer des Vertrags; nach Vertragsende noch ${grace} für den Export, danach gelöscht.`
        : `For the duration of the contract; after it ends, ${grace} more for export, then deleted.`;
    case "telemetry":
      return locale === "de"
        ? `Rohdaten ${days(locale, retention.rawDays)}, verdichtete Stunden- und Tageswerte ${days(locale, retention.rollupDays)}; nach Vertragsende höchstens noch ${grace}.`
        : `Raw data ${days(locale, retention.rawDays)}, hourly and daily aggregates ${days(locale, retention.rollupDays)}; after the contract ends, at most ${grace} more.`;
    case "logs":
      return locale === "de"
        ? `Protokolle nach der Protokollrotation des Betreibers; Quarantäne und Nachrichten-IDs werden nach Vertragsende mit den Telemetriedaten gelöscht; Sicherheitsereignisse ${days(locale, input.securityEventDays)} nach ihrem letzten Auftreten.`
        : `Logs according to the operator's log rotation; quarantine and message ids are deleted with the telemetry after the contract ends; security events ${days(locale, input.securityEventDays)} after they were last seen.`;
  }
}

const T = {
  title: {
    de: "Datenschutzhinweise: Wie {op} mit Ihren Daten umgeht",
    en: "Privacy information: how {op} handles your data",
  },
  controller: { de: "Verantwortlicher", en: "Controller" },
  data: { de: "Welche Daten werden erfasst?", en: "What data is collected?" },
  collection: {
    de: "Wie werden die Daten von meiner Vakuumpumpe erfasst?",
    en: "How is the data collected from my vacuum pump?",
  },
  purpose: { de: "Warum werden die Daten übermittelt?", en: "Why is the data transmitted?" },
  transmission: {
    de: "Wie wird die Übertragung der Daten gesichert?",
    en: "How is the transmission secured?",
  },
  retention: { de: "Wie lange werden die Daten gespeichert?", en: "How long is the data kept?" },
  termination: {
    de: "Kann ich die Datenerfassung beenden?",
    en: "Can I stop the data collection?",
  },
  rights: { de: "Ihre Rechte", en: "Your rights" },
} as const;

/** Builds the privacy information for one locale from the inventory and the given parameters. */
export function privacyInformation(input: PrivacyInput): PrivacyDocument {
  const { locale, operator } = input;
  if (locale !== "de" && locale !== "en") throw new RangeError(`unsupported locale: ${String(locale)}`);
  checkDays("retention.rawDays", input.retention.rawDays, 1);
  checkDays("retention.rollupDays", input.retention.rollupDays, 1);
  checkDays("exportGraceDays", input.exportGraceDays, 0);
  for (const f of input.personalFields) {
    if (!(PERSONAL_FIELDS as readonly string[]).includes(f))
      throw new RangeError(`unknown personal field: ${f}`);
  }
  for (const k of ["name", "address", "contact"] as const) {
    if (operator[k].trim() === "") throw new RangeError(`operator.${k} must not be empty`);
  }
  const de = locale === "de";
  const op = operator.name;
  const wanted = new Set(input.personalFields);
  const inventory = resolvedInventory().map((c) =>
    c.id === "user" ? { ...c, items: c.items.filter((i) => i.personal && wanted.has(i.personal)) } : c,
  );
  const cat = (id: DataCategoryId): DataCategory => inventory.find((c) => c.id === id)!;
  // Items are joined with "; " because some labels contain commas themselves.
  const labels = (id: DataCategoryId): string =>
    cat(id)
      .items.map((i) => i.label[locale])
      .join("; ");
  const userFields = cat("user").items.map((i) => i.label[locale]);
  const signals = privacySignals();
  const grace = days(locale, input.exportGraceDays);

  const sections: PrivacySection[] = [];

  sections.push({
    id: "controller",
    heading: T.controller[locale],
    paragraphs: de
      ? [
          `Diesen Dienst zur Zustandsüberwachung von Vakuumpumpen betreibt ${op}, ${operator.address}. ${op} ist Anbieter des Dienstes und Verantwortlicher für die Verarbeitung der hier beschriebenen Daten.`,
          `Kontakt für alle Fragen zum Datenschutz: ${operator.contact}.`,
          `Der Dienst läuft auf pumpwatch, einer selbst betriebenen Software: Ihre Daten werden auf den Servern von ${op} verarbeitet und nicht an den Hersteller der Software übermittelt.`,
        ]
      : [
          `This condition-monitoring service for vacuum pumps is run by ${op}, ${operator.address}. ${op} provides the service and is the controller for the processing of the data described here.`,
          `Contact for all data-protection questions: ${operator.contact}.`,
          `The service runs on pumpwatch, self-hosted software: your data is processed on the servers of ${op} and is not passed to the makers of the software.`,
        ],
  });

  sections.push({
    id: "data",
    heading: T.data[locale],
    paragraphs: de
      ? [
          `${op} erfasst ausschließlich Daten der folgenden Kategorien: ${list(
            locale,
            inventory.map((c) => c.label.de),
          )}.`,
          userFields.length > 0
            ? `Personenbezogene Daten sind allein die Kontaktdaten der Benutzer: ${list(locale, userFields)}. Weitere personenbezogene Daten werden nicht erfasst.`
            : "Personenbezogene Daten der Benutzer werden nicht erfasst.",
        ]
      : [
          `${op} collects data of the following categories only: ${list(
            locale,
            inventory.map((c) => c.label.en.toLowerCase()),
          )}.`,
          userFields.length > 0
            ? `The only personal data are the users' contact details: ${list(
                locale,
                userFields.map((f) => f.toLowerCase()),
              )}. No other personal data is collected.`
            : "No personal data of users is collected.",
        ],
    table: {
      columns: de
        ? ["Kategorie", "Daten", "Zweck", "Speicherdauer"]
        : ["Category", "Data", "Purpose", "Retention"],
      rows: inventory.map((c) => [
        c.label[locale],
        c.id === "telemetry"
          ? de
            ? `Sensorsignale: ${signals.map((s) => SIGNAL_DE[s.name] ?? s.description).join("; ")}`
            : `Sensor signals: ${signals.map((s) => SIGNAL_EN[s.name] ?? s.description).join("; ")}`
          : labels(c.id),
        c.purpose[locale],
        retentionText(c.retention, input),
      ]),
    },
  });

  sections.push({
    id: "collection",
    heading: T.collection[locale],
    paragraphs: de
      ? [
          "Die Signale werden von den Sensoren an der Vakuumpumpe gemessen. Die IoT-Box an der Pumpe sammelt sie in einstellbaren Abständen und überträgt sie sicher an pumpwatch, wo sie zur Auswertung gespeichert werden.",
          "Die IoT-Box baut die Verbindung ausschließlich selbst nach außen auf. Ein Zugriff auf Ihr Firmennetz oder WLAN ist nicht erforderlich, sofern nichts anderes vereinbart wurde.",
          "Erfasst werden die folgenden Signale. Für einzelne Pumpenmodelle können weitere technische Messwerte hinzukommen; sie beschreiben ebenfalls nur die Pumpe.",
        ]
      : [
          "The signals are measured by the sensors on the vacuum pump. The IoT box on the pump collects them at adjustable intervals and transmits them securely to pumpwatch, where they are stored for analysis.",
          "The IoT box only ever opens outbound connections. No access to your company network or Wi-Fi is needed unless agreed otherwise.",
          "The following signals are collected. Individual pump models may add further technical measurements; they, too, describe only the pump.",
        ],
    table: {
      columns: de ? ["Signal", "Einheit", "Bedeutung"] : ["Signal", "Unit", "Meaning"],
      rows: signals.map((s) => [
        s.name,
        s.unit === "" ? "–" : s.unit,
        de ? (SIGNAL_DE[s.name] ?? s.description) : (SIGNAL_EN[s.name] ?? s.description),
      ]),
    },
  });

  sections.push({
    id: "purpose",
    heading: T.purpose[locale],
    paragraphs: de
      ? [
          `Sobald die Daten gespeichert sind, werten Algorithmen die Rohdaten Ihrer Vakuumpumpe aus, um Ihnen Warnhinweise, Alarme, Informationen zur vorausschauenden Wartung, Leistungskennzahlen und historische Pumpendaten zu liefern.`,
          "Die Daten werden nur zu diesem Zweck erfasst und verarbeitet. Sie werden weder verkauft noch für Werbung verwendet, und die Auswertungen beziehen sich auf Pumpen, nicht auf Personen.",
        ]
      : [
          "Once the data is stored, algorithms analyse the raw data of your vacuum pump to provide warnings, alarms, predictive-maintenance information, key performance indicators and the pump's history.",
          "The data is collected and processed for this purpose only. It is neither sold nor used for advertising, and the analyses concern pumps, not people.",
        ],
  });

  sections.push({
    id: "transmission",
    heading: T.transmission[locale],
    paragraphs: de
      ? [
          "Die IoT-Box überträgt die Daten über MQTT mit TLS (Version 1.2 oder höher) oder über HTTPS. Unverschlüsselte Verbindungen werden nicht angenommen.",
          "Jede IoT-Box meldet sich über den Device Provisioning Service (DPS) an und authentifiziert sich mit eigenen symmetrischen Schlüsseln (SAS-Tokens). Die Tokens laufen ab und müssen erneuert werden; die Schlüssel werden mit AES-256-GCM verschlüsselt gespeichert.",
          "Jedes Datenpaket ist ein JSON-Dokument mit einer eindeutigen Nachrichten-ID. Beim Eingang wird geprüft, ob das Paket autorisiert ist: Das Gerät muss bekannt und freigeschaltet sein, zum angemeldeten Gerät passen, und Ihr Vertrag muss die Datenerfassung erlauben. Erst nach dieser Prüfung werden die Daten gespeichert.",
          "Bereits empfangene Pakete (gleiche Nachrichten-ID) werden verworfen, sodass jeder Messwert genau einmal gespeichert wird. Ungültige Pakete werden nicht als Daten gespeichert, sondern mit dem Ablehnungsgrund in einer Quarantäne abgelegt.",
        ]
      : [
          "The IoT box transmits the data over MQTT with TLS (version 1.2 or later) or over HTTPS. Unencrypted connections are not accepted.",
          "Every IoT box registers through the device provisioning service (DPS) and authenticates with its own symmetric keys (SAS tokens). The tokens expire and must be renewed; the keys are stored sealed with AES-256-GCM.",
          "Every data packet is a JSON document with a unique message id. On arrival it is checked that the packet is authorised: the device must be known and enabled, match the connected device, and your contract must allow data collection. Only then is the data stored.",
          "Packets already received (same message id) are dropped, so every measurement is stored exactly once. Invalid packets are not stored as data but kept in a quarantine with the reason for rejection.",
        ],
  });

  sections.push({
    id: "retention",
    heading: T.retention[locale],
    paragraphs: de
      ? [
          `Rohdaten der Pumpensensoren werden ${days(locale, input.retention.rawDays)} gespeichert, verdichtete Stunden- und Tageswerte ${days(locale, input.retention.rollupDays)}. Ältere Daten werden automatisch gelöscht.`,
          `Nach Vertragsende werden Ihre Daten noch ${grace} für den Export aufbewahrt und danach gelöscht.`,
        ]
      : [
          `Raw pump sensor data is kept for ${days(locale, input.retention.rawDays)}, hourly and daily aggregates for ${days(locale, input.retention.rollupDays)}. Older data is deleted automatically.`,
          `After the contract ends, your data is kept for ${grace} so that you can export it, and is then deleted.`,
        ],
    table: {
      columns: de ? ["Kategorie", "Speicherdauer"] : ["Category", "Retention"],
      rows: inventory.map((c) => [c.label[locale], retentionText(c.retention, input)]),
    },
  });

  sections.push({
    id: "termination",
    heading: T.termination[locale],
    paragraphs: de
      ? [
          "Soweit nicht abweichend vereinbart, können beide Parteien den Vertrag jederzeit schriftlich mit einer Frist von einem Monat zum Ende eines Kalendermonats kündigen. Das Recht zur Kündigung aus wichtigem Grund ohne Einhaltung einer Frist bleibt unberührt.",
          "Mit dem Ende des Vertrags enden zugleich Ihr Benutzerkonto und alle für Ihr Unternehmen bereitgestellten Benutzerkonten; ab dann werden keine Daten Ihrer Pumpen mehr angenommen.",
          `Die Telemetriedaten Ihres Unternehmens bleiben danach noch ${grace} für den Export verfügbar und werden dann zusammen mit den verdichteten Werten und der Quarantäne gelöscht. Das Prüfprotokoll behält nur Einträge ohne personenbezogene Daten.`,
        ]
      : [
          "Unless agreed otherwise, either party may terminate the contract in writing at any time with one month's notice to the end of a calendar month. The right to terminate for good cause without notice remains unaffected.",
          "When the contract ends, your user account and all user accounts provided for your company end as well; from then on no data from your pumps is accepted.",
          `Your company's telemetry then remains available for export for ${grace} and is afterwards deleted together with the aggregates and the quarantine. The audit log keeps only records without personal data.`,
        ],
  });

  sections.push({
    id: "rights",
    heading: T.rights[locale],
    paragraphs: de
      ? [
          "Auskunft und Export: Jeder Benutzer kann seine eigenen Daten abrufen. Administratoren eines Unternehmens können alle Daten des Unternehmens als ZIP-Archiv mit JSON- und CSV-Dateien exportieren.",
          "Berichtigung: Unrichtige Daten können Sie im Dashboard ändern oder von uns berichtigen lassen.",
          `Löschung: Sie können die Löschung Ihrer personenbezogenen Daten verlangen, soweit keine gesetzlichen Aufbewahrungspflichten entgegenstehen. Wenden Sie sich dazu an ${operator.contact}.`,
          "Sie haben außerdem das Recht, sich bei einer Datenschutz-Aufsichtsbehörde zu beschweren.",
        ]
      : [
          "Access and export: every user can retrieve their own data. A company's administrators can export all of the company's data as a ZIP archive of JSON and CSV files.",
          "Rectification: you can correct inaccurate data in the dashboard or have it corrected by us.",
          `Erasure: you can request the erasure of your personal data unless statutory retention obligations prevent it. Please contact ${operator.contact}.`,
          "You also have the right to lodge a complaint with a data-protection supervisory authority.",
        ],
  });

  return {
    locale,
    title: T.title[locale].replace("{op}", op),
    sections,
    generatedFrom: {
      categories: inventory.map((c) => c.id),
      personalFields: [...wanted],
      signals: signals.map((s) => s.name),
      retention: { rawDays: input.retention.rawDays, rollupDays: input.retention.rollupDays },
      exportGraceDays: input.exportGraceDays,
      operator: op,
    },
  };
}

function cell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** Renders a {@link PrivacyDocument} as Markdown: title, then every section with its table. */
export function privacyMarkdown(doc: PrivacyDocument): string {
  const out: string[] = [`# ${doc.title}`, ""];
  for (const s of doc.sections) {
    out.push(`## ${s.heading}`, "");
    for (const p of s.paragraphs) out.push(p, "");
    if (s.table) {
      out.push(`| ${s.table.columns.map(cell).join(" | ")} |`);
      out.push(`|${s.table.columns.map(() => " --- ").join("|")}|`);
      for (const r of s.table.rows) out.push(`| ${r.map(cell).join(" | ")} |`);
      out.push("");
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}
