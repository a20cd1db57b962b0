import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, setCsrfToken, setUnauthorizedHandler } from "./api.ts";
import { onLangChange, t } from "./i18n.ts";
import { startLive, stopLive } from "./live.ts";
import { navigate, PUBLIC_ROUTES, type Route, useRoute } from "./router.ts";
import type { Me } from "./types.ts";
import { AlarmsView } from "./views/alarms.tsx";
import { InvitationView, LoginView, ResetView } from "./views/auth.tsx";
import { FleetView } from "./views/fleet.tsx";
import { Header } from "./views/header.tsx";
import { PumpView } from "./views/pump.tsx";

/** Session state and the page of the current route. */
export function App() {
  const route = useRoute();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [, setLangTick] = useState(0);

  useEffect(() => onLangChange(() => setLangTick((n) => n + 1)), []);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setMe(null);
      stopLive();
      navigate({ name: "login" });
    });
    api.get<Me>("/api/me").then(
      (m) => signedIn(m),
      () => setMe(null),
    );
  }, []);

  const signedIn = (m: Me) => {
    setCsrfToken(m.csrfToken ?? null);
    setMe(m);
    startLive();
  };

  const logout = async () => {
    await api.post("/api/auth/logout").catch(() => undefined);
    setCsrfToken(null);
    stopLive();
    setMe(null);
    navigate({ name: "login" });
  };

  useEffect(() => {
    if (me && route.name === "login") navigate({ name: "fleet" });
  }, [me, route.name]);

  if (me === undefined) return <p class="page-message">{t("common.loading")}</p>;

  if (me === null || PUBLIC_ROUTES.has(route.name)) {
    const onLogin = (m: Me) => {
      signedIn(m);
      navigate({ name: "fleet" });
    };
    return (
      <main class="auth-page">
        <h1 class="brand">{t("app.title")}</h1>
        <PublicPage route={route} onLogin={onLogin} />
      </main>
    );
  }

  return (
    <div class="layout">
      <Header me={me} route={route} onLogout={logout} />
      <main class="content">
        <Page route={route} me={me} />
      </main>
    </div>
  );
}

function PublicPage({ route, onLogin }: { route: Route; onLogin: (m: Me) => void }) {
  switch (route.name) {
    case "invitation":
      return <InvitationView token={route.token} onLogin={onLogin} />;
    case "reset":
      return <ResetView token={route.token} />;
    default:
      return <LoginView onLogin={onLogin} />;
  }
}

function Page({ route, me }: { route: Route; me: Me }) {
  switch (route.name) {
    case "pump":
      return <PumpView id={route.id} />;
    case "alarms":
      return <AlarmsView device={route.device} />;
    case "kpis":
    case "admin":
    case "contract":
    case "operator":
      return <LazyPage name={route.name} me={me} />;
    default:
      return <FleetView me={me} />;
  }
}

type LazyName = "kpis" | "admin" | "contract" | "operator";
type PageComponent = ComponentType<{ me: Me }>;

/** The less used pages load on first visit (own chunks): the first load stays small. */
const LOADERS: Record<LazyName, () => Promise<PageComponent>> = {
  kpis: () => import("./views/kpis.tsx").then((m) => m.KpisView),
  admin: () => import("./views/admin.tsx").then((m) => m.AdminView),
  contract: () => import("./views/contract.tsx").then((m) => m.ContractView),
  operator: () => import("./views/operator.tsx").then((m) => m.OperatorView),
};
const loaded = new Map<LazyName, PageComponent>();

function LazyPage({ name, me }: { name: LazyName; me: Me }) {
  const [, setTick] = useState(0);
  const [error, setError] = useState(false);
  useEffect(() => {
    if (loaded.has(name)) return;
    setError(false);
    LOADERS[name]().then(
      (c) => {
        loaded.set(name, c);
        setTick((n) => n + 1);
      },
      () => setError(true),
    );
  }, [name]);
  const Component = loaded.get(name);
  if (Component) return <Component me={me} />;
  return (
    <p class={error ? "page-message error" : "page-message"}>
      {error ? t("ui.loadFailed") : t("common.loading")}
    </p>
  );
}
