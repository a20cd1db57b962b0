import { useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { fmtDateTime, t } from "../i18n.ts";
import { MAINTENANCE_ACTIONS, type MaintenanceEntry } from "../types.ts";

/** `datetime-local` value of an epoch-ms time in the browser's zone. */
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function MaintenancePanel(props: {
  deviceId: string;
  entries: MaintenanceEntry[];
  onSaved: () => void;
}) {
  const [action, setAction] = useState<string>(MAINTENANCE_ACTIONS[0]);
  const [when, setWhen] = useState(() => localInput(Date.now()));
  const [note, setNote] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      const ts = new Date(when).getTime();
      await api.post(`/api/devices/${encodeURIComponent(props.deviceId)}/maintenance`, {
        action,
        ...(Number.isFinite(ts) ? { ts } : {}),
        ...(note ? { note } : {}),
      });
      setNote("");
      setMessage({ ok: true, text: t("pump.saved") });
      props.onSaved();
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="card" data-test="maintenance">
      <h3>{t("pump.maintenance")}</h3>
      <form class="inline-form" onSubmit={submit} data-test="maintenance-form">
        <label>
          {t("pump.action")}
          <select
            value={action}
            onChange={(e) => setAction((e.currentTarget as HTMLSelectElement).value)}
            data-test="maintenance-action"
          >
            {MAINTENANCE_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {t(`maint.${a}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("pump.when")}
          <input
            type="datetime-local"
            value={when}
            onInput={(e) => setWhen((e.currentTarget as HTMLInputElement).value)}
            data-test="maintenance-ts"
          />
        </label>
        <label class="grow">
          {t("pump.note")}
          <input
            type="text"
            maxLength={2000}
            value={note}
            onInput={(e) => setNote((e.currentTarget as HTMLInputElement).value)}
            data-test="maintenance-note"
          />
        </label>
        <button type="submit" disabled={busy} data-test="maintenance-submit">
          {t("pump.addMaintenance")}
        </button>
      </form>
      {message && (
        <p class={message.ok ? "ok" : "error"} role="status">
          {message.text}
        </p>
      )}
      <table class="table">
        <tbody>
          {props.entries.map((m) => (
            <tr key={m.id} data-test="maintenance-row">
              <td>{fmtDateTime(m.ts)}</td>
              <td>
                {(MAINTENANCE_ACTIONS as readonly string[]).includes(m.action)
                  ? t(`maint.${m.action as "oilChange"}`)
                  : m.action}
              </td>
              <td>{m.note}</td>
              <td class="muted">{m.actor}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
