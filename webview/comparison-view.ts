/**
 * The comparison of a baseline A with runs B, C, … (no cap), as the host computed it (`compare`
 * message): the runs overlaid on the main metrics, the settings that differ from A, and the best
 * accuracy per benchmark of each variant with its Δ against A. Runs are named by their labels
 * (src/present/run-label.ts), so two versions of a file differ.
 */
import type { AccuracyDelta, Comparison, RunSummary, SettingDifference, SettingValue } from '../src/protocol/webview';
import { benchShortName, runLabel } from '../src/present/run-label';
import { MetricCharts, type Metric, type Series } from './charts';
import { h } from './dom';
import { formatAcc, formatDelta } from './format';
import type { DashboardData } from './model';
import { runCurveWithSteps } from './series';
import { swatch } from './swatch';
import type { ChartTheme, RunStyle } from './theme';

const COMPARE_METRICS: readonly Metric[] = [
  { key: 'testAcc', title: 'Test accuracy (%)' },
  { key: 'testLoss', title: 'Test loss' },
  { key: 'trainLoss', title: 'Train loss' },
  { key: 'trainAcc', title: 'Train accuracy (%)' },
];

/** A, B, … Z, then 27, 28, … */
export function compareTag(i: number): string {
  return i < 26 ? String.fromCharCode(65 + i) : String(i + 1);
}

/** The compared runs in order: A, B, then the others, each once. */
export function comparedRuns(c: Comparison): RunSummary[] {
  const all = [c.a, c.b, ...(c.more ?? []).map((m) => m.run)];
  return all.filter((r, i) => all.findIndex((x) => x.id === r.id) === i);
}

/** Each run after A with its differences against A. */
function pairs(c: Comparison): Array<{ run: RunSummary; settingsDiff: SettingDifference[]; accuracyDeltas: AccuracyDelta[] }> {
  return [{ run: c.b, settingsDiff: c.settingsDiff, accuracyDeltas: c.accuracyDeltas }, ...(c.more ?? [])].filter((p) => p.run.id !== c.a.id);
}

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

  constructor(
    container: HTMLElement,
    theme: ChartTheme,
    private readonly data: DashboardData,
    private readonly styleOf: (id: string) => RunStyle,
  ) {
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

  /** A run changed (an epoch, a new status): redraw when it is compared. */
  update(runId: string): void {
    const c = this.current;
    if (!c || !comparedRuns(c).some((r) => r.id === runId)) return;
    this.charts.replaceGroup(runId, [this.series(runId)], this.maxEpochs());
    this.renderHeader();
  }

  removeRun(runId: string): void {
    if (this.current && comparedRuns(this.current).some((r) => r.id === runId)) this.charts.replaceGroup(runId, [], 2);
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
    this.charts.setSeries(
      comparedRuns(c).map((r) => this.series(r.id)),
      this.maxEpochs(),
    );
  }

  private maxEpochs(): number {
    const c = this.current;
    return c ? Math.max(2, ...comparedRuns(c).map((r) => this.latest(r).totalEpochs)) : 2;
  }

  private series(runId: string): Series {
    return {
      id: runId,
      group: runId,
      role: 'run',
      label: this.data.label(runId),
      style: this.styleOf(runId),
      points: (k) => runCurveWithSteps(this.data.epochsOf(runId), k, this.data.stepLossOf(runId)),
    };
  }

  /** The page's own summary when it has a newer one than the comparison's. */
  private latest(run: RunSummary): RunSummary {
    return this.data.runs.get(run.id) ?? run;
  }

  private renderHeader(): void {
    const c = this.current;
    if (!c) return;
    const side = (tag: string, run: RunSummary) =>
      h(
        'div',
        { class: 'compare-run' },
        h('span', { class: 'compare-tag' }, tag),
        swatch(this.styleOf(run.id)),
        h('span', { class: 'compare-name', title: run.name }, runLabel(this.latest(run))),
      );
    this.header.replaceChildren(...comparedRuns(c).map((r, i) => side(compareTag(i), r)));
  }

  private renderTables(c: Comparison): void {
    const ps = pairs(c);
    const keys = [...new Set(ps.flatMap((p) => p.settingsDiff.map((d) => d.key)))].sort();
    this.tables.replaceChildren(
      h(
        'section',
        {},
        h('h3', {}, `Settings that differ (${keys.length})`),
        keys.length ? this.settingsTable(ps, keys) : h('p', { class: 'muted' }, 'The runs have the same settings.'),
      ),
      h('section', {}, h('h3', {}, 'Best test accuracy per benchmark (mean over seeds of each variant)'), this.accuracyTable(ps)),
    );
  }

  /** A row per key that differs in any run; a run where it does not differ shows A's value. */
  private settingsTable(ps: ReturnType<typeof pairs>, keys: string[]): HTMLTableElement {
    const head = h('tr', {}, h('th', {}, 'Setting'), h('th', {}, 'A'), ...ps.map((_, i) => h('th', {}, compareTag(i + 1))));
    const rows = keys.map((key) => {
      const diffs = ps.map((p) => p.settingsDiff.find((d) => d.key === key));
      const base = diffs.find((d) => d !== undefined)?.a;
      const cells = diffs.map((d) => h('td', d ? {} : { class: 'muted' }, formatSetting(d ? d.b : base)));
      return h('tr', {}, h('td', { class: 'key' }, key), h('td', {}, formatSetting(base)), ...cells);
    });
    return h('table', { class: 'diff settings-diff' }, h('thead', {}, head), h('tbody', {}, ...rows));
  }

  /** Benchmark, A, then each other run's accuracy and its Δ against A. */
  private accuracyTable(ps: ReturnType<typeof pairs>): HTMLElement {
    const benches = [...new Set(ps.flatMap((p) => p.accuracyDeltas.map((d) => d.bench)))].sort();
    if (!benches.length) return h('p', { class: 'muted' }, 'No accuracy yet.');
    const deltaCell = (v: number | null | undefined) =>
      h('td', { class: `num ${v == null ? '' : v > 0 ? 'better' : v < 0 ? 'worse' : ''}` }, formatDelta(v ?? null));
    const head = h(
      'tr',
      {},
      h('th', {}, 'Benchmark'),
      h('th', { class: 'num' }, 'A'),
      ...ps.flatMap((_, i) => [h('th', { class: 'num' }, compareTag(i + 1)), h('th', { class: 'num' }, `Δ (${compareTag(i + 1)} − A)`)]),
    );
    const rows = benches.map((bench) => {
      const ds = ps.map((p) => p.accuracyDeltas.find((d) => d.bench === bench));
      const base = ds.find((d) => d?.a !== null && d?.a !== undefined)?.a ?? null;
      return h(
        'tr',
        {},
        h('td', {}, benchShortName(bench)),
        h('td', { class: 'num' }, formatAcc(base)),
        ...ds.flatMap((d) => [h('td', { class: 'num' }, formatAcc(d?.b)), deltaCell(d?.delta)]),
      );
    });
    return h('table', { class: 'diff accuracy-deltas' }, h('thead', {}, head), h('tbody', {}, ...rows));
  }
}
