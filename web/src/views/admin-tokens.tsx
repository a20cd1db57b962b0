import { useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { fmtDate, t } from "../i18n.ts";
import { type ApiToken, TOKEN_SCOPES } from "../types.ts";
import { Card, ConfirmButton, ErrorText, Message, type Msg, OnceSecret, useLoad, val } from "./ui.tsx";

/** Own API tokens: list, create (the secret is shown once), revoke. */
export function TokensCard() {
  const tokens = useLoad(() => api.get<{ tokens: ApiToken[] }>("/api/me/tokens").then((r) => r.tokens), []);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["telemetry:read"]);
  const [days, setDays] = useState("90");
  const [secret, setSecret] = useState<string | null>(null);
  const [msg, setMsg] = useState<Msg>(null);

  const toggle = (s: string) =>
    setScopes((cur) => (cur.includes(s) ? cur.filter((x) => x !== s) : [...cur, s]));

  const create = async (e: Event) => {
    e.preventDefault();
    setMsg(null);
    try {
      const n = Number(days);
      const r = await api.post<{ token: string }>("/api/me/tokens", {
        name,
        scopes,
        ...(days && Number.isInteger(n) ? { expiresInDays: n } : {}),
      });
      setSecret(r.token);
      setName("");
      tokens.reload();
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };

  const revoke = async (tok: ApiToken) => {
    setMsg(null);
    try {
      await api.del(`/api/me/tokens/${encodeURIComponent(tok.id)}`);
      setMsg({ ok: true, text: t("tokens.revoked") });
      tokens.reload();
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };

  return (
    <Card title={t("tokens.title")} test="tokens-card">
      <form class="inline-form" onSubmit={create} data-test="token-form">
        <label class="grow">
          {t("tokens.name")}
          <input
            type="text"
            required
            maxLength={100}
            value={name}
            onInput={(e) => setName(val(e))}
            data-test="token-name"
          />
        </label>
        <label>
          {t("tokens.expiresInDays")}
          <input type="number" min={1} value={days} onInput={(e) => setDays(val(e))} data-test="token-days" />
        </label>
        <fieldset class="scopes" data-test="token-scopes">
          <legend class="small">{t("tokens.scopes")}</legend>
          {TOKEN_SCOPES.map((s) => (
            <label key={s} class="check">
              <input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} value={s} />
              {s}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={scopes.length === 0} data-test="token-create">
          {t("tokens.create")}
        </button>
      </form>
      {secret && (
        <OnceSecret
          label={t("tokens.once")}
          value={secret}
          test="token-secret"
          onDone={() => setSecret(null)}
        />
      )}
      <Message msg={msg} />
      <ErrorText error={tokens.error} />
      <table class="table" data-test="tokens-table">
        <thead>
          <tr>
            <th>{t("tokens.name")}</th>
            <th>{t("tokens.scopes")}</th>
            <th>{t("tokens.created")}</th>
            <th>{t("tokens.expires")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(tokens.data ?? []).map((tok) => (
            <tr key={tok.id} data-test="token-row" class={tok.revokedAt ? "cleared" : ""}>
              <td>{tok.name}</td>
              <td class="small">{tok.scopes.join(", ")}</td>
              <td>{fmtDate(tok.createdAt)}</td>
              <td>{tok.expiresAt ? fmtDate(tok.expiresAt) : t("tokens.never")}</td>
              <td>
                <div class="row-actions">
                  {tok.revokedAt ? (
                    <span class="muted">{t("tokens.revokedAt", { date: fmtDate(tok.revokedAt) })}</span>
                  ) : (
                    <ConfirmButton
                      label={t("tokens.revoke")}
                      question={t("tokens.revokeQuestion")}
                      test="token-revoke"
                      danger
                      onConfirm={() => revoke(tok)}
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
