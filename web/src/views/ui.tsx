import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { t } from "../i18n.ts";
import type { CompanyFull } from "../types.ts";

/** Small shared pieces of the administration pages. */

export type Msg = { ok: boolean; text: string } | null;

/** The value of an input's event. */
export const val = (e: Event) => (e.currentTarget as HTMLInputElement).value;

/** Loads once per change of `deps`; `reload` loads again. */
export function useLoad<T>(fn: () => Promise<T>, deps: readonly unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    fn().then(
      (d) => live && setData(d),
      (err) => {
        if (!live) return;
        setData(undefined);
        setError(err);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload };
}

export function Message({ msg, test }: { msg: Msg; test?: string }) {
  if (!msg) return null;
  return (
    <p class={msg.ok ? "ok" : "error"} role="status" data-test={test}>
      {msg.text}
    </p>
  );
}

export function ErrorText({ error }: { error: unknown }) {
  return error ? (
    <p class="error" role="alert">
      {errorText(error)}
    </p>
  ) : null;
}

/** A secret shown once (new token, device key, invitation link), with a copy button. */
export function OnceSecret(props: { label: string; value: string; test: string; onDone?: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = () =>
    navigator.clipboard?.writeText(props.value).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <div class="secret" data-test={props.test}>
      <span class="small muted">{props.label}</span>
      <div class="secret-row">
        <input
          type="text"
          readOnly
          value={props.value}
          data-test={`${props.test}-value`}
          onFocus={(e) => (e.currentTarget as HTMLInputElement).select()}
        />
        <button type="button" class="secondary" onClick={copy} data-test={`${props.test}-copy`}>
          {copied ? t("ui.copied") : t("ui.copy")}
        </button>
        {props.onDone && (
          <button type="button" class="secondary" onClick={props.onDone}>
            {t("ui.done")}
          </button>
        )}
      </div>
    </div>
  );
}

/** A button that asks once more before it acts. */
export function ConfirmButton(props: {
  label: string;
  question: string;
  test: string;
  onConfirm: () => void | Promise<void>;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" class="secondary" data-test={props.test} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  return (
    <span class="confirm">
      <span class="small">{props.question}</span>
      <button
        type="button"
        class={props.danger ? "danger" : ""}
        data-test={`${props.test}-confirm`}
        onClick={async () => {
          setAsking(false);
          await props.onConfirm();
        }}
      >
        {t("ui.confirm")}
      </button>
      <button type="button" class="secondary" onClick={() => setAsking(false)}>
        {t("common.cancel")}
      </button>
    </span>
  );
}

/** Companies for pickers (operator staff see all, a company's callers their own). */
export function useCompanies(enabled = true) {
  return useLoad(
    () =>
      enabled
        ? api.get<{ companies: CompanyFull[] }>("/api/companies").then((r) => r.companies)
        : Promise.resolve([] as CompanyFull[]),
    [enabled],
  );
}

export function CompanySelect(props: {
  companies: readonly CompanyFull[];
  value: string;
  onChange: (id: string) => void;
  test: string;
  /** Label of the empty choice; absent: no empty choice. */
  none?: string;
  label?: string;
}) {
  return (
    <label>
      {props.label ?? t("fleet.company")}
      <select value={props.value} onChange={(e) => props.onChange(val(e))} data-test={props.test}>
        {props.none !== undefined && <option value="">{props.none}</option>}
        {props.companies.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name} ({c.id})
          </option>
        ))}
      </select>
    </label>
  );
}

export function Card(props: { title: string; test: string; children: ComponentChildren }) {
  return (
    <section class="card" data-test={props.test}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}
