import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { fmtInZone, fmtNumber, fmtPercent, t } from "../i18n.ts";
import { downloadText, toCsv } from "../lib/csv.ts";
import { addDays, dayOf, startOfDay, validZone } from "../lib/zone.ts";
import type { Device, KpiAnswer, KpiRow, Me } from "../types.ts";
import { CompanySelect, ErrorText, useCompanies, useLoad, val } from "./ui.tsx";

type Period = KpiAnswer["period"];
const PERIODS: readonly Period[] = ["day", "week", "month"];
const DEFAULT_ZONE = "Europe/Berlin";
/** Default length of the range per period, in days. */
const DEFAULT_SPAN: Record<Period, number> = { day: 14, week: 84, month: 365 };

/** One column of the table and the CSV: label, unit, value, cell text. */
interface Column {
  key: string;
  label: () => string;
  unit: string;
  value: (k: KpiRow) => number | null;
  text: (k: KpiRow) => string;
}

const num =
  (f: (k: KpiRow) => number | null, digits = 1) =>
  (k: KpiRow) =>
    fmtNumber(f(k), digits);
const pct = (f: (k: KpiRow) => number | null) => (k: KpiRow) => fmtPercent(f(k));

const COLUMNS: readonly Column[] = [
  col(
    "operatingHours",
    () => t("kpi.operatingHours"),
    "h",
    (k) => k.operatingHours,
  ),
  col(
    "loadHours",
    () => t("kpi.loadHours"),
    "h",
    (k) => k.loadHours,
  ),
  {
    key: "utilisation",
    label: () => t("kpi.utilisation"),
    unit: "",
    value: (k) => k.utilisation,
    text: pct((k) => k.utilisation),
  },
  {
    key: "availability",
    label: () => t("kpi.availability"),
    unit: "",
    value: (k) => k.availability,
    text: pct((k) => k.availability),
  },
  col(
    "energyKwh",
    () => t("kpi.energyKwh"),
    "kWh",
    (k) => k.energyKwh,
  ),
  col(
    "specificEnergyKwhPerM3",
    () => t("kpi.specificEnergy"),
    "kWh/m³",
    (k) => k.specificEnergyKwhPerM3,
    3,
  ),
  col(
    "startsPerHour",
    () => t("kpi.startsPerHour"),
    "1/h",
    (k) => k.startsPerHour,
    2,
  ),
  col(
    "alarmCount",
    () => t("kpi.alarmCount"),
    "",
    (k) => k.alarmCount,
    0,
  ),
  col(
    "warningCount",
    () => t("kpi.warningCount"),
    "",
    (k) => k.warningCount,
    0,
  ),
  col(
    "mtbfHours",
    () => t("kpi.mtbf"),
    "h",
    (k) => k.mtbfHours,
  ),
  col(
    "mttrHours",
    () => t("kpi.mttr"),
    "h",
    (k) => k.mttrHours,
    2,
  ),
];

function col(
  key: string,
  label: () => string,
  unit: string,
  value: (k: KpiRow) => number | null,
  digits = 1,
): Column {
  return { key, label, unit, value, text: num(value, digits) };
}

/** KPI reports per pump or for the fleet, per day, week or month, with a CSV download. */
export function KpisView({ me }: { me: Me }) {
  const today = dayOf(Date.now(), DEFAULT_ZONE);
  const [scope, setScope] = useState("fleet");
  const [company, setCompany] = useState("");
  const [period, setPeriod] = useState<Period>("day");
  const [from, setFrom] = useState(addDays(today, -DEFAULT_SPAN.day + 1));
  const [to, setTo] = useState(today);
  const [zone, setZone] = useState(DEFAULT_ZONE);
  const staff = me.companyId === null;
  const companies = useCompanies(staff);
  const devices = useLoad(() => api.get<{ devices: Device[] }>("/api/devices").then((r) => r.devices), []);
  const zoneOk = validZone(zone);
  const kpis = useLoad(async () => {
    if (!zoneOk) return undefined;
    const fromMs = startOfDay(from, zone);
    const toMs = startOfDay(addDays(to, 1), zone);
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return undefined;
    const path = scope === "fleet" ? "/api/fleet/kpis" : `/api/devices/${encodeURIComponent(scope)}/kpis`;
    const company_ = scope === "fleet" && staff && company ? company : undefined;
    return api.get<KpiAnswer>(path, { period, from: fromMs, to: toMs, tz: zone, company: company_ });
  }, [scope, company, period, from, to, zone, zoneOk]);

  const changePeriod = (p: Period) => {
    setPeriod(p);
    setFrom(addDays(to, -DEFAULT_SPAN[p] + 1));
  };
  const rows = kpis.data?.kpis ?? [];
  const label = (k: KpiRow) => fmtInZone(k.periodStart, kpis.data?.timeZone ?? zone);

  const exportCsv = () => {
    const tz = kpis.data?.timeZone ?? zone;
    const head = [
      t("kpi.csv.pump"),
      t("kpi.csv.periodStart"),
      t("kpi.csv.periodEnd"),
      ...COLUMNS.map((c) => (c.unit ? `${c.label()} [${c.unit}]` : c.label())),
    ];
    const body = rows.map((k) => [
      k.deviceId,
      fmtInZone(k.periodStart, tz, true),
      fmtInZone(k.periodEnd, tz, true),
      ...COLUMNS.map((c) => c.value(k)),
    ]);
    const name = `pumpwatch-kpis-${scope}-${period}-${from}-${to}.csv`.replace(/[^\w.-]/g, "_");
    downloadText(name, toCsv([head, ...body]));
  };

  return (
    <section data-test="kpi-view">
      <h2>{t("kpi.title")}</h2>
      <form class="inline-form" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("kpi.scope")}
          <select value={scope} onChange={(e) => setScope(val(e))} data-test="kpi-scope">
            <option value="fleet">{t("kpi.fleet")}</option>
            {(devices.data ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {d.id}
                {d.model ? ` · ${d.model}` : ""}
              </option>
            ))}
          </select>
        </label>
        {staff && scope === "fleet" && (
          <CompanySelect
            companies={companies.data ?? []}
            value={company}
            onChange={setCompany}
            none={t("common.all")}
            test="kpi-company"
          />
        )}
        <label>
          {t("kpi.period")}
          <select value={period} onChange={(e) => changePeriod(val(e) as Period)} data-test="kpi-period">
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {t(`kpi.period.${p}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("kpi.from")}
          <input type="date" value={from} max={to} onInput={(e) => setFrom(val(e))} data-test="kpi-from" />
        </label>
        <label>
          {t("kpi.to")}
          <input type="date" value={to} min={from} onInput={(e) => setTo(val(e))} data-test="kpi-to" />
        </label>
        <label>
          {t("kpi.timeZone")}
          <input
            type="text"
            value={zone}
            onChange={(e) => setZone(val(e).trim())}
            class={zoneOk ? "" : "invalid"}
            data-test="kpi-tz"
          />
        </label>
        <button
          type="button"
          class="secondary"
          onClick={exportCsv}
          disabled={rows.length === 0}
          data-test="kpi-csv"
        >
          {t("kpi.csv")}
        </button>
      </form>
      {!zoneOk && <p class="error">{t("kpi.badZone")}</p>}
      <ErrorText error={kpis.error} />
      <div class="table-scroll">
        <table class="table" data-test="kpi-table">
          <thead>
            <tr>
              <th>{t(`kpi.period.${period}`)}</th>
              {COLUMNS.map((c) => (
                <th key={c.key} class="num">
                  {c.label()}
                  {c.unit && <span class="muted"> [{c.unit}]</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((k) => (
              <tr key={k.periodStart} data-test="kpi-row">
                <td class="nowrap">{label(k)}</td>
                {COLUMNS.map((c) => (
                  <td key={c.key} class="num" data-test={`kpi-${c.key}`}>
                    {c.text(k)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {kpis.data && rows.length === 0 && <p class="muted">{t("kpi.empty")}</p>}
      {!kpis.data && !kpis.error && <p class="muted">{t("common.loading")}</p>}
    </section>
  );
}
