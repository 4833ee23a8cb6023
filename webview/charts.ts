/**
 * Line charts of per-epoch metrics, one dataset per run (x = epoch 1..N). A set of charts shares
 * its runs and their styles; epochs are appended point by point and redrawn with
 * `update('none')` once per animation frame, so a live run never redraws the whole dashboard.
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
} from 'chart.js';
import type { EpochEvent } from '../src/protocol/events';
import { h } from './dom';
import type { ChartTheme, RunStyle } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip);

export type MetricKey = 'trainLoss' | 'testLoss' | 'trainAcc' | 'testAcc' | 'lr' | 'regTerm';

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

interface Point {
  x: number;
  y: number;
}

type RunDataset = ChartDataset<'line', Point[]> & { runId: string };

/** A plain copy of one dataset, for the test hook. */
export interface DatasetDescription {
  runId: string;
  label: string;
  color: string;
  drawnPointColor: string | null;
  points: Array<[number, number | null]>;
}

/** What the charts need to know about a run besides its epochs. */
export interface RunLookup {
  label(runId: string): string;
  style(runId: string): RunStyle;
  totalEpochs(runId: string): number;
}

/** Markers help short runs (a 1-epoch smoke run has no line at all) and clutter long ones. */
const MARKER_LIMIT = 30;

function toPoint(e: EpochEvent, key: MetricKey): Point {
  const y = e[key];
  // Non-finite values arrive as null (formatEventLine); NaN makes Chart.js break the line there.
  return { x: e.epoch + 1, y: typeof y === 'number' ? y : NaN };
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

export class MetricCharts {
  private readonly charts = new Map<MetricKey, Chart<'line', Point[]>>();
  private readonly runIds: string[] = [];
  private frame = 0;
  /** Set after a restyle: the next update must not be 'none' (see scheduleUpdate). */
  private restyled = false;

  constructor(
    container: HTMLElement,
    private readonly metrics: readonly Metric[],
    private theme: ChartTheme,
    private readonly lookup: RunLookup,
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
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        font: { family: t.fontFamily, size: t.fontSize },
        color: t.foreground,
        scales: {
          x: { ...axis, type: 'linear', min: 1, ticks: { ...axis.ticks, precision: 0 }, title: { display: true, text: 'epoch', color: t.muted } },
          y: { ...axis, type: 'linear', ticks: { ...axis.ticks, callback: (v) => formatValue(Number(v)) } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? `epoch ${items[0].parsed.x}` : ''),
              label: (item) => `${item.dataset.label ?? ''}: ${formatValue(item.parsed.y ?? NaN)}`,
            },
          },
        },
      },
    };
  }

  get shownRunIds(): readonly string[] {
    return this.runIds;
  }

  has(runId: string): boolean {
    return this.runIds.includes(runId);
  }

  /** Replaces every dataset (a snapshot, or a new comparison). */
  setRuns(runIds: readonly string[], epochsOf: (runId: string) => readonly EpochEvent[]): void {
    this.runIds.splice(0, this.runIds.length, ...runIds);
    for (const [key, chart] of this.charts) {
      chart.data.datasets = runIds.map((id) => this.dataset(id, key, epochsOf(id)));
    }
    this.scheduleUpdate();
  }

  addRun(runId: string, epochs: readonly EpochEvent[]): void {
    if (this.has(runId)) return;
    this.runIds.push(runId);
    for (const [key, chart] of this.charts) chart.data.datasets.push(this.dataset(runId, key, epochs));
    this.scheduleUpdate();
  }

  removeRun(runId: string): void {
    const i = this.runIds.indexOf(runId);
    if (i < 0) return;
    this.runIds.splice(i, 1);
    for (const chart of this.charts.values()) {
      chart.data.datasets = chart.data.datasets.filter((d) => (d as RunDataset).runId !== runId);
    }
    this.scheduleUpdate();
  }

  /** Adds one epoch's point to each chart (replacing it when that epoch is already there). */
  appendEpoch(e: EpochEvent): void {
    if (!this.has(e.runId)) return;
    for (const [key, chart] of this.charts) {
      const ds = chart.data.datasets.find((d) => (d as RunDataset).runId === e.runId);
      if (!ds) continue;
      const p = toPoint(e, key);
      const at = ds.data.findIndex((q) => q.x >= p.x);
      if (at < 0) ds.data.push(p);
      else if (ds.data[at].x === p.x) ds.data[at] = p;
      else ds.data.splice(at, 0, p);
      ds.pointRadius = ds.data.length <= MARKER_LIMIT ? 2 : 0;
    }
    this.scheduleUpdate();
  }

  /** Run names or styles changed (a renamed run, a new theme). */
  restyle(theme?: ChartTheme): void {
    if (theme) this.theme = theme;
    for (const chart of this.charts.values()) {
      if (theme) {
        const fresh = this.config().options;
        if (fresh) chart.options = fresh;
      }
      for (const d of chart.data.datasets) this.applyStyle(d as RunDataset);
    }
    this.restyled = true;
    this.scheduleUpdate();
  }

  private dataset(runId: string, key: MetricKey, epochs: readonly EpochEvent[]): RunDataset {
    const data = epochs.map((e) => toPoint(e, key)).sort((p, q) => p.x - q.x);
    const ds: RunDataset = { runId, data, label: '', borderWidth: 2, pointRadius: data.length <= MARKER_LIMIT ? 2 : 0, pointHoverRadius: 4 };
    this.applyStyle(ds);
    return ds;
  }

  private applyStyle(ds: RunDataset): void {
    const s = this.lookup.style(ds.runId);
    ds.label = this.lookup.label(ds.runId);
    ds.borderColor = s.color;
    ds.backgroundColor = s.color;
    ds.borderDash = s.dash;
    ds.borderWidth = this.theme.highContrast ? 3 : 2;
  }

  private scheduleUpdate(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      // The x axis spans the planned epochs of the shown runs, so a live line grows into it
      // (at least 1..2: a one-epoch smoke run would otherwise give an empty axis).
      const maxEpochs = Math.max(2, ...this.runIds.map((id) => this.lookup.totalEpochs(id)));
      // Mode 'none' keeps the point options Chart.js shares between points (stale colors after
      // a theme change); animations are off, so the default mode costs no animation either.
      const mode = this.restyled ? 'default' : 'none';
      this.restyled = false;
      for (const chart of this.charts.values()) {
        const x = chart.options.scales?.x;
        if (x) x.max = maxEpochs;
        chart.update(mode);
      }
    });
  }

  /** Plain copies of the chart data, for the test hook (never references into Chart.js). */
  describe(): Record<string, DatasetDescription[]> {
    const out: Record<string, DatasetDescription[]> = {};
    for (const [key, chart] of this.charts) {
      out[`${this.prefix}-${key}`] = chart.data.datasets.map((d, i) => ({
        runId: (d as RunDataset).runId,
        label: String(d.label ?? ''),
        color: String(d.borderColor ?? ''),
        // What was drawn: the first point's resolved fill (null before the first draw or without points).
        drawnPointColor: (chart.getDatasetMeta(i).data[0]?.options as { backgroundColor?: unknown } | undefined)?.backgroundColor?.toString() ?? null,
        points: d.data.map((p): [number, number | null] => [p.x, Number.isFinite(p.y) ? p.y : null]),
      }));
    }
    return out;
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }
}
