import { useEffect, useRef } from "preact/hooks";
import uPlot, { type AlignedData, type Options } from "uplot";
import { fmtValue, tOr } from "../i18n.ts";
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

/** uPlot data and series options: per signal the mean, and min/max when downsampled. */
function build(props: ChartProps): { data: AlignedData; series: Options["series"]; bands: Options["bands"] } {
  const { series, signals } = props;
  const banded = series.resolution !== "raw" && series.min !== undefined && series.max !== undefined;
  const data: (number | null)[][] = [series.t];
  const opts: Options["series"] = [{}];
  const bands: NonNullable<Options["bands"]> = [];
  signals.forEach((signal, i) => {
    const color = COLORS[i % COLORS.length]!;
    const unit = SIGNAL_UNITS[signal] ?? "";
    data.push(column(series, signal));
    opts.push({
      label: tOr(`signal.${signal}`, signal),
      stroke: color,
      width: 1.5,
      value: (_u, v) => fmtValue(v, unit, 2),
    });
    if (banded) {
      const max = data.push(series.max?.[signal] ?? []) - 1;
      opts.push({ label: "max", stroke: "transparent", show: true, points: { show: false } });
      const min = data.push(series.min?.[signal] ?? []) - 1;
      opts.push({ label: "min", stroke: "transparent", show: true, points: { show: false } });
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

  const shape = `${props.signals.join(",")}|${props.series.resolution !== "raw"}`;

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
      scales: { x: { time: true } },
      axes: [{}, { size: 60 }],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      hooks: {
        draw: [(u) => drawOverlays(u, latest.current.markers, latest.current.forecasts)],
        setScale: [
          (u, key) => {
            if (key !== "x" || applying.current) return;
            const { min, max } = u.scales.x ?? {};
            if (min !== undefined && max !== undefined)
              latest.current.onZoom(Math.floor(min), Math.ceil(max));
          },
        ],
      },
    };
    applying.current = true;
    const u = new uPlot(opts, data, container);
    u.setScale("x", { min: latest.current.range.from, max: xMax(latest.current) });
    applying.current = false;
    plot.current = u;
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
    u.setScale("x", { min: props.range.from, max: xMax(props) });
    applying.current = false;
  }, [props.series, props.range.from, props.range.to, props.markers, props.forecasts]);

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={el} data-test="chart" data-signals={props.signals.join(",")} />
    </figure>
  );
}

/** The right end: the range, stretched to forecasts ending within one more range width. */
function xMax({ range, forecasts }: ChartProps): number {
  const width = range.to - range.from;
  const ends = forecasts.map((f) => f.p90 ?? 0).filter((p) => p > range.to && p <= range.to + width);
  return Math.max(range.to, ...ends);
}
