import { Readable } from "node:stream";
import { ZipArchive } from "archiver";
import { type CsvValue, csvRow } from "../core/csv.js";
import { PumpwatchError } from "../core/errors.js";
import { type DeviceView, deviceView } from "../provisioning/admin.js";
import type {
  AlarmEvent,
  AlarmRecord,
  AnalyticsStore,
  ApiToken,
  AuditEntry,
  Company,
  KpiHourRecord,
  MaintenanceRecord,
  RegistryStore,
  Session,
  TelemetryStore,
  TenancyStore,
  User,
} from "../store/ports.js";

/**
 * Data-subject exports (GDPR Art. 15 right of access, Art. 20 portability): everything held about one
 * user, or all data of one company, as a ZIP of JSON and CSV files. The archive is produced while it
 * is read — one file at a time, telemetry page by page — so memory stays bounded for any amount of
 * data. `manifest.json` comes last and counts the records of every file: an archive without it is
 * incomplete. A failure while streaming destroys the stream with the error, so an HTTP response is
 * aborted rather than ending in a truncated archive that looks complete.
 *
 * Never exported: password hashes, session and token hashes, device keys (`deviceView`).
 */

export interface ExportStores {
  tenancy: TenancyStore;
  registry: RegistryStore;
  telemetry: TelemetryStore;
  analytics: AnalyticsStore;
}

const DAY = 86_400_000;
/** Limit for the lists the ports read in one call: high enough to mean "all". */
const ALL = 1_000_000;
/** Quarantined packets per device: evidence of rejected input, not the data itself. */
const QUARANTINE_PER_DEVICE = 10_000;

/**
 * Everything held about one user: contact data, login sessions and API tokens (times and names,
 * never hashes), the audit entries made by or about the user, and the alarm and maintenance actions
 * the user made. NOT_FOUND (before any byte is streamed) when the user does not exist.
 */
export async function exportUser(stores: ExportStores, userId: string, now: number): Promise<Readable> {
  const user = await stores.tenancy.getUser(userId);
  if (!user) {
    throw new PumpwatchError(
      "NOT_FOUND",
      `user ${userId} does not exist: check the id; an erased user has no data left to export`,
    );
  }
  return zipStream(now, async (zip) => {
    await zip.add("user.json", jsonDoc(userRecord(user)));
    const sessions = await stores.tenancy.listSessions(userId, now);
    await zip.add("sessions.json", jsonArray(once(sessions.map(sessionRecord))));
    const tokens = await stores.tenancy.listApiTokens(userId);
    await zip.add("api-tokens.json", jsonArray(once(tokens.map(tokenRecord))));
    const audit = (await stores.tenancy.listAudit({ limit: ALL }))
      .filter((e) => e.actor === userId || (e.targetType === "user" && e.targetId === userId))
      .map(auditRecord);
    await zip.add("audit.json", jsonArray(once(audit)));
    await zip.add("audit.csv", csvTable(AUDIT_COLUMNS, once(audit)));
    // Operator staff act on every company's pumps; company users only on their own.
    const deviceIds = user.companyId === null ? undefined : await companyDeviceIds(stores, user.companyId);
    const events = deviceIds?.length === 0 ? [] : await stores.analytics.alarmEvents(deviceIds, 0, now + DAY);
    const actions = events.filter((e) => e.actor === userId).map(eventRecord);
    await zip.add("alarm-actions.json", jsonArray(once(actions)));
    const ids = deviceIds ?? (await stores.registry.listDevices()).map((d) => d.id);
    const maintenance: ReturnType<typeof maintenanceRecord>[] = [];
    for (const id of ids) {
      for (const m of await stores.analytics.listMaintenance(id, ALL)) {
        if (m.actor === userId) maintenance.push(maintenanceRecord(m));
      }
    }
    await zip.add("maintenance-actions.json", jsonArray(once(maintenance)));
    await zip.add("README.txt", textFile(USER_README));
    await zip.add("manifest.json", jsonDoc({ kind: "user", userId, createdAt: iso(now), files: zip.files }));
  });
}

/**
 * All data of one company: company, contract, users' contact data and roles, devices (without keys)
 * and twins, all telemetry, alarms with their history, maintenance, hourly KPIs, quarantined packets
 * and the company's audit entries. NOT_FOUND (before any byte is streamed) when the company does not
 * exist.
 */
export async function exportCompany(stores: ExportStores, companyId: string, now: number): Promise<Readable> {
  const company = await stores.tenancy.getCompany(companyId);
  if (!company) {
    throw new PumpwatchError(
      "NOT_FOUND",
      `company ${companyId} does not exist: check the id; a company purged after termination has no data left to export`,
    );
  }
  const until = now + DAY;
  return zipStream(now, async (zip) => {
    const { tenancy, registry, telemetry, analytics } = stores;
    await zip.add("company.json", jsonDoc(companyRecord(company)));
    const contract = await tenancy.getContract(companyId);
    if (contract) await zip.add("contract.json", jsonDoc(contract));
    const users = (await tenancy.listUsers(companyId)).map(userRecord);
    await zip.add("users.json", jsonArray(once(users)));
    await zip.add("users.csv", csvTable(USER_COLUMNS, once(users)));

    const devices = (await registry.listDevices()).filter((d) => d.companyId === companyId).map(deviceView);
    const ids = devices.map((d) => d.id);
    await zip.add("devices.json", jsonArray(once(devices)));
    await zip.add("devices.csv", csvTable(DEVICE_COLUMNS, once(devices)));
    for (const id of ids) {
      await zip.add(`twins/${fileName(id)}.json`, jsonDoc({ deviceId: id, ...(await registry.getTwin(id)) }));
    }
    for (const id of ids) await zip.add(`telemetry/${fileName(id)}.csv`, telemetryCsv(telemetry, id, until));

    const alarms = ids.length === 0 ? [] : await analytics.listAlarms({ deviceIds: ids, now, limit: ALL });
    await zip.add("alarms.json", jsonArray(withHistory(analytics, alarms)));
    await zip.add("alarms.csv", csvTable(ALARM_COLUMNS, once(alarms.map(alarmRecord))));
    const maintenance = () =>
      perDevice(ids, async (id) => (await analytics.listMaintenance(id, ALL)).map(maintenanceRecord));
    await zip.add("maintenance.json", jsonArray(maintenance()));
    await zip.add("maintenance.csv", csvTable(MAINTENANCE_COLUMNS, maintenance()));
    await zip.add(
      "kpis.csv",
      csvTable(
        KPI_COLUMNS,
        perDevice(ids, async (id) => (await analytics.queryKpiHours([id], 0, until)).map(kpiRecord)),
      ),
    );
    await zip.add(
      "quarantine.json",
      jsonArray(
        perDevice(ids, (id) => telemetry.listQuarantine({ limit: QUARANTINE_PER_DEVICE, deviceId: id })),
      ),
    );
    const audit = (await tenancy.listAudit({ companyId, limit: ALL })).map(auditRecord);
    await zip.add("audit.json", jsonArray(once(audit)));
    await zip.add("README.txt", textFile(COMPANY_README));
    await zip.add(
      "manifest.json",
      jsonDoc({ kind: "company", companyId, createdAt: iso(now), files: zip.files }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Records: the exported shape of each kind, times as ISO 8601 (UTC). Users, tokens and companies
// list their fields explicitly, so a field added next to personal data or secrets in the store types
// (a hash, a key) is not exported by accident; CSV files list their columns.

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const USER_COLUMNS = [
  "id",
  "companyId",
  "role",
  "email",
  "phone",
  "postalAddress",
  "createdAt",
  "updatedAt",
  "lockedUntil",
] as const;
const userRecord = (u: User) => ({
  id: u.id,
  companyId: u.companyId,
  role: u.role,
  email: u.email,
  phone: u.phone,
  postalAddress: u.postalAddress,
  createdAt: iso(u.createdAt),
  updatedAt: iso(u.updatedAt),
  lockedUntil: iso(u.lockedUntil),
});

const companyRecord = (c: Company) => ({
  id: c.id,
  name: c.name,
  postalAddress: c.postalAddress,
  createdAt: iso(c.createdAt),
  updatedAt: iso(c.updatedAt),
});

const sessionRecord = (x: Session) => ({
  createdAt: iso(x.createdAt),
  lastSeenAt: iso(x.lastSeenAt),
  expiresAt: iso(x.expiresAt),
});

const tokenRecord = (t: ApiToken) => ({
  id: t.id,
  name: t.name,
  scopes: t.scopes,
  createdAt: iso(t.createdAt),
  expiresAt: iso(t.expiresAt),
  revokedAt: iso(t.revokedAt),
});

const AUDIT_COLUMNS = ["id", "ts", "actor", "event", "targetType", "targetId", "companyId"] as const;
const auditRecord = (e: AuditEntry) => ({ ...e, ts: iso(e.ts) });

const eventRecord = (e: AlarmEvent & { deviceId?: string; type?: string }) => ({
  id: e.id,
  alarmId: e.alarmId,
  ...(e.deviceId === undefined ? {} : { deviceId: e.deviceId, type: e.type }),
  ts: iso(e.ts),
  kind: e.kind,
  severity: e.severity,
  actor: e.actor,
  text: e.text,
});

const DEVICE_COLUMNS = [
  "id",
  "enabled",
  "companyId",
  "model",
  "pumpType",
  "serial",
  "enrollmentKind",
  "enrollmentName",
  "registrationPayload",
  "createdAt",
  "updatedAt",
  "generation",
] as const satisfies readonly (keyof DeviceView)[];

const ALARM_COLUMNS = [
  "id",
  "deviceId",
  "type",
  "severity",
  "active",
  "acknowledged",
  "occurrences",
  "message",
  "signals",
  "diagnosis",
  "firstRaisedAt",
  "lastRaisedAt",
  "clearedAt",
  "acknowledgedAt",
  "acknowledgedBy",
  "shelvedUntil",
  "updatedAt",
] as const;
const alarmRecord = (a: AlarmRecord) => ({
  ...a,
  firstRaisedAt: iso(a.firstRaisedAt),
  lastRaisedAt: iso(a.lastRaisedAt),
  clearedAt: iso(a.clearedAt),
  acknowledgedAt: iso(a.acknowledgedAt),
  shelvedUntil: iso(a.shelvedUntil),
  updatedAt: iso(a.updatedAt),
});

async function* withHistory(analytics: AnalyticsStore, alarms: readonly AlarmRecord[]) {
  for (const a of alarms) {
    yield [{ ...alarmRecord(a), history: (await analytics.alarmHistory(a.id)).map(eventRecord) }];
  }
}

const MAINTENANCE_COLUMNS = ["id", "deviceId", "ts", "action", "note", "actor", "createdAt"] as const;
const maintenanceRecord = (m: MaintenanceRecord) => ({ ...m, ts: iso(m.ts), createdAt: iso(m.createdAt) });

const KPI_COLUMNS = [
  "deviceId",
  "hour",
  "coveredS",
  "runningS",
  "loadS",
  "downS",
  "energyKwh",
  "gasM3",
  "starts",
  "band0S",
  "band1S",
  "band2S",
  "band3S",
  "band4S",
  "band5S",
] as const;
const kpiRecord = ({ bandS, ...k }: KpiHourRecord) => ({
  ...k,
  hour: iso(k.hour),
  band0S: bandS[0] ?? 0,
  band1S: bandS[1] ?? 0,
  band2S: bandS[2] ?? 0,
  band3S: bandS[3] ?? 0,
  band4S: bandS[4] ?? 0,
  band5S: bandS[5] ?? 0,
});

async function companyDeviceIds(stores: ExportStores, companyId: string): Promise<string[]> {
  return (await stores.registry.listDevices()).filter((d) => d.companyId === companyId).map((d) => d.id);
}

/** Device ids as archive paths: characters other than letters, digits, `.`, `_`, `-` percent-encoded. */
function fileName(id: string): string {
  return id.replace(
    /[^A-Za-z0-9._-]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
  );
}

// ---------------------------------------------------------------------------------------------
// File bodies: text produced while the archive reads it, with the number of records it held.

interface Body {
  text: string | AsyncIterable<string>;
  /** Records written; final once the archive has read the whole text. */
  records(): number;
}

async function* once<T>(items: readonly T[]): AsyncIterable<readonly T[]> {
  yield items;
}

async function* perDevice<T>(
  ids: readonly string[],
  read: (id: string) => Promise<readonly T[]>,
): AsyncIterable<readonly T[]> {
  for (const id of ids) yield await read(id);
}

const textFile = (text: string): Body => ({ text, records: () => 0 });

const jsonDoc = (value: unknown): Body => ({ text: `${JSON.stringify(value, null, 2)}\n`, records: () => 1 });

/** A JSON array, one element per line, streamed page by page. */
function jsonArray(pages: AsyncIterable<readonly unknown[]>): Body {
  let count = 0;
  async function* text() {
    yield "[";
    for await (const page of pages) {
      let chunk = "";
      for (const item of page) chunk += `${count++ === 0 ? "\n" : ",\n"}${JSON.stringify(item)}`;
      if (chunk) yield chunk;
    }
    yield count === 0 ? "]\n" : "\n]\n";
  }
  return { text: text(), records: () => count };
}

/** A CSV table with a header row; nested values (arrays, objects) become JSON text. */
function csvTable<K extends string>(
  columns: readonly K[],
  pages: AsyncIterable<readonly { [key in K]: unknown }[]>,
): Body {
  let count = 0;
  async function* text() {
    yield csvRow(columns);
    for await (const page of pages) {
      let chunk = "";
      for (const record of page) chunk += csvRow(columns.map((c) => cell(record[c])));
      count += page.length;
      if (chunk) yield chunk;
    }
  }
  return { text: text(), records: () => count };
}

function cell(value: unknown): CsvValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  return JSON.stringify(value);
}

/**
 * One device's samples as CSV: `ts` (ISO 8601) and the sorted union of the device's signal names.
 * Two passes over the pages — names first, then rows — keep memory constant for any history.
 */
function telemetryCsv(telemetry: TelemetryStore, deviceId: string, toMs: number): Body {
  let count = 0;
  async function* text() {
    const names = new Set<string>();
    for await (const page of telemetry.exportSamples(deviceId, 0, toMs)) {
      for (const s of page) for (const n of Object.keys(s.values)) names.add(n);
    }
    const signals = [...names].sort();
    yield csvRow(["ts", ...signals]);
    const cells: CsvValue[] = new Array(signals.length + 1);
    for await (const page of telemetry.exportSamples(deviceId, 0, toMs)) {
      let chunk = "";
      for (const s of page) {
        cells[0] = iso(s.ts);
        for (let i = 0; i < signals.length; i++) cells[i + 1] = s.values[signals[i]!];
        chunk += csvRow(cells);
      }
      count += page.length;
      if (chunk) yield chunk;
    }
  }
  return { text: text(), records: () => count };
}

// ---------------------------------------------------------------------------------------------
// The archive: files appended one at a time, each fully read before the next is started.

class ZipWriter {
  readonly files: { name: string; records: number }[] = [];
  readonly #archive: ZipArchive;
  readonly #date: Date;

  constructor(archive: ZipArchive, date: Date) {
    this.#archive = archive;
    this.#date = date;
  }

  /** Resolves once the archive has read the whole file; rejects when the text fails or the archive closed. */
  async add(name: string, body: Body): Promise<void> {
    const source =
      typeof body.text === "string" ? body.text : Readable.from(body.text, { objectMode: false });
    await appendEntry(this.#archive, name, source, this.#date);
    this.files.push({ name, records: body.records() });
  }
}

function appendEntry(
  archive: ZipArchive,
  name: string,
  source: string | Readable,
  date: Date,
): Promise<void> {
  if (archive.destroyed) return Promise.reject(new Error(`export closed before ${name}`));
  // archiver does not forward errors of a source stream: they are listened to here.
  const stream = typeof source === "string" ? undefined : source;
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      archive.off("entry", onEntry);
      archive.off("close", onClose);
      stream?.off("error", settle);
      if (err === undefined) resolve();
      else {
        stream?.destroy();
        reject(err);
      }
    };
    const onEntry = () => settle();
    const onClose = () => settle(new Error(`export closed while writing ${name}`));
    archive.once("entry", onEntry);
    archive.once("close", onClose);
    stream?.once("error", settle);
    archive.append(source, { name, date });
  });
}

/**
 * A ZIP stream that runs `build` when it is first read. When `build` fails, the stream is destroyed
 * with its error; when the reader destroys the stream, `build` stops at its next file.
 */
function zipStream(now: number, build: (zip: ZipWriter) => Promise<void>): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    const archive = new ZipArchive({ zlib: { level: 6 } });
    const fail = (err: unknown) => {
      if (!archive.destroyed) archive.destroy(err instanceof Error ? err : new Error(String(err)));
    };
    archive.on("error", fail);
    void build(new ZipWriter(archive, new Date(now)))
      .then(() => archive.finalize())
      .catch(fail);
    try {
      for await (const chunk of archive) yield chunk as Buffer;
    } finally {
      archive.destroy();
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

// ---------------------------------------------------------------------------------------------

const USER_README = `Auskunft über Ihre gespeicherten Daten (Art. 15 und 20 DSGVO)
Data held about you (GDPR Art. 15 and 20)

user.json          Ihr Benutzerkonto: Rolle, E-Mail, Telefon, Postanschrift, Zeitstempel.
                   Your user account: role, e-mail, phone, postal address, timestamps.
sessions.json      Ihre offenen Anmeldesitzungen (Beginn, letzte Nutzung, Ablauf).
                   Your open login sessions (start, last use, expiry).
api-tokens.json    Ihre API-Tokens (Name, Berechtigungen, Gültigkeit; ohne das Geheimnis).
                   Your API tokens (name, scopes, validity; without the secret).
audit.json/.csv    Protokolleinträge über Ihre Handlungen und Ihr Konto (nur Kennungen, Ereignisse, Zeiten).
                   Audit entries of your actions and about your account (ids, events and times only).
alarm-actions.json Ihre Aktionen an Alarmen (Quittieren, Zurückstellen, Kommentare).
                   Your actions on alarms (acknowledging, shelving, comments).
maintenance-actions.json Ihre Einträge im Wartungsprotokoll. / Your maintenance log entries.
manifest.json      Liste der Dateien mit Anzahl der Datensätze; fehlt sie, ist das Archiv unvollständig.
                   List of the files with their record counts; without it the archive is incomplete.

Von Sitzungen, Passwörtern und Token-Geheimnissen wird nur ein Hash gespeichert und nie exportiert;
Sitzungen werden beim Abmelden oder Ablauf gelöscht. IP-Adressen werden nicht gespeichert. Zeiten
sind UTC (ISO 8601).
Of sessions, passwords and token secrets only a hash is stored, and never exported; sessions are
deleted at logout or expiry. IP addresses are not stored. Times are UTC (ISO 8601).
`;

const COMPANY_README = `Export der Daten Ihres Unternehmens (Art. 15 und 20 DSGVO)
Export of your company's data (GDPR Art. 15 and 20)

company.json             Unternehmen: Name, Postanschrift. / Company: name, postal address.
contract.json            Vertrag und Kündigungsstand (falls vorhanden). / Contract and notice (if any).
users.json/.csv          Benutzer: Rolle und Kontaktdaten. / Users: role and contact data.
devices.json/.csv        Pumpen (ohne Schlüssel). / Pumps (without keys).
twins/<Pumpe>.json       Gewünschte und gemeldete Einstellungen. / Desired and reported settings.
telemetry/<Pumpe>.csv    Alle Messwerte; Spalte ts in UTC, Einheiten siehe docs/telemetry.md.
                         All readings; column ts in UTC, units in docs/telemetry.md.
alarms.json/.csv         Alarme; die JSON-Datei enthält den Verlauf. / Alarms; the JSON file has their history.
maintenance.json/.csv    Wartungsprotokoll. / Maintenance log.
kpis.csv                 Stündliche Kennzahlen je Pumpe. / Hourly key figures per pump.
quarantine.json          Abgewiesene Nachrichten (höchstens ${QUARANTINE_PER_DEVICE} je Pumpe).
                         Rejected messages (at most ${QUARANTINE_PER_DEVICE} per pump).
audit.json               Protokolleinträge des Unternehmens. / The company's audit entries.
manifest.json            Liste der Dateien mit Anzahl der Datensätze; fehlt sie, ist das Archiv unvollständig.
                         List of the files with their record counts; without it the archive is incomplete.

Pumpen-Kennungen mit anderen Zeichen als Buchstaben, Ziffern, . _ - sind in Dateinamen
prozentkodiert. Zeiten sind UTC (ISO 8601). Schlüssel und Passwort-Hashes werden nie exportiert.
Pump ids with characters other than letters, digits, . _ - are percent-encoded in file names. Times
are UTC (ISO 8601). Keys and password hashes are never exported.
`;
