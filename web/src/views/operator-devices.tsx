import { useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { t } from "../i18n.ts";
import type { CompanyFull, Device } from "../types.ts";
import { Card, ConfirmButton, ErrorText, Message, type Msg, OnceSecret, useLoad, val } from "./ui.tsx";

interface Keys {
  deviceId: string;
  primaryKey: string;
  secondaryKey: string;
}

/** The device registry: company assignment, enable/disable, key rotation (keys shown once). */
export function DevicesPanel({ companies }: { companies: readonly CompanyFull[] }) {
  const devices = useLoad(() => api.get<{ devices: Device[] }>("/api/devices").then((r) => r.devices), []);
  const [filter, setFilter] = useState("");
  const [keys, setKeys] = useState<Keys | null>(null);
  const [msg, setMsg] = useState<Msg>(null);
  const path = (d: Device) => `/api/devices/${encodeURIComponent(d.id)}`;

  const act = async (fn: () => Promise<unknown>, ok: string) => {
    setMsg(null);
    try {
      await fn();
      setMsg({ ok: true, text: ok });
      devices.reload();
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };
  const rotate = (d: Device) =>
    act(
      async () => setKeys(await api.post<Keys>(`${path(d)}/rotate-key`, { which: "both" })),
      t("devices.rotated"),
    );

  const q = filter.trim().toLowerCase();
  const shown = (devices.data ?? []).filter(
    (d) => !q || [d.id, d.model, d.serial, d.companyId].some((x) => x?.toLowerCase().includes(q)),
  );

  return (
    <Card title={t("operator.tab.devices")} test="operator-devices">
      <div class="filters">
        <input
          type="search"
          placeholder={t("fleet.search")}
          value={filter}
          onInput={(e) => setFilter(val(e))}
          data-test="devices-filter"
        />
      </div>
      {keys && (
        <div data-test="device-keys">
          <OnceSecret
            label={t("devices.primaryKey", { id: keys.deviceId })}
            value={keys.primaryKey}
            test="device-primary-key"
          />
          <OnceSecret
            label={t("devices.secondaryKey")}
            value={keys.secondaryKey}
            test="device-secondary-key"
            onDone={() => setKeys(null)}
          />
        </div>
      )}
      <Message msg={msg} test="devices-message" />
      <ErrorText error={devices.error} />
      <table class="table" data-test="devices-table">
        <thead>
          <tr>
            <th>{t("fleet.pump")}</th>
            <th>{t("fleet.company")}</th>
            <th>{t("fleet.model")}</th>
            <th>{t("devices.enabled")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.map((d) => (
            <tr key={d.id} data-test="device-row" data-device={d.id} class={d.enabled ? "" : "cleared"}>
              <td>
                <a href={`#/pump/${encodeURIComponent(d.id)}`}>{d.id}</a>
                {d.serial && <div class="small muted">{d.serial}</div>}
              </td>
              <td>
                <select
                  value={d.companyId ?? ""}
                  data-test="device-company"
                  onChange={(e) =>
                    act(() => api.patch(path(d), { companyId: val(e) || null }), t("devices.assigned"))
                  }
                >
                  <option value="">{t("devices.noCompany")}</option>
                  {companies.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name}
                    </option>
                  ))}
                </select>
              </td>
              <td>{d.model ?? t("common.none")}</td>
              <td data-test="device-enabled" data-enabled={String(d.enabled)}>
                {d.enabled ? t("common.yes") : t("common.no")}
              </td>
              <td>
                <div class="row-actions">
                  {d.enabled ? (
                    <ConfirmButton
                      label={t("devices.disable")}
                      question={t("devices.disableQuestion")}
                      test="device-disable"
                      danger
                      onConfirm={() => act(() => api.post(`${path(d)}/disable`), t("devices.disabled"))}
                    />
                  ) : (
                    <button
                      type="button"
                      class="secondary"
                      data-test="device-enable"
                      onClick={() => act(() => api.post(`${path(d)}/enable`), t("devices.enabledMsg"))}
                    >
                      {t("devices.enable")}
                    </button>
                  )}
                  <ConfirmButton
                    label={t("devices.rotate")}
                    question={t("devices.rotateQuestion")}
                    test="device-rotate"
                    danger
                    onConfirm={() => rotate(d)}
                  />
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}
