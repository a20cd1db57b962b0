import { useEffect, useState } from "preact/hooks";
import { t } from "../i18n.ts";
import { onLiveStatus } from "../live.ts";
import { href, type Route } from "../router.ts";
import type { Me } from "../types.ts";
import { LangSwitch } from "./auth.tsx";

const NAV: readonly Route["name"][] = ["fleet", "alarms", "kpis", "admin", "contract", "operator"];

const isAdmin = (me: Me) => me.role === "companyAdmin" || me.role === "operatorAdmin";

/**
 * Which pages a role gets a link to (the server checks every call regardless): everyone fleet,
 * alarms, KPIs and their own account (the administration page shows only that part to non-admins);
 * admins also the contract; operator staff also the operator page.
 */
function visible(name: Route["name"], me: Me): boolean {
  switch (name) {
    case "contract":
      return isAdmin(me);
    case "operator":
      return me.companyId === null;
    default:
      return true;
  }
}

export function Header({ me, route, onLogout }: { me: Me; route: Route; onLogout: () => void }) {
  const [live, setLive] = useState(false);
  useEffect(() => onLiveStatus(setLive), []);
  const active = route.name === "pump" ? "fleet" : route.name;
  return (
    <header class="header">
      <a class="brand" href="#/fleet">
        {t("app.title")}
      </a>
      <nav class="nav">
        {NAV.filter((n) => visible(n, me)).map((n) => (
          <a
            key={n}
            href={href(n === "alarms" ? { name: "alarms", device: "" } : ({ name: n } as Route))}
            class={n === active ? "active" : ""}
            data-test={`nav-${n}`}
          >
            {n === "admin" && !isAdmin(me) ? t("nav.account") : t(`nav.${n}` as "nav.fleet")}
          </a>
        ))}
      </nav>
      <div class="header-user">
        <span
          class={`live-dot ${live ? "on" : ""}`}
          data-test="live-status"
          title={live ? "live" : "offline"}
        />
        <span class="user" data-test="user-email">
          {me.email}
        </span>
        <span class="role" data-test="user-role">
          {t(`role.${me.role}`)}
        </span>
        <LangSwitch />
        <button type="button" class="secondary" data-test="logout" onClick={onLogout}>
          {t("header.logout")}
        </button>
      </div>
    </header>
  );
}
