import { useEffect, useMemo, useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { fmtDateTime, type TextKey, t } from "../i18n.ts";
import { useLive } from "../live.ts";
import { href } from "../router.ts";
import type { Alarm, Device, Kpi, MaintenanceEntry, PumpAnalytics, Series } from "../types.ts";
import { Chart, type Marker } from "./chart.tsx";
import { MaintenancePanel } from "./maintenance.tsx";
import { DiagnosisPanel, ForecastPanel, HealthPanel, KpiPanel, LiveValues } from "./pump-panels.tsx";

/** Signals per chart; a series request fetches them all at once. */
const CHARTS = [
  // Vacuum pressures span decades (inlet ~1 hPa, exhaust ~1013 hPa): read on a log scale.
  { key: "pump.chart.pressure", signals: ["inletPressure", "exhaustPressure"], log: true },
  { key: "pump.chart.temperature", signals: ["oilTemperature", "motorTemperature", "ambientTemperature"] },
  { key: "pump.chart.electrical", signals: ["motorCurrent", "power"] },
  { key: "pump.chart.vibration", signals: ["vibration"] },
] as const satisfies readonly { key: TextKey; signals: readonly string[]; log?: boolean }[];
const ALL_SIGNALS = CHARTS.flatMap((c) => c.signals).join(",");

const RANGES = [
  ["1h", 3_600_000],
  ["24h", 86_400_000],
  ["7d", 7 * 86_400_000],
  ["30d", 30 * 86_400_000],
  ["90d", 90 * 86_400_000],
  ["1y", 365 * 86_400_000],
] as const;

/** Points asked for: about one per pixel of a chart. */
const points = () => Math.min(4000, Math.max(200, Math.round(window.innerWidth)));

export function PumpView({ id }: { id: string }) {
  const [device, setDevice] = useState<Device | null>(null);
  const [live, setLive] = useState<PumpAnalytics | null>(null);
  const [preset, setPreset] = useState<number>(86_400_000);
  const [range, setRange] = useState(() => ({ from: Date.now() - 86_400_000, to: Date.now() }));
  const [series, setSeries] = useState<Series | null>(null);
  const [alarms, setAlarms] = useState<Alarm[]>([]);
  const [maintenance, setMaintenance] = useState<MaintenanceEntry[]>([]);
  const [kpis, setKpis] = useState<Kpi[]>([]);
  const [error, setError] = useState("");
  const path = `/api/devices/${encodeURIComponent(id)}`;

  const reloadMaintenance = () =>
    api
      .get<{ maintenance: MaintenanceEntry[] }>(`${path}/maintenance`, { limit: 200 })
      .then((r) => setMaintenance(r.maintenance));

  useEffect(() => {
    setError("");
    const fail = (err: unknown) => setError(errorText(err));
    api.get<Device>(path).then(setDevice, fail);
    api.get<PumpAnalytics>(`${path}/analytics`).then(setLive, fail);
    api
      .get<{ alarms: Alarm[] }>("/api/alarms", { device: id, limit: 500 })
      .then((r) => setAlarms(r.alarms), fail);
    api
      .get<{ kpis: Kpi[] }>(`${path}/kpis`, {
        period: "day",
        from: Date.now() - 7 * 86_400_000,
        to: Date.now(),
        tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
      })
      .then((r) => setKpis(r.kpis), fail);
    reloadMaintenance().catch(fail);
  }, [id]);

  useEffect(() => {
    let stale = false;
    api
      .get<Series>(`${path}/series`, {
        signals: ALL_SIGNALS,
        from: range.from,
        to: range.to,
        points: points(),
      })
      .then(
        (s) => !stale && setSeries(s),
        (err) => !stale && setError(errorText(err)),
      );
    return () => {
      stale = true;
    };
  }, [id, range.from, range.to]);

  useLive("values", (e) => {
    if (e.deviceId !== id) return;
    setLive((l) => (l ? { ...l, values: { ...l.values, ...e.values }, state: e.state, lastTs: e.ts } : l));
  });
  useLive("connectivity", (e) => {
    if (e.deviceId === id) setLive((l) => (l ? { ...l, connected: e.connected } : l));
  });
  useLive("alarm", ({ alarm }) => {
    if (alarm.deviceId === id) setAlarms((list) => [alarm, ...list.filter((a) => a.id !== alarm.id)]);
  });
  useLive("maintenance", (e) => {
    if (e.deviceId === id) reloadMaintenance().catch(() => undefined);
  });

  const markers = useMemo<Marker[]>(
    () => [
      ...alarms.map((a) => ({ ts: a.lastRaisedAt, kind: a.severity }) as Marker),
      ...maintenance.map((m) => ({ ts: m.ts, kind: "maintenance" }) as Marker),
    ],
    [alarms, maintenance],
  );
  const forecasts = live?.forecasts ?? [];

  const choose = (ms: number) => {
    setPreset(ms);
    setRange({ from: Date.now() - ms, to: Date.now() });
  };
  const activeAlarms = alarms.filter((a) => a.active);

  return (
    <section class="pump">
      <p>
        <a href="#/fleet">← {t("pump.back")}</a>
      </p>
      <h2 data-test="pump-title">
        {device?.name ?? id}
        {device?.name && <span class="muted"> · {id}</span>}
        {device?.site && <span class="muted"> · {device.site}</span>}
        {device?.model && <span class="muted"> · {device.model}</span>}
        {device?.serial && <span class="muted"> · {device.serial}</span>}
      </h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="grid">
        <LiveValues live={live} />
        <HealthPanel report={live?.health ?? null} forecasts={forecasts} />
        <DiagnosisPanel alarms={activeAlarms} forecasts={forecasts} />
      </div>

      <div class="card">
        <div class="toolbar">
          <h3>{t("pump.history")}</h3>
          <div class="range-buttons" data-test="range">
            {RANGES.map(([label, ms]) => (
              <button
                key={label}
                type="button"
                class={preset === ms ? "active" : "secondary"}
                onClick={() => choose(ms)}
              >
                {label}
              </button>
            ))}
            <button type="button" class="secondary" onClick={() => choose(preset)} data-test="reset-zoom">
              {t("pump.resetZoom")}
            </button>
          </div>
          <span class="muted">
            {fmtDateTime(range.from)} – {fmtDateTime(range.to)}
            {series && ` · ${t("pump.resolution", { resolution: series.resolution })}`}
          </span>
        </div>
        <p class="muted small">{t("pump.markers")}</p>
        {series &&
          CHARTS.map((c) => (
            <Chart
              key={c.key}
              title={t(c.key)}
              signals={c.signals}
              log={"log" in c && c.log}
              series={series}
              range={range}
              markers={markers}
              forecasts={forecasts}
              onZoom={(from, to) => setRange({ from, to })}
            />
          ))}
      </div>

      <div class="grid">
        <ForecastPanel forecasts={forecasts} />
        <KpiPanel kpis={kpis} />
      </div>
      <MaintenancePanel deviceId={id} entries={maintenance} onSaved={() => reloadMaintenance()} />
      <p>
        <a href={href({ name: "alarms", device: id })}>{t("nav.alarms")} →</a>
      </p>
    </section>
  );
}
