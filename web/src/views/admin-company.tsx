import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { t } from "../i18n.ts";
import type { CompanyFull } from "../types.ts";
import { Card, ErrorText, Message, type Msg, useLoad, val } from "./ui.tsx";

/** Company name and postal address (GET/PUT /api/companies/{id}). */
export function CompanyCard({ companyId }: { companyId: string }) {
  const path = `/api/companies/${encodeURIComponent(companyId)}`;
  const company = useLoad(() => api.get<CompanyFull>(path), [path]);
  const [name, setName] = useState("");
  const [address, setAddress] = useState("");
  const [msg, setMsg] = useState<Msg>(null);
  useEffect(() => {
    setName(company.data?.name ?? "");
    setAddress(company.data?.postalAddress ?? "");
  }, [company.data]);

  const save = async (e: Event) => {
    e.preventDefault();
    setMsg(null);
    try {
      await api.put(path, { name, postalAddress: address });
      setMsg({ ok: true, text: t("ui.saved") });
      company.reload();
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };

  return (
    <Card title={t("company.title")} test="company-card">
      <ErrorText error={company.error} />
      <form class="inline-form" onSubmit={save}>
        <label class="grow">
          {t("company.name")}
          <input
            type="text"
            required
            maxLength={200}
            value={name}
            onInput={(e) => setName(val(e))}
            data-test="company-name"
          />
        </label>
        <label class="grow">
          {t("company.postalAddress")}
          <textarea
            rows={3}
            maxLength={500}
            value={address}
            onInput={(e) => setAddress(val(e))}
            data-test="company-address"
          />
        </label>
        <button type="submit" data-test="company-save">
          {t("common.save")}
        </button>
      </form>
      <Message msg={msg} />
    </Card>
  );
}
