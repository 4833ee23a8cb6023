/**
 * The charts, one benchmark at a time (a tab per benchmark with runs): each seed group is its
 * mean curve with a ± std band, or its seeds one by one ("Show seeds"). An epoch redraws only its
 * own group; a change of benchmark, toggle, focus or the shown runs rebuilds the datasets.
 */
import type { RunSummary } from '../src/protocol/webview';
import { benchShortName, formatBestAcc, variantLabel } from '../src/present/run-label';
import { ALL_METRICS, MetricCharts, type Series } from './charts';
import { h, setText } from './dom';
import type { DashboardData } from './model';
import { mean, sampleStd } from './stats';
import { meanCurve, meanOfCurves, runCurveWithSteps, seedGroupKey, seedGroups, type MetricKey, type SeedGroup } from './series';
import { swatch } from './swatch';
import type { ChartTheme, RunStyle } from './theme';
import type { ViewState } from './view-state';

export interface BenchViewActions {
  selectBench(bench: string): void;
  setShowSeeds(on: boolean): void;
  clearFocus(): void;
  /** Show or hide every run of a seed group (a legend click). */
  setGroupHidden(runIds: string[], hidden: boolean): void;
}

/** "my-reg #2 (a1b2c3) · 3 seeds · 91.23 ± 0.40%" */
export function groupLabel(g: SeedGroup): string {
  const accs = g.runs.flatMap((r) => (r.bestTestAcc === null ? [] : [r.bestTestAcc]));
  const first = g.runs[0];
  const seeds = g.runs.length === 1 ? `s${first.seed}` : `${g.runs.length} seeds`;
  const acc = accs.length >= 2 ? `${mean(accs).toFixed(2)} ± ${sampleStd(accs).toFixed(2)}%` : formatBestAcc(accs[0] ?? null);
  const budget = first.budget === 'quick' ? '' : first.budget;
  return [variantLabel(first), budget, seeds, acc].filter(Boolean).join(' · ');
}

export class BenchView {
  private readonly tabs: HTMLElement;
  private readonly seeds: HTMLInputElement;
  private readonly focusChip: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly note: HTMLElement;
  private readonly charts: MetricCharts;
  private structure = '';
  private bench: string | null = null;
  private showSeeds = false;
  /** Run ids shown, per group key (what the datasets were built from). */
  private shown = new Map<string, string[]>();

  constructor(
    container: HTMLElement,
    theme: ChartTheme,
    private readonly data: DashboardData,
    private readonly groupStyle: (groupKey: string) => RunStyle,
    private readonly actions: BenchViewActions,
  ) {
    this.tabs = h('div', { class: 'bench-tabs', attrs: { role: 'tablist', 'aria-label': 'Benchmark' } });
    this.seeds = h('input', { attrs: { type: 'checkbox', id: 'show-seeds' } });
    this.seeds.addEventListener('change', () => this.actions.setShowSeeds(this.seeds.checked));
    this.focusChip = h('button', { class: 'link focus-chip', title: 'Show every variant again' });
    this.focusChip.addEventListener('click', () => this.actions.clearFocus());
    const seedsLabel = h('label', { class: 'seeds-toggle' }, this.seeds, ' Show seeds');
    this.legend = h('div', { class: 'legend', attrs: { role: 'list' } });
    this.note = h('p', { class: 'muted bench-note' });
    const grid = h('div', { class: 'charts' });
    container.append(h('div', { class: 'bench-bar' }, this.tabs, h('div', { class: 'spacer' }), this.focusChip, seedsLabel), this.legend, this.note, grid);
    this.charts = new MetricCharts(grid, ALL_METRICS, theme, 'main');
  }

  /** The benchmark shown: the chosen one while it has runs, else the first with curves to show. */
  activeBench(view: ViewState): string | null {
    const benches = this.data.benches();
    if (view.bench && benches.includes(view.bench)) return view.bench;
    return benches.find((b) => !this.data.isHeldOut(b)) ?? benches[0] ?? null;
  }

  /** Rebuilds the datasets when what is shown changed; otherwise only tabs, legend and labels. */
  render(view: ViewState, hidden: ReadonlySet<string>, force = false): void {
    const bench = this.activeBench(view);
    const groups = this.groupsOn(bench, view, hidden);
    const structure = JSON.stringify([bench, view.showSeeds, groups.map((g) => [g.key, g.runs.map((r) => r.id)])]);
    this.renderTabs(bench);
    this.seeds.checked = view.showSeeds;
    this.focusChip.hidden = !view.focus;
    setText(this.focusChip, view.focus ? 'Showing one seed group — show all' : '');
    setText(
      this.note,
      bench && this.data.isHeldOut(bench)
        ? 'Held-out benchmark: its curves and numbers are not sent to the dashboard.'
        : groups.length
          ? ''
          : 'No runs to draw on this benchmark (all hidden or filtered).',
    );
    this.renderLegend(bench, view, hidden);
    if (structure === this.structure && !force) return;
    this.structure = structure;
    this.bench = bench;
    this.showSeeds = view.showSeeds;
    this.shown = new Map(groups.map((g) => [g.key, g.runs.map((r) => r.id)]));
    this.charts.setSeries(
      groups.flatMap((g) => this.seriesOf(g)),
      this.maxEpochs(groups),
    );
  }

  /** One epoch (or a new summary) of a run: only its group's datasets are replaced. */
  update(run: RunSummary): void {
    const key = seedGroupKey(run);
    const ids = this.shown.get(key);
    if (run.bench !== this.bench || !ids || !ids.includes(run.id)) return;
    const runs = ids.map((id) => this.data.runs.get(id)).filter((r): r is RunSummary => !!r);
    const g = { key, runs };
    this.charts.replaceGroup(key, this.seriesOf(g), this.maxEpochs([g]));
  }

  restyle(theme: ChartTheme, view: ViewState, hidden: ReadonlySet<string>): void {
    this.charts.restyle(theme);
    this.render(view, hidden, true);
  }

  describe(): ReturnType<MetricCharts['describe']> {
    return this.charts.describe();
  }

  private groupsOn(bench: string | null, view: ViewState, hidden: ReadonlySet<string>): SeedGroup[] {
    if (!bench) return [];
    const runs = [...this.data.runs.values()].filter((r) => r.bench === bench && !hidden.has(r.id) && !r.heldOut);
    const groups = seedGroups(runs);
    return view.focus ? groups.filter((g) => g.key === view.focus) : groups;
  }

  private maxEpochs(groups: readonly SeedGroup[]): number {
    return Math.max(2, ...groups.flatMap((g) => g.runs.map((r) => r.totalEpochs)));
  }

  private seriesOf(g: SeedGroup): Series[] {
    const style = this.groupStyle(g.key);
    const epochs = g.runs.map((r) => this.data.epochsOf(r.id));
    const steps = g.runs.map((r) => this.data.stepLossOf(r.id));
    const label = groupLabel(g);
    const seedCurve = (i: number, k: MetricKey) => runCurveWithSteps(epochs[i], k, steps[i]);
    // The train loss of seeds with within-epoch points: the mean of their curves (x not aligned).
    const meanPoints = (k: MetricKey) =>
      k === 'trainLoss' && steps.some((s) => s?.x.length) ? meanOfCurves(g.runs.map((_, i) => seedCurve(i, k))) : meanCurve(epochs, k);
    const mean: Series = { id: `${g.key}:mean`, group: g.key, role: 'mean', label, style, points: meanPoints };
    if (this.showSeeds || g.runs.length === 1) {
      const seeds = g.runs.map((r, i): Series => ({
        id: r.id,
        group: g.key,
        role: 'run',
        label: this.data.label(r.id),
        style,
        points: (k) => seedCurve(i, k),
      }));
      return g.runs.length === 1 ? [{ ...seeds[0], label }] : [...seeds, mean];
    }
    return [{ ...mean, band: true }];
  }

  private renderTabs(active: string | null): void {
    const benches = this.data.benches();
    const signature = JSON.stringify([benches, active]);
    if (this.tabs.dataset.signature === signature) return;
    this.tabs.dataset.signature = signature;
    this.tabs.replaceChildren(
      ...benches.map((b) => {
        const tab = h(
          'button',
          { class: `bench-tab${b === active ? ' active' : ''}`, attrs: { role: 'tab', 'aria-selected': String(b === active), 'data-bench': b } },
          benchShortName(b),
        );
        tab.addEventListener('click', () => this.actions.selectBench(b));
        return tab;
      }),
    );
  }

  private renderLegend(bench: string | null, view: ViewState, hidden: ReadonlySet<string>): void {
    const all = bench ? seedGroups([...this.data.runs.values()].filter((r) => r.bench === bench && !r.heldOut)) : [];
    const groups = view.focus ? all.filter((g) => g.key === view.focus) : all;
    // The label counts the seeds drawn, as the curve does; a fully hidden group keeps its full label.
    const items = groups.map((g) => {
      const drawn = g.runs.filter((r) => !hidden.has(r.id));
      return { g, label: groupLabel(drawn.length ? { key: g.key, runs: drawn } : g), off: drawn.length === 0 };
    });
    const signature = JSON.stringify(items.map((i) => [i.g.key, i.label, i.off, this.groupStyle(i.g.key)]));
    if (this.legend.dataset.signature === signature) return;
    this.legend.dataset.signature = signature;
    this.legend.replaceChildren(
      ...items.map(({ g, label, off }) => {
        const item = h(
          'button',
          {
            class: `legend-item${off ? ' off' : ''}`,
            title: off ? 'Show in charts' : 'Hide from charts',
            attrs: { role: 'listitem', 'aria-pressed': String(!off), 'data-group': g.key },
          },
          swatch(this.groupStyle(g.key)),
          h('span', {}, label),
        );
        item.addEventListener('click', () =>
          this.actions.setGroupHidden(
            g.runs.map((r) => r.id),
            !off,
          ),
        );
        return item;
      }),
    );
  }
}
