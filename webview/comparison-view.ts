/**
 * The comparison of two runs, as the host computed it (`compare` message): both runs overlaid on
 * the main metrics, the settings that differ, and the best accuracy per benchmark of each variant.
 */
import type { EpochEvent } from '../src/protocol/events';
import type { Comparison, SettingValue } from '../src/protocol/webview';
import { MetricCharts, type RunLookup } from './charts';
import { h } from './dom';
import { benchShort, formatAcc, formatDelta } from './format';
import { swatch } from './swatch';
import type { ChartTheme, RunStyle } from './theme';

const COMPARE_METRICS = [
  { key: 'testAcc', title: 'Test accuracy (%)' },
  { key: 'testLoss', title: 'Test loss' },
  { key: 'trainLoss', title: 'Train loss' },
  { key: 'trainAcc', title: 'Train accuracy (%)' },
] as const;

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

  constructor(container: HTMLElement, theme: ChartTheme, lookup: RunLookup, private readonly styleOf: (id: string) => RunStyle) {
    this.header = h('div', { class: 'compare-header' });
    const grid = h('div', { class: 'charts compare-charts' });
    this.tables = h('div', { class: 'compare-tables' });
    container.append(this.header, grid, this.tables);
    this.charts = new MetricCharts(grid, COMPARE_METRICS, theme, lookup, 'compare');
  }

  get comparison(): Comparison | null {
    return this.current;
  }

  show(c: Comparison, epochsOf: (runId: string) => readonly EpochEvent[]): void {
    this.current = c;
    this.charts.setRuns(c.a.id === c.b.id ? [c.a.id] : [c.a.id, c.b.id], epochsOf);
    this.renderHeader(c);
    this.renderTables(c);
  }

  appendEpoch(e: EpochEvent): void {
    this.charts.appendEpoch(e);
  }

  removeRun(runId: string): void {
    this.charts.removeRun(runId);
  }

  restyle(theme?: ChartTheme): void {
    this.charts.restyle(theme);
    if (this.current) this.renderHeader(this.current);
  }

  describeCharts(): ReturnType<MetricCharts['describe']> {
    return this.charts.describe();
  }

  private renderHeader(c: Comparison): void {
    const side = (tag: string, run: Comparison['a']) =>
      h('div', { class: 'compare-run' }, h('span', { class: 'compare-tag' }, tag), swatch(this.styleOf(run.id)), h('span', { class: 'compare-name' }, run.name));
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
    const accuracy = c.accuracyDeltas.length
      ? h(
          'table',
          { class: 'diff accuracy-deltas' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Benchmark'), h('th', { class: 'num' }, 'A'), h('th', { class: 'num' }, 'B'), h('th', { class: 'num' }, 'Δ (B − A)'))),
          h(
            'tbody',
            {},
            ...c.accuracyDeltas.map((d) =>
              h('tr', {}, h('td', {}, benchShort(d.bench)), h('td', { class: 'num' }, formatAcc(d.a)), h('td', { class: 'num' }, formatAcc(d.b)), deltaCell(d.delta)),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No accuracy yet.');
    this.tables.replaceChildren(
      h('section', {}, h('h3', {}, `Settings that differ (${c.settingsDiff.length})`), settings),
      h('section', {}, h('h3', {}, 'Best test accuracy per benchmark (mean over seeds of each variant)'), accuracy),
    );
  }
}
