import { useEffect, useState } from "preact/hooks";
import { ApiError, api, errorText } from "../api.ts";
import { fmtDateTime, fmtDay, fmtInZone, t } from "../i18n.ts";
import type { Contract, Me } from "../types.ts";
import { NoticeForm } from "./contract-notice.tsx";
import { PrivacyInfo } from "./privacy.tsx";
import { Card, CompanySelect, ErrorText, Message, type Msg, useCompanies, useLoad } from "./ui.tsx";

/** Contract status, notice and withdrawal, data exports and the privacy information. */
export function ContractView({ me }: { me: Me }) {
  const operator = me.role === "operatorAdmin";
  const companies = useCompanies(operator);
  const [picked, setPicked] = useState("");
  useEffect(() => {
    if (operator && !picked && companies.data?.[0]) setPicked(companies.data[0].id);
  }, [operator, picked, companies.data]);
  const companyId = operator ? picked : (me.companyId ?? "");

  return (
    <section data-test="contract-view">
      <h2>{t("contract.title")}</h2>
      {operator && (
        <div class="filters">
          <CompanySelect
            companies={companies.data ?? []}
            value={picked}
            onChange={setPicked}
            test="contract-company-pick"
          />
        </div>
      )}
      {companyId && <ContractCard key={companyId} companyId={companyId} operator={operator} />}
      <Card title={t("export.title")} test="exports-card">
        <p class="muted small">{t("export.intro")}</p>
        <div class="toolbar">
          {companyId && (
            <a
              class="button-link"
              href={`/api/companies/${encodeURIComponent(companyId)}/export`}
              download
              data-test="export-company"
            >
              {t("export.company")}
            </a>
          )}
          <a class="button-link" href="/api/me/export" download data-test="export-me">
            {t("export.me")}
          </a>
        </div>
      </Card>
      <PrivacyInfo />
    </section>
  );
}

function ContractCard({ companyId, operator }: { companyId: string; operator: boolean }) {
  const path = `/api/companies/${encodeURIComponent(companyId)}/contract`;
  const contract = useLoad(() => api.get<Contract>(path), [path]);
  const [giving, setGiving] = useState(false);
  const [msg, setMsg] = useState<Msg>(null);
  const c = contract.data;

  const withdraw = async () => {
    setMsg(null);
    try {
      await api.del(`${path}/notice`);
      setMsg({ ok: true, text: t("contract.withdrawn") });
      contract.reload();
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };

  if (contract.error instanceof ApiError && contract.error.status === 404)
    return (
      <Card title={t("contract.status")} test="contract-card">
        <p class="muted" data-test="contract-none">
          {t("contract.none")}
        </p>
      </Card>
    );

  return (
    <Card title={t("contract.status")} test="contract-card">
      <ErrorText error={contract.error} />
      {c && (
        <dl class="values">
          <div>
            <dt>{t("contract.state")}</dt>
            <dd>
              <span
                class={`badge badge-contract-${c.status}`}
                data-test="contract-status"
                data-status={c.status}
              >
                {t(`contract.status.${c.status}`)}
              </span>
            </dd>
          </div>
          <div>
            <dt>{t("contract.start")}</dt>
            <dd data-test="contract-start">{fmtDay(c.start)}</dd>
          </div>
          <div>
            <dt>{t("contract.terms")}</dt>
            <dd data-test="contract-terms">{termsText(c)}</dd>
          </div>
          {c.notice && (
            <>
              <div>
                <dt>{t("contract.noticeReceived")}</dt>
                <dd>{fmtDateTime(c.notice.receivedAt)}</dd>
              </div>
              <div>
                <dt>{t("contract.lastDay")}</dt>
                <dd data-test="contract-last-day">{fmtDay(c.lastDay ?? c.notice.lastDay)}</dd>
              </div>
              <div>
                <dt>{t("contract.endsAt")}</dt>
                <dd data-test="contract-ends-at">
                  {fmtInZone(c.endsAt ?? c.notice.endsAt, c.timeZone, true)} ({c.timeZone})
                </dd>
              </div>
              <div>
                <dt>{t("contract.noticeBy")}</dt>
                <dd>
                  {t(`contract.by.${c.notice.by}`)}
                  {c.notice.extraordinary ? ` · ${t("contract.extraordinary")}` : ""}
                </dd>
              </div>
            </>
          )}
        </dl>
      )}
      {c?.notice?.reason && <p class="small">{c.notice.reason}</p>}
      {c && c.status !== "terminated" && !giving && (
        <div class="toolbar">
          <button type="button" data-test="notice-start" onClick={() => setGiving(true)}>
            {c.status === "noticeGiven" ? t("contract.noticeEarlier") : t("contract.giveNotice")}
          </button>
          {c.status === "noticeGiven" && (
            <button type="button" class="secondary" data-test="notice-withdraw" onClick={withdraw}>
              {t("contract.withdraw")}
            </button>
          )}
        </div>
      )}
      {c && giving && (
        <NoticeForm
          path={path}
          contract={c}
          operator={operator}
          onCancel={() => setGiving(false)}
          onDone={() => {
            setGiving(false);
            setMsg({ ok: true, text: t("contract.noticeGiven") });
            contract.reload();
          }}
        />
      )}
      <Message msg={msg} test="contract-message" />
    </Card>
  );
}

function termsText(c: Contract): string {
  const p = c.terms.period;
  const [unit, n] = p.months ? ["months", p.months] : p.weeks ? ["weeks", p.weeks] : ["days", p.days ?? 0];
  const period = t(`contract.period.${unit as "months"}`, { n });
  const to = t(`contract.to.${c.terms.to}`);
  const min = c.terms.minimumTermMonths
    ? ` · ${t("contract.minimumTerm", { n: c.terms.minimumTermMonths })}`
    : "";
  return `${period} ${to}${min}`;
}
