import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { fmtDateTime, type TextKey, t } from "../i18n.ts";
import { Card, ErrorText, useLoad, val } from "./ui.tsx";

/** A security event as GET /api/security/events answers it (docs/api.md § Security events). */
interface SecurityEvent {
  id: number;
  kind: string;
  subject: string;
  episode: number;
  deviceId: string | null;
  network: string | null;
  severity: "warning" | "alarm";
  firstSeen: number;
  lastSeen: number;
  count: number;
  detail: string;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
}

const KINDS = [
  "auth_failures",
  "device_rate",
  "device_payload",
  "device_churn",
  "quarantine_spike",
  "dps_enumeration",
  "dps_flood",
] as const;

function kindText(kind: string): string {
  return (KINDS as readonly string[]).includes(kind) ? t(`security.kind.${kind}` as TextKey) : kind;
}

/** What the detectors saw (GET /api/security/events), last seen first, with acknowledgement. */
export function SecurityPanel() {
  const [open, setOpen] = useState("false");
  const [error, setError] = useState<unknown>(null);
  const events = useLoad(
    () =>
      api
        .get<{ events: SecurityEvent[] }>("/api/security/events", {
          acknowledged: open === "all" ? undefined : open,
          limit: "500",
        })
        .then((r) => r.events),
    [open],
  );
  const acknowledge = (id: number) => {
    setError(null);
    api.post(`/api/security/events/${id}/acknowledge`).then(events.reload, setError);
  };
  return (
    <Card title={t("operator.tab.security")} test="operator-security">
      <p class="muted small">{t("security.intro")}</p>
      <label>
        {t("security.show")}
        <select value={open} onChange={(e) => setOpen(val(e))} data-test="security-filter">
          <option value="false">{t("security.open")}</option>
          <option value="all">{t("security.all")}</option>
        </select>
      </label>
      <ErrorText error={events.error ?? error} />
      <div class="table-scroll">
        <table class="table" data-test="security-table">
          <thead>
            <tr>
              <th>{t("security.lastSeen")}</th>
              <th>{t("security.kind")}</th>
              <th>{t("security.subject")}</th>
              <th>{t("security.count")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(events.data ?? []).map((e) => (
              <tr
                key={e.id}
                data-test="security-row"
                class={e.severity === "alarm" ? "sev-alarm" : "sev-warning"}
              >
                <td>
                  {fmtDateTime(e.lastSeen)}
                  <div class="small muted">
                    {t("security.since")} {fmtDateTime(e.firstSeen)}
                  </div>
                </td>
                <td>
                  <strong>{kindText(e.kind)}</strong>
                  <div class="small">
                    {t(e.severity === "alarm" ? "security.severity.alarm" : "security.severity.warning")}
                  </div>
                </td>
                <td>
                  <code data-test="security-subject">{e.subject}</code>
                  {e.network && <div class="small muted">{e.network}</div>}
                  {e.detail && <div class="small">{e.detail}</div>}
                </td>
                <td>{e.count}</td>
                <td>
                  {e.acknowledgedAt === null ? (
                    <button
                      type="button"
                      class="secondary"
                      data-test="security-ack"
                      onClick={() => acknowledge(e.id)}
                    >
                      {t("security.acknowledge")}
                    </button>
                  ) : (
                    <span class="small muted">
                      {t("security.acknowledged")} {fmtDateTime(e.acknowledgedAt)}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {events.data?.length === 0 && <p class="muted">{t("security.empty")}</p>}
    </Card>
  );
}
