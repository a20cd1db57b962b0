import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { fmtNumber, fmtRelative, t } from "../i18n.ts";
import { useLive } from "../live.ts";
import { href } from "../router.ts";
import type { Alarm, Company, Device, FleetHealth, FleetPump, Me } from "../types.ts";
import { type PumpStatus, pumpStatus, StatusBadge, URGENCY } from "./status.tsx";

/**
 * Every pump with its status, health score, next maintenance and last data, filtered and sorted by
 * urgency. Three requests on load whatever the fleet size (devices, fleet health, active alarms);
 * live events keep it current without per-pump requests.
 */

interface Row {
  device: Device;
  companyName: string;
  status: PumpStatus;
  score: number | null;
  nextDue: number | null;
  lastData: number | null;
  search: string;
}

interface Loaded {
  devices: Device[];
  health: Map<string, FleetPump>;
  summary: FleetHealth["summary"] | null;
  companies: Map<string, string>;
}

/** How often live "last data" times are folded into the table (a busy fleet sends many). */
const VALUES_REFRESH_MS = 5000;
const HEALTH_REFRESH_MS = 60_000;

async function loadFleet(): Promise<Loaded> {
  const [devices, fleet, companies] = await Promise.all([
    api.get<{ devices: Device[] }>("/api/devices"),
    api.get<FleetHealth>("/api/fleet/health"),
    api.get<{ companies: Company[] }>("/api/companies").catch(() => ({ companies: [] as Company[] })),
  ]);
  return {
    devices: devices.devices,
    health: new Map(fleet.pumps.map((p) => [p.deviceId, p])),
    summary: fleet.summary,
    companies: new Map(companies.companies.map((c) => [c.id, c.name])),
  };
}

export function FleetView({ me }: { me: Me }) {
  const [data, setData] = useState<Loaded | null>(null);
  const [alarms, setAlarms] = useState<Map<number, Alarm>>(new Map());
  const [connected, setConnected] = useState<Map<string, boolean>>(new Map());
  const [error, setError] = useState("");
  const lastValues = useRef(new Map<string, number>());
  const [valuesTick, setValuesTick] = useState(0);
  const [filter, setFilter] = useState({ q: "", company: "", site: "", model: "", status: "" });

  useEffect(() => {
    let stop = false;
    const load = () =>
      Promise.all([loadFleet(), api.get<{ alarms: Alarm[] }>("/api/alarms", { active: true, limit: 5000 })])
        .then(([d, a]) => {
          if (stop) return;
          setData(d);
          setAlarms(new Map(a.alarms.map((x) => [x.id, x])));
          setError("");
        })
        .catch((err) => !stop && setError(errorText(err)));
    load();
    const every = setInterval(load, HEALTH_REFRESH_MS);
    const tick = setInterval(() => setValuesTick((n) => n + 1), VALUES_REFRESH_MS);
    return () => {
      stop = true;
      clearInterval(every);
      clearInterval(tick);
    };
  }, []);

  useLive("alarm", ({ alarm }) =>
    setAlarms((m) => {
      const next = new Map(m);
      if (alarm.active) next.set(alarm.id, alarm);
      else next.delete(alarm.id);
      return next;
    }),
  );
  useLive("connectivity", (e) => setConnected((m) => new Map(m).set(e.deviceId, e.connected)));
  useLive("values", (e) => {
    lastValues.current.set(e.deviceId, e.ts);
  });

  const rows = useMemo(() => {
    if (!data) return [];
    const byDevice = new Map<string, Alarm[]>();
    for (const a of alarms.values()) byDevice.set(a.deviceId, [...(byDevice.get(a.deviceId) ?? []), a]);
    return data.devices
      .map((device): Row => {
        const pump = data.health.get(device.id);
        const report = pump?.report;
        const companyName = device.companyId
          ? (data.companies.get(device.companyId) ?? device.companyId)
          : "";
        return {
          device,
          companyName,
          status: pumpStatus(report, byDevice.get(device.id) ?? [], connected.get(device.id)),
          score: report?.score ?? null,
          nextDue: pump?.nextMaintenance?.p50 ?? null,
          lastData: lastValues.current.get(device.id) ?? pump?.lastDataTs ?? null,
          search: [
            device.id,
            device.name,
            device.serial,
            device.model,
            device.pumpType,
            device.site,
            companyName,
          ]
            .filter(Boolean)
            .join(" ")
            .toLowerCase(),
        };
      })
      .sort(
        (a, b) =>
          URGENCY[a.status] - URGENCY[b.status] ||
          (a.score ?? 101) - (b.score ?? 101) ||
          a.device.id.localeCompare(b.device.id),
      );
    // valuesTick folds in the live "last data" times collected in the ref.
  }, [data, alarms, connected, valuesTick]);

  const options = useMemo(() => {
    const set = (f: (r: Row) => string | null | undefined) =>
      [...new Set(rows.map(f).filter((v): v is string => !!v))].sort();
    return {
      companies: [...new Set(rows.filter((r) => r.device.companyId).map((r) => r.device.companyId!))].map(
        (id) => [id, data?.companies.get(id) ?? id] as const,
      ),
      sites: set((r) => r.device.site),
      models: set((r) => r.device.model),
    };
  }, [rows, data]);

  const shown = rows.filter(
    (r) =>
      (!filter.q || r.search.includes(filter.q.toLowerCase())) &&
      (!filter.company || r.device.companyId === filter.company) &&
      (!filter.site || r.device.site === filter.site) &&
      (!filter.model || r.device.model === filter.model) &&
      (!filter.status || r.status === filter.status),
  );
  const set = (key: keyof typeof filter) => (e: Event) =>
    setFilter({ ...filter, [key]: (e.currentTarget as HTMLInputElement).value });

  if (error && !data)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!data) return <p class="page-message">{t("common.loading")}</p>;
  const s = data.summary;
  // Counted from the same per-row status the badges show, so the summary never contradicts the table;
  // an offline pump that never sent data counts as "without data".
  const counts = { ok: 0, warning: 0, alarm: 0, offline: 0, noData: 0 };
  for (const r of rows) {
    if (r.status === "offline" && r.lastData === null) counts.noData++;
    else counts[r.status]++;
  }

  return (
    <section>
      <h2>{t("fleet.title")}</h2>
      <p class="summary" data-test="fleet-summary">
        {t("fleet.summary", {
          score: fmtNumber(s?.score, 0),
          ok: counts.ok,
          warning: counts.warning,
          alarm: counts.alarm,
          offline: counts.offline,
          noData: counts.noData,
        })}
      </p>
      {error && <p class="error">{error}</p>}
      <div class="filters">
        <input
          type="search"
          placeholder={t("fleet.search")}
          value={filter.q}
          onInput={set("q")}
          data-test="fleet-search"
        />
        {me.companyId === null && options.companies.length > 0 && (
          <select value={filter.company} onChange={set("company")} data-test="fleet-company">
            <option value="">{`${t("fleet.company")}: ${t("common.all")}`}</option>
            {options.companies.map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        )}
        {options.sites.length > 0 && (
          <select value={filter.site} onChange={set("site")} data-test="fleet-site">
            <option value="">{`${t("fleet.site")}: ${t("common.all")}`}</option>
            {options.sites.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        )}
        <select value={filter.model} onChange={set("model")} data-test="fleet-model">
          <option value="">{`${t("fleet.model")}: ${t("common.all")}`}</option>
          {options.models.map((v) => (
            <option key={v}>{v}</option>
          ))}
        </select>
        <select value={filter.status} onChange={set("status")} data-test="fleet-status">
          <option value="">{`${t("fleet.status")}: ${t("common.all")}`}</option>
          {(["alarm", "offline", "warning", "ok"] as const).map((v) => (
            <option key={v} value={v}>
              {t(`status.${v}`)}
            </option>
          ))}
        </select>
        <span class="muted" data-test="fleet-count">
          {t("fleet.count", { shown: shown.length, total: rows.length })}
        </span>
      </div>
      <table class="table fleet" data-test="fleet-table">
        <thead>
          <tr>
            <th>{t("fleet.status")}</th>
            <th>{t("fleet.pump")}</th>
            {me.companyId === null && <th>{t("fleet.company")}</th>}
            <th class="hide-narrow">{t("fleet.model")}</th>
            <th class="num">{t("fleet.health")}</th>
            <th>{t("fleet.nextDue")}</th>
            <th>{t("fleet.lastData")}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.device.id} data-test="pump-row" data-pump={r.device.id} data-status={r.status}>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>
                <a href={href({ name: "pump", id: r.device.id })} data-test="pump-link">
                  {r.device.name ?? r.device.id}
                </a>
                <div class="muted">
                  {[r.device.name ? r.device.id : "", r.device.site].filter(Boolean).join(" · ")}
                </div>
              </td>
              {me.companyId === null && <td>{r.companyName}</td>}
              <td class="hide-narrow">{r.device.model ?? t("common.none")}</td>
              <td class="num" data-test="health-score">
                {fmtNumber(r.score, 0)}
              </td>
              <td>{fmtRelative(r.nextDue)}</td>
              <td>{fmtRelative(r.lastData)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p class="muted">{t("fleet.empty")}</p>}
    </section>
  );
}
