/**
 * The runs table: one row per run, grouped by variant (name + benchmark + budget); a group of
 * several seeds gets a header row with mean ± std of the best test accuracy. Rows are kept and
 * updated in place, so a live run does not rebuild the table (nor steal focus from a checkbox).
 */
import type { RunSummary } from '../src/protocol/webview';
import { h, setChildren, setText } from './dom';
import { benchShort, formatAcc, formatSeconds, STATUS_ICON } from './format';
import { groupRuns, mean, sampleStd } from './stats';
import { restyleSwatch, swatch } from './swatch';
import type { RunStyle } from './theme';

export interface RunsTableActions {
  setHidden(runId: string, hidden: boolean): void;
  /** Replace the selection; `additive`: ctrl/cmd-click toggles one run. */
  select(runId: string, additive: boolean): void;
  open(runId: string): void;
  cancel(runId: string): void;
  showLog(runId: string): void;
}

/** The toolkit checkbox: a custom element with a `checked` property. */
type CheckboxElement = HTMLElement & { checked: boolean };

interface RunRow {
  tr: HTMLTableRowElement;
  show: CheckboxElement;
  status: HTMLTableCellElement;
  swatch: SVGSVGElement;
  name: HTMLButtonElement;
  detail: HTMLDivElement;
  bench: HTMLTableCellElement;
  seed: HTMLTableCellElement;
  best: HTMLTableCellElement;
  final: HTMLTableCellElement;
  epoch: HTMLTableCellElement;
  time: HTMLTableCellElement;
  backend: HTMLTableCellElement;
  cancel: HTMLButtonElement;
}

interface GroupRow {
  tr: HTMLTableRowElement;
  label: HTMLTableCellElement;
  best: HTMLTableCellElement;
}

const COLUMNS = ['Show', 'Status', 'Run', 'Benchmark', 'Seed', 'Best acc', 'Final acc', 'Epoch', 'Epoch time', 'Backend', ''];

export class RunsTable {
  private readonly tbody: HTMLTableSectionElement;
  private readonly empty: HTMLElement;
  private readonly rows = new Map<string, RunRow>();
  private readonly groups = new Map<string, GroupRow>();

  constructor(container: HTMLElement, private readonly actions: RunsTableActions) {
    this.tbody = h('tbody');
    const head = h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { attrs: { scope: 'col' } }, c))));
    this.empty = h('p', { class: 'empty' }, 'No runs yet. Start one with “Regbench: Run Benchmark” or a code lens above a variant.');
    container.append(h('table', { class: 'runs' }, head, this.tbody), this.empty);
  }

  render(runs: Iterable<RunSummary>, selected: readonly string[], hidden: ReadonlySet<string>, styleOf: (id: string) => RunStyle): void {
    const ordered: HTMLTableRowElement[] = [];
    const liveRuns = new Set<string>();
    const liveGroups = new Set<string>();
    for (const g of groupRuns(runs)) {
      if (g.runs.length > 1) {
        liveGroups.add(g.key);
        const row = this.groupRow(g.key);
        const first = g.runs[0];
        const seeds = g.runs.map((r) => r.seed).join(', ');
        setText(row.label, `${first.variantName} · ${benchShort(first.bench)} · ${first.budget} — ${g.runs.length} runs (seeds ${seeds})`);
        setText(row.best, g.accs.length >= 2 ? `${mean(g.accs).toFixed(2)} ± ${sampleStd(g.accs).toFixed(2)}` : g.accs.length === 1 ? formatAcc(g.accs[0]) : '—');
        row.best.title = `mean ± sample std of the best test accuracy over ${g.accs.length} run(s) with an accuracy`;
        ordered.push(row.tr);
      }
      for (const r of g.runs) {
        liveRuns.add(r.id);
        const row = this.runRow(r.id);
        this.fill(row, r, selected.includes(r.id), hidden.has(r.id), styleOf(r.id));
        row.tr.classList.toggle('in-group', g.runs.length > 1);
        ordered.push(row.tr);
      }
    }
    for (const id of [...this.rows.keys()]) if (!liveRuns.has(id)) this.rows.delete(id);
    for (const key of [...this.groups.keys()]) if (!liveGroups.has(key)) this.groups.delete(key);
    setChildren(this.tbody, ordered);
    this.empty.hidden = ordered.length > 0;
  }

  private groupRow(key: string): GroupRow {
    let row = this.groups.get(key);
    if (!row) {
      const label = h('td', { attrs: { colspan: '4' } });
      const best = h('td', { class: 'num' });
      const tr = h('tr', { class: 'group' }, h('td'), label, best, h('td', { attrs: { colspan: '5' } }, h('span', { class: 'muted' }, 'mean ± std of best accuracy')));
      row = { tr, label, best };
      this.groups.set(key, row);
    }
    return row;
  }

  private runRow(id: string): RunRow {
    const existing = this.rows.get(id);
    if (existing) return existing;
    const show = document.createElement('vscode-checkbox') as CheckboxElement;
    show.setAttribute('aria-label', 'Show in charts');
    show.addEventListener('change', () => this.actions.setHidden(id, !show.checked));
    show.addEventListener('click', (ev) => ev.stopPropagation());
    const name = h('button', { class: 'link run-name', title: 'Reveal in the runs tree' });
    name.addEventListener('click', (ev) => {
      ev.stopPropagation();
      this.actions.open(id);
    });
    const detail = h('div', { class: 'detail' });
    const sw = swatch({ color: 'currentColor', dash: [] });
    const log = h('button', { class: 'link', title: 'Show the run log' }, 'Log');
    log.addEventListener('click', (ev) => {
      ev.stopPropagation();
      this.actions.showLog(id);
    });
    const cancel = h('button', { class: 'link', title: 'Cancel the run' }, 'Cancel');
    cancel.addEventListener('click', (ev) => {
      ev.stopPropagation();
      this.actions.cancel(id);
    });
    const cell = (cls?: string) => h('td', cls ? { class: cls } : {});
    const row: RunRow = {
      tr: h('tr', { class: 'run', attrs: { 'data-run-id': id, tabindex: '0' } }),
      show,
      status: cell('status'),
      swatch: sw,
      name,
      detail,
      bench: cell(),
      seed: cell('num'),
      best: cell('num best'),
      final: cell('num final'),
      epoch: cell('num epoch'),
      time: cell('num'),
      backend: cell(),
      cancel,
    };
    row.tr.append(
      h('td', { class: 'show' }, show),
      row.status,
      h('td', { class: 'name' }, h('div', { class: 'name-line' }, sw, name), detail),
      row.bench,
      row.seed,
      row.best,
      row.final,
      row.epoch,
      row.time,
      row.backend,
      h('td', { class: 'actions' }, log, cancel),
    );
    row.tr.addEventListener('click', (ev) => this.actions.select(id, ev.ctrlKey || ev.metaKey));
    row.tr.addEventListener('keydown', (ev) => {
      if (ev.target !== row.tr) return;
      if (ev.key === ' ' || ev.key === 'Enter') {
        ev.preventDefault();
        this.actions.select(id, ev.ctrlKey || ev.metaKey || ev.key === ' ');
      }
    });
    this.rows.set(id, row);
    return row;
  }

  private fill(row: RunRow, r: RunSummary, selected: boolean, hidden: boolean, style: RunStyle): void {
    row.tr.classList.toggle('selected', selected);
    row.tr.setAttribute('aria-selected', String(selected));
    row.tr.dataset.status = r.status;
    if (row.show.checked === hidden) row.show.checked = !hidden;
    setText(row.status, `${STATUS_ICON[r.status] ?? '?'} ${r.status}`);
    row.status.title = r.errorMessage ?? '';
    restyleSwatch(row.swatch, style);
    setText(row.name, r.name);
    setText(row.detail, r.errorMessage ?? '');
    row.detail.hidden = !r.errorMessage;
    setText(row.bench, benchShort(r.bench));
    setText(row.seed, String(r.seed));
    setText(row.best, formatAcc(r.bestTestAcc));
    setText(row.final, formatAcc(r.finalTestAcc));
    setText(row.epoch, `${r.epochsCompleted}/${r.totalEpochs}`);
    setText(row.time, formatSeconds(r.epochSeconds));
    setText(row.backend, r.backend ? `${r.engine} · ${r.backend}` : r.engine);
    row.cancel.hidden = r.status !== 'running' && r.status !== 'queued';
  }
}
