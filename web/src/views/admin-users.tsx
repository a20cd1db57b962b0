import { useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { currentLang, t } from "../i18n.ts";
import type { CompanyFull, Invitation, Me, Role, UserRow } from "../types.ts";
import {
  Card,
  CompanySelect,
  ConfirmButton,
  ErrorText,
  Message,
  type Msg,
  OnceSecret,
  useLoad,
  val,
} from "./ui.tsx";

const COMPANY_ROLES: readonly Role[] = ["companyAdmin", "companyUser"];
const OPERATOR_ROLES: readonly Role[] = ["operatorAdmin", "serviceTechnician"];
const rolesFor = (companyId: string | null) => (companyId ? COMPANY_ROLES : OPERATOR_ROLES);

/** Users of the company (operator admins: all or one company): invite, change role, remove. */
export function UsersCard(props: { me: Me; companyId: string; companies: readonly CompanyFull[] }) {
  const operator = props.me.role === "operatorAdmin";
  const users = useLoad(
    () =>
      api
        .get<{ users: UserRow[] }>("/api/users", { company: operator ? props.companyId : undefined })
        .then((r) => r.users),
    [props.companyId],
  );
  const [msg, setMsg] = useState<Msg>(null);
  const [link, setLink] = useState<string | null>(null);
  const company = (id: string | null) =>
    id === null ? t("admin.operatorStaff") : (props.companies.find((c) => c.id === id)?.name ?? id);

  const act = async (fn: () => Promise<unknown>, ok: string) => {
    setMsg(null);
    try {
      await fn();
      setMsg({ ok: true, text: ok });
      users.reload();
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };
  const userPath = (u: UserRow) => `/api/users/${encodeURIComponent(u.id)}`;
  const reinvite = (u: UserRow) =>
    act(async () => {
      const r = await api.post<{ invitation: Invitation }>(`${userPath(u)}/invitation`, {
        lang: currentLang(),
      });
      setLink(r.invitation.link ?? null);
    }, t("users.invited"));

  return (
    <Card title={t("users.title")} test="users-card">
      <InviteForm
        me={props.me}
        companyId={props.companyId}
        companies={props.companies}
        onInvited={(inv) => {
          setLink(inv.link ?? null);
          setMsg({ ok: true, text: inv.mailed ? t("users.mailed") : t("users.invited") });
          users.reload();
        }}
      />
      {link && (
        <OnceSecret
          label={t("users.linkToCopy")}
          value={link}
          test="invite-link"
          onDone={() => setLink(null)}
        />
      )}
      <Message msg={msg} test="users-message" />
      <ErrorText error={users.error} />
      <table class="table" data-test="users-table">
        <thead>
          <tr>
            <th>{t("login.email")}</th>
            <th>{t("users.role")}</th>
            {operator && <th>{t("fleet.company")}</th>}
            <th>{t("users.status")}</th>
            <th class="hide-narrow">{t("account.phone")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(users.data ?? []).map((u) => (
            <tr key={u.id} data-test="user-row" data-user={u.email}>
              <td>{u.email}</td>
              <td>
                <select
                  value={u.role}
                  disabled={u.id === props.me.id}
                  data-test="user-role-select"
                  onChange={(e) =>
                    act(() => api.patch(userPath(u), { role: val(e) }), t("users.roleChanged"))
                  }
                >
                  {rolesFor(u.companyId).map((r) => (
                    <option key={r} value={r}>
                      {t(`role.${r}`)}
                    </option>
                  ))}
                </select>
              </td>
              {operator && <td>{company(u.companyId)}</td>}
              <td>{t(`users.status.${u.status}`)}</td>
              <td class="hide-narrow">{u.phone ?? ""}</td>
              <td>
                <div class="row-actions">
                  {u.status === "invited" && (
                    <button
                      type="button"
                      class="secondary"
                      data-test="user-reinvite"
                      onClick={() => reinvite(u)}
                    >
                      {t("users.reinvite")}
                    </button>
                  )}
                  {u.id !== props.me.id && (
                    <ConfirmButton
                      label={t("users.remove")}
                      question={t("users.removeQuestion", { email: u.email })}
                      test="user-remove"
                      danger
                      onConfirm={() => act(() => api.del(userPath(u)), t("users.removed"))}
                    />
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function InviteForm(props: {
  me: Me;
  companyId: string;
  companies: readonly CompanyFull[];
  onInvited: (inv: Invitation) => void;
}) {
  const operator = props.me.role === "operatorAdmin";
  const [company, setCompany] = useState(props.companyId);
  const target = operator ? company || null : props.me.companyId;
  const roles = rolesFor(target);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("companyUser");
  const [phone, setPhone] = useState("");
  const [address, setAddress] = useState("");
  const [lang, setLang] = useState(currentLang());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const chosenRole = roles.includes(role) ? role : (roles[roles.length - 1] as Role);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<{ invitation: Invitation }>("/api/users", {
        email,
        role: chosenRole,
        lang,
        ...(operator && target ? { companyId: target } : {}),
        ...(phone ? { phone } : {}),
        ...(address ? { postalAddress: address } : {}),
      });
      setEmail("");
      setPhone("");
      setAddress("");
      props.onInvited(r.invitation);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="inline-form" onSubmit={submit} data-test="invite-form">
      <label class="grow">
        {t("login.email")}
        <input
          type="email"
          required
          value={email}
          onInput={(e) => setEmail(val(e))}
          data-test="invite-email"
        />
      </label>
      {operator && (
        <CompanySelect
          companies={props.companies}
          value={company}
          onChange={setCompany}
          none={t("admin.operatorStaff")}
          test="invite-company"
        />
      )}
      <label>
        {t("users.role")}
        <select value={chosenRole} onChange={(e) => setRole(val(e) as Role)} data-test="invite-role">
          {roles.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("account.phone")}
        <input type="tel" value={phone} onInput={(e) => setPhone(val(e))} data-test="invite-phone" />
      </label>
      <label class="grow">
        {t("account.postalAddress")}
        <input type="text" value={address} onInput={(e) => setAddress(val(e))} data-test="invite-address" />
      </label>
      <label>
        {t("header.language")}
        <select value={lang} onChange={(e) => setLang(val(e) as "de" | "en")} data-test="invite-lang">
          <option value="de">Deutsch</option>
          <option value="en">English</option>
        </select>
      </label>
      <button type="submit" disabled={busy} data-test="invite-submit">
        {t("users.invite")}
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
