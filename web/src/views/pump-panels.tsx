import { fmtDate, fmtDateTime, fmtNumber, fmtPercent, fmtRelative, fmtValue, t, tOr } from "../i18n.ts";
import {
  alarmTitle,
  checkDetail,
  checkLabel,
  diagnosisText,
  forecastLabel,
  forecastText,
  stateLabel,
} from "../i18n-domain.ts";
import {
  type Alarm,
  type Forecast,
  type HealthReport,
  type Kpi,
  type PumpAnalytics,
  SIGNAL_UNITS,
} from "../types.ts";

/** The panels of the pump page; everything a device sent is rendered as text. */

export function LiveValues({ live }: { live: PumpAnalytics | null }) {
  if (!live) return <div class="card">{t("common.loading")}</div>;
  const entries = Object.entries(live.values).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div class="card" data-test="live-values">
      <h3>{t("pump.live")}</h3>
      <p>
        <span class={`badge ${live.connected ? "badge-ok" : "badge-offline"}`} data-test="connection-badge">
          {live.connected ? t("pump.connected") : t("pump.disconnected")}
        </span>{" "}
        {live.state && (
          <span class="muted">
            {t("pump.state")}: <span data-test="pump-state">{stateLabel(live.state)}</span>
          </span>
        )}{" "}
        <span class="muted">{fmtRelative(live.lastTs)}</span>
      </p>
      <dl class="values">
        {entries.map(([name, v]) => (
          <div key={name} data-test="live-value" data-signal={name}>
            <dt>{tOr(`signal.${name}`, name)}</dt>
            <dd>{fmtValue(v, SIGNAL_UNITS[name] ?? "", 2)}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

const CHECK_CLASS = { pass: "ok", warn: "warning", fail: "alarm", "no-data": "offline" } as const;

export function HealthPanel({ report, forecasts }: { report: HealthReport | null; forecasts: Forecast[] }) {
  return (
    <div class="card" data-test="health">
      <h3>
        {t("pump.health")}: <span data-test="health-score">{fmtNumber(report?.score, 0)}</span>
      </h3>
      <ul class="checks">
        {(report?.checks ?? []).map((c) => (
          <li key={c.id}>
            <span class={`badge badge-${CHECK_CLASS[c.status]}`}>{checkLabel(c)}</span>{" "}
            {checkDetail(c, forecasts)}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Active alarms with a translated title per type, their diagnosis, and the server message as detail. */
export function DiagnosisPanel({ alarms, forecasts }: { alarms: Alarm[]; forecasts: Forecast[] }) {
  const recommended = forecasts.filter(
    (f) => f.severity !== null || f.status === "due" || f.status === "overdue",
  );
  return (
    <div class="card" data-test="diagnosis">
      <h3>{t("pump.diagnosis")}</h3>
      {alarms.length === 0 && recommended.length === 0 && <p class="muted">{t("pump.noDiagnosis")}</p>}
      <ul>
        {alarms.map((a) => {
          const text = a.diagnosis ? diagnosisText(a.diagnosis) : null;
          return (
            <li key={a.id} data-test="diagnosis-alarm" data-type={a.type}>
              <span class={`badge badge-${a.severity}`}>{alarmTitle(a.type)}</span>
              {text && a.diagnosis && (
                <>
                  {" "}
                  <strong>{text.cause}</strong> — {text.action}{" "}
                  <span class="muted">({fmtPercent(a.diagnosis.confidence)})</span>
                </>
              )}
              <div class="muted small">{a.message}</div>
            </li>
          );
        })}
        {recommended.map((f) => (
          <li key={f.id} title={f.recommendation}>
            <strong>{forecastLabel(f)}</strong>: {forecastText(f)}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ForecastPanel({ forecasts }: { forecasts: Forecast[] }) {
  return (
    <div class="card" data-test="forecasts">
      <h3>{t("pump.forecasts")}</h3>
      <ul>
        {forecasts.map((f) => (
          <li key={f.id}>
            <strong>{forecastLabel(f)}</strong>: {fmtValue(f.indicator, f.unit)} /{" "}
            {fmtValue(f.threshold, f.unit)}
            {f.p50 !== null && (
              <div class="muted">
                {t("pump.forecastBand", { p50: fmtDate(f.p50), p10: fmtDate(f.p10), p90: fmtDate(f.p90) })}
              </div>
            )}
            <div title={f.recommendation}>{forecastText(f)}</div>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function KpiPanel({ kpis }: { kpis: Kpi[] }) {
  const sum = (f: (k: Kpi) => number | null) => kpis.reduce((s, k) => s + (f(k) ?? 0), 0);
  const mean = (f: (k: Kpi) => number | null) => {
    const v = kpis.map(f).filter((x): x is number => x !== null && Number.isFinite(x));
    return v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  const rows: [string, string][] = [
    [
      t("kpi.operatingHours"),
      fmtValue(
        sum((k) => k.operatingHours),
        "h",
      ),
    ],
    [t("kpi.utilisation"), fmtPercent(mean((k) => k.utilisation))],
    [t("kpi.availability"), fmtPercent(mean((k) => k.availability))],
    [
      t("kpi.energyKwh"),
      fmtValue(
        sum((k) => k.energyKwh),
        "kWh",
        0,
      ),
    ],
    [
      t("kpi.specificEnergy"),
      fmtValue(
        mean((k) => k.specificEnergyKwhPerM3),
        "kWh/m³",
        3,
      ),
    ],
    [
      t("kpi.startsPerHour"),
      fmtNumber(
        mean((k) => k.startsPerHour),
        2,
      ),
    ],
    [t("kpi.alarms"), `${sum((k) => k.alarmCount)} / ${sum((k) => k.warningCount)}`],
    [
      t("kpi.mtbf"),
      fmtValue(
        mean((k) => k.mtbfHours),
        "h",
      ),
    ],
    [
      t("kpi.mttr"),
      fmtValue(
        mean((k) => k.mttrHours),
        "h",
      ),
    ],
  ];
  return (
    <div class="card" data-test="kpis">
      <h3>{t("pump.kpis")}</h3>
      <dl class="values">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {kpis.length > 0 && (
        <p class="muted small">
          {fmtDateTime(kpis[0]!.periodStart)} – {fmtDateTime(kpis[kpis.length - 1]!.periodEnd)}
        </p>
      )}
    </div>
  );
}
