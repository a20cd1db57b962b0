import { useState } from "preact/hooks";
import { t } from "../i18n.ts";
import type { Me } from "../types.ts";
import { AuditPanel } from "./operator-audit.tsx";
import { CompaniesPanel } from "./operator-companies.tsx";
import { DevicesPanel } from "./operator-devices.tsx";
import { EnrollmentsPanel } from "./operator-enrollments.tsx";
import { QuarantinePanel } from "./operator-quarantine.tsx";
import { SecurityPanel } from "./operator-security.tsx";
import { useCompanies } from "./ui.tsx";

type Tab = "companies" | "devices" | "enrollments" | "quarantine" | "security" | "audit";

/** Operator staff: companies, device registry, enrollments, quarantine, security events, audit log. */
export function OperatorView({ me }: { me: Me }) {
  const admin = me.role === "operatorAdmin";
  const tabs: Tab[] = [
    "companies",
    "devices",
    "enrollments",
    "quarantine",
    "security",
    ...(admin ? ["audit" as const] : []),
  ];
  const [tab, setTab] = useState<Tab>("devices");
  const companies = useCompanies(true);
  const list = companies.data ?? [];
  return (
    <section data-test="operator-view">
      <h2>{t("nav.operator")}</h2>
      <div class="range-buttons tabs" role="tablist">
        {tabs.map((x) => (
          <button
            key={x}
            type="button"
            role="tab"
            aria-selected={x === tab}
            class={x === tab ? "active" : "secondary"}
            data-test={`operator-tab-${x}`}
            onClick={() => setTab(x)}
          >
            {t(`operator.tab.${x}`)}
          </button>
        ))}
      </div>
      {tab === "companies" && (
        <CompaniesPanel companies={list} canCreate={admin} onCreated={companies.reload} />
      )}
      {tab === "devices" && <DevicesPanel companies={list} />}
      {tab === "enrollments" && <EnrollmentsPanel companies={list} />}
      {tab === "quarantine" && <QuarantinePanel />}
      {tab === "security" && <SecurityPanel />}
      {tab === "audit" && admin && <AuditPanel companies={list} />}
    </section>
  );
}
