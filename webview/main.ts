/**
 * The dashboard page: holds the runs the host sent, draws charts, table and comparison, and turns
 * clicks into messages for the host. Protocol: src/protocol/webview.ts (posts `ready` once mounted;
 * the host answers with a snapshot, then deltas).
 */
import type { EpochEvent } from '../src/protocol/events';
import { isHostToWebviewMessage, type Comparison, type HostToWebviewMessage, type RunSummary } from '../src/protocol/webview';
import { ALL_METRICS, MetricCharts, type RunLookup } from './charts';
import { ComparisonView } from './comparison-view';
import { h } from './dom';
import { Legend } from './legend';
import { RunsTable } from './runs-table';
import { readChartTheme, runStyle, watchTheme, type RunStyle } from './theme';
import { registerToolkit, type ButtonElement } from './toolkit';
import { parseViewState, type ViewMode, type ViewState } from './view-state';
import { postToHost, vscodeApi } from './vscode-api';

registerToolkit();

// ---------------------------------------------------------------------------------------------
// Model: what the host sent, plus the user's view choices
// ---------------------------------------------------------------------------------------------

const runs = new Map<string, RunSummary>();
const epochs = new Map<string, EpochEvent[]>();
/** Style slot per run, given in creation order and never reused while the page lives. */
const styleSlots = new Map<string, number>();
let nextSlot = 0;
let view: ViewState = parseViewState(vscodeApi.getState());
let hidden = new Set(view.hidden);
let theme = readChartTheme();

function saveView(): void {
  view = { ...view, hidden: [...hidden] };
  vscodeApi.setState(view);
}

function styleOf(runId: string): RunStyle {
  let slot = styleSlots.get(runId);
  if (slot === undefined) {
    slot = nextSlot++;
    styleSlots.set(runId, slot);
  }
  return runStyle(theme, slot);
}

const epochsOf = (runId: string): readonly EpochEvent[] => epochs.get(runId) ?? [];
const lookup: RunLookup = {
  label: (id) => runs.get(id)?.name ?? id,
  style: styleOf,
  totalEpochs: (id) => runs.get(id)?.totalEpochs ?? 0,
};

/** Runs in creation order (oldest first): the legend and the chart colors follow it. */
function runsByAge(): RunSummary[] {
  return [...runs.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

function button(label: string, appearance: 'primary' | 'secondary', onClick: () => void): ButtonElement {
  const b = document.createElement('vscode-button') as ButtonElement;
  b.setAttribute('appearance', appearance);
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

const chartsTab = button('Charts', 'primary', () => setViewMode('charts'));
const compareTab = button('Comparison', 'secondary', () => setViewMode('compare'));
const compareButton = button('Compare selected', 'secondary', () => {
  const [a, b] = view.selected;
  if (a && b) postToHost({ type: 'compare', payload: { a, b } });
});
const clearButton = button('Clear selection', 'secondary', () => setSelection([]));
const selectionInfo = h('span', { class: 'selection-info muted', attrs: { 'aria-live': 'polite' } });

const legendEl = h('div', { class: 'legend' });
const chartsGrid = h('div', { class: 'charts' });
const chartsView = h('section', { class: 'view charts-view', attrs: { 'aria-label': 'Charts' } }, legendEl, chartsGrid);
const comparePlaceholder = h('p', { class: 'muted compare-placeholder' }, 'Select two runs in the table (ctrl/cmd-click) and press “Compare selected”.');
const compareBody = h('div', { class: 'compare-body' });
const compareView = h('section', { class: 'view compare-view', attrs: { 'aria-label': 'Comparison' } }, comparePlaceholder, compareBody);
const tableSection = h('section', { class: 'runs-section', attrs: { 'aria-label': 'Runs' } }, h('h2', {}, 'Runs'));

document.body.append(
  h(
    'main',
    { class: 'dashboard' },
    h('header', { class: 'toolbar' }, h('div', { class: 'tabs', attrs: { role: 'group', 'aria-label': 'View' } }, chartsTab, compareTab), h('div', { class: 'spacer' }), selectionInfo, compareButton, clearButton),
    chartsView,
    compareView,
    tableSection,
  ),
);

const charts = new MetricCharts(chartsGrid, ALL_METRICS, theme, lookup, 'main');
const comparison = new ComparisonView(compareBody, theme, lookup, styleOf);
const legend = new Legend(legendEl, (id) => setHidden(id, !hidden.has(id)));
const table = new RunsTable(tableSection, {
  setHidden,
  select: (id, additive) => {
    if (!additive) setSelection(view.selected.length === 1 && view.selected[0] === id ? [] : [id]);
    else setSelection(view.selected.includes(id) ? view.selected.filter((s) => s !== id) : [...view.selected, id]);
  },
  open: (runId) => postToHost({ type: 'openRun', payload: { runId } }),
  cancel: (runId) => postToHost({ type: 'cancelRun', payload: { runId } }),
  showLog: (runId) => postToHost({ type: 'showLog', payload: { runId } }),
});

// ---------------------------------------------------------------------------------------------
// Rendering (the table and legend at most once per frame; charts update themselves)
// ---------------------------------------------------------------------------------------------

let renderFrame = 0;
function scheduleRender(): void {
  if (!renderFrame) renderFrame = requestAnimationFrame(render);
}

function render(): void {
  renderFrame = 0;
  const ordered = runsByAge();
  table.render(ordered, view.selected, hidden, styleOf);
  legend.render(ordered, hidden, styleOf);
  const mode: ViewMode = view.view;
  chartsView.hidden = mode !== 'charts';
  compareView.hidden = mode !== 'compare';
  chartsTab.setAttribute('appearance', mode === 'charts' ? 'primary' : 'secondary');
  compareTab.setAttribute('appearance', mode === 'compare' ? 'primary' : 'secondary');
  chartsTab.setAttribute('aria-pressed', String(mode === 'charts'));
  compareTab.setAttribute('aria-pressed', String(mode === 'compare'));
  comparePlaceholder.hidden = comparison.comparison !== null;
  compareBody.hidden = comparison.comparison === null;
  const n = view.selected.length;
  selectionInfo.textContent = n ? `${n} selected` : '';
  compareButton.disabled = n !== 2;
  clearButton.disabled = n === 0;
}

// ---------------------------------------------------------------------------------------------
// User actions
// ---------------------------------------------------------------------------------------------

function setHidden(runId: string, hide: boolean): void {
  if (hidden.has(runId) === hide) return;
  if (hide) {
    hidden.add(runId);
    charts.removeRun(runId);
  } else {
    hidden.delete(runId);
    // Re-adding keeps the run's slot, so its color does not change.
    charts.addRun(runId, epochsOf(runId));
  }
  saveView();
  scheduleRender();
}

function setSelection(ids: string[], tellHost = true): void {
  const next = ids.filter((id, i) => runs.has(id) && ids.indexOf(id) === i);
  if (next.length === view.selected.length && next.every((id, i) => view.selected[i] === id)) return;
  view = { ...view, selected: next };
  saveView();
  if (tellHost) postToHost({ type: 'selectRuns', payload: { runIds: next } });
  scheduleRender();
}

function setViewMode(mode: ViewMode): void {
  if (view.view === mode) return;
  view = { ...view, view: mode };
  saveView();
  render();
  // Charts created while their section was hidden have no size yet; let them measure again.
  window.dispatchEvent(new Event('resize'));
}

// ---------------------------------------------------------------------------------------------
// Host messages
// ---------------------------------------------------------------------------------------------

function showComparison(c: Comparison): void {
  comparison.show(c, epochsOf);
  view = { ...view, view: 'compare', comparePair: { a: c.a.id, b: c.b.id } };
  saveView();
  render();
  window.dispatchEvent(new Event('resize'));
}

/** Inserts or replaces one epoch (a resent epoch replaces the old one), keeping epoch order. */
function storeEpoch(e: EpochEvent): void {
  const list = epochs.get(e.runId) ?? [];
  const at = list.findIndex((x) => x.epoch >= e.epoch);
  if (at < 0) list.push(e);
  else if (list[at].epoch === e.epoch) list[at] = e;
  else list.splice(at, 0, e);
  epochs.set(e.runId, list);
}

function handle(msg: HostToWebviewMessage): void {
  switch (msg.type) {
    case 'snapshot': {
      const p = msg.payload;
      runs.clear();
      epochs.clear();
      for (const r of p.runs) runs.set(r.id, r);
      for (const [id, list] of Object.entries(p.epochs)) epochs.set(id, [...list].sort((x, y) => x.epoch - y.epoch));
      for (const r of runsByAge()) styleOf(r.id);
      hidden = new Set([...hidden].filter((id) => runs.has(id)));
      const selected = (p.selected.length ? p.selected : view.selected).filter((id) => runs.has(id));
      view = { ...view, selected };
      charts.setRuns(runsByAge().map((r) => r.id).filter((id) => !hidden.has(id)), epochsOf);
      if (p.comparison) showComparison(p.comparison);
      else if (view.view === 'compare' && view.comparePair && runs.has(view.comparePair.a) && runs.has(view.comparePair.b)) {
        // The comparison is not part of the page state: ask the host for it again after a reload.
        postToHost({ type: 'compare', payload: view.comparePair });
      }
      saveView();
      scheduleRender();
      break;
    }
    case 'append': {
      const { run, event } = msg.payload;
      const before = runs.get(run.id);
      runs.set(run.id, run);
      if (!before) {
        styleOf(run.id);
        if (!hidden.has(run.id)) charts.addRun(run.id, epochsOf(run.id));
      } else if (before.name !== run.name) {
        charts.restyle();
        comparison.restyle();
      }
      if (event && event.runId === run.id) {
        storeEpoch(event);
        charts.appendEpoch(event);
        comparison.appendEpoch(event);
      }
      scheduleRender();
      break;
    }
    case 'remove': {
      const id = msg.payload.runId;
      runs.delete(id);
      epochs.delete(id);
      charts.removeRun(id);
      comparison.removeRun(id);
      hidden.delete(id);
      view = { ...view, selected: view.selected.filter((s) => s !== id) };
      saveView();
      scheduleRender();
      break;
    }
    case 'select':
      setSelection(msg.payload.runIds, false);
      break;
    case 'compare':
      showComparison(msg.payload.comparison);
      break;
  }
}

window.addEventListener('message', (ev: MessageEvent<unknown>) => {
  // Unknown or malformed messages are ignored (see the protocol's forward-compatibility rule).
  if (isHostToWebviewMessage(ev.data)) handle(ev.data);
});

watchTheme(() => {
  theme = readChartTheme();
  charts.restyle(theme);
  comparison.restyle(theme);
  scheduleRender();
});

// Test hook (read-only): test/dashboard.test.ts inspects the chart data through it, because the
// Chart.js registry lives inside this bundle. It returns plain copies; nothing reads it in VS Code.
Object.defineProperty(window, '__regbenchCharts', {
  value: Object.freeze({ describe: () => ({ ...charts.describe(), ...comparison.describeCharts() }) }),
  writable: false,
});

render();
postToHost({ type: 'ready', payload: {} });
