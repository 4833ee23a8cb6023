/**
 * Line charts of per-epoch metrics (x = epoch 1..N). What they draw is a list of series: a mean
 * curve with its ± std band (painted by a small plugin from the points' `s`, so a band costs no
 * datasets of its own: 500 runs make a few thousand fewer chart elements), or one run's curve. Series are replaced a group at a time, and each set of charts redraws with
 * `update('none')` at most once per animation frame, so a live epoch never rebuilds the page.
 */
import {
  Chart,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartDataset,
  type Plugin,
  type TooltipItem,
} from 'chart.js';
import { h } from './dom';
import type { MetricKey, Point } from './series';
import type { ChartTheme, RunStyle } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip);

export interface Metric {
  key: MetricKey;
  title: string;
}

export const ALL_METRICS: readonly Metric[] = [
  { key: 'trainLoss', title: 'Train loss' },
  { key: 'testLoss', title: 'Test loss' },
  { key: 'trainAcc', title: 'Train accuracy (%)' },
  { key: 'testAcc', title: 'Test accuracy (%)' },
  { key: 'lr', title: 'Learning rate' },
  { key: 'regTerm', title: 'Regularization term' },
];

/** `mean`: a seed group's mean (with its ± std band when `band`); `run`: one run. */
export type SeriesRole = 'mean' | 'run';

export interface Series {
  /** Unique among the charts' series. */
  id: string;
  /** Series replaced together (a seed group, or one run). */
  group: string;
  role: SeriesRole;
  /** Paint mean ± s around the line (mean series whose points carry `s`). */
  band?: boolean;
  label: string;
  style: RunStyle;
  points(key: MetricKey): Point[];
}

type SeriesDataset = ChartDataset<'line', Point[]> & { seriesId: string; group: string; role: SeriesRole; bandColor?: string };

/** A plain copy of one dataset, for the test hook. */
export interface DatasetDescription {
  id: string;
  /** The run a `run` dataset draws (null for a mean): what earlier hook readers look up. */
  runId: string | null;
  group: string;
  role: SeriesRole;
  label: string;
  color: string;
  drawnPointColor: string | null;
  points: Array<[number, number | null]>;
  /** [x, mean - std, mean + std] where a band is painted. */
  band: Array<[number, number, number]> | null;
}

/** Markers help short runs (a 1-epoch smoke run has no line at all) and clutter long ones. */
const MARKER_LIMIT = 30;

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** The band's fill: the line color, mostly transparent (hex and rgb() theme colors). */
export function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color.trim());
  if (hex)
    return `#${hex[1]}${Math.round(alpha * 255)
      .toString(16)
      .padStart(2, '0')}`;
  const rgb = /^rgba?\(([^,]+),([^,]+),([^,)]+)/i.exec(color.trim());
  return rgb ? `rgba(${rgb[1]},${rgb[2]},${rgb[3]},${alpha})` : color;
}

/** Paints every band below the lines, clipped to the plot area. */
const bandPlugin: Plugin<'line'> = {
  id: 'regbenchBands',
  beforeDatasetsDraw(chart) {
    const { ctx, chartArea: area, scales } = chart;
    const x = scales.x;
    const y = scales.y;
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
    ctx.clip();
    for (const d of chart.data.datasets as SeriesDataset[]) {
      if (!d.bandColor) continue;
      const pts = d.data.filter((p) => Number.isFinite(p.y));
      if (!pts.length) continue;
      ctx.beginPath();
      pts.forEach((p, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x.getPixelForValue(p.x), y.getPixelForValue(p.y + (p.s ?? 0))));
      for (let i = pts.length - 1; i >= 0; i--) ctx.lineTo(x.getPixelForValue(pts[i].x), y.getPixelForValue(pts[i].y - (pts[i].s ?? 0)));
      ctx.closePath();
      ctx.fillStyle = d.bandColor;
      ctx.fill();
    }
    ctx.restore();
  },
};

function tooltipLabel(item: TooltipItem<'line'>): string {
  const d = item.dataset as SeriesDataset;
  const raw = item.raw as Point;
  const std = d.role === 'mean' && raw.s !== undefined && raw.s > 0 ? ` ± ${formatValue(raw.s)}` : '';
  return `${d.label ?? ''}: ${formatValue(raw.y)}${std}`;
}

export class MetricCharts {
  private readonly charts = new Map<MetricKey, Chart<'line', Point[]>>();
  private frame = 0;
  private maxEpochs = 2;
  /** Set after a theme change: the next update must not be 'none' (see scheduleUpdate). */
  private restyled = false;

  constructor(
    container: HTMLElement,
    metrics: readonly Metric[],
    private theme: ChartTheme,
    /** Used by the test hook to name charts: "<prefix>-<metric>". */
    readonly prefix: string,
  ) {
    for (const m of metrics) {
      const canvas = h('canvas', { attrs: { 'aria-label': m.title, role: 'img', 'data-chart': `${prefix}-${m.key}` } });
      container.appendChild(h('figure', { class: 'chart' }, h('figcaption', {}, m.title), h('div', { class: 'chart-box' }, canvas)));
      this.charts.set(m.key, new Chart(canvas, this.config()));
    }
  }

  private config(): ChartConfiguration<'line', Point[]> {
    const t = this.theme;
    const axis = { ticks: { color: t.muted }, grid: { color: t.grid }, border: { color: t.grid } };
    return {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        spanGaps: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        font: { family: t.fontFamily, size: t.fontSize },
        color: t.foreground,
        scales: {
          x: { ...axis, type: 'linear', min: 1, ticks: { ...axis.ticks, precision: 0 }, title: { display: true, text: 'epoch', color: t.muted } },
          // Room for the bands, which do not enter the axis range themselves.
          y: { ...axis, type: 'linear', grace: '4%', ticks: { ...axis.ticks, callback: (v) => formatValue(Number(v)) } },
        },
        plugins: {
          tooltip: {
            callbacks: { title: (items) => (items.length ? `epoch ${formatValue(items[0].parsed.x)}` : ''), label: tooltipLabel },
          },
        },
      },
      plugins: [bandPlugin],
    };
  }

  /** Replaces every dataset (another benchmark, the seeds toggle, a new comparison). */
  setSeries(series: readonly Series[], maxEpochs: number): void {
    this.maxEpochs = Math.max(2, maxEpochs);
    for (const [key, chart] of this.charts) chart.data.datasets = series.map((s) => this.dataset(s, key));
    this.scheduleUpdate();
  }

  /** Replaces the datasets of one group where they are (at the end when the group is new). */
  replaceGroup(group: string, series: readonly Series[], maxEpochs: number): void {
    this.maxEpochs = Math.max(this.maxEpochs, maxEpochs);
    for (const [key, chart] of this.charts) {
      const list = chart.data.datasets as SeriesDataset[];
      const first = list.findIndex((d) => d.group === group);
      const kept = list.filter((d) => d.group !== group);
      const at = first < 0 ? kept.length : first;
      kept.splice(at, 0, ...series.map((s) => this.dataset(s, key)));
      chart.data.datasets = kept;
    }
    this.scheduleUpdate();
  }

  /** A new theme: options are rebuilt; the owner sets the series again with the new colors. */
  restyle(theme: ChartTheme): void {
    this.theme = theme;
    for (const chart of this.charts.values()) {
      const fresh = this.config().options;
      if (fresh) chart.options = fresh;
    }
    this.restyled = true;
    this.scheduleUpdate();
  }

  private dataset(s: Series, key: MetricKey): SeriesDataset {
    const data = s.points(key);
    const wide = this.theme.highContrast ? 1 : 0;
    const width = s.role === 'mean' ? 2.5 : 1.5;
    return {
      seriesId: s.id,
      group: s.group,
      role: s.role,
      bandColor: s.band ? withAlpha(s.style.color, 0.2) : undefined,
      data,
      label: s.label,
      borderColor: s.style.color,
      backgroundColor: s.style.color,
      borderDash: s.style.dash,
      borderWidth: width + wide,
      pointRadius: data.length <= MARKER_LIMIT ? 2 : 0,
      pointHoverRadius: 4,
    };
  }

  private scheduleUpdate(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      // Mode 'none' keeps the point options Chart.js shares between points (stale colors after
      // a theme change); animations are off, so the default mode costs no animation either.
      const mode = this.restyled ? 'default' : 'none';
      this.restyled = false;
      for (const chart of this.charts.values()) {
        const x = chart.options.scales?.x;
        if (x) {
          x.max = this.maxEpochs;
          // Within-epoch points (the train loss) start inside the first epoch: the axis starts at 0.
          x.min = chart.data.datasets.some((d) => (d.data[0]?.x ?? 1) < 1) ? 0 : 1;
        }
        chart.update(mode);
      }
    });
  }

  /** Plain copies of the chart data, for the test hook (never references into Chart.js). */
  describe(): Record<string, DatasetDescription[]> {
    const out: Record<string, DatasetDescription[]> = {};
    for (const [key, chart] of this.charts) {
      out[`${this.prefix}-${key}`] = chart.data.datasets.map((d, i) => {
        const sd = d as SeriesDataset;
        return {
          id: sd.seriesId,
          runId: sd.role === 'run' ? sd.seriesId : null,
          group: sd.group,
          role: sd.role,
          label: String(d.label ?? ''),
          color: String(d.borderColor ?? ''),
          // What was drawn: the first point's resolved fill (null before the first draw or without points).
          drawnPointColor: (chart.getDatasetMeta(i).data[0]?.options as { backgroundColor?: unknown } | undefined)?.backgroundColor?.toString() ?? null,
          points: sd.data.map((p): [number, number | null] => [p.x, Number.isFinite(p.y) ? p.y : null]),
          band: sd.bandColor ? sd.data.map((p): [number, number, number] => [p.x, p.y - (p.s ?? 0), p.y + (p.s ?? 0)]) : null,
        };
      });
    }
    return out;
  }
}
