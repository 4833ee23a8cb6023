/**
 * The comparison of two runs, as the host computed it (`compare` message): both runs overlaid on
 * the main metrics, the settings that differ, and the best accuracy per benchmark of each variant.
 * Runs are named by their labels (src/runs/run-label.ts), so two versions of a file differ.
 */
import type { Comparison, RunSummary, SettingValue } from '../src/protocol/webview';
import { runLabel } from '../src/runs/run-label';
import { MetricCharts, type Metric, type Series } from './charts';
import { h } from './dom';
import { benchShort, formatAcc, formatDelta } from './format';
import type { DashboardData } from './model';
import { runCurve } from './series';
import { swatch } from './swatch';
import type { ChartTheme, RunStyle } from './theme';

const COMPARE_METRICS: readonly Metric[] = [
  { key: 'testAcc', title: 'Test accuracy (%)' },
  { key: 'testLoss', title: 'Test loss' },
  { key: 'trainLoss', title: 'Train loss' },
  { key: 'trainAcc', title: 'Train accuracy (%)' },
];

function formatSetting(v: SettingValue | undefined): string {
  if (v === undefined) return '(not set)';
  if (v === null) return 'null';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export class ComparisonView {
  private readonly header: HTMLElement;
  private readonly tables: HTMLElement;
  private readonly charts: MetricCharts;
  private current: Comparison | null = null;

  constructor(container: HTMLElement, theme: ChartTheme, private readonly data: DashboardData, private readonly styleOf: (id: string) => RunStyle) {
    this.header = h('div', { class: 'compare-header' });
    const grid = h('div', { class: 'charts compare-charts' });
    this.tables = h('div', { class: 'compare-tables' });
    container.append(this.header, grid, this.tables);
    this.charts = new MetricCharts(grid, COMPARE_METRICS, theme, 'compare');
  }

  get comparison(): Comparison | null {
    return this.current;
  }

  show(c: Comparison): void {
    this.current = c;
    this.drawCurves();
    this.renderHeader();
    this.renderTables(c);
  }

  /** A run changed (an epoch, a new status): redraw when it is one of the two. */
  update(runId: string): void {
    const c = this.current;
    if (!c || (c.a.id !== runId && c.b.id !== runId)) return;
    this.charts.replaceGroup(runId, [this.series(runId)], this.maxEpochs());
    this.renderHeader();
  }

  removeRun(runId: string): void {
    if (this.current && (this.current.a.id === runId || this.current.b.id === runId)) this.charts.replaceGroup(runId, [], 2);
  }

  restyle(theme: ChartTheme): void {
    this.charts.restyle(theme);
    if (this.current) this.show(this.current);
  }

  describeCharts(): ReturnType<MetricCharts['describe']> {
    return this.charts.describe();
  }

  private drawCurves(): void {
    const c = this.current;
    if (!c) return;
    const ids = c.a.id === c.b.id ? [c.a.id] : [c.a.id, c.b.id];
    this.charts.setSeries(ids.map((id) => this.series(id)), this.maxEpochs());
  }

  private maxEpochs(): number {
    const c = this.current;
    return c ? Math.max(this.data.runs.get(c.a.id)?.totalEpochs ?? 0, this.data.runs.get(c.b.id)?.totalEpochs ?? 0) : 2;
  }

  private series(runId: string): Series {
    return { id: runId, group: runId, role: 'run', label: this.data.label(runId), style: this.styleOf(runId), points: (k) => runCurve(this.data.epochsOf(runId), k) };
  }

  /** The page's own summary when it has a newer one than the comparison's. */
  private latest(run: RunSummary): RunSummary {
    return this.data.runs.get(run.id) ?? run;
  }

  private renderHeader(): void {
    const c = this.current;
    if (!c) return;
    const side = (tag: string, run: RunSummary) =>
      h('div', { class: 'compare-run' }, h('span', { class: 'compare-tag' }, tag), swatch(this.styleOf(run.id)), h('span', { class: 'compare-name', title: run.name }, runLabel(this.latest(run))));
    this.header.replaceChildren(side('A', c.a), side('B', c.b));
  }

  private renderTables(c: Comparison): void {
    const settings = c.settingsDiff.length
      ? h(
          'table',
          { class: 'diff settings-diff' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Setting'), h('th', {}, 'A'), h('th', {}, 'B'))),
          h('tbody', {}, ...c.settingsDiff.map((d) => h('tr', {}, h('td', { class: 'key' }, d.key), h('td', {}, formatSetting(d.a)), h('td', {}, formatSetting(d.b))))),
        )
      : h('p', { class: 'muted' }, 'The two runs have the same settings.');
    const deltaCell = (v: number | null) => h('td', { class: `num ${v === null ? '' : v > 0 ? 'better' : v < 0 ? 'worse' : ''}` }, formatDelta(v));
    const rows = c.accuracyDeltas.map((d) => h('tr', {}, h('td', {}, benchShort(d.bench)), h('td', { class: 'num' }, formatAcc(d.a)), h('td', { class: 'num' }, formatAcc(d.b)), deltaCell(d.delta)));
    const head = h('tr', {}, h('th', {}, 'Benchmark'), h('th', { class: 'num' }, 'A'), h('th', { class: 'num' }, 'B'), h('th', { class: 'num' }, 'Δ (B − A)'));
    const accuracy = rows.length ? h('table', { class: 'diff accuracy-deltas' }, h('thead', {}, head), h('tbody', {}, ...rows)) : h('p', { class: 'muted' }, 'No accuracy yet.');
    this.tables.replaceChildren(
      h('section', {}, h('h3', {}, `Settings that differ (${c.settingsDiff.length})`), settings),
      h('section', {}, h('h3', {}, 'Best test accuracy per benchmark (mean over seeds of each variant)'), accuracy),
    );
  }
}
