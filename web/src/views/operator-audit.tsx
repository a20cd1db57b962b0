import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { fmtDateTime, t } from "../i18n.ts";
import type { AuditEntry, CompanyFull } from "../types.ts";
import { Card, CompanySelect, ErrorText, useLoad, val } from "./ui.tsx";

/** The audit log (operator admins): ids, event types and times only. */
export function AuditPanel({ companies }: { companies: readonly CompanyFull[] }) {
  const [company, setCompany] = useState("");
  const [limit, setLimit] = useState("200");
  const entries = useLoad(
    () =>
      api
        .get<{ entries: AuditEntry[] }>("/api/audit", { company: company || undefined, limit })
        .then((r) => r.entries),
    [company, limit],
  );
  return (
    <Card title={t("operator.tab.audit")} test="operator-audit">
      <div class="inline-form">
        <CompanySelect
          companies={companies}
          value={company}
          onChange={setCompany}
          none={t("common.all")}
          test="audit-company"
        />
        <label>
          {t("quarantine.limit")}
          <select value={limit} onChange={(e) => setLimit(val(e))} data-test="audit-limit">
            {["100", "200", "1000", "5000"].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorText error={entries.error} />
      <table class="table" data-test="audit-table">
        <thead>
          <tr>
            <th>{t("audit.time")}</th>
            <th>{t("audit.event")}</th>
            <th>{t("audit.actor")}</th>
            <th>{t("audit.target")}</th>
            <th>{t("fleet.company")}</th>
          </tr>
        </thead>
        <tbody>
          {(entries.data ?? []).map((a) => (
            <tr key={a.id} data-test="audit-row">
              <td>{fmtDateTime(a.ts)}</td>
              <td>
                <code>{a.event}</code>
              </td>
              <td>{a.actor ?? t("common.none")}</td>
              <td>{a.targetType ? `${a.targetType}: ${a.targetId ?? ""}` : t("common.none")}</td>
              <td>{a.companyId ?? t("common.none")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}
