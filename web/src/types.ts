/** Shapes of the API answers the dashboard reads (docs/api.md); only the fields it uses. */

export type Role = "operatorAdmin" | "serviceTechnician" | "companyAdmin" | "companyUser";

export interface Me {
  id: string;
  companyId: string | null;
  role: Role;
  email: string;
  csrfToken?: string;
  company?: { id: string; name: string } | null;
}

export interface Device {
  id: string;
  enabled: boolean;
  companyId: string | null;
  model: string | null;
  pumpType: string | null;
  serial: string | null;
  /** Display name people gave the pump. */
  name: string | null;
  /** Site (plant) the pump stands at. */
  site: string | null;
}

export interface Company {
  id: string;
  name: string;
}

export interface HealthCheck {
  id: string;
  label: string;
  status: "pass" | "warn" | "fail" | "no-data";
  detail: string;
}

export interface Forecast {
  id: string;
  label: string;
  status: string;
  indicator: number | null;
  threshold: number;
  unit: string;
  p10: number | null;
  p50: number | null;
  p90: number | null;
  recommendation: string;
  severity: "warning" | "alarm" | null;
  asOf: number;
}

export interface HealthReport {
  score: number | null;
  checks: HealthCheck[];
}

export interface FleetHealth {
  summary: {
    score: number | null;
    pumps: number;
    ok: number;
    warning: number;
    alarm: number;
    noData: number;
  };
  pumps: FleetPump[];
}

/** One pump of GET /api/fleet/health. */
export interface FleetPump {
  deviceId: string;
  report: HealthReport;
  /** Time of the pump's last sample. */
  lastDataTs: number | null;
  /** The forecast with the earliest P50. */
  nextMaintenance: { id: string; label: string; p50: number; status: string } | null;
}

export interface Diagnosis {
  code: string;
  cause: string;
  confidence: number;
  action: string;
}

export interface Alarm {
  id: number;
  deviceId: string;
  type: string;
  severity: "warning" | "alarm";
  active: boolean;
  acknowledged: boolean;
  occurrences: number;
  message: string;
  signals: string[];
  diagnosis: Diagnosis | null;
  firstRaisedAt: number;
  lastRaisedAt: number;
  clearedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  shelvedUntil: number | null;
  updatedAt: number;
}

export interface AlarmHistoryEntry {
  ts: number;
  kind: string;
  severity: string | null;
  actor: string | null;
  text: string | null;
}

export interface PumpAnalytics {
  deviceId: string;
  model: string | null;
  connected: boolean;
  lastTs: number | null;
  state: string | null;
  values: Record<string, number>;
  anomalyScore: number | null;
  anomalyDrivers: string[];
  health: HealthReport;
  forecasts: Forecast[];
}

export interface MaintenanceEntry {
  id: number;
  ts: number;
  action: string;
  note: string | null;
  actor: string | null;
}

/** Columnar series: `t` and one array per signal, min/max bands when downsampled. */
export interface Series {
  resolution: "raw" | "1m" | "1h" | "1d";
  bucketMs: number;
  t: number[];
  min?: Record<string, (number | null)[]>;
  max?: Record<string, (number | null)[]>;
  [signal: string]: unknown;
}

export interface Kpi {
  periodStart: number;
  periodEnd: number;
  operatingHours: number;
  utilisation: number | null;
  availability: number | null;
  energyKwh: number;
  specificEnergyKwhPerM3: number | null;
  startsPerHour: number | null;
  alarmCount: number;
  warningCount: number;
  mtbfHours: number | null;
  mttrHours: number | null;
}

export const MAINTENANCE_ACTIONS = [
  "oilChange",
  "exhaustFilterChange",
  "overhaul",
  "coolingRepair",
  "leakRepair",
  "sensorReplacement",
  "restart",
] as const;

/** Units of the built-in signals (src/ingest/telemetry.ts). */
export const SIGNAL_UNITS: Record<string, string> = {
  inletPressure: "hPa",
  exhaustPressure: "hPa",
  oilTemperature: "°C",
  motorTemperature: "°C",
  ambientTemperature: "°C",
  motorCurrent: "A",
  power: "kW",
  vibration: "mm/s",
  operatingHours: "h",
  running: "",
};

/** One row of GET /api/devices/{id}/kpis or /api/fleet/kpis. */
export interface KpiRow extends Kpi {
  deviceId: string;
  loadHours: number;
  idleHours: number;
  coveredHours: number;
  calendarHours: number;
  maxStartsInAnHour: number;
}

export interface KpiAnswer {
  period: "day" | "week" | "month";
  from: number;
  to: number;
  timeZone: string;
  kpis: KpiRow[];
}

export interface CompanyFull extends Company {
  postalAddress: string | null;
  createdAt?: number;
  updatedAt?: number;
}

/** A user as GET /api/users lists them. */
export interface UserRow {
  id: string;
  companyId: string | null;
  role: Role;
  email: string;
  phone: string | null;
  postalAddress: string | null;
  status: "invited" | "active";
}

export interface Invitation {
  mailed: boolean;
  expiresAt: number;
  link?: string;
}

export interface ApiToken {
  id: string;
  name: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export const TOKEN_SCOPES = [
  "telemetry:read",
  "telemetry:write",
  "alarms:read",
  "alarms:write",
  "devices:read",
  "devices:write",
  "devices:admin",
  "analytics:read",
  "maintenance:read",
  "maintenance:write",
  "*",
] as const;

export interface Subscription {
  deviceId: string | null;
  minSeverity: "warning" | "alarm";
  email: boolean;
  locale?: "de" | "en";
}

export type ContractStatus = "active" | "noticeGiven" | "terminated";

export interface ContractNotice {
  by: "customer" | "operator";
  receivedAt: number;
  extraordinary: boolean;
  reason: string | null;
  lastDay: string;
  endsAt: number;
  recordedAt: number;
}

export interface Contract {
  id: string;
  companyId: string;
  start: string;
  timeZone: string;
  terms: {
    period: { months?: number; weeks?: number; days?: number };
    to: "monthEnd" | "quarterEnd" | "contractYearEnd" | "none";
    minimumTermMonths?: number;
  };
  notice: ContractNotice | null;
  status: ContractStatus;
  lastDay: string | null;
  endsAt: number | null;
}

/** GET /api/privacy?format=json (src/tenancy/privacy.ts `PrivacyDocument`). */
export interface PrivacyDocument {
  locale: "de" | "en";
  title: string;
  sections: {
    id: string;
    heading: string;
    paragraphs: string[];
    table?: { columns: string[]; rows: string[][] };
  }[];
}

export interface Info {
  idScope: string;
  assignedHub: string;
  caPath: string;
  mqttPort: number;
}

/** GET /api/enrollments (keys are not shown in lists). */
export interface Enrollment {
  id: string;
  kind: "individual" | "group";
  enabled: boolean;
  companyId: string | null;
  createdAt: string | number;
}

export interface QuarantineEntry {
  id: number | string;
  receivedAt: number | string;
  deviceId: string | null;
  messageId: string | null;
  transport: string;
  topic: string | null;
  reasonCode: string;
  reason: string;
  payload: string;
}

export interface AuditEntry {
  id: number | string;
  ts: number;
  actor: string | null;
  event: string;
  targetType: string | null;
  targetId: string | null;
  companyId: string | null;
}
