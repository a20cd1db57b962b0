import { useEffect, useRef } from "preact/hooks";
import uPlot, { type AlignedData, type Options } from "uplot";
import { currentLang, fmtDateTime, locale, t, tOr } from "../i18n.ts";
import { type Forecast, type Series, SIGNAL_UNITS } from "../types.ts";

/**
 * One zoomable uPlot chart over a columnar series (GET /api/devices/{id}/series). Downsampled
 * series carry min/max per bucket: drawn as a band around the mean. Dragging a range zooms; the
 * parent then fetches that range again at full resolution (`onZoom`). Alarms and maintenance are
 * drawn as vertical markers, forecasts as their P10–P90 band with a line at P50.
 */

export interface Marker {
  ts: number;
  kind: "alarm" | "warning" | "maintenance";
}

export interface ChartProps {
  title: string;
  signals: readonly string[];
  series: Series;
  range: { from: number; to: number };
  markers: readonly Marker[];
  forecasts: readonly Forecast[];
  onZoom: (from: number, to: number) => void;
  /** A log-10 y scale (vacuum pressures span decades); values ≤ 0 are not drawn. */
  log?: boolean;
}

const COLORS = ["#1f6feb", "#d2691e", "#2e8b57", "#8a2be2"];
const MARKER_COLORS: Record<Marker["kind"], string> = {
  alarm: "#d32f2f",
  warning: "#f9a825",
  maintenance: "#1565c0",
};

function column(series: Series, key: string): (number | null)[] {
  const v = series[key];
  return Array.isArray(v) ? (v as (number | null)[]) : series.t.map(() => null);
}

/** A log scale cannot show 0 or negative values: they become gaps. */
const positive = (col: (number | null)[]): (number | null)[] =>
  col.map((v) => (v !== null && v > 0 ? v : null));

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Date formats of the UI language; the German clock is always 24-hour. */
function dateFormat(opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(locale(), currentLang() === "de" ? { ...opts, hourCycle: "h23" } : opts);
}

/**
 * Labels of the time axis by the tick increment: times of day below a day (with the date under the
 * first tick and under each new day), day and month below ~60 days (the year under the first tick and
 * each new year), else month and year.
 */
function timeAxisValues(): (
  u: uPlot,
  splits: number[],
  axisIdx: number,
  space: number,
  incr: number,
) => string[] {
  const seconds = dateFormat({ hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const minutes = dateFormat({ hour: "2-digit", minute: "2-digit" });
  const dayMonth = dateFormat({ day: "numeric", month: "short" });
  const year = dateFormat({ year: "numeric" });
  const month = dateFormat({ month: "short" });
  const monthYear = dateFormat({ month: "short", year: "numeric" });
  return (_u, splits, _axisIdx, _space, incr) => {
    let prev: Date | null = null;
    return splits.map((v) => {
      if (v === null || v === undefined) return "";
      const d = new Date(v);
      const first = prev === null;
      const newDay = first || d.getDate() !== prev!.getDate() || d.getMonth() !== prev!.getMonth();
      const newYear = first || d.getFullYear() !== prev!.getFullYear();
      prev = d;
      if (incr < DAY) {
        const time = (incr < 60_000 ? seconds : minutes).format(d);
        return newDay ? `${time}\n${dayMonth.format(d)}` : time;
      }
      if (incr < 28 * DAY) {
        const day = dayMonth.format(d);
        return newYear ? `${day}\n${year.format(d)}` : day;
      }
      if (incr < 60 * DAY) {
        const m = month.format(d);
        return newYear ? `${m}\n${year.format(d)}` : m;
      }
      return monthYear.format(d);
    });
  };
}

/** Fraction digits that resolve a step of `incr`, e.g. 0.05 → 2. */
const digitsFor = (incr: number): number =>
  incr > 0 && Number.isFinite(incr) ? Math.min(6, Math.max(0, Math.ceil(-Math.log10(incr) - 1e-9))) : 0;

/** Labels of a value axis as numbers of the locale (log axes: as many digits as the value needs). */
function numberAxisValues(
  log: boolean,
): (u: uPlot, splits: number[], axisIdx: number, space: number, incr: number) => string[] {
  const nf = new Map<number, Intl.NumberFormat>();
  const fmt = (v: number, digits: number) => {
    let f = nf.get(digits);
    if (!f) {
      f = new Intl.NumberFormat(locale(), { maximumFractionDigits: digits });
      nf.set(digits, f);
    }
    return f.format(v);
  };
  return (_u, splits, _axisIdx, _space, incr) =>
    splits.map((v) => {
      if (v === null || v === undefined) return "";
      return fmt(v, log ? digitsFor(Math.abs(v)) : digitsFor(incr));
    });
}

/** A legend value with its unit in the locale: 2 fraction digits, more for small values. */
function valueText(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return t("common.none");
  const abs = Math.abs(v);
  const digits = abs > 0 && abs < 1 ? Math.min(6, digitsFor(abs) + 2) : 2;
  const s = new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(v);
  return unit ? `${s} ${unit}` : s;
}

/** uPlot data and series options: per signal the mean, and min/max when downsampled. */
function build(props: ChartProps): { data: AlignedData; series: Options["series"]; bands: Options["bands"] } {
  const { series, signals } = props;
  const banded = series.resolution !== "raw" && series.min !== undefined && series.max !== undefined;
  const clean = props.log ? positive : (c: (number | null)[]) => c;
  const data: (number | null)[][] = [series.t];
  const opts: Options["series"] = [
    {
      label: t("chart.time"),
      value: (_u, v) => (v === null || v === undefined ? t("common.none") : fmtDateTime(v)),
    },
  ];
  const bands: NonNullable<Options["bands"]> = [];
  signals.forEach((signal, i) => {
    const color = COLORS[i % COLORS.length]!;
    const unit = SIGNAL_UNITS[signal] ?? "";
    data.push(clean(column(series, signal)));
    opts.push({
      label: tOr(`signal.${signal}`, signal),
      stroke: color,
      width: 1.5,
      value: (_u, v) => valueText(v, unit),
    });
    if (banded) {
      const max = data.push(clean(series.max?.[signal] ?? [])) - 1;
      opts.push({
        label: "max",
        stroke: "transparent",
        show: true,
        points: { show: false },
        value: (_u, v) => valueText(v, unit),
      });
      const min = data.push(clean(series.min?.[signal] ?? [])) - 1;
      opts.push({
        label: "min",
        stroke: "transparent",
        show: true,
        points: { show: false },
        value: (_u, v) => valueText(v, unit),
      });
      bands.push({ series: [max, min], fill: `${color}22` });
    }
  });
  return { data: data as AlignedData, series: opts, bands };
}

function drawOverlays(u: uPlot, markers: readonly Marker[], forecasts: readonly Forecast[]): void {
  const { ctx } = u;
  const { top, height } = u.bbox;
  const x = (ts: number) => u.valToPos(ts, "x", true);
  ctx.save();
  for (const f of forecasts) {
    if (f.p10 === null || f.p90 === null || f.p50 === null) continue;
    const x0 = x(f.p10);
    const x1 = x(f.p90);
    ctx.fillStyle = "rgba(120, 120, 120, 0.12)";
    ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
    ctx.setLineDash([4, 4]);
    ctx.strokeStyle = "#555";
    ctx.beginPath();
    ctx.moveTo(x(f.p50), top);
    ctx.lineTo(x(f.p50), top + height);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.lineWidth = 1.5 * devicePixelRatio;
  for (const m of markers) {
    ctx.strokeStyle = MARKER_COLORS[m.kind];
    const px = x(m.ts);
    ctx.beginPath();
    ctx.moveTo(px, top);
    ctx.lineTo(px, top + height);
    ctx.stroke();
  }
  ctx.restore();
}

export function Chart(props: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The latest props for uPlot's hooks, which are bound once.
  const latest = useRef(props);
  latest.current = props;
  // Set while the chart itself moves the scale, so only a user's zoom reaches onZoom.
  const applying = useRef(false);
  // The x range the chart last set itself: uPlot fires setScale after a microtask, when `applying`
  // is already false, so a programmatic scale (stretched to forecasts) is recognised by its value.
  const applied = useRef({ min: Number.NaN, max: Number.NaN });

  // Rebuilt when the series layout, the scale or the language (axis formats) changes.
  const shape = `${props.signals.join(",")}|${props.series.resolution !== "raw"}|${!!props.log}|${currentLang()}`;

  useEffect(() => {
    const container = el.current;
    if (!container) return undefined;
    const { data, series, bands } = build(latest.current);
    const opts: Options = {
      width: container.clientWidth || 600,
      height: 220,
      ms: 1,
      series,
      bands,
      scales: { x: { time: true }, y: latest.current.log ? { distr: 3, log: 10 } : {} },
      axes: [{ values: timeAxisValues() }, { size: 60, values: numberAxisValues(!!latest.current.log) }],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      hooks: {
        draw: [(u) => drawOverlays(u, latest.current.markers, latest.current.forecasts)],
        setScale: [
          (u, key) => {
            if (key !== "x" || applying.current) return;
            const { min, max } = u.scales.x ?? {};
            if (min === undefined || max === undefined || min === null || max === null) return;
            if (Math.abs(min - applied.current.min) < 1 && Math.abs(max - applied.current.max) < 1) return;
            latest.current.onZoom(Math.floor(min), Math.ceil(max));
          },
        ],
      },
    };
    applying.current = true;
    const u = new uPlot(opts, data, container);
    applied.current = { min: latest.current.range.from, max: xMax(latest.current) };
    u.setScale("x", applied.current);
    applying.current = false;
    plot.current = u;
    markShown(container, latest.current.series);
    const resize = new ResizeObserver(() => u.setSize({ width: container.clientWidth, height: 220 }));
    resize.observe(container);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    applying.current = true;
    u.setData(build(props).data, false);
    applied.current = { min: props.range.from, max: xMax(props) };
    u.setScale("x", applied.current);
    applying.current = false;
    if (el.current) markShown(el.current, props.series);
  }, [props.series, props.range.from, props.range.to, props.markers, props.forecasts]);

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div
        ref={el}
        data-test="chart"
        data-signals={props.signals.join(",")}
        data-scale={props.log ? "log" : "linear"}
      />
    </figure>
  );
}

/** Names the series a chart holds (resolution, points, first time), for tests and tools to wait on. */
function markShown(container: HTMLElement, series: Series): void {
  container.dataset.shown = `${series.resolution}:${series.t.length}:${series.t[0] ?? ""}`;
}

/** The right end: the range, stretched to forecasts ending within one more range width. */
function xMax({ range, forecasts }: ChartProps): number {
  const width = range.to - range.from;
  const ends = forecasts.map((f) => f.p90 ?? 0).filter((p) => p > range.to && p <= range.to + width);
  return Math.max(range.to, ...ends);
}
