import { useState } from "preact/hooks";
import { t } from "../i18n.ts";
import type { Me } from "../types.ts";
import { AccountCard, PasswordCard } from "./admin-account.tsx";
import { CompanyCard } from "./admin-company.tsx";
import { NotificationsCard } from "./admin-notifications.tsx";
import { TokensCard } from "./admin-tokens.tsx";
import { UsersCard } from "./admin-users.tsx";
import { CompanySelect, useCompanies } from "./ui.tsx";

export const isAdmin = (me: Me) => me.role === "companyAdmin" || me.role === "operatorAdmin";

/**
 * Company administration (users, company data) for admins, and the own account (contact data,
 * password, API tokens, notifications) for everyone who opens it.
 */
export function AdminView({ me }: { me: Me }) {
  const operator = me.role === "operatorAdmin";
  const companies = useCompanies(operator);
  // Operator admins: "" = every user and no company card; else one company.
  const [company, setCompany] = useState("");
  const companyId = operator ? company : (me.companyId ?? "");
  return (
    <section data-test="admin-view">
      <h2>{t("nav.admin")}</h2>
      {isAdmin(me) && (
        <>
          {operator && (
            <div class="filters">
              <CompanySelect
                companies={companies.data ?? []}
                value={company}
                onChange={setCompany}
                none={t("admin.allCompanies")}
                test="admin-company-pick"
              />
            </div>
          )}
          {companyId && <CompanyCard key={companyId} companyId={companyId} />}
          <UsersCard me={me} companyId={companyId} companies={companies.data ?? []} />
        </>
      )}
      <h2>{t("account.title")}</h2>
      <div class="grid">
        <AccountCard />
        <PasswordCard />
      </div>
      <TokensCard />
      <NotificationsCard />
    </section>
  );
}
