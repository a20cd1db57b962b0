import { useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { fmtDate, t } from "../i18n.ts";
import type { CompanyFull } from "../types.ts";
import { Card, Message, type Msg, val } from "./ui.tsx";

/** Every company; operator admins create new ones (POST /api/companies). */
export function CompaniesPanel(props: {
  companies: readonly CompanyFull[];
  canCreate: boolean;
  onCreated: () => void;
}) {
  const [name, setName] = useState("");
  const [address, setAddress] = useState("");
  const [id, setId] = useState("");
  const [msg, setMsg] = useState<Msg>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setMsg(null);
    try {
      const c = await api.post<CompanyFull>("/api/companies", {
        name,
        postalAddress: address,
        ...(id ? { id } : {}),
      });
      setMsg({ ok: true, text: t("operator.companyCreated", { id: c.id }) });
      setName("");
      setAddress("");
      setId("");
      props.onCreated();
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };

  return (
    <Card title={t("operator.tab.companies")} test="operator-companies">
      {props.canCreate && (
        <form class="inline-form" onSubmit={create} data-test="company-create-form">
          <label class="grow">
            {t("company.name")}
            <input
              type="text"
              required
              value={name}
              onInput={(e) => setName(val(e))}
              data-test="company-create-name"
            />
          </label>
          <label class="grow">
            {t("company.postalAddress")}
            <input
              type="text"
              required
              value={address}
              onInput={(e) => setAddress(val(e))}
              data-test="company-create-address"
            />
          </label>
          <label>
            {t("operator.companyId")}
            <input
              type="text"
              pattern="[A-Za-z0-9._\-]+"
              placeholder={t("operator.generated")}
              value={id}
              onInput={(e) => setId(val(e))}
              data-test="company-create-id"
            />
          </label>
          <button type="submit" data-test="company-create">
            {t("operator.createCompany")}
          </button>
        </form>
      )}
      <Message msg={msg} test="company-create-message" />
      <table class="table" data-test="companies-table">
        <thead>
          <tr>
            <th>{t("operator.companyId")}</th>
            <th>{t("company.name")}</th>
            <th>{t("company.postalAddress")}</th>
            <th>{t("tokens.created")}</th>
          </tr>
        </thead>
        <tbody>
          {props.companies.map((c) => (
            <tr key={c.id} data-test="company-row">
              <td>{c.id}</td>
              <td>{c.name}</td>
              <td class="pre">{c.postalAddress ?? ""}</td>
              <td>{fmtDate(c.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}
