/**
 * The runs table: filters (status, benchmark, variant, engine, budget, free text), sorting by any
 * column, and the first rows of the result with "show more" (a table of 500 live rows would cost
 * every frame). Rows are kept and updated in place, so a live run does not rebuild the table
 * (nor steal focus from a checkbox).
 */
import type { RunSummary } from '../src/protocol/webview';
import { benchShortName, runLabel } from '../src/present/run-label';
import { h, setChildren, setText } from './dom';
import { formatAcc, formatSeconds, STATUS_ICON } from './format';
import { restyleSwatch, swatch } from './swatch';
import { choices, queryRuns } from './table-query';
import type { RunStyle } from './theme';
import type { SortKey, TableFilters, ViewState } from './view-state';

export interface RunsTableActions {
  setHidden(runId: string, hidden: boolean): void;
  /** Replace the selection; `additive`: ctrl/cmd-click toggles one run. */
  select(runId: string, additive: boolean): void;
  open(runId: string): void;
  cancel(runId: string): void;
  /** Continue an interrupted run from its last checkpoint. */
  resume(runId: string): void;
  /** Copy the command that repeats the run. */
  copyRerun(runId: string): void;
  showLog(runId: string): void;
  setFilters(filters: TableFilters): void;
  setSort(sort: ViewState['sort']): void;
  /** Draw again (more rows were asked for). */
  refresh(): void;
}

interface RunRow {
  tr: HTMLTableRowElement;
  show: HTMLInputElement;
  status: HTMLTableCellElement;
  swatch: SVGSVGElement;
  name: HTMLButtonElement;
  detail: HTMLDivElement;
  cells: Record<'bench' | 'seed' | 'best' | 'final' | 'epoch' | 'time' | 'backend', HTMLTableCellElement>;
  cancel: HTMLButtonElement;
  resume: HTMLButtonElement;
}

const COLUMNS: ReadonlyArray<{ title: string; sort?: SortKey; num?: boolean }> = [
  { title: 'Show' },
  { title: 'Status', sort: 'status' },
  { title: 'Run', sort: 'label' },
  { title: 'Benchmark', sort: 'bench' },
  { title: 'Seed', sort: 'seed', num: true },
  { title: 'Best acc', sort: 'best', num: true },
  { title: 'Final acc', sort: 'final', num: true },
  { title: 'Epoch', sort: 'epoch', num: true },
  { title: 'Epoch time', sort: 'time', num: true },
  { title: 'Backend', sort: 'backend' },
  { title: '' },
];

/** Rows shown before "show more"; enough for a screen of runs, cheap to keep live. */
const PAGE = 100;

type FilterField = Exclude<keyof TableFilters, 'text'>;
const FILTER_FIELDS: ReadonlyArray<{ field: FilterField; all: string; value: (r: RunSummary) => string; text?: (v: string) => string }> = [
  { field: 'status', all: 'Any status', value: (r) => r.status },
  { field: 'bench', all: 'All benchmarks', value: (r) => r.bench, text: benchShortName },
  { field: 'variant', all: 'All variants', value: (r) => r.variantName },
  { field: 'engine', all: 'Any engine', value: (r) => r.engine },
  { field: 'budget', all: 'Any budget', value: (r) => r.budget },
];

export class RunsTable {
  private readonly tbody: HTMLTableSectionElement;
  private readonly empty: HTMLElement;
  private readonly count: HTMLElement;
  private readonly more: HTMLButtonElement;
  private readonly selects = new Map<FilterField, HTMLSelectElement>();
  private readonly text: HTMLInputElement;
  private readonly headers = new Map<SortKey, HTMLButtonElement>();
  private readonly rows = new Map<string, RunRow>();
  private filters: TableFilters;
  private sortKey: SortKey = 'created';
  private sortDesc = true;
  private limit = PAGE;

  constructor(
    container: HTMLElement,
    private readonly actions: RunsTableActions,
    initial: ViewState,
  ) {
    this.filters = { ...initial.filters };
    this.tbody = h('tbody');
    this.text = h('input', { class: 'filter-text', attrs: { type: 'search', placeholder: 'Filter runs…', 'aria-label': 'Filter runs by text' } });
    this.text.value = this.filters.text;
    this.text.addEventListener('input', () => this.changeFilter({ text: this.text.value }));
    const bar = h('div', { class: 'filters', attrs: { role: 'search' } }, ...FILTER_FIELDS.map((f) => this.filterSelect(f.field, f.all)), this.text);
    this.count = h('span', { class: 'muted run-count', attrs: { 'aria-live': 'polite' } });
    bar.append(this.count);
    const head = h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => this.header(c))));
    this.empty = h('p', { class: 'empty' }, 'No runs yet. Start one with “Regbench: Run Benchmark” or a code lens above a variant.');
    this.more = h('button', { class: 'link show-more' });
    this.more.addEventListener('click', () => {
      this.limit += PAGE;
      this.actions.refresh();
    });
    container.append(bar, h('table', { class: 'runs' }, head, this.tbody), this.more, this.empty);
  }

  private filterSelect(field: FilterField, all: string): HTMLSelectElement {
    const select = h('select', { class: 'filter', attrs: { 'aria-label': all, 'data-filter': field } });
    select.append(h('option', { attrs: { value: '' } }, all));
    select.addEventListener('change', () => this.changeFilter({ [field]: select.value }));
    this.selects.set(field, select);
    return select;
  }

  private header(c: (typeof COLUMNS)[number]): HTMLTableCellElement {
    const th = h('th', { class: c.num ? 'num' : '', attrs: { scope: 'col' } });
    const key = c.sort;
    if (!key) {
      th.textContent = c.title;
      return th;
    }
    const b = h('button', { class: 'link sort', title: `Sort by ${c.title.toLowerCase()}`, attrs: { 'data-sort': key } }, c.title);
    b.addEventListener('click', () => this.actions.setSort({ key, desc: this.sortKey === key ? !this.sortDesc : key === 'best' || key === 'final' }));
    this.headers.set(key, b);
    th.append(b);
    return th;
  }

  private changeFilter(change: Partial<TableFilters>): void {
    this.filters = { ...this.filters, ...change };
    this.limit = PAGE;
    this.actions.setFilters(this.filters);
  }

  render(runs: readonly RunSummary[], view: ViewState, hidden: ReadonlySet<string>, styleOf: (id: string) => RunStyle): void {
    this.filters = view.filters;
    this.sortKey = view.sort.key;
    this.sortDesc = view.sort.desc;
    this.renderControls(runs);
    const shown = queryRuns(runs, view.filters, view.sort);
    const page = shown.slice(0, this.limit);
    const live = new Set<string>();
    const ordered = page.map((r) => {
      live.add(r.id);
      const row = this.runRow(r.id);
      this.fill(row, r, view.selected.includes(r.id), hidden.has(r.id), styleOf(r.id));
      return row.tr;
    });
    for (const id of [...this.rows.keys()]) if (!live.has(id)) this.rows.delete(id);
    setChildren(this.tbody, ordered);
    setText(this.count, shown.length === runs.length ? `${runs.length} runs` : `${shown.length} of ${runs.length} runs`);
    const rest = shown.length - page.length;
    this.more.hidden = rest <= 0;
    setText(this.more, `Show ${Math.min(rest, PAGE)} more (${rest} not shown)`);
    this.empty.hidden = runs.length > 0;
  }

  private renderControls(runs: readonly RunSummary[]): void {
    for (const f of FILTER_FIELDS) {
      const select = this.selects.get(f.field);
      if (!select) continue;
      const values = choices(runs, f.value);
      if (this.filters[f.field] && !values.includes(this.filters[f.field])) values.push(this.filters[f.field]);
      const signature = values.join('\u0000');
      if (select.dataset.signature !== signature) {
        select.dataset.signature = signature;
        select.replaceChildren(select.options[0], ...values.map((v) => h('option', { attrs: { value: v } }, f.text ? f.text(v) : v)));
      }
      if (select.value !== this.filters[f.field]) select.value = this.filters[f.field];
    }
    if (this.text.value !== this.filters.text && document.activeElement !== this.text) this.text.value = this.filters.text;
    for (const [key, b] of this.headers) {
      const th = b.parentElement;
      const state = key === this.sortKey ? (this.sortDesc ? 'descending' : 'ascending') : 'none';
      if (th && th.getAttribute('aria-sort') !== state) th.setAttribute('aria-sort', state);
      b.classList.toggle('sorted', key === this.sortKey);
      b.dataset.dir = key === this.sortKey ? (this.sortDesc ? '▼' : '▲') : '';
    }
  }

  private linkButton(label: string, title: string, onClick: () => void): HTMLButtonElement {
    const b = h('button', { class: 'link', title }, label);
    b.addEventListener('click', (ev) => {
      ev.stopPropagation();
      onClick();
    });
    return b;
  }

  private runRow(id: string): RunRow {
    const existing = this.rows.get(id);
    if (existing) return existing;
    // A native checkbox: a hundred toolkit checkboxes (each a FAST element with a shadow root)
    // cost a fifth of a second at first render.
    const show = h('input', { class: 'show-run', attrs: { type: 'checkbox', 'aria-label': 'Show in charts' } });
    show.addEventListener('change', () => this.actions.setHidden(id, !show.checked));
    show.addEventListener('click', (ev) => ev.stopPropagation());
    const name = this.linkButton('', 'Reveal in the runs tree', () => this.actions.open(id));
    name.classList.add('run-name');
    const cell = (cls?: string) => h('td', cls ? { class: cls } : {});
    const row: RunRow = {
      tr: h('tr', { class: 'run', attrs: { 'data-run-id': id, tabindex: '0' } }),
      show,
      status: cell('status'),
      swatch: swatch({ color: 'currentColor', dash: [] }),
      name,
      detail: h('div', { class: 'detail' }),
      cells: {
        bench: cell(),
        seed: cell('num'),
        best: cell('num best'),
        final: cell('num final'),
        epoch: cell('num epoch'),
        time: cell('num'),
        backend: cell(),
      },
      cancel: this.linkButton('Cancel', 'Cancel the run', () => this.actions.cancel(id)),
      resume: this.linkButton('Resume', 'Continue the run from its last checkpoint', () => this.actions.resume(id)),
    };
    const c = row.cells;
    const log = this.linkButton('Log', 'Show the run log', () => this.actions.showLog(id));
    const rerun = this.linkButton('Rerun cmd', 'Copy the command that repeats this run', () => this.actions.copyRerun(id));
    row.tr.append(h('td', { class: 'show' }, show), row.status, h('td', { class: 'name' }, h('div', { class: 'name-line' }, row.swatch, name), row.detail));
    row.tr.append(c.bench, c.seed, c.best, c.final, c.epoch, c.time, c.backend, h('td', { class: 'actions' }, log, rerun, row.resume, row.cancel));
    row.tr.addEventListener('click', (ev) => this.actions.select(id, ev.ctrlKey || ev.metaKey));
    row.tr.addEventListener('keydown', (ev) => {
      if (ev.target !== row.tr || (ev.key !== ' ' && ev.key !== 'Enter')) return;
      ev.preventDefault();
      this.actions.select(id, ev.ctrlKey || ev.metaKey || ev.key === ' ');
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
    setText(row.name, runLabel(r));
    if (row.name.title !== r.name) row.name.title = r.name;
    setText(row.detail, r.errorMessage ?? '');
    row.detail.hidden = !r.errorMessage;
    const c = row.cells;
    setText(c.bench, benchShortName(r.bench));
    setText(c.seed, String(r.seed));
    setText(c.best, r.heldOut ? 'held out' : formatAcc(r.bestTestAcc));
    setText(c.final, r.heldOut ? 'held out' : formatAcc(r.finalTestAcc));
    setText(c.epoch, `${r.epochsCompleted}/${r.totalEpochs}`);
    setText(c.time, formatSeconds(r.epochSeconds));
    setText(c.backend, r.backend ? `${r.engine} · ${r.backend}` : r.engine);
    row.cancel.hidden = r.status !== 'running' && r.status !== 'queued';
    row.resume.hidden = r.status !== 'interrupted';
  }
}
