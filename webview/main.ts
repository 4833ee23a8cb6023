/**
 * The dashboard page: holds the runs the host sent (model.ts), shows them per benchmark
 * (bench-view.ts), as a leaderboard, as a table and as a comparison, and turns clicks into
 * messages for the host. Protocol: src/protocol/webview.ts (posts `ready` once mounted; the host
 * answers with a snapshot, then deltas).
 */
import { isHostToWebviewMessage, type Comparison, type HostToWebviewMessage, type LeaderboardRow, type ScoredCell } from '../src/protocol/webview';
import { BenchView } from './bench-view';
import { comparedRuns, ComparisonView } from './comparison-view';
import { h } from './dom';
import { LeaderboardView } from './leaderboard-view';
import { RaceView } from './race-view';
import { DashboardData } from './model';
import { RunsTable } from './runs-table';
import { seedGroupKey } from './series';
import { readChartTheme, runStyle, watchTheme, type RunStyle } from './theme';
import { registerToolkit, type ButtonElement } from './toolkit';
import { parseViewState, type ViewMode, type ViewState } from './view-state';
import { postToHost, vscodeApi } from './vscode-api';

registerToolkit();

// ---------------------------------------------------------------------------------------------
// Model: what the host sent, plus the user's view choices
// ---------------------------------------------------------------------------------------------

const data = new DashboardData();
let view: ViewState = parseViewState(vscodeApi.getState());
let hidden = new Set(view.hidden);
let theme = readChartTheme();

function saveView(): void {
  view = { ...view, hidden: [...hidden] };
  vscodeApi.setState(view);
}

/** Style slot per seed group, given in order of appearance and never reused while the page lives. */
const groupSlots = new Map<string, number>();
function groupStyle(key: string): RunStyle {
  let slot = groupSlots.get(key);
  if (slot === undefined) groupSlots.set(key, (slot = groupSlots.size));
  return runStyle(theme, slot);
}

function runStyleOf(runId: string): RunStyle {
  const r = data.runs.get(runId);
  return r ? groupStyle(seedGroupKey(r)) : runStyle(theme, 0);
}

/** The comparison's own colors, by position (A, B, C, …): they differ even for seeds of one group. */
function compareStyle(runId: string): RunStyle {
  const c = comparison.comparison;
  return runStyle(theme, Math.max(0, c ? comparedRuns(c).findIndex((r) => r.id === runId) : 0));
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

const MODES: ReadonlyArray<[ViewMode, string]> = [
  ['charts', 'Charts'],
  ['leaderboard', 'Leaderboard'],
  ['compare', 'Comparison'],
  ['races', 'Races'],
];
const modeTabs = new Map(MODES.map(([mode, label]) => [mode, button(label, 'secondary', () => setViewMode(mode))]));
const compareButton = button('Compare selected', 'secondary', () => {
  const [a, b, ...more] = view.selected;
  if (a && b) postToHost({ type: 'compare', payload: more.length ? { a, b, more } : { a, b } });
});
const clearButton = button('Clear selection', 'secondary', () => setSelection([]));
const selectionInfo = h('span', { class: 'selection-info muted', attrs: { 'aria-live': 'polite' } });

const sections: Record<ViewMode, HTMLElement> = {
  charts: h('section', { class: 'view charts-view', attrs: { 'aria-label': 'Charts' } }),
  leaderboard: h('section', { class: 'view leaderboard-view', attrs: { 'aria-label': 'Leaderboard' } }),
  compare: h('section', { class: 'view compare-view', attrs: { 'aria-label': 'Comparison' } }),
  races: h('section', { class: 'view races-view', attrs: { 'aria-label': 'Races' } }),
};
const comparePlaceholder = h(
  'p',
  { class: 'muted compare-placeholder' },
  'Select two or more runs in the table (ctrl/cmd-click; the first is the baseline) and press “Compare selected”.',
);
const compareBody = h('div', { class: 'compare-body' });
sections.compare.append(comparePlaceholder, compareBody);
const tableSection = h('section', { class: 'runs-section', attrs: { 'aria-label': 'Runs' } }, h('h2', {}, 'Runs'));

document.body.append(
  h(
    'main',
    { class: 'dashboard' },
    h(
      'header',
      { class: 'toolbar' },
      h('div', { class: 'tabs', attrs: { role: 'group', 'aria-label': 'View' } }, ...modeTabs.values()),
      h('div', { class: 'spacer' }),
      selectionInfo,
      compareButton,
      clearButton,
    ),
    ...Object.values(sections),
    tableSection,
  ),
);

const benchView = new BenchView(sections.charts, theme, data, groupStyle, {
  selectBench: (bench) => updateView({ bench, focus: null }),
  setShowSeeds: (showSeeds) => updateView({ showSeeds }),
  clearFocus: () => updateView({ focus: null }),
  setGroupHidden: (runIds, hide) => runIds.forEach((id) => setHidden(id, hide)),
});
const leaderboard = new LeaderboardView(sections.leaderboard, openCell);
const comparison = new ComparisonView(compareBody, theme, data, compareStyle);
const races = new RaceView(sections.races, { cancel: (raceId) => postToHost({ type: 'cancelRace', payload: { raceId } }) });
const table = new RunsTable(
  tableSection,
  {
    setHidden,
    select: (id, additive) => {
      if (!additive) setSelection(view.selected.length === 1 && view.selected[0] === id ? [] : [id]);
      else setSelection(view.selected.includes(id) ? view.selected.filter((s) => s !== id) : [...view.selected, id]);
    },
    open: (runId) => postToHost({ type: 'openRun', payload: { runId } }),
    cancel: (runId) => postToHost({ type: 'cancelRun', payload: { runId } }),
    resume: (runId) => postToHost({ type: 'resumeRun', payload: { runId } }),
    copyRerun: (runId) => postToHost({ type: 'copyRerunCommand', payload: { runId } }),
    showLog: (runId) => postToHost({ type: 'showLog', payload: { runId } }),
    setFilters: (filters) => updateView({ filters }),
    setSort: (sort) => updateView({ sort }),
    refresh: () => scheduleRender(),
  },
  view,
);

// ---------------------------------------------------------------------------------------------
// Rendering (at most once per frame; charts redraw themselves once per frame too)
// ---------------------------------------------------------------------------------------------

let renderFrame = 0;
function scheduleRender(): void {
  if (!renderFrame) renderFrame = requestAnimationFrame(render);
}

function render(): void {
  renderFrame = 0;
  const mode = view.view;
  table.render(data.runsByAge(), view, hidden, runStyleOf);
  if (mode === 'charts') benchView.render(view, hidden);
  if (mode === 'leaderboard') leaderboard.render([...data.rows.values()], data.columns);
  if (mode === 'races') races.render();
  for (const [m, section] of Object.entries(sections)) section.hidden = m !== mode;
  for (const [m, tab] of modeTabs) {
    tab.setAttribute('appearance', m === mode ? 'primary' : 'secondary');
    tab.setAttribute('aria-pressed', String(m === mode));
  }
  // The Races tab appears with the first race.
  (modeTabs.get('races') as ButtonElement).hidden = races.count === 0 && mode !== 'races';
  comparePlaceholder.hidden = comparison.comparison !== null;
  compareBody.hidden = comparison.comparison === null;
  const n = view.selected.length;
  selectionInfo.textContent = n ? `${n} selected` : '';
  compareButton.disabled = n < 2;
  clearButton.disabled = n === 0;
}

// ---------------------------------------------------------------------------------------------
// User actions
// ---------------------------------------------------------------------------------------------

function updateView(change: Partial<ViewState>): void {
  view = { ...view, ...change };
  saveView();
  scheduleRender();
}

function setHidden(runId: string, hide: boolean): void {
  if (hidden.has(runId) === hide) return;
  if (hide) hidden.add(runId);
  else hidden.delete(runId);
  saveView();
  scheduleRender();
}

function setSelection(ids: string[], tellHost = true): void {
  const next = ids.filter((id, i) => data.runs.has(id) && ids.indexOf(id) === i);
  if (next.length === view.selected.length && next.every((id, i) => view.selected[i] === id)) return;
  view = { ...view, selected: next };
  saveView();
  if (tellHost) postToHost({ type: 'selectRuns', payload: { runIds: next } });
  scheduleRender();
}

function setViewMode(mode: ViewMode): void {
  if (view.view === mode) return;
  updateView({ view: mode });
  render();
  // Charts created while their section was hidden have no size yet; let them measure again.
  window.dispatchEvent(new Event('resize'));
}

/** A leaderboard cell: that benchmark's charts, narrowed to the cell's seed group, seeds shown. */
function openCell(_row: LeaderboardRow, bench: string, cell: ScoredCell): void {
  const run = cell.runIds.map((id) => data.runs.get(id)).find((r) => r !== undefined);
  if (!run) return;
  cell.runIds.forEach((id) => setHidden(id, false));
  updateView({ bench, focus: seedGroupKey(run), showSeeds: true });
  setViewMode('charts');
}

// ---------------------------------------------------------------------------------------------
// Host messages
// ---------------------------------------------------------------------------------------------

function showComparison(c: Comparison): void {
  comparison.show(c);
  const more = (c.more ?? []).map((m) => m.run.id);
  view = { ...view, view: 'compare', comparePair: more.length ? { a: c.a.id, b: c.b.id, more } : { a: c.a.id, b: c.b.id } };
  saveView();
  render();
  window.dispatchEvent(new Event('resize'));
}

function onSnapshot(p: Extract<HostToWebviewMessage, { type: 'snapshot' }>['payload']): void {
  data.snapshot(p);
  races.setAll(p.races ?? [], p.raceProblems ?? []);
  for (const r of data.runsByAge()) groupStyle(seedGroupKey(r));
  hidden = new Set([...hidden].filter((id) => data.runs.has(id)));
  const selected = (p.selected.length ? p.selected : view.selected).filter((id) => data.runs.has(id));
  view = { ...view, selected };
  if (p.comparison) showComparison(p.comparison);
  else if (
    view.view === 'compare' &&
    view.comparePair &&
    [view.comparePair.a, view.comparePair.b, ...(view.comparePair.more ?? [])].every((id) => data.runs.has(id))
  ) {
    // The comparison is not part of the page state: ask the host for it again after a reload.
    postToHost({ type: 'compare', payload: view.comparePair });
  }
  saveView();
  scheduleRender();
}

function handle(msg: HostToWebviewMessage): void {
  switch (msg.type) {
    case 'snapshot':
      onSnapshot(msg.payload);
      break;
    case 'append':
      data.append(msg.payload);
      groupStyle(seedGroupKey(msg.payload.run));
      benchView.update(msg.payload.run);
      comparison.update(msg.payload.runId);
      scheduleRender();
      break;
    case 'remove':
      data.remove(msg.payload);
      comparison.removeRun(msg.payload.runId);
      hidden.delete(msg.payload.runId);
      view = { ...view, selected: view.selected.filter((s) => s !== msg.payload.runId) };
      saveView();
      scheduleRender();
      break;
    case 'select':
      setSelection(msg.payload.runIds, false);
      break;
    case 'compare':
      showComparison(msg.payload.comparison);
      break;
    case 'race':
      races.upsert(msg.payload.race, msg.payload.reveal === true);
      if (msg.payload.reveal) setViewMode('races');
      scheduleRender();
      break;
    case 'stepLoss': {
      const run = data.runs.get(msg.payload.runId);
      if (run && data.addStepLoss(msg.payload)) {
        benchView.update(run);
        comparison.update(run.id);
      }
      break;
    }
  }
}

window.addEventListener('message', (ev: MessageEvent<unknown>) => {
  // Unknown or malformed messages are ignored (see the protocol's forward-compatibility rule).
  if (isHostToWebviewMessage(ev.data)) handle(ev.data);
});

watchTheme(() => {
  theme = readChartTheme();
  benchView.restyle(theme, view, hidden);
  comparison.restyle(theme);
  scheduleRender();
});

// Test hook (read-only): test/dashboard.test.ts inspects the chart data through it, because the
// Chart.js registry lives inside this bundle. It returns plain copies; nothing reads it in VS Code.
Object.defineProperty(window, '__regbenchCharts', {
  value: Object.freeze({ describe: () => ({ ...benchView.describe(), ...comparison.describeCharts() }) }),
  writable: false,
});

render();
postToHost({ type: 'ready', payload: {} });
