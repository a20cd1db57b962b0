import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { fmtDateTime, t } from "../i18n.ts";
import type { QuarantineEntry } from "../types.ts";
import { Card, ErrorText, useLoad, val } from "./ui.tsx";

const PREVIEW_CHARS = 300;

/** A base64 payload as text (UTF-8, invalid bytes replaced), cut to `max` characters. */
export function payloadText(base64: string, max = PREVIEW_CHARS): string {
  let text: string;
  try {
    const bin = atob(base64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  } catch {
    return base64.slice(0, max);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Packets refused at ingest, newest first (GET /api/quarantine). */
export function QuarantinePanel() {
  const [device, setDevice] = useState("");
  const [applied, setApplied] = useState("");
  const [limit, setLimit] = useState("100");
  const entries = useLoad(
    () =>
      api
        .get<{ entries: QuarantineEntry[] }>("/api/quarantine", { deviceId: applied || undefined, limit })
        .then((r) => r.entries),
    [applied, limit],
  );
  return (
    <Card title={t("operator.tab.quarantine")} test="operator-quarantine">
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(device.trim());
          entries.reload();
        }}
      >
        <label>
          {t("fleet.pump")}
          <input
            type="text"
            value={device}
            onInput={(e) => setDevice(val(e))}
            data-test="quarantine-device"
          />
        </label>
        <label>
          {t("quarantine.limit")}
          <select value={limit} onChange={(e) => setLimit(val(e))} data-test="quarantine-limit">
            {["50", "100", "500", "1000"].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" data-test="quarantine-load">
          {t("quarantine.load")}
        </button>
      </form>
      <ErrorText error={entries.error} />
      <div class="table-scroll">
        <table class="table" data-test="quarantine-table">
          <thead>
            <tr>
              <th>{t("quarantine.receivedAt")}</th>
              <th>{t("fleet.pump")}</th>
              <th>{t("quarantine.reason")}</th>
              <th>{t("quarantine.payload")}</th>
            </tr>
          </thead>
          <tbody>
            {(entries.data ?? []).map((q) => (
              <tr key={q.id} data-test="quarantine-row">
                <td>{fmtDateTime(new Date(q.receivedAt).getTime())}</td>
                <td>{q.deviceId ?? t("common.none")}</td>
                <td>
                  <code data-test="quarantine-code">{q.reasonCode}</code>
                  <div class="small">{q.reason}</div>
                  <div class="small muted">
                    {q.transport}
                    {q.topic ? ` · ${q.topic}` : ""}
                  </div>
                </td>
                <td>
                  <pre class="payload" data-test="quarantine-payload">
                    {payloadText(q.payload)}
                  </pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {entries.data?.length === 0 && <p class="muted">{t("quarantine.empty")}</p>}
    </Card>
  );
}
