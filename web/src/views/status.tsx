import { t } from "../i18n.ts";
import type { Alarm, HealthReport } from "../types.ts";

export type PumpStatus = "ok" | "warning" | "alarm" | "offline";

/** Sort order of the fleet list: most urgent first. */
export const URGENCY: Record<PumpStatus, number> = { alarm: 0, offline: 1, warning: 2, ok: 3 };

/**
 * A pump's traffic light from what the fleet view has without per-pump requests: its health report
 * (GET /api/fleet/health), its active alarms, and the latest connectivity event (undefined: none
 * seen since the page loaded). A pump without any data counts as offline.
 */
export function pumpStatus(
  report: HealthReport | undefined,
  activeAlarms: readonly Alarm[],
  connected: boolean | undefined,
): PumpStatus {
  const real = activeAlarms.filter((a) => a.type !== "offline");
  if (real.some((a) => a.severity === "alarm")) return "alarm";
  const connection = report?.checks.find((c) => c.id === "connection");
  const offline =
    connected === false ||
    activeAlarms.some((a) => a.type === "offline") ||
    !report ||
    report.score === null ||
    (connected !== true && connection?.status === "fail");
  if (offline) return "offline";
  if (report.checks.some((c) => c.status === "fail")) return "alarm";
  if (real.length > 0 || report.checks.some((c) => c.status === "warn")) return "warning";
  return "ok";
}

export function StatusBadge({ status }: { status: PumpStatus }) {
  return (
    <span class={`badge badge-${status}`} data-test="status-badge" data-status={status}>
      {t(`status.${status}`)}
    </span>
  );
}
