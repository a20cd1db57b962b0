/**
 * Texts of the pump analytics in the UI language. The server (src/analytics/*) writes its labels,
 * details, diagnoses and recommendations in English; what carries a stable code is translated here:
 * health checks by `id` (health.ts), operating states (segment.ts), forecasts by `id`
 * (forecast.ts), diagnoses by fault `code` (diagnosis.ts) and alarms by `type` (rule:<ruleId>,
 * sensor:<signal>, forecast:<id>, anomaly, trip, offline). Composed server texts (a check's detail,
 * a forecast's recommendation) are rebuilt from their known phrases or structured fields; anything
 * unknown falls back to the server's own text. English shows the server texts unchanged where they
 * carry more detail than a template would.
 */
import { currentLang, fmtNumber, type Lang, tOr } from "./i18n.ts";
import type { Diagnosis, Forecast, HealthCheck } from "./types.ts";

type CheckId =
  | "connection"
  | "temperatures"
  | "exhaust"
  | "oil"
  | "bearings"
  | "power"
  | "pattern"
  | "service";
type ForecastId = "exhaustFilter" | "oil" | "bearing" | "service";
type StateId = "stopped" | "warmup" | "evacuating" | "running";
type FaultCode =
  | "F1"
  | "F1b"
  | "F2"
  | "F3"
  | "F4"
  | "F5"
  | "F6"
  | "F7"
  | "F8"
  | "F9"
  | "F10"
  | "F12"
  | "S1"
  | "S2"
  | "S3"
  | "unknown";
type RuleId =
  | "oilTemperatureHigh"
  | "oilTemperatureRise"
  | "motorTemperatureHigh"
  | "ambientTemperatureHigh"
  | "ambientTemperatureLow"
  | "motorCurrentHigh"
  | "powerHigh"
  | "vibrationHigh"
  | "exhaustPressureHigh";

interface DomainTexts {
  checks: Record<CheckId, string>;
  states: Record<StateId, string>;
  forecasts: Record<ForecastId, string>;
  faults: Record<FaultCode, { cause: string; action: string }>;
  coldStart: string;
  rules: Record<RuleId, string>;
  alarm: {
    anomaly: string;
    trip: string;
    offline: string;
    sensor: string;
    forecast: string;
    rule: string;
  };
  severity: { warning: string; alarm: string };
  detail: {
    noLimit: string;
    active: string;
    noDataYet: string;
    noDataReceived: string;
    noDataFor: string;
    lastData: string;
    learning: string;
    patternOutside: string;
    patternNormal: string;
    deviates: string;
    withinNormal: string;
    forecastStatus: string;
  };
  forecastStatus: Record<"ok" | "degrading" | "due" | "overdue" | "insufficient-data", string>;
  rec: {
    insufficient: string;
    noFilter: string;
    noModel: string;
    filterRed: string;
    filterDue: string;
    filterRising: string;
    filterOk: string;
    filterWithin: string;
    filterPlan: string;
    oilOverdue: string;
    oilDue: string;
    oilWithin: string;
    bearingRed: string;
    bearingDue: string;
    bearingRising: string;
    bearingOk: string;
    bearingWithin: string;
    bearingPlan: string;
    serviceOverdue: string;
    serviceDue: string;
    service: string;
    days: string;
    lessThanDay: string;
  };
  dayUnit: string;
}

const en: DomainTexts = {
  checks: {
    connection: "Data connection",
    temperatures: "Temperatures",
    exhaust: "Exhaust pressure / filter",
    oil: "Oil",
    bearings: "Bearings / vibration",
    power: "Power & current",
    pattern: "Operating pattern",
    service: "Service due",
  },
  states: { stopped: "stopped", warmup: "warming up", evacuating: "evacuating", running: "running" },
  forecasts: { exhaustFilter: "Exhaust filter", oil: "Oil", bearing: "Bearing", service: "Service" },
  faults: {
    F1: {
      cause: "exhaust filter saturation",
      action:
        "Replace the exhaust filter (oil-mist separator); check the oil level and the gas-ballast valve.",
    },
    F1b: {
      cause: "exhaust filter broken through",
      action:
        "Check the exhaust filter for a crack or a missing O-ring and replace it; check the oil level (oil is carried over).",
    },
    F2: {
      cause: "oil ageing",
      action:
        "Change the oil and the oil filter; shorten the oil-change interval if the oil is dark or milky.",
    },
    F3: {
      cause: "low oil level",
      action:
        "Check the oil level with the pump stopped and top up; look for a leak or a broken exhaust filter.",
    },
    F4: {
      cause: "cooling failure",
      action:
        "Check the fan, clean the cooling grilles, check the ambient temperature and the cooling water.",
    },
    F5: { cause: "inlet filter clogging", action: "Clean or replace the inlet filter / screen." },
    F6: {
      cause: "leak into the vacuum system",
      action:
        "Look for a leak: hoses, gaskets, valves and chamber seals; check for a changed process gas load.",
    },
    F7: {
      cause: "bearing wear",
      action: "Plan a bearing replacement; check the vibration trend and listen for bearing noise.",
    },
    F8: {
      cause: "rotor deposits / imbalance",
      action: "Inspect and clean the rotors (process deposits); check the balance.",
    },
    F9: {
      cause: "vane wear",
      action: "Inspect the vanes for wear and replace them; check the ultimate pressure.",
    },
    F10: {
      cause: "motor overload",
      action:
        "Check the motor load: exhaust back pressure, oil viscosity, mechanical binding and the supply phases.",
    },
    F12: {
      cause: "water in the oil",
      action:
        "Run the pump warm with the gas ballast open to purge the water; change the oil if it is milky.",
    },
    S1: { cause: "stuck sensor", action: "The sensor reading is frozen: check the sensor and its wiring." },
    S2: {
      cause: "sensor spikes",
      action: "The sensor gives spikes: check the sensor, its wiring and shielding.",
    },
    S3: {
      cause: "sensor drift",
      action: "The sensor reading drifts: compare with a reference instrument and recalibrate or replace it.",
    },
    unknown: {
      cause: "unknown cause",
      action:
        "Unusual behaviour that matches no known fault pattern: inspect the pump and review its recent trends.",
    },
  },
  coldStart: "Cold start: {action} Let the pump warm up before loading it.",
  rules: {
    oilTemperatureHigh: "Oil temperature high",
    oilTemperatureRise: "Oil temperature rising fast",
    motorTemperatureHigh: "Motor temperature high",
    ambientTemperatureHigh: "Ambient temperature high",
    ambientTemperatureLow: "Ambient temperature low",
    motorCurrentHigh: "Motor current high",
    powerHigh: "Power high",
    vibrationHigh: "Vibration high",
    exhaustPressureHigh: "Exhaust pressure high",
  },
  alarm: {
    anomaly: "Unusual operating pattern",
    trip: "Pump tripped",
    offline: "No data (offline)",
    sensor: "Sensor fault: {signal}",
    forecast: "Forecast: {label}",
    rule: "Limit exceeded: {name}",
  },
  severity: { warning: "warning", alarm: "alarm" },
  detail: {
    noLimit: "no limit exceeded",
    active: "{severity} active: {what}",
    noDataYet: "No data yet.",
    noDataReceived: "no data received yet",
    noDataFor: "no data for {age} (offline after {limit})",
    lastData: "last data {age} ago",
    learning: "still learning this pump's normal behaviour",
    patternOutside: "the operating pattern is outside what was learned as normal",
    patternNormal: "the operating pattern matches what was learned as normal",
    deviates: "{signal} deviates from its learned normal (z = {z})",
    withinNormal: "{signal} within its learned normal",
    forecastStatus: "{label}: {status}",
  },
  forecastStatus: {
    ok: "ok",
    degrading: "degrading",
    due: "due",
    overdue: "overdue",
    "insufficient-data": "insufficient data",
  },
  rec: {
    insufficient: "not enough data yet",
    noFilter: "no exhaust filter",
    noModel: "pump model unknown: no filter data",
    filterRed: "exhaust filter at red limit ({x} of {limit}): replace now",
    filterDue: "exhaust filter saturating: {within} ({x} of {limit})",
    filterRising: "exhaust filter drop rising: {within}",
    filterOk: "exhaust filter ok ({x} of {limit} red limit)",
    filterWithin: "replace within {days}",
    filterPlan: "plan replacement",
    oilOverdue: "{used} of oil life used: change oil now",
    oilDue: "{used} of oil life used",
    oilWithin: "change within {days}",
    bearingRed: "bearing at ISO zone C/D (vibration {x}, limit {limit}): stop and repair",
    bearingDue: "bearing wear: {within} (vibration {x}, limit {limit})",
    bearingRising: "vibration rising: {within}",
    bearingOk: "bearing ok (vibration {x}, limit {limit})",
    bearingWithin: "plan bearing repair within {days}",
    bearingPlan: "plan bearing inspection",
    serviceOverdue: "{used} of {limit} load-weighted h: service overdue",
    serviceDue: "{used} of {limit} load-weighted h: service due in {days}",
    service: "{used} of {limit} load-weighted h",
    days: "~{n} days",
    lessThanDay: "<1 day",
  },
  dayUnit: "d",
};

const de: DomainTexts = {
  checks: {
    connection: "Datenverbindung",
    temperatures: "Temperaturen",
    exhaust: "Auslassdruck / Filter",
    oil: "Öl",
    bearings: "Lager / Schwingung",
    power: "Leistung & Strom",
    pattern: "Betriebsmuster",
    service: "Service fällig",
  },
  states: { stopped: "gestoppt", warmup: "Aufwärmen", evacuating: "Evakuieren", running: "in Betrieb" },
  forecasts: { exhaustFilter: "Abluftfilter", oil: "Öl", bearing: "Lager", service: "Service" },
  faults: {
    F1: {
      cause: "Abluftfilter gesättigt",
      action: "Abluftfilter (Ölnebelabscheider) tauschen; Ölstand und Gasballastventil prüfen.",
    },
    F1b: {
      cause: "Abluftfilter durchgebrochen",
      action:
        "Abluftfilter auf Riss oder fehlenden O-Ring prüfen und tauschen; Ölstand prüfen (Öl wird ausgetragen).",
    },
    F2: {
      cause: "Ölalterung",
      action: "Öl und Ölfilter wechseln; Ölwechselintervall verkürzen, wenn das Öl dunkel oder milchig ist.",
    },
    F3: {
      cause: "niedriger Ölstand",
      action:
        "Ölstand bei stehender Pumpe prüfen und nachfüllen; nach Leck oder defektem Abluftfilter suchen.",
    },
    F4: {
      cause: "Kühlungsausfall",
      action: "Lüfter prüfen, Kühlgitter reinigen, Umgebungstemperatur und Kühlwasser prüfen.",
    },
    F5: { cause: "Ansaugfilter verstopft", action: "Ansaugfilter / Sieb reinigen oder tauschen." },
    F6: {
      cause: "Leck ins Vakuumsystem",
      action:
        "Leck suchen: Schläuche, Dichtungen, Ventile und Kammerdichtungen; geänderte Prozessgaslast prüfen.",
    },
    F7: {
      cause: "Lagerverschleiß",
      action: "Lagertausch einplanen; Schwingungstrend prüfen und auf Lagergeräusche achten.",
    },
    F8: {
      cause: "Ablagerungen am Rotor / Unwucht",
      action: "Rotoren prüfen und reinigen (Prozessablagerungen); Wuchtung prüfen.",
    },
    F9: {
      cause: "Schieberverschleiß",
      action: "Schieber auf Verschleiß prüfen und tauschen; Enddruck prüfen.",
    },
    F10: {
      cause: "Motorüberlast",
      action:
        "Motorlast prüfen: Gegendruck am Auslass, Ölviskosität, mechanisches Klemmen und die Netzphasen.",
    },
    F12: {
      cause: "Wasser im Öl",
      action:
        "Pumpe mit offenem Gasballast warmfahren, um das Wasser auszutreiben; Öl wechseln, wenn es milchig ist.",
    },
    S1: {
      cause: "Sensor hängt",
      action: "Der Sensorwert ist eingefroren: Sensor und Verkabelung prüfen.",
    },
    S2: {
      cause: "Sensor-Ausreißer",
      action: "Der Sensor liefert Ausreißer: Sensor, Verkabelung und Schirmung prüfen.",
    },
    S3: {
      cause: "Sensordrift",
      action:
        "Der Sensorwert driftet: mit einem Referenzgerät vergleichen und neu kalibrieren oder tauschen.",
    },
    unknown: {
      cause: "unbekannte Ursache",
      action:
        "Ungewöhnliches Verhalten, das zu keinem bekannten Fehlerbild passt: Pumpe prüfen und die letzten Verläufe ansehen.",
    },
  },
  coldStart: "Kaltstart: {action} Pumpe vor dem Belasten warmlaufen lassen.",
  rules: {
    oilTemperatureHigh: "Öltemperatur hoch",
    oilTemperatureRise: "Öltemperatur steigt schnell",
    motorTemperatureHigh: "Motortemperatur hoch",
    ambientTemperatureHigh: "Umgebungstemperatur hoch",
    ambientTemperatureLow: "Umgebungstemperatur niedrig",
    motorCurrentHigh: "Motorstrom hoch",
    powerHigh: "Leistung hoch",
    vibrationHigh: "Schwingung hoch",
    exhaustPressureHigh: "Auslassdruck hoch",
  },
  alarm: {
    anomaly: "Ungewöhnliches Betriebsmuster",
    trip: "Pumpe abgeschaltet (Schutzauslösung)",
    offline: "Keine Daten (offline)",
    sensor: "Sensorfehler: {signal}",
    forecast: "Prognose: {label}",
    rule: "Grenzwert überschritten: {name}",
  },
  severity: { warning: "Warnung", alarm: "Alarm" },
  detail: {
    noLimit: "kein Grenzwert überschritten",
    active: "{severity} aktiv: {what}",
    noDataYet: "Noch keine Daten.",
    noDataReceived: "noch keine Daten empfangen",
    noDataFor: "seit {age} keine Daten (offline nach {limit})",
    lastData: "letzte Daten vor {age}",
    learning: "das Normalverhalten dieser Pumpe wird noch gelernt",
    patternOutside: "das Betriebsmuster weicht vom gelernten Normalverhalten ab",
    patternNormal: "das Betriebsmuster entspricht dem gelernten Normalverhalten",
    deviates: "{signal} weicht vom gelernten Normalwert ab (z = {z})",
    withinNormal: "{signal} im gelernten Normalbereich",
    forecastStatus: "{label}: {status}",
  },
  forecastStatus: {
    ok: "in Ordnung",
    degrading: "verschlechtert sich",
    due: "fällig",
    overdue: "überfällig",
    "insufficient-data": "zu wenig Daten",
  },
  rec: {
    insufficient: "noch zu wenig Daten",
    noFilter: "kein Abluftfilter",
    noModel: "Pumpenmodell unbekannt: keine Filterdaten",
    filterRed: "Abluftfilter an der roten Grenze ({x} von {limit}): jetzt tauschen",
    filterDue: "Abluftfilter setzt sich zu: {within} ({x} von {limit})",
    filterRising: "Druckverlust am Abluftfilter steigt: {within}",
    filterOk: "Abluftfilter in Ordnung ({x} von {limit} rote Grenze)",
    filterWithin: "innerhalb von {days} tauschen",
    filterPlan: "Tausch einplanen",
    oilOverdue: "{used} der Öl-Standzeit verbraucht: Öl jetzt wechseln",
    oilDue: "{used} der Öl-Standzeit verbraucht",
    oilWithin: "innerhalb von {days} wechseln",
    bearingRed: "Lager in ISO-Zone C/D (Schwingung {x}, Grenze {limit}): stoppen und instand setzen",
    bearingDue: "Lagerverschleiß: {within} (Schwingung {x}, Grenze {limit})",
    bearingRising: "Schwingung steigt: {within}",
    bearingOk: "Lager in Ordnung (Schwingung {x}, Grenze {limit})",
    bearingWithin: "Lagerreparatur innerhalb von {days} einplanen",
    bearingPlan: "Lagerinspektion einplanen",
    serviceOverdue: "{used} von {limit} lastgewichteten h: Service überfällig",
    serviceDue: "{used} von {limit} lastgewichteten h: Service fällig in {days}",
    service: "{used} von {limit} lastgewichteten h",
    days: "~{n} Tagen",
    lessThanDay: "<1 Tag",
  },
  dayUnit: "T",
};

const DOMAIN: Record<Lang, DomainTexts> = { de, en };
const d = (): DomainTexts => DOMAIN[currentLang()];

const fill = (text: string, vars: Record<string, string | number>): string =>
  text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));

const has = <T extends object>(o: T, k: string): k is Extract<keyof T, string> => Object.hasOwn(o, k);

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const uncapitalise = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);
/** `oilTemperatureHigh` → "oil temperature high", as the server's texts spell code names. */
const words = (name: string): string => name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();

const SIGNALS = [
  "inletPressure",
  "exhaustPressure",
  "oilTemperature",
  "motorTemperature",
  "ambientTemperature",
  "motorCurrent",
  "power",
  "vibration",
] as const;

const signalLabel = (signal: string): string => tOr(`signal.${signal}`, signal);

// ── labels by code ──────────────────────────────────────────────────────────────────────────────

export function checkLabel(c: Pick<HealthCheck, "id" | "label">): string {
  return has(d().checks, c.id) ? d().checks[c.id] : c.label;
}

export function stateLabel(state: string): string {
  return has(d().states, state) ? d().states[state] : state;
}

export function forecastLabel(f: Pick<Forecast, "id" | "label">): string {
  return has(d().forecasts, f.id) ? d().forecasts[f.id] : f.label;
}

export function forecastStatusLabel(status: string): string {
  return has(d().forecastStatus, status) ? d().forecastStatus[status] : status;
}

/** Cause and action of a diagnosis by its fault code (server text for an unknown code). */
export function diagnosisText(diag: Diagnosis): { cause: string; action: string } {
  const texts = d();
  if (!has(texts.faults, diag.code)) return { cause: diag.cause, action: diag.action };
  const fault = texts.faults[diag.code];
  const serverAction = en.faults[diag.code].action;
  // Sensor faults name the signal ("power: The sensor …"); a cold start prefixes the overload action.
  const sensor = diag.action.endsWith(`: ${serverAction}`) ? /^(\w+): /.exec(diag.action)?.[1] : undefined;
  let action: string;
  if (diag.action === serverAction) action = fault.action;
  else if (diag.action.startsWith("Cold start: ")) action = fill(texts.coldStart, { action: fault.action });
  else if (sensor) action = `${signalLabel(sensor)}: ${fault.action}`;
  else action = currentLang() === "en" ? diag.action : fault.action;
  return { cause: fault.cause, action };
}

/** A title per alarm type: `rule:<ruleId>`, `sensor:<signal>`, `forecast:<id>`, anomaly, trip, offline. */
export function alarmTitle(type: string): string {
  const texts = d();
  if (type === "anomaly" || type.startsWith("anomaly:")) return texts.alarm.anomaly;
  if (type === "trip") return texts.alarm.trip;
  if (type === "offline") return texts.alarm.offline;
  const colon = type.indexOf(":");
  const kind = colon < 0 ? type : type.slice(0, colon);
  const name = colon < 0 ? "" : type.slice(colon + 1);
  if (kind === "rule" && name) {
    if (has(texts.rules, name)) return texts.rules[name];
    const signal = SIGNALS.find((s) => name.startsWith(s));
    return fill(texts.alarm.rule, { name: signal ? signalLabel(signal) : words(name) });
  }
  if (kind === "sensor" && name)
    return fill(texts.alarm.sensor, { signal: signalLabel(name.split(":")[0]!) });
  if (kind === "forecast" && name)
    return fill(texts.alarm.forecast, { label: has(texts.forecasts, name) ? texts.forecasts[name] : name });
  return type;
}

// ── a health check's detail ─────────────────────────────────────────────────────────────────────

/** The server's words for an alarm type inside a check detail (health.ts describeAlarm) → its title. */
function alarmWords(what: string): string | null {
  for (const rule of Object.keys(en.rules)) if (words(rule) === what) return alarmTitle(`rule:${rule}`);
  for (const s of SIGNALS) if (`${words(s)} sensor fault` === what) return alarmTitle(`sensor:${s}`);
  for (const f of Object.keys(en.forecasts))
    if (`${words(f)} forecast` === what) return alarmTitle(`forecast:${f}`);
  if (what === "anomaly" || what === "trip" || what === "offline") return alarmTitle(what);
  const rule = SIGNALS.find((s) => what.startsWith(`${words(s)} `));
  return rule ? fill(d().alarm.rule, { name: signalLabel(rule) }) : null;
}

/** "3 h 20 min", "2 d 4 h" in the language's units. */
const age = (s: string): string => s.replace(/(\d+) d\b/g, `$1 ${d().dayUnit}`);

function signalOfWords(w: string): string | null {
  return SIGNALS.find((s) => words(s) === w) ?? null;
}

/** One finding of a check's detail (lower-case, as the server writes it before joining). */
function finding(part: string, forecasts: readonly Forecast[]): string | null {
  const x = d().detail;
  if (part === "no limit exceeded") return x.noLimit;
  if (part === "no data received yet") return x.noDataReceived;
  if (part === "still learning this pump's normal behaviour") return x.learning;
  if (part === "the operating pattern is outside what was learned as normal") return x.patternOutside;
  if (part === "the operating pattern matches what was learned as normal") return x.patternNormal;
  let m = /^(warning|alarm) active: (.+)$/.exec(part);
  if (m) {
    const what = alarmWords(m[2]!);
    return what ? fill(x.active, { severity: d().severity[m[1] as "warning" | "alarm"], what }) : null;
  }
  m = /^no data for (.+) \(offline after (.+)\)$/.exec(part);
  if (m) return fill(x.noDataFor, { age: age(m[1]!), limit: age(m[2]!) });
  m = /^last data (.+) ago$/.exec(part);
  if (m) return fill(x.lastData, { age: age(m[1]!) });
  m = /^(.+) deviates from its learned normal \(z = (-?[\d.]+)\)$/.exec(part);
  if (m) {
    const s = signalOfWords(m[1]!);
    return s ? fill(x.deviates, { signal: signalLabel(s), z: fmtNumber(Number(m[2]), 1) }) : null;
  }
  m = /^(.+) within its learned normal$/.exec(part);
  if (m) {
    const s = signalOfWords(m[1]!);
    return s ? fill(x.withinNormal, { signal: signalLabel(s) }) : null;
  }
  for (const f of forecasts) {
    if (f.recommendation && uncapitalise(f.recommendation) === part) return uncapitalise(forecastText(f));
    if (`${uncapitalise(f.label)}: ${f.status}` === part)
      return fill(x.forecastStatus, { label: forecastLabel(f), status: forecastStatusLabel(f.status) });
  }
  return null;
}

/**
 * A check's detail in the UI language: the server joins its findings with "; ", capitalises and
 * ends with "." (health.ts toCheck); each known finding is translated, an unknown one kept.
 */
export function checkDetail(c: Pick<HealthCheck, "detail">, forecasts: readonly Forecast[]): string {
  if (currentLang() === "en") return c.detail;
  if (c.detail === en.detail.noDataYet) return d().detail.noDataYet;
  const body = c.detail.endsWith(".") ? c.detail.slice(0, -1) : c.detail;
  const parts = body.split("; ").map((p, i) => (i === 0 ? uncapitalise(p) : p));
  const out = parts.map((p) => finding(p, forecasts) ?? p);
  return `${capitalise(out.join("; "))}.`;
}

// ── a forecast's recommendation ─────────────────────────────────────────────────────────────────

const DAY_MS = 86_400_000;

function daysText(from: number, to: number | null): string | null {
  if (to === null) return null;
  const days = (to - from) / DAY_MS;
  return days < 1 ? d().rec.lessThanDay : fill(d().rec.days, { n: Math.round(days) });
}

const withUnit = (v: number | null, unit: string, digits = 0): string =>
  v === null ? "—" : `${fmtNumber(v, digits)} ${unit}`;

/**
 * A forecast's recommendation, rebuilt from its structured fields (id, status, indicator,
 * threshold, P50) in the UI language; English keeps the server's (more detailed) text.
 */
export function forecastText(f: Forecast): string {
  if (currentLang() === "en" || !has(en.forecasts, f.id)) return f.recommendation;
  const r = d().rec;
  if (f.status === "insufficient-data") {
    if (f.id === "exhaustFilter" && f.threshold === 0) return r.noModel;
    return r.insufficient;
  }
  const days = daysText(f.asOf, f.p50);
  switch (f.id) {
    case "exhaustFilter": {
      if (f.threshold === 0 && f.indicator === null) return r.noFilter;
      const v = { x: withUnit(f.indicator, f.unit), limit: withUnit(f.threshold, f.unit) };
      const within = days ? fill(r.filterWithin, { days }) : r.filterPlan;
      if (f.status === "overdue") return fill(r.filterRed, v);
      if (f.status === "due") return fill(r.filterDue, { ...v, within });
      if (f.status === "degrading") return fill(r.filterRising, { within });
      return fill(r.filterOk, v);
    }
    case "oil": {
      const used = `${fmtNumber(f.indicator, 0)} %`;
      if (f.status === "overdue") return fill(r.oilOverdue, { used });
      const head = fill(r.oilDue, { used });
      return days ? `${head}: ${fill(r.oilWithin, { days })}` : head;
    }
    case "bearing": {
      const v = { x: withUnit(f.indicator, f.unit, 2), limit: withUnit(f.threshold, f.unit, 1) };
      const within = days ? fill(r.bearingWithin, { days }) : r.bearingPlan;
      if (f.status === "overdue") return fill(r.bearingRed, v);
      if (f.status === "due") return fill(r.bearingDue, { ...v, within });
      if (f.status === "degrading") return fill(r.bearingRising, { within });
      return fill(r.bearingOk, v);
    }
    case "service": {
      const v = { used: fmtNumber(f.indicator, 0), limit: fmtNumber(f.threshold, 0) };
      if (f.status === "overdue") return fill(r.serviceOverdue, v);
      return days ? fill(r.serviceDue, { ...v, days }) : fill(r.service, v);
    }
    default:
      return f.recommendation;
  }
}
