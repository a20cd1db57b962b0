import { useEffect, useState } from "preact/hooks";

/**
 * Hash routes. `#/invitation?token=…` and `#/reset?token=…` are fixed: the server mails these links
 * (src/tenancy/accounts.ts `issueLink`).
 */
export type Route =
  | { name: "login" }
  | { name: "invitation"; token: string }
  | { name: "reset"; token: string }
  | { name: "fleet" }
  | { name: "pump"; id: string }
  | { name: "alarms"; device: string }
  | { name: "kpis" }
  | { name: "admin" }
  | { name: "contract" }
  | { name: "operator" };

/** Routes that need no login. */
export const PUBLIC_ROUTES: ReadonlySet<Route["name"]> = new Set(["login", "invitation", "reset"]);

export function parseHash(hash: string): Route {
  const [path = "", queryText = ""] = hash.replace(/^#/, "").split("?");
  const query = new URLSearchParams(queryText);
  const parts = path.split("/").filter(Boolean);
  const [head, arg] = parts;
  switch (head) {
    case "login":
      return { name: "login" };
    case "invitation":
      return { name: "invitation", token: query.get("token") ?? "" };
    case "reset":
      return { name: "reset", token: query.get("token") ?? "" };
    case "pump":
      return arg ? { name: "pump", id: decodeURIComponent(arg) } : { name: "fleet" };
    case "alarms":
      return { name: "alarms", device: query.get("device") ?? "" };
    case "kpis":
    case "admin":
    case "contract":
    case "operator":
      return { name: head };
    default:
      return { name: "fleet" };
  }
}

/** The hash of a route, for links. */
export function href(route: Route): string {
  switch (route.name) {
    case "invitation":
    case "reset":
      return `#/${route.name}?token=${encodeURIComponent(route.token)}`;
    case "pump":
      return `#/pump/${encodeURIComponent(route.id)}`;
    case "alarms":
      return route.device ? `#/alarms?device=${encodeURIComponent(route.device)}` : "#/alarms";
    default:
      return `#/${route.name}`;
  }
}

export function navigate(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}
