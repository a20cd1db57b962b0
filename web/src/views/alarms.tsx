import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { fmtDateTime, t } from "../i18n.ts";
import { alarmTitle, diagnosisText } from "../i18n-domain.ts";
import { useLive } from "../live.ts";
import { href } from "../router.ts";
import type { Alarm, AlarmHistoryEntry } from "../types.ts";

/** The alarm inbox: filter, acknowledge, shelve, comment; the history of one alarm on demand. */

type Tri = "" | "true" | "false";
interface Filter {
  active: Tri;
  acknowledged: Tri;
  severity: "" | "warning" | "alarm";
  device: string;
  showShelved: boolean;
}

const SHELVE_MINUTES = 8 * 60;

function matches(a: Alarm, f: Filter, now: number): boolean {
  return (
    (f.active === "" || String(a.active) === f.active) &&
    (f.acknowledged === "" || String(a.acknowledged) === f.acknowledged) &&
    (f.severity === "" || a.severity === f.severity) &&
    (f.device === "" || f.device.split(",").includes(a.deviceId)) &&
    (f.showShelved || a.shelvedUntil === null || a.shelvedUntil <= now)
  );
}

export function AlarmsView({ device }: { device: string }) {
  const [filter, setFilter] = useState<Filter>({
    active: "true",
    acknowledged: "",
    severity: "",
    device,
    showShelved: false,
  });
  const [alarms, setAlarms] = useState<Alarm[] | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    let stale = false;
    api
      .get<{ alarms: Alarm[] }>("/api/alarms", {
        active: filter.active || undefined,
        acknowledged: filter.acknowledged || undefined,
        severity: filter.severity || undefined,
        device: filter.device.trim() || undefined,
        shelved: filter.showShelved ? undefined : "false",
        limit: 1000,
      })
      .then(
        (r) => {
          if (stale) return;
          setAlarms(r.alarms);
          setError("");
        },
        (err) => !stale && setError(errorText(err)),
      );
    return () => {
      stale = true;
    };
  }, [filter]);

  const upsert = (alarm: Alarm) =>
    setAlarms((list) => {
      const rest = (list ?? []).filter((a) => a.id !== alarm.id);
      return matches(alarm, filter, Date.now()) ? [alarm, ...rest] : rest;
    });
  useLive("alarm", ({ alarm }) => upsert(alarm));

  const act = async (alarm: Alarm, path: string, body: unknown = {}) => {
    try {
      upsert(await api.post<Alarm>(`/api/alarms/${alarm.id}/${path}`, body));
      setError("");
    } catch (err) {
      setError(errorText(err));
    }
  };

  const set = <K extends keyof Filter>(key: K, value: Filter[K]) => setFilter({ ...filter, [key]: value });
  const tri = (key: "active" | "acknowledged", label: string) => (
    <select
      value={filter[key]}
      onChange={(e) => set(key, (e.currentTarget as HTMLSelectElement).value as Tri)}
      data-test={`alarm-filter-${key}`}
    >
      <option value="">{`${label}: ${t("common.all")}`}</option>
      <option value="true">{`${label}: ${t("common.yes")}`}</option>
      <option value="false">{`${label}: ${t("common.no")}`}</option>
    </select>
  );

  return (
    <section>
      <h2>{t("alarms.title")}</h2>
      <div class="filters">
        {tri("active", t("alarms.active"))}
        {tri("acknowledged", t("alarms.acknowledged"))}
        <select
          value={filter.severity}
          onChange={(e) =>
            set("severity", (e.currentTarget as HTMLSelectElement).value as Filter["severity"])
          }
          data-test="alarm-filter-severity"
        >
          <option value="">{`${t("alarms.severity")}: ${t("common.all")}`}</option>
          <option value="alarm">{t("status.alarm")}</option>
          <option value="warning">{t("status.warning")}</option>
        </select>
        <input
          type="search"
          placeholder={t("alarms.pump")}
          value={filter.device}
          onChange={(e) => set("device", (e.currentTarget as HTMLInputElement).value)}
          data-test="alarm-filter-pump"
        />
        <label class="check">
          <input
            type="checkbox"
            checked={filter.showShelved}
            onChange={(e) => set("showShelved", (e.currentTarget as HTMLInputElement).checked)}
            data-test="alarm-filter-shelved"
          />
          {t("alarms.showShelved")}
        </label>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {alarms === null ? (
        <p class="page-message">{t("common.loading")}</p>
      ) : (
        <table class="table alarms" data-test="alarm-table">
          <thead>
            <tr>
              <th>{t("alarms.severity")}</th>
              <th>{t("alarms.pump")}</th>
              <th>{t("alarms.message")}</th>
              <th>{t("alarms.raised")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {alarms.map((a) => (
              <AlarmRow
                key={a.id}
                alarm={a}
                open={open === a.id}
                onToggle={() => setOpen(open === a.id ? null : a.id)}
                act={(path, body) => act(a, path, body)}
              />
            ))}
          </tbody>
        </table>
      )}
      {alarms?.length === 0 && <p class="muted">{t("alarms.empty")}</p>}
    </section>
  );
}

function AlarmRow(props: {
  alarm: Alarm;
  open: boolean;
  onToggle: () => void;
  act: (path: string, body?: unknown) => Promise<void>;
}) {
  const a = props.alarm;
  const shelved = a.shelvedUntil !== null && a.shelvedUntil > Date.now();
  return (
    <>
      <tr
        data-test="alarm-row"
        data-alarm={a.id}
        class={`${a.active ? "" : "cleared"} ${a.acknowledged ? "acked" : ""}`}
      >
        <td>
          <span class={`badge badge-${a.severity}`} data-test="alarm-severity">
            {t(`status.${a.severity}`)}
          </span>
        </td>
        <td>
          <a href={href({ name: "pump", id: a.deviceId })}>{a.deviceId}</a>
          <div class="muted small">{a.type}</div>
        </td>
        <td>
          <strong data-test="alarm-title">{alarmTitle(a.type)}</strong>
          <div class="small">{a.message}</div>
          {a.diagnosis && <div class="muted small">{diagnosisText(a.diagnosis).action}</div>}
          {shelved && (
            <div class="muted small">{t("alarms.shelvedUntil", { time: fmtDateTime(a.shelvedUntil) })}</div>
          )}
        </td>
        <td>
          {fmtDateTime(a.lastRaisedAt)} {a.occurrences > 1 && t("alarms.occurrences", { n: a.occurrences })}
        </td>
        <td class="actions">
          {!a.acknowledged && (
            <button type="button" onClick={() => props.act("acknowledge")} data-test="alarm-acknowledge">
              {t("alarms.acknowledge")}
            </button>
          )}
          {shelved ? (
            <button
              type="button"
              class="secondary"
              onClick={() => props.act("unshelve")}
              data-test="alarm-unshelve"
            >
              {t("alarms.unshelve")}
            </button>
          ) : (
            <button
              type="button"
              class="secondary"
              onClick={() => props.act("shelve", { minutes: SHELVE_MINUTES })}
              data-test="alarm-shelve"
            >
              {t("alarms.shelve")}
            </button>
          )}
          <button type="button" class="secondary" onClick={props.onToggle} data-test="alarm-history-toggle">
            {t("alarms.history")}
          </button>
        </td>
      </tr>
      {props.open && (
        <tr class="detail">
          <td colSpan={5}>
            <AlarmDetail alarm={a} act={props.act} />
          </td>
        </tr>
      )}
    </>
  );
}

function AlarmDetail({ alarm, act }: { alarm: Alarm; act: (path: string, body?: unknown) => Promise<void> }) {
  const [history, setHistory] = useState<AlarmHistoryEntry[] | null>(null);
  const [text, setText] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    api.get<Alarm & { history: AlarmHistoryEntry[] }>(`/api/alarms/${alarm.id}`).then(
      (r) => setHistory(r.history),
      (err) => setError(errorText(err)),
    );
  }, [alarm.id, alarm.updatedAt]);

  const comment = async (e: Event) => {
    e.preventDefault();
    if (!text.trim()) return;
    await act("comments", { text });
    setText("");
  };

  return (
    <div data-test="alarm-history">
      {error && <p class="error">{error}</p>}
      <ul class="history">
        {(history ?? []).map((h, i) => (
          <li key={`${h.ts}-${i}`}>
            <span class="muted">{fmtDateTime(h.ts)}</span> <strong>{h.kind}</strong>
            {h.actor && <span class="muted"> · {h.actor}</span>}
            {h.text && <span> — {h.text}</span>}
          </li>
        ))}
      </ul>
      <form class="inline-form" onSubmit={comment}>
        <input
          type="text"
          class="grow"
          maxLength={2000}
          placeholder={t("alarms.comment")}
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          data-test="alarm-comment"
        />
        <button type="submit" data-test="alarm-comment-submit">
          {t("alarms.addComment")}
        </button>
      </form>
    </div>
  );
}
