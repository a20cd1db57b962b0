import { useEffect, useState } from "preact/hooks";
import { api, errorText, setCsrfToken } from "../api.ts";
import { t } from "../i18n.ts";
import { Card, ErrorText, Message, type Msg, useLoad, val } from "./ui.tsx";

interface Contact {
  email: string;
  phone: string | null;
  postalAddress: string | null;
}

/** Own phone and postal address (PATCH /api/me; empty clears) and the own data export. */
export function AccountCard() {
  const me = useLoad(() => api.get<Contact>("/api/me"), []);
  const [phone, setPhone] = useState("");
  const [address, setAddress] = useState("");
  const [msg, setMsg] = useState<Msg>(null);
  useEffect(() => {
    setPhone(me.data?.phone ?? "");
    setAddress(me.data?.postalAddress ?? "");
  }, [me.data]);

  const save = async (e: Event) => {
    e.preventDefault();
    setMsg(null);
    try {
      await api.patch("/api/me", { phone: phone || null, postalAddress: address || null });
      setMsg({ ok: true, text: t("ui.saved") });
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };

  return (
    <Card title={t("account.contact")} test="account-card">
      <ErrorText error={me.error} />
      <form class="auth" onSubmit={save}>
        <label>
          {t("login.email")}
          <input type="email" value={me.data?.email ?? ""} readOnly disabled />
        </label>
        <label>
          {t("account.phone")}
          <input
            type="tel"
            maxLength={100}
            value={phone}
            onInput={(e) => setPhone(val(e))}
            data-test="account-phone"
          />
        </label>
        <label>
          {t("account.postalAddress")}
          <textarea
            rows={3}
            maxLength={500}
            value={address}
            onInput={(e) => setAddress(val(e))}
            data-test="account-address"
          />
        </label>
        <div class="toolbar">
          <button type="submit" data-test="account-save">
            {t("common.save")}
          </button>
          <a href="/api/me/export" download data-test="export-me">
            {t("export.me")}
          </a>
        </div>
      </form>
      <Message msg={msg} test="account-message" />
    </Card>
  );
}

/** Change the own password (POST /api/me/password); other sessions end. */
export function PasswordCard() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [msg, setMsg] = useState<Msg>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (next.length < 12) return setMsg({ ok: false, text: t("password.short") });
    if (next !== repeat) return setMsg({ ok: false, text: t("password.mismatch") });
    setBusy(true);
    setMsg(null);
    try {
      const r = await api.post<{ csrfToken?: string }>("/api/me/password", {
        currentPassword: current,
        newPassword: next,
      });
      // The session continues with a new cookie and so a new CSRF token.
      if (r?.csrfToken) setCsrfToken(r.csrfToken);
      setCurrent("");
      setNext("");
      setRepeat("");
      setMsg({ ok: true, text: t("account.passwordChanged") });
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };

  const field = (label: string, value: string, set: (v: string) => void, test: string, auto: string) => (
    <label>
      {label}
      <input
        type="password"
        required
        autoComplete={auto}
        maxLength={256}
        value={value}
        onInput={(e) => set(val(e))}
        data-test={test}
      />
    </label>
  );

  return (
    <Card title={t("account.password")} test="password-card">
      <form class="auth" onSubmit={submit}>
        {field(t("account.currentPassword"), current, setCurrent, "password-current", "current-password")}
        {field(t("password.new"), next, setNext, "password-new", "new-password")}
        {field(t("password.repeat"), repeat, setRepeat, "password-repeat", "new-password")}
        <button type="submit" disabled={busy} data-test="password-submit">
          {t("account.changePassword")}
        </button>
      </form>
      <Message msg={msg} test="password-message" />
    </Card>
  );
}
