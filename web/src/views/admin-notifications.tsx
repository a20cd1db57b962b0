import { useEffect, useState } from "preact/hooks";
import { ApiError, api, errorText } from "../api.ts";
import { currentLang, t } from "../i18n.ts";
import type { Device, Subscription } from "../types.ts";
import { Card, Message, type Msg, useLoad, val } from "./ui.tsx";

const ALL = "";

/**
 * The own alarm e-mail subscriptions (GET/PUT /api/me/notifications). Hidden while the server has
 * no such route (404).
 */
export function NotificationsCard() {
  const subs = useLoad(
    () => api.get<{ subscriptions: Subscription[] }>("/api/me/notifications").then((r) => r.subscriptions),
    [],
  );
  const devices = useLoad(() => api.get<{ devices: Device[] }>("/api/devices").then((r) => r.devices), []);
  const [rows, setRows] = useState<Subscription[]>([]);
  const [msg, setMsg] = useState<Msg>(null);
  useEffect(() => setRows(subs.data ?? []), [subs.data]);

  if (subs.error instanceof ApiError && subs.error.status === 404) return null;
  if (subs.error) return <Message msg={{ ok: false, text: errorText(subs.error) }} />;
  if (!subs.data) return null;

  const update = (i: number, patch: Partial<Subscription>) =>
    setRows((cur) => cur.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const add = () =>
    setRows((cur) => [
      ...cur,
      {
        deviceId: cur.some((r) => r.deviceId === null) ? (devices.data?.[0]?.id ?? null) : null,
        minSeverity: "alarm",
        email: true,
      },
    ]);

  const save = async () => {
    setMsg(null);
    try {
      const lang = currentLang();
      await api.put("/api/me/notifications", {
        subscriptions: rows.map((r) => ({ ...r, locale: r.locale ?? lang })),
      });
      setMsg({ ok: true, text: t("ui.saved") });
      subs.reload();
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };

  return (
    <Card title={t("notify.title")} test="notifications-card">
      <p class="muted small">{t("notify.intro")}</p>
      <table class="table" data-test="notifications-table">
        <thead>
          <tr>
            <th>{t("alarms.pump")}</th>
            <th>{t("notify.minSeverity")}</th>
            <th>{t("notify.email")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={`${i}-${r.deviceId}`} data-test="subscription-row">
              <td>
                <select
                  value={r.deviceId ?? ALL}
                  data-test="subscription-device"
                  onChange={(e) => update(i, { deviceId: val(e) === ALL ? null : val(e) })}
                >
                  <option value={ALL}>{t("notify.allPumps")}</option>
                  {(devices.data ?? []).map((d) => (
                    <option key={d.id} value={d.id}>
                      {d.id}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <select
                  value={r.minSeverity}
                  data-test="subscription-severity"
                  onChange={(e) => update(i, { minSeverity: val(e) as Subscription["minSeverity"] })}
                >
                  <option value="warning">{t("status.warning")}</option>
                  <option value="alarm">{t("status.alarm")}</option>
                </select>
              </td>
              <td>
                <input
                  type="checkbox"
                  checked={r.email}
                  data-test="subscription-email"
                  onChange={(e) => update(i, { email: (e.currentTarget as HTMLInputElement).checked })}
                />
              </td>
              <td>
                <button
                  type="button"
                  class="secondary"
                  data-test="subscription-remove"
                  onClick={() => setRows((cur) => cur.filter((_, j) => j !== i))}
                >
                  {t("notify.remove")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="toolbar">
        <button type="button" class="secondary" onClick={add} data-test="subscription-add">
          {t("notify.add")}
        </button>
        <button type="button" onClick={save} data-test="subscriptions-save">
          {t("common.save")}
        </button>
      </div>
      <Message msg={msg} test="notifications-message" />
    </Card>
  );
}
