import { useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { fmtDate, t } from "../i18n.ts";
import type { CompanyFull, Enrollment, Info } from "../types.ts";
import { Card, CompanySelect, ErrorText, OnceSecret, useLoad, val } from "./ui.tsx";

interface Created {
  kind: "group" | "individual";
  id: string;
  key: string;
}

/** Enrollments: list, create a group or an individual one; the key is shown once with the connection info. */
export function EnrollmentsPanel({ companies }: { companies: readonly CompanyFull[] }) {
  const list = useLoad(
    () => api.get<{ enrollments: Enrollment[] }>("/api/enrollments").then((r) => r.enrollments),
    [],
  );
  const info = useLoad(() => api.get<Info>("/api/info"), []);
  const [kind, setKind] = useState<"group" | "individual">("group");
  const [name, setName] = useState("");
  const [company, setCompany] = useState("");
  const [created, setCreated] = useState<Created | null>(null);
  const [error, setError] = useState<string | null>(null);
  const companyName = (id: string | null) =>
    id === null ? t("devices.noCompany") : (companies.find((c) => c.id === id)?.name ?? id);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const companyId = company || null;
      if (kind === "group") {
        const r = await api.post<{ groupName: string; groupKey: string }>("/api/enrollments/groups", {
          name,
          companyId,
        });
        setCreated({ kind, id: r.groupName, key: r.groupKey });
      } else {
        const r = await api.post<{ registrationId: string; key: string }>("/api/enrollments/devices", {
          registrationId: name,
          companyId,
        });
        setCreated({ kind, id: r.registrationId, key: r.key });
      }
      setName("");
      list.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <Card title={t("operator.tab.enrollments")} test="operator-enrollments">
      <form class="inline-form" onSubmit={create} data-test="enrollment-form">
        <label>
          {t("enroll.kind")}
          <select value={kind} onChange={(e) => setKind(val(e) as "group")} data-test="enrollment-kind">
            <option value="group">{t("enroll.group")}</option>
            <option value="individual">{t("enroll.individual")}</option>
          </select>
        </label>
        <label class="grow">
          {kind === "group" ? t("enroll.groupName") : t("enroll.registrationId")}
          <input
            type="text"
            required
            value={name}
            onInput={(e) => setName(val(e))}
            data-test="enrollment-name"
          />
        </label>
        <CompanySelect
          companies={companies}
          value={company}
          onChange={setCompany}
          none={t("devices.noCompany")}
          test="enrollment-company"
        />
        <button type="submit" data-test="enrollment-create">
          {t("enroll.create")}
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {created && (
        <div class="secret-box" data-test="enrollment-created">
          <p>
            {t(created.kind === "group" ? "enroll.createdGroup" : "enroll.createdDevice", { id: created.id })}
          </p>
          <OnceSecret label={t("enroll.key")} value={created.key} test="enrollment-key" />
          {info.data && (
            <dl class="values" data-test="connection-info">
              <div>
                <dt>ID scope</dt>
                <dd>{info.data.idScope}</dd>
              </div>
              <div>
                <dt>{t("enroll.hub")}</dt>
                <dd>{info.data.assignedHub}</dd>
              </div>
              <div>
                <dt>{t("enroll.mqttPort")}</dt>
                <dd>{info.data.mqttPort}</dd>
              </div>
              <div>
                <dt>{t("enroll.caPath")}</dt>
                <dd>{info.data.caPath}</dd>
              </div>
            </dl>
          )}
          <button type="button" class="secondary" onClick={() => setCreated(null)}>
            {t("ui.done")}
          </button>
        </div>
      )}
      <ErrorText error={list.error} />
      <table class="table" data-test="enrollments-table">
        <thead>
          <tr>
            <th>{t("enroll.id")}</th>
            <th>{t("enroll.kind")}</th>
            <th>{t("fleet.company")}</th>
            <th>{t("devices.enabled")}</th>
            <th>{t("tokens.created")}</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((en) => (
            <tr key={`${en.kind}:${en.id}`} data-test="enrollment-row">
              <td>{en.id}</td>
              <td>{en.kind === "group" ? t("enroll.group") : t("enroll.individual")}</td>
              <td>{companyName(en.companyId)}</td>
              <td>{en.enabled ? t("common.yes") : t("common.no")}</td>
              <td>{fmtDate(new Date(en.createdAt).getTime())}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}
