import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api.ts";
import { fmtDay, fmtInZone, t } from "../i18n.ts";
import { dayOf, startOfDay } from "../lib/zone.ts";
import type { Contract } from "../types.ts";
import { val } from "./ui.tsx";

interface Effective {
  lastDay: string;
  endsAt: number;
}

/**
 * Gives notice: the effective date is computed by the server (…/notice/preview) on every change and
 * shown before the confirmation stores it (POST …/notice).
 */
export function NoticeForm(props: {
  path: string;
  contract: Contract;
  operator: boolean;
  onCancel: () => void;
  onDone: () => void;
}) {
  const zone = props.contract.timeZone;
  const today = dayOf(Date.now(), zone);
  const [received, setReceived] = useState(today);
  const [extraordinary, setExtraordinary] = useState(false);
  const [reason, setReason] = useState("");
  const [by, setBy] = useState<"customer" | "operator">(props.operator ? "operator" : "customer");
  const [preview, setPreview] = useState<Effective | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const body = () => {
    // Today: now (an extraordinary notice acts at receipt); an earlier day: its local start.
    const receivedAt = received === today ? Date.now() : startOfDay(received, zone);
    return {
      by,
      receivedAt,
      extraordinary,
      ...(extraordinary ? { reason } : {}),
    };
  };

  useEffect(() => {
    let live = true;
    setError(null);
    if (extraordinary && !reason.trim()) {
      setPreview(null);
      return;
    }
    const timer = setTimeout(() => {
      api.post<Effective>(`${props.path}/notice/preview`, body()).then(
        (p) => live && setPreview(p),
        (err) => {
          if (!live) return;
          setPreview(null);
          setError(errorText(err));
        },
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [received, extraordinary, reason, by, props.path]);

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.post(`${props.path}/notice`, body());
      props.onDone();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="inline-form notice-form" data-test="notice-form" onSubmit={(e) => e.preventDefault()}>
      <label>
        {t("contract.receivedOn")}
        <input
          type="date"
          value={received}
          max={today}
          required
          onInput={(e) => setReceived(val(e))}
          data-test="notice-received"
        />
      </label>
      {props.operator && (
        <label>
          {t("contract.noticeBy")}
          <select value={by} onChange={(e) => setBy(val(e) as "customer")} data-test="notice-by">
            <option value="operator">{t("contract.by.operator")}</option>
            <option value="customer">{t("contract.by.customer")}</option>
          </select>
        </label>
      )}
      <label class="check">
        <input
          type="checkbox"
          checked={extraordinary}
          onChange={(e) => setExtraordinary((e.currentTarget as HTMLInputElement).checked)}
          data-test="notice-extraordinary"
        />
        {t("contract.extraordinary")}
      </label>
      {extraordinary && (
        <label class="grow">
          {t("contract.reason")}
          <input
            type="text"
            required
            maxLength={2000}
            value={reason}
            onInput={(e) => setReason(val(e))}
            data-test="notice-reason"
          />
        </label>
      )}
      <div class="notice-preview grow" aria-live="polite">
        {preview ? (
          <>
            <span>{t("contract.effective")} </span>
            <strong data-test="notice-effective-date" data-last-day={preview.lastDay}>
              {fmtDay(preview.lastDay)}
            </strong>
            <span class="muted small" data-test="notice-ends-at">
              {" "}
              ({t("contract.endsAtShort", { time: `${fmtInZone(preview.endsAt, zone, true)} (${zone})` })})
            </span>
          </>
        ) : (
          <span class="muted">{extraordinary && !reason.trim() ? t("contract.reasonNeeded") : "…"}</span>
        )}
      </div>
      <button type="button" disabled={!preview || busy} onClick={confirm} data-test="notice-confirm">
        {t("contract.confirmNotice")}
      </button>
      <button type="button" class="secondary" onClick={props.onCancel} data-test="notice-cancel">
        {t("common.cancel")}
      </button>
      {error && (
        <p class="error" role="alert" data-test="notice-error">
          {error}
        </p>
      )}
    </form>
  );
}
