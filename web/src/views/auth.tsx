import { useState } from "preact/hooks";
import { ApiError, api, errorText } from "../api.ts";
import { currentLang, type Lang, setLang, t } from "../i18n.ts";
import type { Me } from "../types.ts";

/** The login answer and the invitation answer: the user and the CSRF token of the new session. */
interface SessionAnswer {
  user: Me;
  csrfToken: string;
}

const inputValue = (e: Event) => (e.currentTarget as HTMLInputElement).value;

/** An error text from the server; for throttling with the wait it asks for. */
function failureText(err: unknown): string {
  if (err instanceof ApiError && err.retryAfterSec !== null) {
    return `${err.message} ${t("login.retryIn", { seconds: err.retryAfterSec })}`;
  }
  return errorText(err);
}

function Failure({ text }: { text: string }) {
  return text ? (
    <p class="error" role="alert" data-test="form-error">
      {text}
    </p>
  ) : null;
}

export function LangSwitch() {
  return (
    <div class="lang-buttons" data-test="language-switch">
      {(["de", "en"] as Lang[]).map((l) => (
        <button
          key={l}
          type="button"
          class={l === currentLang() ? "link active" : "link"}
          data-test={`language-${l}`}
          onClick={() => setLang(l)}
        >
          {l.toUpperCase()}
        </button>
      ))}
    </div>
  );
}

export function LoginView({ onLogin }: { onLogin: (me: Me) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const res = await api.post<SessionAnswer>("/api/auth/login", { email, password });
      onLogin({ ...res.user, csrfToken: res.csrfToken });
    } catch (err) {
      setError(failureText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card auth" onSubmit={submit} data-test="login-form">
      <LangSwitch />
      <h2>{t("login.title")}</h2>
      <label>
        {t("login.email")}
        <input
          type="email"
          autocomplete="username"
          required
          value={email}
          onInput={(e) => setEmail(inputValue(e))}
          data-test="login-email"
        />
      </label>
      <label>
        {t("login.password")}
        <input
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(inputValue(e))}
          data-test="login-password"
        />
      </label>
      <Failure text={error} />
      <button type="submit" disabled={busy} data-test="login-submit">
        {t("login.submit")}
      </button>
      <a href="#/reset" data-test="forgot-password">
        {t("login.forgot")}
      </a>
    </form>
  );
}

/** Two password fields that must match; calls `onSubmit` with the password. */
function NewPasswordForm(props: {
  title: string;
  intro?: string;
  submitText: string;
  onSubmit: (password: string) => Promise<void>;
}) {
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (password.length < 12) return setError(t("password.short"));
    if (password !== repeat) return setError(t("password.mismatch"));
    setBusy(true);
    setError("");
    try {
      await props.onSubmit(password);
    } catch (err) {
      setError(failureText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card auth" onSubmit={submit} data-test="password-form">
      <LangSwitch />
      <h2>{props.title}</h2>
      {props.intro && <p>{props.intro}</p>}
      <label>
        {t("password.new")}
        <input
          type="password"
          autocomplete="new-password"
          minLength={12}
          maxLength={256}
          required
          value={password}
          onInput={(e) => setPassword(inputValue(e))}
          data-test="new-password"
        />
      </label>
      <label>
        {t("password.repeat")}
        <input
          type="password"
          autocomplete="new-password"
          required
          value={repeat}
          onInput={(e) => setRepeat(inputValue(e))}
          data-test="new-password-repeat"
        />
      </label>
      <Failure text={error} />
      <button type="submit" disabled={busy} data-test="password-submit">
        {props.submitText}
      </button>
    </form>
  );
}

function MissingToken() {
  return (
    <div class="card auth">
      <p class="error">{t("link.missingToken")}</p>
      <a href="#/login">{t("reset.toLogin")}</a>
    </div>
  );
}

export function InvitationView({ token, onLogin }: { token: string; onLogin: (me: Me) => void }) {
  if (!token) return <MissingToken />;
  return (
    <NewPasswordForm
      title={t("invitation.title")}
      intro={t("invitation.intro")}
      submitText={t("invitation.submit")}
      onSubmit={async (password) => {
        const res = await api.post<SessionAnswer>("/api/auth/invitation", { token, password });
        onLogin({ ...res.user, csrfToken: res.csrfToken });
      }}
    />
  );
}

/** Without a token: ask for a link by e-mail. With the token from the link: set the new password. */
export function ResetView({ token }: { token: string }) {
  const [done, setDone] = useState(false);
  if (done) {
    return (
      <div class="card auth" data-test="reset-done">
        <p>{token ? t("reset.done") : t("reset.sent")}</p>
        <a href="#/login">{t("reset.toLogin")}</a>
      </div>
    );
  }
  if (token) {
    return (
      <NewPasswordForm
        title={t("reset.title")}
        submitText={t("reset.confirm")}
        onSubmit={async (password) => {
          await api.post("/api/auth/password-reset/confirm", { token, password });
          setDone(true);
        }}
      />
    );
  }
  return <ResetRequest onDone={() => setDone(true)} />;
}

function ResetRequest({ onDone }: { onDone: () => void }) {
  const [email, setEmail] = useState("");
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      await api.post("/api/auth/password-reset", { email, lang: currentLang() });
      onDone();
    } catch (err) {
      setError(failureText(err));
    }
  };
  return (
    <form class="card auth" onSubmit={submit} data-test="reset-form">
      <LangSwitch />
      <h2>{t("reset.title")}</h2>
      <p>{t("reset.intro")}</p>
      <label>
        {t("login.email")}
        <input
          type="email"
          autocomplete="username"
          required
          value={email}
          onInput={(e) => setEmail(inputValue(e))}
          data-test="reset-email"
        />
      </label>
      <Failure text={error} />
      <button type="submit" data-test="reset-submit">
        {t("reset.request")}
      </button>
      <a href="#/login">{t("reset.toLogin")}</a>
    </form>
  );
}
